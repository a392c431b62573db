package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/setu-cti/setu/internal/ingest"
	"github.com/setu-cti/setu/internal/match"
	"github.com/setu-cti/setu/internal/stix"
	"github.com/setu-cti/setu/internal/taxii"
)

func init() {
	register("taxii", "pull from or push to any TAXII 2.1 server: pull, push", runTAXII)
}

func runTAXII(ctx context.Context, e *env, args []string) int {
	return subcommands(ctx, e, "taxii", args, map[string]func(context.Context, *env, []string) int{
		"pull": taxiiPull,
		"push": taxiiPush,
	})
}

// remoteFlags say how to reach and trust a TAXII server.
type remoteFlags struct {
	collection  string
	user, token string
	ca          string
	fingerprint string
	insecure    bool
}

func (rf *remoteFlags) register(fs *flag.FlagSet, e *env) {
	fs.StringVar(&rf.collection, "collection", "", "remote collection: its `id`, alias or title (required)")
	fs.StringVar(&rf.user, "user", e.getenv("SETU_TAXII_USER"), "user `name` for HTTP Basic (default SETU_TAXII_USER)")
	fs.StringVar(&rf.token, "token", "", "API token or password (default SETU_TAXII_TOKEN; Bearer when no --user)")
	fs.StringVar(&rf.ca, "ca", "", "PEM `file` of CA certificates to trust")
	fs.StringVar(&rf.fingerprint, "fingerprint", "", "trust exactly the server certificate with this SHA-256 `fingerprint`")
	fs.BoolVar(&rf.insecure, "insecure-skip-verify", false, "do not verify the server's certificate (testing only)")
}

// client builds a TAXII client for a server's URL from the flags.
func (rf *remoteFlags) client(e *env, apiRoot string) (*taxii.Client, error) {
	if rf.collection == "" {
		return nil, errors.New("--collection is required")
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	switch {
	case rf.fingerprint != "":
		want := strings.ToLower(strings.NewReplacer(":", "", " ", "").Replace(rf.fingerprint))
		tc.InsecureSkipVerify = true // replaced by the pin below
		tc.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 {
				return errors.New("no server certificate")
			}
			sum := sha256.Sum256(raw[0])
			if fmt.Sprintf("%x", sum) != want {
				return fmt.Errorf("server certificate fingerprint %x does not match --fingerprint", sum)
			}
			return nil
		}
	case rf.insecure:
		tc.InsecureSkipVerify = true
	case rf.ca != "":
		pem, err := os.ReadFile(rf.ca)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s holds no PEM certificate", rf.ca)
		}
		tc.RootCAs = pool
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tc
	opts := []taxii.ClientOption{taxii.WithHTTPClient(&http.Client{Transport: tr, Timeout: 5 * time.Minute}),
		taxii.WithUserAgent("setu/" + Version), taxii.WithPollInterval(200 * time.Millisecond)}
	token := rf.token
	if token == "" {
		token = e.getenv("SETU_TAXII_TOKEN")
	}
	switch {
	case rf.user != "":
		opts = append(opts, taxii.WithBasicAuth(rf.user, token))
	case token != "":
		opts = append(opts, taxii.WithBearerToken(token))
	}
	return taxii.NewClient(apiRoot, opts...)
}

// locate finds the API root at the URL the client was built for (a
// server's root, its discovery URL or an API root) and the collection the
// flags name there, by id, alias or title.
func (rf *remoteFlags) locate(ctx context.Context, c *taxii.Client) (root, collection string, err error) {
	if root, err = c.FindAPIRoot(ctx); err != nil {
		return "", "", err
	}
	col, err := c.FindCollection(ctx, root, rf.collection)
	if err != nil {
		return "", "", err
	}
	return root, col.ID, nil
}

func taxiiPull(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "taxii pull", "URL --collection ID|ALIAS [--into NAME] [--added-after TS] [auth and trust flags]\n\nURL is the server's root (https://HOST:PORT/), its discovery URL (.../taxii2/) or an API root.")
	var sf storeFlags
	sf.register(fs, e)
	var rf remoteFlags
	rf.register(fs, e)
	into := fs.String("into", defaultCollection, "local collection `name` or id (created if absent)")
	after := fs.String("added-after", "", "only objects the server added after this `timestamp`")
	limit := fs.Int("limit", 1000, "page `size` to ask for")
	root, code, ok := oneArg(fs, args)
	if !ok {
		return code
	}
	c, err := rf.client(e, root)
	if err != nil {
		errorf(e, "%v", err)
		return 2
	}
	f := taxii.Filter{Limit: *limit}
	if *after != "" {
		if f.AddedAfter, err = taxii.ParseTimestamp(*after); err != nil {
			errorf(e, "--added-after: %v", err)
			return 2
		}
	}
	st, _, err := sf.open(ctx, false)
	if err != nil {
		errorf(e, "%v", err)
		return 1
	}
	defer st.Close()
	coll, err := collection(ctx, st, *into, true)
	if err != nil {
		errorf(e, "--into: %v", err)
		return 1
	}
	root, remote, err := rf.locate(ctx, c)
	if err != nil {
		errorf(e, "pull: %v", err)
		return 1
	}
	w, err := operatorWriter(ctx, st)
	if err != nil {
		errorf(e, "%v", err)
		return 1
	}
	w.Audit = cliWrite("cli:taxii-pull", coll.ID)
	in := ingest.New(st, 0, ingest.WithPatterns(match.DefaultWarninglist()), ingest.WithWriter(w), ingest.WithNodeIdentity(w.Identity))
	var sum ingest.Summary
	var last time.Time
	shown := 0
	for page, err := range c.AllObjects(ctx, root, remote, f) {
		if err != nil {
			errorf(e, "pull: %v", err)
			printPull(e, sum, last)
			return 1
		}
		raws := make([][]byte, len(page.Envelope.Objects))
		for i, o := range page.Envelope.Objects {
			raws[i] = o
		}
		items, err := in.Objects(ctx, coll.ID, raws)
		if err != nil {
			errorf(e, "storing: %v", err)
			return 1
		}
		for _, it := range items {
			switch it.Outcome {
			case ingest.Added:
				sum.Added++
			case ingest.Duplicate:
				sum.Duplicate++
			default:
				sum.Rejected++
				if shown < maxShown {
					shown++
					fmt.Fprintf(e.stderr, "rejected: %v\n", it.Err)
				}
			}
		}
		if !page.Headers.DateAddedLast.IsZero() {
			last = page.Headers.DateAddedLast
		}
	}
	printPull(e, sum, last)
	if sum.Rejected > 0 {
		return 1
	}
	return 0
}

func printPull(e *env, sum ingest.Summary, last time.Time) {
	fmt.Fprintf(e.stdout, "pulled %d (new %d, duplicate %d), rejected %d\n", sum.Added+sum.Duplicate+sum.Rejected, sum.Added, sum.Duplicate, sum.Rejected)
	if !last.IsZero() {
		// What to pass as --added-after next time to pull only what is new.
		fmt.Fprintf(e.stdout, "resume with --added-after %s\n", taxii.FormatTimestamp(last))
	}
}

func taxiiPush(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "taxii push", "URL --collection ID|ALIAS [--batch N] FILE... [auth and trust flags]\n\nURL is the server's root (https://HOST:PORT/), its discovery URL (.../taxii2/) or an API root.")
	var rf remoteFlags
	rf.register(fs, e)
	batch := fs.Int("batch", 1000, "objects per envelope")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() < 2 {
		fs.Usage()
		return 2
	}
	c, err := rf.client(e, fs.Arg(0))
	if err != nil {
		errorf(e, "%v", err)
		return 2
	}
	root, remote, err := rf.locate(ctx, c)
	if err != nil {
		errorf(e, "push: %v", err)
		return 1
	}
	var ok, failed int
	send := func(objs [][]byte) error {
		if len(objs) == 0 {
			return nil
		}
		env := bytes.NewBufferString(`{"objects":[`)
		env.Write(bytes.Join(objs, []byte(",")))
		env.WriteString("]}")
		st, err := c.AddEnvelope(ctx, root, remote, env.Bytes())
		if err != nil {
			return err
		}
		st, err = c.WaitStatus(ctx, root, st.ID)
		if err != nil {
			return err
		}
		ok += st.SuccessCount
		failed += st.FailureCount
		for _, f := range st.Failures {
			fmt.Fprintf(e.stderr, "refused %s: %s\n", f.ID, f.Message)
		}
		return nil
	}
	for _, name := range fs.Args()[1:] {
		if err := pushFile(ctx, e, name, *batch, send); err != nil {
			errorf(e, "%s: %v", displayName(name), err)
			fmt.Fprintf(e.stdout, "pushed %d, refused %d\n", ok, failed)
			return 1
		}
	}
	fmt.Fprintf(e.stdout, "pushed %d, refused %d\n", ok, failed)
	if failed > 0 {
		return 1
	}
	return 0
}

// pushFile frames the objects of one file into envelopes of batch objects.
// Objects are sent as they are; the receiving server validates them.
func pushFile(ctx context.Context, e *env, name string, batch int, send func([][]byte) error) error {
	var r = e.stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	rd := stix.NewReader(r)
	objs := make([][]byte, 0, batch)
	for ctx.Err() == nil {
		raw, _, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var fe *stix.FrameError
			if errors.As(err, &fe) && fe.Recoverable {
				fmt.Fprintf(e.stderr, "skipping: %v\n", err)
				continue
			}
			return err
		}
		objs = append(objs, raw)
		if len(objs) == batch {
			if err := send(objs); err != nil {
				return err
			}
			objs = objs[:0:0]
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return send(objs)
}

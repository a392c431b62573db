package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/setu-cti/setu/internal/federation"
	"github.com/setu-cti/setu/internal/store"
)

func init() {
	register("peer", "partner nodes: add, update, list, remove, status, token", runPeer)
}

func runPeer(ctx context.Context, e *env, args []string) int {
	return subcommands(ctx, e, "peer", args, map[string]func(context.Context, *env, []string) int{
		"add":    peerAdd,
		"update": peerUpdate,
		"list":   peerList,
		"remove": peerRemove,
		"status": peerStatus,
		"token":  peerToken,
	})
}

func peerAdd(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "peer add", "NAME --url URL (--cert FILE | --fingerprint SHA256) [--signing-key BASE64] [--token-file FILE] [--country CC]")
	var sf storeFlags
	sf.register(fs, e)
	rawURL := fs.String("url", "", "the peer's TAXII `URL` (HTTPS)")
	certFile := fs.String("cert", "", "the peer's certificate `file` (PEM or DER), to pin")
	fp := fs.String("fingerprint", "", "the SHA-256 `fingerprint` of the peer's certificate, as the partner read it out")
	key := fs.String("signing-key", "", "the peer's Ed25519 public `key` (base64), from its `setu node show`")
	tokenFile := fs.String("token-file", "", "`file` holding the token to present to the peer's TAXII server")
	country := fs.String("country", "", "the peer node's `country` (ISO 3166-1 alpha-2): objects marked resident in a country reach only peers declared to be in it")
	name, code, ok := oneArg(fs, args)
	if !ok {
		return code
	}
	spec := federation.PeerSpec{Name: name, URL: *rawURL, Fingerprint: *fp, SigningKey: *key, Country: *country}
	if *rawURL == "" {
		errorf(e, "peer add: --url is required")
		return 2
	}
	var err error
	if spec.Cert, spec.Token, err = peerFiles(*certFile, *tokenFile); err != nil {
		errorf(e, "peer add: %v", err)
		return 1
	}
	return withFederation(ctx, e, &sf, func(db fedDB) error {
		self, err := db.NodeInfo(ctx)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		p, err := federation.NewPeer(spec, self.Name, time.Now())
		if err != nil {
			return err
		}
		if _, err := db.Peer(ctx, p.Name); err == nil {
			return fmt.Errorf("peer %s already exists; remove it first to change it", p.Name)
		}
		// A peer supersedes an origin of its name, whose key it keeps
		// unless another is given.
		o, err := db.Origin(ctx, p.Name)
		switch {
		case err == nil:
			if p.SigningKey == nil {
				p.SigningKey = o.SigningKey
			}
			fmt.Fprintf(e.stdout, "the origin %s becomes a peer\n", p.Name)
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		if err := db.CreatePeer(ctx, p); err != nil {
			if errors.Is(err, store.ErrExists) {
				return fmt.Errorf("certificate %s is already pinned for another peer: %w", federation.Fingerprint(p.CertSHA256), err)
			}
			return err
		}
		fmt.Fprintf(e.stdout, "peer %s added: %s, certificate SHA-256 %s\n", p.Name, p.URL, federation.Fingerprint(p.CertSHA256))
		if p.SigningKey == nil {
			fmt.Fprintf(e.stdout, "its signing key is not known yet: pass --signing-key, or learn it with `setu agreement verify FILE --peer %s --trust-key SHA256`\n", p.Name)
		}
		return logAdmin(ctx, db, "peer.add", "peer:"+p.Name)
	})
}

// peerFiles reads the certificate and token files a peer command was
// given; either name may be empty. A token file must hold a token.
func peerFiles(certFile, tokenFile string) (cert []byte, token string, err error) {
	if certFile != "" {
		if cert, err = os.ReadFile(certFile); err != nil {
			return nil, "", err
		}
	}
	if tokenFile != "" {
		b, err := os.ReadFile(tokenFile)
		if err != nil {
			return nil, "", err
		}
		if token = string(b); token == "" {
			return nil, "", fmt.Errorf("token file %s is empty", tokenFile)
		}
	}
	return cert, token, nil
}

// peerUpdate changes what is given of a peer's record: its URL, pinned
// certificate, signing key, the token this node presents to it, its
// country. Its agreements, sync state and group memberships stay.
func peerUpdate(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "peer update", "NAME [--url URL] [--cert FILE | --fingerprint SHA256] [--signing-key BASE64] [--token-file FILE | --no-token] [--country CC]")
	var sf storeFlags
	sf.register(fs, e)
	rawURL := fs.String("url", "", "the peer's TAXII `URL` (HTTPS)")
	certFile := fs.String("cert", "", "the peer's new certificate `file` (PEM or DER), to pin")
	fp := fs.String("fingerprint", "", "the SHA-256 `fingerprint` of the peer's new certificate")
	key := fs.String("signing-key", "", "the peer's Ed25519 public `key` (base64)")
	tokenFile := fs.String("token-file", "", "`file` holding the token to present to the peer's TAXII server from now on")
	noToken := fs.Bool("no-token", false, "present no token to the peer any more")
	country := fs.String("country", "", "the peer node's `country` (ISO 3166-1 alpha-2)")
	name, code, ok := oneArg(fs, args)
	if !ok {
		return code
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["cert"] && set["fingerprint"] || set["token-file"] && *noToken {
		errorf(e, "peer update: give --cert or --fingerprint, and --token-file or --no-token, not both")
		return 2
	}
	cert, token, err := peerFiles(*certFile, *tokenFile)
	if err != nil {
		errorf(e, "peer update: %v", err)
		return 1
	}
	return withFederation(ctx, e, &sf, func(db fedDB) error {
		old, err := db.Peer(ctx, name)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("no peer named %s", name)
		}
		if err != nil {
			return err
		}
		spec := federation.SpecOf(old)
		if set["url"] {
			spec.URL = *rawURL
		}
		if set["cert"] {
			spec.Cert, spec.Fingerprint = cert, ""
		}
		if set["fingerprint"] {
			spec.Fingerprint = *fp
		}
		if set["signing-key"] {
			spec.SigningKey = *key
		}
		if set["token-file"] {
			spec.Token = token
		}
		if *noToken {
			spec.Token = ""
		}
		if set["country"] {
			spec.Country = *country
		}
		self, err := db.NodeInfo(ctx)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		p, err := federation.NewPeer(spec, self.Name, old.Created)
		if err != nil {
			return err
		}
		if err := db.UpdatePeer(ctx, p); err != nil {
			if errors.Is(err, store.ErrExists) {
				return fmt.Errorf("certificate %s is already pinned for another peer: %w", federation.Fingerprint(p.CertSHA256), err)
			}
			return err
		}
		fmt.Fprintf(e.stdout, "peer %s updated: %s, certificate SHA-256 %s\n", p.Name, p.URL, federation.Fingerprint(p.CertSHA256))
		return logAdmin(ctx, db, "peer.update", "peer:"+p.Name)
	})
}

func peerList(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "peer list", "")
	var sf storeFlags
	sf.register(fs, e)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	return withFederation(ctx, e, &sf, func(db fedDB) error {
		ps, err := db.ListPeers(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		// TOKEN SENT is whether this node presents a token to the peer;
		// TOKEN REQUIRED, whether the peer must present one here. Tokens
		// are credentials, and neither they nor their hashes are shown.
		fmt.Fprintln(tw, "NAME\tCOUNTRY\tURL\tCERTIFICATE SHA-256\tSIGNING KEY SHA-256\tTOKEN SENT\tTOKEN REQUIRED\tADDED")
		for _, p := range ps {
			key := "unknown"
			if p.SigningKey != nil {
				key = federation.FingerprintOf(p.SigningKey).String()
			}
			country := p.Country
			if country == "" {
				country = "-"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.Name, country, p.URL, federation.Fingerprint(p.CertSHA256), key,
				yesNo(p.Token != ""), yesNo(p.InboundTokenSHA256 != nil), p.Created.Format(time.RFC3339))
		}
		return tw.Flush()
	})
}

func peerRemove(ctx context.Context, e *env, args []string) int {
	return removeNamed(ctx, e, args, "peer", ", with its agreements", func(db fedDB, name string) error { return db.DeletePeer(ctx, name) })
}

// removeNamed runs `KIND remove NAME`: del removes the named record from
// the federation store, and the removal is audited as KIND.remove.
func removeNamed(ctx context.Context, e *env, args []string, kind, also string, del func(fedDB, string) error) int {
	fs := newFlags(e, kind+" remove", "NAME")
	var sf storeFlags
	sf.register(fs, e)
	name, code, ok := oneArg(fs, args)
	if !ok {
		return code
	}
	return withFederation(ctx, e, &sf, func(db fedDB) error {
		if err := del(db, name); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("no %s named %s", kind, name)
			}
			return err
		}
		fmt.Fprintf(e.stdout, "%s %s removed%s\n", kind, name, also)
		return logAdmin(ctx, db, kind+".remove", kind+":"+name)
	})
}

// peerState is one line of `setu peer status`.
type peerState struct {
	name      string
	agreement string // version in force, or "none"
	mode      string
	schedule  string
	contact   string
	sync      string // objects in and out, refusals, errors
}

func peerStatus(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "peer status", "")
	var sf storeFlags
	sf.register(fs, e)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	return withFederation(ctx, e, &sf, func(db fedDB) error {
		ps, err := db.ListPeers(ctx)
		if err != nil {
			return err
		}
		var sync map[string]federation.PeerStatus
		if sdb, ok := db.(federation.StatusStore); ok {
			all, err := federation.Status(ctx, sdb, time.Now())
			if err != nil {
				return err
			}
			sync = map[string]federation.PeerStatus{}
			for _, s := range all {
				sync[s.Peer] = s
			}
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "PEER\tAGREEMENT\tMODE\tSCHEDULE\tLAST CONTACT\tSYNC")
		for _, p := range ps {
			st := peerState{name: p.Name, agreement: "none", mode: "-", schedule: "-", contact: "never", sync: "not started"}
			if !p.LastContact.IsZero() {
				st.contact = p.LastContact.Format(time.RFC3339)
			}
			rec, err := db.Agreement(ctx, p.Name)
			switch {
			case err == nil:
				st.agreement = "version " + strconv.FormatInt(rec.Version, 10)
				if a, err := federation.ParseAgreement(rec.Body); err == nil {
					st.mode, st.schedule = string(a.Mode), federation.FormatInterval(a.Schedule)
				} else {
					st.mode = "unreadable: " + err.Error()
				}
			case !errors.Is(err, store.ErrNotFound):
				return err
			}
			if s, ok := sync[p.Name]; ok {
				c := s.Counts
				st.sync = fmt.Sprintf("in %d, duplicate %d, released %d, out %d, refused %d, withheld %d, errors %d",
					c["in"], c["duplicate"], c["released"], c["out"], sumPrefix(c, "refused:"), sumPrefix(c, "withheld:"), c["errors"])
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", st.name, st.agreement, st.mode, st.schedule, st.contact, st.sync)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		for _, p := range ps {
			s, ok := sync[p.Name]
			if !ok {
				continue
			}
			fmt.Fprintf(e.stdout, "\n%s\n", p.Name)
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "  DIRECTION\tCOLLECTION\tPOSITION\tBEHIND\tOBJECTS\tLAST SUCCESS\tLAG\tLAST ERROR")
			for _, c := range s.Cursors {
				pos, coll := strconv.FormatInt(c.Seq, 10), c.Collection
				switch {
				case c.Collection == federation.ServerCursor:
					// Reaching the peer's server, before any collection.
					pos, coll = "-", "(server)"
				case c.Direction == store.SyncIn:
					pos = "added after " + c.Added.Format(time.RFC3339Nano)
					if c.Added.IsZero() {
						pos = "start"
					}
				}
				behind := "-"
				if c.Behind >= 0 {
					behind = strconv.FormatInt(c.Behind, 10)
					if c.Behind >= federation.MaxBehind {
						behind = ">=" + behind
					}
				}
				last, lag := "never", "-"
				if !c.LastSuccess.IsZero() {
					last, lag = c.LastSuccess.Format(time.RFC3339), c.Lag.Round(time.Second).String()
				}
				errText := c.LastError
				if errText == "" {
					errText = "-"
				}
				fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", c.Direction, coll, pos, behind, c.Objects, last, lag, errText)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			var reasons []string
			for _, k := range slices.Sorted(maps.Keys(s.Counts)) {
				if strings.HasPrefix(k, "refused:") || strings.HasPrefix(k, "withheld:") || k == "skipped:path" {
					reasons = append(reasons, fmt.Sprintf("%s %d", k, s.Counts[k]))
				}
			}
			if len(reasons) > 0 {
				fmt.Fprintf(e.stdout, "  refusals: %s\n", strings.Join(reasons, ", "))
			}
		}
		return nil
	})
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func sumPrefix(m map[string]int64, prefix string) int64 {
	var n int64
	for k, v := range m {
		if strings.HasPrefix(k, prefix) {
			n += v
		}
	}
	return n
}

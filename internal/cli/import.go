package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/setu-cti/setu/internal/account"
	"github.com/setu-cti/setu/internal/audit"
	"github.com/setu-cti/setu/internal/ingest"
	"github.com/setu-cti/setu/internal/match"
	"github.com/setu-cti/setu/internal/policy"
	"github.com/setu-cti/setu/internal/store"
)

func init() {
	register("import", "validate and store STIX objects from bundles, JSON arrays or NDJSON", runImport)
}

// operatorWriter is the writer of the operators' imports: the node
// operators' organisation, with its identity and sectors once the node
// has one.
func operatorWriter(ctx context.Context, st any) (ingest.Writer, error) {
	orgs, ok := st.(interface {
		Org(context.Context, string) (account.Org, error)
	})
	if !ok {
		return ingest.Operator, nil
	}
	o, err := orgs.Org(ctx, account.NodeOrg)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return ingest.Operator, nil // a store no server has set up yet
	case err != nil:
		return ingest.Writer{}, err
	}
	return ingest.OperatorWriter(o), nil
}

// maxShown bounds the rejections, and separately the warnings, printed.
const maxShown = 10

func runImport(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "import", "[--collection NAME] [--tlp LEVEL] [--share LIST] [--on-conflict reject|keep] FILE... ('-' reads standard input)")
	var sf storeFlags
	sf.register(fs, e)
	coll := fs.String("collection", defaultCollection, "collection `name` or id (created if absent); the default is readable by every organisation")
	batch := fs.Int("batch", ingest.ImportBatch, "objects per transaction")
	quiet := fs.Bool("q", false, "no progress display")
	tlp := fs.String("tlp", "", "handle every object as at least this TLP `level` (clear, green, amber, amber+strict, red), beside its own markings; the objects are stored unchanged")
	share := fs.String("share", "", "distribute every object only to this comma-separated `list` besides its own markings: org, community, partners, nodes, public, group:ID, resident:CC, and org:ID or user:NAME as TLP:RED recipients")
	onConflict := fs.String("on-conflict", "reject", "an object whose id and version are stored with other content: `reject` it (exit 1) or keep the stored content (keep)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	h, err := handling(*tlp, *share)
	if err != nil {
		errorf(e, "%v", err)
		return 2
	}
	if *onConflict != "reject" && *onConflict != "keep" {
		errorf(e, "--on-conflict %q: want reject or keep", *onConflict)
		return 2
	}
	st, _, err := sf.open(ctx, false)
	if err != nil {
		errorf(e, "%v", err)
		return 1
	}
	defer st.Close()
	if db, ok := st.(nodeDB); ok {
		if err := ensureCollections(ctx, db, time.Now().UTC()); err != nil {
			errorf(e, "%v", err)
			return 1
		}
	}
	c, err := collection(ctx, st, *coll, true)
	if err != nil {
		errorf(e, "%v", err)
		return 1
	}

	w, err := operatorWriter(ctx, st)
	if err != nil {
		errorf(e, "%v", err)
		return 1
	}
	w.Audit = cliWrite("cli:import", c.ID)
	w.Handling = h
	w.KeepStored = *onConflict == "keep"
	opts := []ingest.Option{ingest.WithPatterns(match.DefaultWarninglist()), ingest.WithWriter(w), ingest.WithNodeIdentity(w.Identity)}
	if g, ok := st.(store.Groups); ok {
		opts = append(opts, ingest.WithGroups(g))
	}
	in := ingest.New(st, *batch, opts...)
	var total ingest.Summary
	var rejects, warnings, kept int
	failed := false
	for _, name := range fs.Args() {
		where := func(it ingest.Item) string {
			if it.Line > 0 {
				return fmt.Sprintf("%s:%d: object #%d", displayName(name), it.Line, it.Index+1)
			}
			return fmt.Sprintf("%s: object #%d", displayName(name), it.Index+1)
		}
		sum, err := importOne(ctx, e, in, c.ID, name, *quiet, func(it ingest.Item) {
			switch {
			case it.Outcome == ingest.Rejected:
				if rejects++; rejects <= maxShown {
					advice := ""
					if errors.Is(it.Err, store.ErrConflict) {
						advice = " (--on-conflict keep keeps the stored content and goes on)"
					}
					fmt.Fprintf(e.stderr, "%s: rejected: %v%s\n", where(it), it.Err, advice)
				}
			case it.Kept:
				if kept++; kept <= maxShown {
					fmt.Fprintf(e.stderr, "%s: kept the stored version: %v\n", where(it), it.Err)
				}
			}
			for _, msg := range it.Warnings {
				if warnings++; warnings <= maxShown {
					fmt.Fprintf(e.stderr, "%s: warning: %s\n", where(it), msg)
				}
			}
		})
		total.Added += sum.Added
		total.Duplicate += sum.Duplicate
		total.Rejected += sum.Rejected
		total.Warnings += sum.Warnings
		total.Kept += sum.Kept
		if err != nil {
			failed = true
			errorf(e, "%s: %v", displayName(name), err)
			if errors.Is(err, context.Canceled) {
				break
			}
		}
	}
	for _, more := range []struct {
		n    int
		what string
	}{{rejects, "rejections"}, {kept, "conflicts kept"}, {warnings, "warnings"}} {
		if more.n > maxShown {
			fmt.Fprintf(e.stderr, "... and %d more %s\n", more.n-maxShown, more.what)
		}
	}
	fmt.Fprintf(e.stdout, "accepted %d (new %d, duplicate %d", total.Added+total.Duplicate, total.Added, total.Duplicate-total.Kept)
	if total.Kept > 0 {
		fmt.Fprintf(e.stdout, ", conflicting versions kept as stored %d", total.Kept)
	}
	fmt.Fprintf(e.stdout, "), rejected %d, warnings %d, into collection %s\n", total.Rejected, warnings, collectionName(c))
	if failed || total.Rejected > 0 {
		return 1
	}
	return 0
}

// collectionName is how the command names a collection to its user.
func collectionName(c store.Collection) string {
	if c.Alias != "" {
		return c.Alias
	}
	return c.ID
}

// handling reads --tlp and --share.
func handling(tlp, share string) (policy.Handling, error) {
	var h policy.Handling
	if tlp != "" {
		t, err := policy.ParseTLP(tlp)
		if err != nil {
			return h, fmt.Errorf("--tlp: %w", err)
		}
		h.TLP = t
	}
	ds, err := policy.ParseShare(share)
	if err != nil {
		return h, fmt.Errorf("--share: %w", err)
	}
	h.Distribution = ds
	return h, nil
}

func displayName(name string) string {
	if name == "-" {
		return "<stdin>"
	}
	return name
}

func importOne(ctx context.Context, e *env, in *ingest.Ingester, coll, name string, quiet bool, report func(ingest.Item)) (ingest.Summary, error) {
	var r io.Reader = e.stdin
	var size int64 = -1
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return ingest.Summary{}, err
		}
		defer f.Close()
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			size = fi.Size()
		}
		r = f
	}
	cr := &countingReader{r: r}
	var p *progress
	if !quiet {
		p = newProgress(e.stderr, displayName(name), size, cr)
	}
	sum, err := in.Stream(ctx, coll, cr, func(it ingest.Item) {
		report(it)
		p.tick()
	})
	p.done()
	return sum, err
}

// countingReader counts bytes read, for progress.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// progress draws a one-line progress display when w is a terminal; otherwise
// it does nothing. A nil *progress is valid and inert.
type progress struct {
	w       io.Writer
	name    string
	size    int64
	cr      *countingReader
	start   time.Time
	last    time.Time
	objects int
}

func newProgress(w io.Writer, name string, size int64, cr *countingReader) *progress {
	if !isTerminal(w) {
		return nil
	}
	return &progress{w: w, name: name, size: size, cr: cr, start: time.Now()}
}

func (p *progress) tick() {
	if p == nil {
		return
	}
	p.objects++
	if now := time.Now(); now.Sub(p.last) >= 200*time.Millisecond {
		p.last = now
		p.draw(now)
	}
}

func (p *progress) draw(now time.Time) {
	rate := float64(p.objects) / max(now.Sub(p.start).Seconds(), 1e-3)
	if p.size > 0 {
		pct := float64(p.cr.n) * 100 / float64(p.size)
		const width = 30
		filled := min(int(pct/100*width), width)
		bar := make([]byte, width)
		for i := range bar {
			bar[i] = ' '
			if i < filled {
				bar[i] = '='
			}
		}
		fmt.Fprintf(p.w, "\r%s [%s] %5.1f%% %d objects %.0f/s ", p.name, bar, pct, p.objects, rate)
		return
	}
	fmt.Fprintf(p.w, "\r%s %d objects %.0f/s ", p.name, p.objects, rate)
}

func (p *progress) done() {
	if p == nil {
		return
	}
	p.draw(time.Now())
	fmt.Fprintln(p.w)
}

// cliWrite is the audit record of each batch a command at the console
// stores into collection, in the batch's own transaction.
func cliWrite(path, collection string) *audit.Record {
	return &audit.Record{Actor: "cli", Org: account.NodeOrg, Action: "write", Path: path,
		Collection: collection, Rule: "operator"}
}

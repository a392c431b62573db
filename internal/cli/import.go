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
	"github.com/setu-cti/setu/internal/store"
)

func init() {
	register("import", "validate and store STIX objects from bundles, JSON arrays or NDJSON", runImport)
}

// maxShownRejects bounds the reasons printed in the summary.
const maxShownRejects = 10

func runImport(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "import", "[--collection NAME] FILE... ('-' reads standard input)")
	var sf storeFlags
	sf.register(fs, e)
	coll := fs.String("collection", "default", "collection `name` or id (created if absent)")
	batch := fs.Int("batch", ingest.ImportBatch, "objects per transaction")
	quiet := fs.Bool("q", false, "no progress display")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	st, _, err := sf.open(ctx, false)
	if err != nil {
		errorf(e, "%v", err)
		return 1
	}
	defer st.Close()
	c, err := collection(ctx, st, *coll, true)
	if err != nil {
		errorf(e, "collection %q: %v", *coll, err)
		return 1
	}

	in := ingest.New(st, *batch, ingest.WithPatterns(match.DefaultWarninglist()))
	var total ingest.Summary
	var shown int
	failed := false
	rec := newImportAudit(st, c.ID)
	for _, name := range fs.Args() {
		sum, err := importOne(ctx, e, in, c.ID, name, *quiet, func(it ingest.Item) {
			if it.Outcome == ingest.Rejected && shown < maxShownRejects {
				shown++
				fmt.Fprintf(e.stderr, "rejected %s object #%d: %v\n", displayName(name), it.Index, it.Err)
			}
			if it.Outcome == ingest.Added {
				rec.add(ctx, it.ID)
			}
		})
		total.Added += sum.Added
		total.Duplicate += sum.Duplicate
		total.Rejected += sum.Rejected
		total.Warnings += sum.Warnings
		if err != nil {
			failed = true
			errorf(e, "%s: %v", displayName(name), err)
			if errors.Is(err, context.Canceled) {
				break
			}
		}
	}
	if err := rec.flush(ctx); err != nil {
		errorf(e, "%v", err)
		failed = true
	}
	if total.Rejected > shown {
		fmt.Fprintf(e.stderr, "... and %d more rejected\n", total.Rejected-shown)
	}
	fmt.Fprintf(e.stdout, "accepted %d (new %d, duplicate %d), rejected %d, warnings %d\n",
		total.Added+total.Duplicate, total.Added, total.Duplicate, total.Rejected, total.Warnings)
	if failed || total.Rejected > 0 {
		return 1
	}
	return 0
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

// importAudit records what an import wrote in the audit log, one record per
// thousand objects, as the operator at the console.
type importAudit struct {
	log  store.Audit // nil when the store keeps no audit log
	coll string
	ids  []string
	err  error
}

func newImportAudit(st store.Store, coll string) *importAudit {
	a, _ := st.(store.Audit)
	return &importAudit{log: a, coll: coll}
}

func (a *importAudit) add(ctx context.Context, id string) {
	if a.log == nil {
		return
	}
	a.ids = append(a.ids, id)
	if len(a.ids) >= 1000 {
		if err := a.flush(ctx); err != nil && a.err == nil {
			a.err = err
		}
	}
}

func (a *importAudit) flush(ctx context.Context) error {
	if a.log == nil || len(a.ids) == 0 {
		return a.err
	}
	rec := audit.Record{Actor: "cli", Org: account.NodeOrg, Action: "write", Path: "cli:import",
		Collection: a.coll, Objects: a.ids, Rule: "operator"}
	a.ids = nil
	if _, err := a.log.AppendAudit(context.WithoutCancel(ctx), []audit.Record{rec}); err != nil {
		return fmt.Errorf("objects were stored but could not be recorded in the audit log: %w", err)
	}
	return a.err
}

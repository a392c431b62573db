package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"time"

	"github.com/google/uuid"
	"golang.org/x/term"

	"github.com/setu-cti/setu/internal/ingest"
	"github.com/setu-cti/setu/internal/match"
	"github.com/setu-cti/setu/internal/store"
	"github.com/setu-cti/setu/internal/store/postgres"
	"github.com/setu-cti/setu/internal/store/sqlite"
)

// phaseArg, as the first argument, makes the program run one measured phase
// and print its result as JSON instead of running the benchmark. Memory is
// measured per phase this way: a child's maximum RSS covers that phase alone,
// not the generator, the baseline or an earlier phase.
const phaseArg = "-setu-bench-phase"

// Phases.
const (
	phaseDecode = "decode" // the encoding/json baseline
	phaseImport = "import" // ingest.Ingester into a store
	phasePage   = "page"   // page through a whole collection by cursor
)

// request tells a child what to do.
type request struct {
	Phase      string
	File       string // NDJSON input (decode, import)
	N          int    // objects expected
	Backend    string // "sqlite" or "postgres"
	DSN        string // SQLite path or PostgreSQL DSN
	Collection string // alias of the collection to create (import) or read (page)
}

// result is what a child reports on standard output.
type result struct {
	Elapsed  time.Duration
	Count    int             // objects decoded, ingested or paged
	Marks    []time.Duration // import: elapsed time when each tenth of the objects was stored
	Summary  ingest.Summary
	FirstErr string // import: the first rejection, for diagnosis
	Existing int64  // import: versions the store held before the import

	// Set by the parent from the finished child.
	MaxRSS int64         `json:"-"` // bytes
	CPU    time.Duration `json:"-"` // user and system time
}

// child runs one phase in a fresh process and returns its result with the
// process's maximum RSS.
func (r *runner) child(ctx context.Context, req request) (result, error) {
	arg, err := json.Marshal(req)
	if err != nil {
		return result{}, err
	}
	cmd := exec.CommandContext(ctx, r.cfg.Exe, phaseArg, string(arg))
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = r.cfg.Stderr
	if err := cmd.Run(); err != nil {
		return result{}, fmt.Errorf("%s phase: %w", req.Phase, err)
	}
	var res result
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		return result{}, fmt.Errorf("%s phase: reading its result: %w", req.Phase, err)
	}
	res.MaxRSS = maxRSS(cmd.ProcessState)
	res.CPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	return res, nil
}

// runChild is the child side: args are what follows phaseArg.
func runChild(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "setu-bench: a phase takes one JSON argument")
		return 2
	}
	var req request
	if err := json.Unmarshal([]byte(args[0]), &req); err != nil {
		fmt.Fprintf(stderr, "setu-bench: phase request: %v\n", err)
		return 2
	}
	var res result
	var err error
	switch req.Phase {
	case phaseDecode:
		res, err = decodePhase(req)
	case phaseImport:
		res, err = importPhase(ctx, req, progressTo(stderr))
	case phasePage:
		res, err = pagePhase(ctx, req)
	default:
		err = fmt.Errorf("unknown phase %q", req.Phase)
	}
	if err != nil {
		fmt.Fprintf(stderr, "setu-bench: %s phase: %v\n", req.Phase, err)
		return 1
	}
	if err := json.NewEncoder(stdout).Encode(res); err != nil {
		fmt.Fprintf(stderr, "setu-bench: %v\n", err)
		return 1
	}
	return 0
}

// decodePhase is the baseline: the least any importer must do, decoding
// each object of the same bytes into a generic map with the standard library.
func decodePhase(req request) (result, error) {
	f, err := os.Open(req.File)
	if err != nil {
		return result{}, err
	}
	defer f.Close()
	start := time.Now()
	dec := json.NewDecoder(f)
	n := 0
	for {
		var m map[string]any // a fresh map per object, as an importer holding objects would
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return result{}, fmt.Errorf("object %d: %w", n, err)
		}
		n++
	}
	res := result{Elapsed: time.Since(start), Count: n}
	if n != req.N {
		return res, fmt.Errorf("decoded %d objects, want %d", n, req.N)
	}
	return res, nil
}

// openStore opens the backend a request names.
func openStore(ctx context.Context, backend, dsn string) (store.Store, error) {
	switch backend {
	case "sqlite":
		db, err := sqlite.Open(ctx, dsn, store.Options{})
		if err != nil {
			return nil, err
		}
		return db, nil
	case "postgres":
		db, err := postgres.Open(ctx, dsn, store.Options{})
		if err != nil {
			return nil, err
		}
		return db, nil
	}
	return nil, fmt.Errorf("unknown backend %q", backend)
}

// importPhase streams the file through the real write path into a new
// collection, noting when each tenth of the objects has been stored.
func importPhase(ctx context.Context, req request, progress io.Writer) (result, error) {
	st, err := openStore(ctx, req.Backend, req.DSN)
	if err != nil {
		return result{}, err
	}
	defer st.Close()
	stats, err := st.Stats(ctx)
	if err != nil {
		return result{}, err
	}
	c := store.Collection{ID: uuid.NewString(), Alias: req.Collection, Title: req.Collection,
		MediaTypes: []string{"application/stix+json;version=2.1"}}
	if err := st.CreateCollection(ctx, c); err != nil {
		return result{}, err
	}
	f, err := os.Open(req.File)
	if err != nil {
		return result{}, err
	}
	defer f.Close()

	res := result{Existing: stats.Versions, Marks: make([]time.Duration, 0, 10)}
	start := time.Now()
	next := markAt(req.N, 0)
	// The batch `setu import` uses.
	sum, err := ingest.New(st, ingest.ImportBatch, ingest.WithPatterns(match.DefaultWarninglist())).Stream(ctx, c.ID, f, func(it ingest.Item) {
		res.Count++
		for len(res.Marks) < 10 && res.Count >= next {
			res.Marks = append(res.Marks, time.Since(start))
			next = markAt(req.N, len(res.Marks))
			fmt.Fprintf(progress, "\r          %s import: %d%% after %s ", req.Backend, 10*len(res.Marks), dur(res.Marks[len(res.Marks)-1]))
		}
		if it.Outcome == ingest.Rejected && res.FirstErr == "" {
			res.FirstErr = fmt.Sprintf("object #%d: %v", it.Index, it.Err)
		}
	})
	res.Elapsed = time.Since(start)
	fmt.Fprint(progress, "\r\033[K")
	res.Summary = sum
	if err != nil {
		return res, err
	}
	if sum.Added != req.N {
		return res, fmt.Errorf("added %d of %d objects (duplicate %d, rejected %d; first rejection: %s)",
			sum.Added, req.N, sum.Duplicate, sum.Rejected, res.FirstErr)
	}
	return res, nil
}

// progressTo returns w when it is a terminal, where a long phase shows how
// far it has got, and otherwise a writer that discards.
func progressTo(w io.Writer) io.Writer {
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return w
	}
	return io.Discard
}

// markAt is the object count that completes tenth k+1 of n.
func markAt(n, k int) int { return max(1, n*(k+1)/10) }

// pagePhase reads a whole collection a page at a time, as export and a
// TAXII client do, keeping nothing.
func pagePhase(ctx context.Context, req request) (result, error) {
	st, err := openStore(ctx, req.Backend, req.DSN)
	if err != nil {
		return result{}, err
	}
	defer st.Close()
	c, err := st.Collection(ctx, req.Collection)
	if err != nil {
		return result{}, err
	}
	start := time.Now()
	q := store.Query{Collection: c.ID, Limit: pageSize}
	n := 0
	for {
		p, err := st.Query(ctx, q)
		if err != nil {
			return result{}, err
		}
		n += len(p.Versions)
		if !p.More {
			break
		}
		q.After = p.Last
	}
	res := result{Elapsed: time.Since(start), Count: n}
	if n != req.N {
		return res, fmt.Errorf("paged %d objects, want %d", n, req.N)
	}
	return res, nil
}

// Package bench is Setu's reproducible benchmark: it measures the import
// rate, the steadiness of that rate, the latency of a page by cursor and of a
// lookup by id at scale, and peak memory, through the real code paths
// (ingest.Ingester over the SQLite store, optionally PostgreSQL), and prints
// each figure next to a baseline measured in the same run on the same
// machine, naming the baseline and the ratio to the target:
//
//   - import rate vs a bare encoding/json decode of the same bytes
//     (target: at least 25%);
//   - the last tenth of an import vs the first (at most 1.25× as long);
//   - a page of 1,000 objects by cursor, and a lookup by id, in a store of N
//     objects vs one of Small objects (median at most 2× as long);
//   - maximum RSS while importing N objects and while paging through all of
//     them (under 500 MB), each measured in a child process that runs only
//     that phase, next to the baseline decoder's own;
//
// and then through the TAXII server as a client sees it: taxiiserver with its
// POST worker behind the node's root handler, over TLS with the node's
// certificate on a loopback port, clients being taxii.Client with a real
// token:
//
//   - POST throughput: Posts envelopes of PostSize indicators, each counted
//     until the client sees its status complete (at least 10,000 objects/s,
//     the last POST at least 80% of the first's rate), vs ingest.Ingester
//     storing the same objects straight into a fresh store;
//   - a whole-collection pull by next, 1,000 a page, and a match[id] lookup,
//     at N objects vs Small (median at most 2× as long);
//   - Readers clients reading pages of 100 while another POSTs (no errors),
//     with page latency p50 and p99 vs a single client reading alone;
//
// and then the sharing policy, through policy.Gate over SQLite stores filled
// by ingest.Ingester with distribution markings resolved at ingest:
//
//   - a whole pass, 1,000 a page, through a collection of N objects that a
//     local reader may all see, vs the same pass by bare store.Query (at most
//     1.5× as long);
//   - pages for a sharing-group member who may see 1% of a collection of N
//     objects vs the same construction at Small (median at most 2× as long),
//     after checking that the member sees exactly that 1%, in full pages.
//
// Phases (import, read, taxii, policy) can be run alone; read and taxii use
// the imported stores, which are then imported without their figures.
//
// The match phase measures the indicator index (match.Index) in memory, at
// MatchN indicators, against a bare map and a bare prefix table (see
// matchFigures). It needs no store and is not part of a default run; select
// it with -only match. The detect phase measures setu match end to end
// (N mixed indicators in a store, loaded into the detection engine, NDJSON
// events read, matched and written) against a bare decode of the same
// events; it too runs only with -only detect.
//
// The sync phase runs two `setu serve` processes and measures federation
// sync between them (see syncFigures); it is not part of a default run
// either; select it with -only sync.
//
// Input is generated deterministically (see Indicators), so two runs with
// the same flags do the same work. Figures are for reading and comparing, not
// for tests: the package's own test runs it at tiny sizes and checks only
// that it completes.
package bench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/setu-cti/setu/internal/store"
)

// Targets.
const (
	targetImportShare = 0.25              // import rate / decode rate
	targetSteadiness  = 1.25              // last tenth's duration / first tenth's
	targetScale       = 2.0               // latency at N / latency at Small
	targetMaxRSS      = 500 * 1000 * 1000 // bytes
	pageSize          = 1000
	objectSize        = 600 // approximate bytes per generated indicator
)

// Config is one benchmark run. The zero value of each field but Stdout and
// Stderr has a default.
type Config struct {
	N           int    // objects in the large store (default 1,000,000)
	Small       int    // objects in the store it is compared with (default 4,000)
	Dir         string // work directory, kept; "" means a temporary one removed at the end
	PostgresDSN string // when set, the import and TAXII POSTs are measured on PostgreSQL too
	Samples     int    // lookups timed per store; pages are a tenth of that (default 2,000)
	Seed        uint64 // generator seed

	// Only lists the phases to run: "import", "read", "taxii", "policy",
	// "match" (nil: all of them but match).
	Only []string

	MatchN int // indicators in the match phase's indexes (default 1,000,000)

	NoTAXII      bool          // skip the TAXII server figures
	Posts        int           // POSTs timed for throughput (default 20)
	PostSize     int           // indicators per POST (default 1,000)
	Readers      int           // concurrent reading clients (default 50)
	ReadFor      time.Duration // how long readers read, alone and together (default 10s)
	ReadRequests int           // when > 0, also the most requests each reader makes

	// Exe is the program re-executed to run a measured phase in a child
	// process; it must dispatch phaseArg to Main (default: this executable).
	Exe string

	Stdout, Stderr io.Writer
}

// Figure is one printed measurement.
type Figure struct {
	Line      string // as printed
	HasTarget bool
	Pass      bool
}

// Report is the outcome of a run.
type Report struct {
	Figures []Figure
}

// Failed counts the figures that missed their target.
func (r Report) Failed() int {
	n := 0
	for _, f := range r.Figures {
		if f.HasTarget && !f.Pass {
			n++
		}
	}
	return n
}

// Main is the setu-bench command: flags, then Run; or, when args begin with
// the hidden phase argument, one measured phase. The exit code is 0 when
// every target is met, 1 when one is missed or the run fails, 2 on bad flags.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == phaseArg {
		return runChild(ctx, args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("setu-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg Config
	fs.IntVar(&cfg.N, "n", 1_000_000, "`objects` to import and page through")
	fs.IntVar(&cfg.Small, "small", 4_000, "`objects` in the small store the large one is compared with")
	fs.StringVar(&cfg.Dir, "dir", "", "work `directory` (kept); default: a temporary directory removed at the end")
	fs.StringVar(&cfg.PostgresDSN, "pg", "", "PostgreSQL `DSN`: also measure the import and TAXII POSTs there")
	fs.IntVar(&cfg.Samples, "samples", 2_000, "lookups timed per store (pages: a tenth)")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "generator `seed`")
	taxiiOn := fs.Bool("taxii", true, "also measure the TAXII server over HTTPS")
	fs.IntVar(&cfg.Posts, "posts", 20, "TAXII `POSTs` timed for throughput")
	fs.IntVar(&cfg.PostSize, "post-size", 1_000, "`indicators` per TAXII POST")
	fs.IntVar(&cfg.Readers, "readers", 50, "concurrent TAXII reading `clients`")
	fs.DurationVar(&cfg.ReadFor, "read-for", 10*time.Second, "how long TAXII readers read, alone and then together")
	fs.IntVar(&cfg.ReadRequests, "read-requests", 0, "when > 0, also the most `requests` each TAXII reader makes")
	fs.IntVar(&cfg.MatchN, "match-n", 1_000_000, "`indicators` in the match phase's indexes")
	// An explicitly empty list is an error rather than "all": a typo must
	// not start a run of the whole benchmark.
	fs.Func("only", "run only these `phases`, a comma-separated list of "+strings.Join(Phases, ", ")+" (default: all but match)", func(v string) error {
		for p := range strings.SplitSeq(v, ",") {
			p = strings.TrimSpace(p)
			if !slices.Contains(Phases, p) {
				return fmt.Errorf("unknown phase %q (phases: %s)", p, strings.Join(Phases, ", "))
			}
			cfg.Only = append(cfg.Only, p)
		}
		return nil
	})
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() != 0 || cfg.N < 10 || cfg.Small < 1 || cfg.Small > cfg.N {
		fmt.Fprintln(stderr, "setu-bench: need -n >= 10 and 1 <= -small <= -n, and no arguments")
		return 2
	}
	if cfg.MatchN < matchSmall {
		fmt.Fprintf(stderr, "setu-bench: need -match-n >= %d\n", matchSmall)
		return 2
	}
	if cfg.Posts < 1 || cfg.PostSize < 1 || cfg.Readers < 1 || cfg.ReadFor <= 0 || cfg.ReadRequests < 0 {
		fmt.Fprintln(stderr, "setu-bench: need -posts, -post-size and -readers >= 1, -read-for > 0 and -read-requests >= 0")
		return 2
	}
	cfg.NoTAXII = !*taxiiOn
	cfg.Stdout, cfg.Stderr = stdout, stderr
	rep, err := Run(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "setu-bench: %v\n", err)
		return 1
	}
	if rep.Failed() > 0 {
		return 1
	}
	return 0
}

// Phases are the parts of a run that Config.Only can select.
var Phases = []string{"import", "read", "taxii", "policy", "match", "detect",
	"sync", // federation sync between two setu serve processes (sync.go)
}

// runs reports whether the configuration selects phase.
func (c Config) runs(phase string) bool {
	if phase == "taxii" && c.NoTAXII {
		return false
	}
	if (phase == "match" || phase == "detect") && c.Only == nil {
		return false // only when asked for: see the package documentation
	}
	if phase == "sync" && c.Only == nil {
		return false // two setu serve processes: only when asked for
	}
	return c.Only == nil || slices.Contains(c.Only, phase)
}

type runner struct {
	cfg   Config
	rep   Report
	stats taxiiStats
}

// Run performs the benchmark, printing each figure to cfg.Stdout as it is
// measured. An error means a phase failed (not that a target was missed).
func Run(ctx context.Context, cfg Config) (Report, error) {
	if cfg.N <= 0 {
		cfg.N = 1_000_000
	}
	if cfg.Small <= 0 {
		cfg.Small = 4_000
	}
	if cfg.Samples <= 0 {
		cfg.Samples = 2_000
	}
	if cfg.Posts <= 0 {
		cfg.Posts = 20
	}
	if cfg.PostSize <= 0 {
		cfg.PostSize = 1_000
	}
	if cfg.Readers <= 0 {
		cfg.Readers = 50
	}
	if cfg.MatchN <= 0 {
		cfg.MatchN = 1_000_000
	}
	if cfg.ReadFor <= 0 {
		cfg.ReadFor = 10 * time.Second
	}
	if cfg.Stdout == nil {
		cfg.Stdout = io.Discard
	}
	if cfg.Stderr == nil {
		cfg.Stderr = io.Discard
	}
	if cfg.Exe == "" {
		exe, err := os.Executable()
		if err != nil {
			return Report{}, err
		}
		cfg.Exe = exe
	}
	if cfg.Dir == "" {
		dir, err := os.MkdirTemp("", "setu-bench-")
		if err != nil {
			return Report{}, err
		}
		defer os.RemoveAll(dir)
		cfg.Dir = dir
	} else if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return Report{}, err
	}
	r := &runner{cfg: cfg}
	err := r.run(ctx)
	return r.rep, err
}

func (r *runner) printf(format string, a ...any) {
	fmt.Fprintf(r.cfg.Stdout, format+"\n", a...)
}

// figure prints a measurement, with PASS or FAIL when it has a target.
func (r *runner) figure(hasTarget, pass bool, format string, a ...any) {
	line := fmt.Sprintf(format, a...)
	if hasTarget {
		if pass {
			line += "  PASS"
		} else {
			line += "  FAIL"
		}
	}
	r.rep.Figures = append(r.rep.Figures, Figure{Line: line, HasTarget: hasTarget, Pass: pass})
	r.printf("%s", line)
}

func (r *runner) run(ctx context.Context) error {
	cfg := r.cfg
	var phases []string
	for _, p := range Phases {
		if cfg.runs(p) {
			phases = append(phases, p)
		}
	}
	r.printf("setu-bench %s %s/%s, %d CPUs, n=%s small=%s, phases %s, work dir %s%s",
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), comma(cfg.N), comma(cfg.Small),
		strings.Join(phases, ","), cfg.Dir, loadAvg())

	if cfg.runs("import") || cfg.runs("read") || cfg.runs("taxii") {
		if err := r.stores(ctx); err != nil {
			return err
		}
	}
	if cfg.runs("policy") {
		if err := r.policy(ctx); err != nil {
			return err
		}
	}
	if cfg.runs("match") {
		if err := r.matchFigures(ctx); err != nil {
			return err
		}
	}
	if cfg.runs("detect") {
		if err := r.detect(ctx); err != nil {
			return err
		}
	}

	if cfg.runs("sync") {
		if err := r.syncFigures(ctx); err != nil {
			return err
		}
	}

	r.printf("result    %d of %d targets met%s", countPass(r.rep), countTargets(r.rep), loadAvg())
	return nil
}

// stores runs the phases over the imported stores: the import itself, reads
// by cursor and by id, and the TAXII server. Read and TAXII need the stores,
// so without the import phase they are imported all the same, unmeasured.
func (r *runner) stores(ctx context.Context) error {
	cfg := r.cfg
	gen := Indicators{Seed: cfg.Seed, Size: objectSize}
	large := filepath.Join(cfg.Dir, "indicators.ndjson")
	small := filepath.Join(cfg.Dir, "indicators-small.ndjson")
	size, err := writeFile(large, gen, cfg.N)
	if err != nil {
		return err
	}
	if _, err := writeFile(small, gen, cfg.Small); err != nil {
		return err
	}
	largeDB := filepath.Join(cfg.Dir, "large.db")
	smallDB := filepath.Join(cfg.Dir, "small.db")
	for _, db := range []string{largeDB, smallDB} {
		if err := removeDB(db); err != nil {
			return err
		}
	}

	// Baseline, for the import and the read.
	var base result
	if cfg.runs("import") || cfg.runs("read") {
		base, err = r.child(ctx, request{Phase: phaseDecode, File: large, N: cfg.N})
		if err != nil {
			return err
		}
	}
	baseRate := rate(base.Count, base.Elapsed)
	if cfg.runs("import") || cfg.runs("read") {
		r.printf("baseline  encoding/json decode into map[string]any: %s objects (%s MB, %d bytes each) in %s (CPU %s) = %s obj/s, max RSS %s MB",
			comma(base.Count), comma(int(size/1e6)), size/int64(cfg.N), secs(base.Elapsed), secs(base.CPU), comma(int(baseRate)), mb(base.MaxRSS))
	}

	// Import into SQLite.
	imp, err := r.child(ctx, request{Phase: phaseImport, File: large, N: cfg.N, Backend: "sqlite", DSN: largeDB, Collection: "bench"})
	if err != nil {
		return err
	}
	if cfg.runs("import") {
		r.importFigures("sqlite", imp, base)
		r.figure(true, imp.MaxRSS < targetMaxRSS,
			"memory    sqlite import of %s: max RSS %s MB (target < %s MB; baseline decoder %s MB)",
			comma(cfg.N), mb(imp.MaxRSS), mb(targetMaxRSS), mb(base.MaxRSS))
	} else {
		r.printf("setup     sqlite import of %s for the reads, unmeasured: %s", comma(cfg.N), secs(imp.Elapsed))
	}

	if _, err := r.child(ctx, request{Phase: phaseImport, File: small, N: cfg.Small, Backend: "sqlite", DSN: smallDB, Collection: "bench"}); err != nil {
		return err
	}

	if cfg.runs("read") {
		// Paging through everything, in its own process for its memory.
		pg, err := r.child(ctx, request{Phase: phasePage, N: cfg.N, Backend: "sqlite", DSN: largeDB, Collection: "bench"})
		if err != nil {
			return err
		}
		r.printf("read      sqlite, all %s objects by cursor, %s a page: %s = %s obj/s = %.0f%% of baseline",
			comma(pg.Count), comma(pageSize), secs(pg.Elapsed), comma(int(rate(pg.Count, pg.Elapsed))), 100*rate(pg.Count, pg.Elapsed)/baseRate)
		r.figure(true, pg.MaxRSS < targetMaxRSS,
			"memory    sqlite paging through %s: max RSS %s MB (target < %s MB; baseline decoder %s MB)",
			comma(cfg.N), mb(pg.MaxRSS), mb(targetMaxRSS), mb(base.MaxRSS))

		if err := r.latency(ctx, gen, largeDB, smallDB); err != nil {
			return err
		}
	}

	if cfg.PostgresDSN != "" && cfg.runs("import") {
		alias := "bench-" + time.Now().UTC().Format("20060102T150405")
		imp, err := r.child(ctx, request{Phase: phaseImport, File: large, N: cfg.N, Backend: "postgres", DSN: cfg.PostgresDSN, Collection: alias})
		if err != nil {
			return err
		}
		if imp.Existing > 0 {
			r.printf("note      postgres database already held %s versions; objects seen in an earlier run are stored once and only listed in collection %s",
				comma(int(imp.Existing)), alias)
		}
		r.importFigures("postgres", imp, base)
		r.figure(true, imp.MaxRSS < targetMaxRSS,
			"memory    postgres import of %s: max RSS %s MB (target < %s MB; baseline decoder %s MB)",
			comma(cfg.N), mb(imp.MaxRSS), mb(targetMaxRSS), mb(base.MaxRSS))
	}

	// The TAXII reads use the stores imported above: the large collection
	// was filled through ingest.Ingester, as POSTing a million objects
	// would take far longer and measure the write path a second time.
	if cfg.runs("taxii") {
		if err := r.taxii(ctx, largeDB, smallDB); err != nil {
			return err
		}
	}
	return nil
}

// importFigures prints the rate of an import against the baseline and the
// steadiness of its rate, tenth by tenth. The target is on elapsed time; the
// ratio of CPU times is printed beside it because, unlike elapsed time, it
// hardly moves when other work competes for the machine during the run.
func (r *runner) importFigures(backend string, imp, base result) {
	n := r.cfg.N
	got := rate(n, imp.Elapsed)
	share := got / rate(base.Count, base.Elapsed)
	cpu := "CPU"
	if backend == "postgres" {
		cpu = "client CPU" // the server's work is in other processes
	}
	r.figure(true, share >= targetImportShare,
		"import    %s, %s indicators: %s (%s %s) = %s obj/s = %.0f%% of baseline (target >= %.0f%%; by %s time %.0f%%)",
		backend, comma(n), secs(imp.Elapsed), cpu, secs(imp.CPU), comma(int(got)), 100*share, 100*targetImportShare,
		cpu, 100*float64(base.CPU)/float64(max(imp.CPU, 1)))

	if len(imp.Marks) != 10 {
		r.figure(true, false, "steady    %s import: only %d of 10 tenths were reported", backend, len(imp.Marks))
		return
	}
	tenths := make([]time.Duration, 10)
	rates := make([]string, 10)
	prev := time.Duration(0)
	for k, m := range imp.Marks {
		tenths[k] = m - prev
		objs := markAt(n, k)
		if k > 0 {
			objs -= markAt(n, k-1)
		}
		rates[k] = comma(int(rate(objs, tenths[k])))
		prev = m
	}
	ratio := float64(tenths[9]) / float64(max(tenths[0], 1))
	r.figure(true, ratio <= targetSteadiness,
		"steady    %s import, last 10%% vs first 10%% (baseline): %s vs %s = %.2f× as long (target <= %.2f×)",
		backend, secs(tenths[9]), secs(tenths[0]), ratio, targetSteadiness)
	r.printf("          %s obj/s by tenth: %s", backend, strings.Join(rates, " "))
}

// latency times a page by cursor and a lookup by id in the large store and
// in the small one, alternating between them so that drift in the machine
// (other load, frequency scaling) affects both alike, and compares medians.
func (r *runner) latency(ctx context.Context, gen Indicators, largeDB, smallDB string) error {
	type target struct {
		st          store.Store
		coll        string
		n           int
		first, last int64 // sequence numbers of the first and last rows
		page        []time.Duration
		get         []time.Duration
	}
	open := func(path string, n int) (*target, error) {
		st, err := openStore(ctx, "sqlite", path)
		if err != nil {
			return nil, err
		}
		c, err := st.Collection(ctx, "bench")
		if err != nil {
			st.Close()
			return nil, err
		}
		s, err := st.Stats(ctx)
		if err != nil {
			st.Close()
			return nil, err
		}
		p, err := st.Query(ctx, store.Query{Collection: c.ID, Limit: 1, NoBody: true})
		if err != nil || len(p.Versions) == 0 {
			st.Close()
			return nil, fmt.Errorf("%s: first row: %v", path, err)
		}
		return &target{st: st, coll: c.ID, n: n, first: p.Versions[0].Seq, last: s.LastSeq}, nil
	}
	lt, err := open(largeDB, r.cfg.N)
	if err != nil {
		return err
	}
	defer lt.st.Close()
	sm, err := open(smallDB, r.cfg.Small)
	if err != nil {
		return err
	}
	defer sm.st.Close()

	// A fixed seed: the same cursors and ids in every run.
	rng := rand.New(rand.NewPCG(r.cfg.Seed, 0x1a7e))
	pageAt := func(t *target, record bool) error {
		after := t.first - 1 + rng.Int64N(max(t.last-t.first+1-pageSize, 0)+1)
		start := time.Now()
		p, err := t.st.Query(ctx, store.Query{Collection: t.coll, After: after, Limit: pageSize})
		d := time.Since(start)
		if err != nil {
			return err
		}
		if len(p.Versions) == 0 || p.More && len(p.Versions) != pageSize {
			return fmt.Errorf("page after %d: %d objects (more: %v)", after, len(p.Versions), p.More)
		}
		if record {
			t.page = append(t.page, d)
		}
		return nil
	}
	getOne := func(t *target, record bool) error {
		id := gen.ID(rng.IntN(t.n))
		start := time.Now()
		p, err := t.st.Query(ctx, store.Query{Collection: t.coll, IDs: []string{id}, Limit: 10})
		d := time.Since(start)
		if err != nil {
			return err
		}
		if len(p.Versions) != 1 || p.Versions[0].ID != id {
			return fmt.Errorf("lookup of %s: %d versions", id, len(p.Versions))
		}
		if record {
			t.get = append(t.get, d)
		}
		return nil
	}
	pages := max(r.cfg.Samples/10, 5)
	// The first tenth of the samples warm the caches and are not recorded.
	for i := range pages + pages/10 {
		for _, t := range []*target{lt, sm} {
			if err := pageAt(t, i >= pages/10); err != nil {
				return err
			}
		}
	}
	for i := range r.cfg.Samples + r.cfg.Samples/10 {
		for _, t := range []*target{lt, sm} {
			if err := getOne(t, i >= r.cfg.Samples/10); err != nil {
				return err
			}
		}
	}
	pl, ps := median(lt.page), median(sm.page)
	ratio := float64(pl) / float64(max(ps, 1))
	r.figure(true, ratio <= targetScale,
		"page      sqlite, %s objects by cursor: median %s at %s vs %s at %s (baseline) = %.2f× (target <= %.0f×), %s samples at random cursors",
		comma(pageSize), dur(pl), comma(lt.n), dur(ps), comma(sm.n), ratio, targetScale, comma(len(lt.page)))
	gl, gs := median(lt.get), median(sm.get)
	ratio = float64(gl) / float64(max(gs, 1))
	r.figure(true, ratio <= targetScale,
		"lookup    sqlite, one object by id: median %s at %s vs %s at %s (baseline) = %.2f× (target <= %.0f×), %s samples at random ids",
		dur(gl), comma(lt.n), dur(gs), comma(sm.n), ratio, targetScale, comma(len(lt.get)))
	return nil
}

func writeFile(path string, gen Indicators, n int) (int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	size, err := gen.WriteNDJSON(f, n)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return size, err
}

// removeDB removes a SQLite database left by an earlier run in a kept work
// directory, with its write-ahead log, so every run imports into an empty store.
func removeDB(path string) error {
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

// loadAvg reports the machine's load where the system exposes it: ratios
// to a baseline absorb a steady load, but not one that comes and goes during
// the run, so a reader of the figures needs to know.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return ", load average " + strings.Join(f[:3], " ")
}

func countPass(r Report) int {
	n := 0
	for _, f := range r.Figures {
		if f.HasTarget && f.Pass {
			n++
		}
	}
	return n
}

func countTargets(r Report) int {
	n := 0
	for _, f := range r.Figures {
		if f.HasTarget {
			n++
		}
	}
	return n
}

func rate(n int, d time.Duration) float64 { return float64(n) / max(d.Seconds(), 1e-9) }

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func secs(d time.Duration) string { return dur(d) }

// dur prints a latency with three significant digits.
func dur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.3gs", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.3gms", float64(d)/1e6)
	default:
		return fmt.Sprintf("%.3gµs", float64(d)/1e3)
	}
}

func mb(b int64) string { return comma(int(b / 1e6)) }

// comma formats n with thousands separators, as the figures are read by people.
func comma(n int) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

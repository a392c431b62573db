package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/setu-cti/setu/internal/ingest"
	"github.com/setu-cti/setu/internal/policy"
	"github.com/setu-cti/setu/internal/stix"
	"github.com/setu-cti/setu/internal/store"
	"github.com/setu-cti/setu/internal/store/sqlite"
)

// TestMain lets the test binary stand in for setu-bench when Run re-executes
// it to measure a phase in a child process.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == phaseArg {
		os.Exit(Main(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// TestRunTiny runs the whole benchmark at a tiny size so that it keeps
// working. Whether targets are met is not checked: timings are not for tests.
func TestRunTiny(t *testing.T) {
	var out, errs bytes.Buffer
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Run(t.Context(), Config{N: 2000, Small: 200, Samples: 50, Exe: exe, Stdout: &out, Stderr: &errs,
		Posts: 3, PostSize: 50, Readers: 5, ReadRequests: 4, ReadFor: time.Minute})
	if err != nil {
		t.Fatalf("Run: %v\nstdout:\n%s\nstderr:\n%s", err, out.Bytes(), errs.Bytes())
	}
	t.Logf("\n%s", out.Bytes())
	for _, prefix := range []string{"baseline  ", "import    sqlite", "steady    sqlite", "memory    sqlite import",
		"memory    sqlite paging", "page      sqlite", "lookup    sqlite", "post      TAXII", "steady    TAXII",
		"pull      TAXII", "lookup    TAXII", "readers   TAXII", "gate      sqlite", "share     sqlite", "result    "} {
		if !strings.Contains(out.String(), "\n"+prefix) {
			t.Errorf("output has no line starting %q", prefix)
		}
	}
	if got, want := countTargets(rep), 13; got != want {
		t.Errorf("%d figures with a target, want %d", got, want)
	}
}

func TestMainFlags(t *testing.T) {
	tests := []struct {
		args []string
		code int
	}{
		{[]string{"-h"}, 0},
		{[]string{"-n", "5"}, 2},
		{[]string{"-n", "100", "-small", "200"}, 2},
		{[]string{"extra"}, 2},
		{[]string{"-nope"}, 2},
		{[]string{"-posts", "0"}, 2},
		{[]string{"-readers", "0"}, 2},
		{[]string{"-read-for", "0s"}, 2},
		{[]string{"-only", "policy,nope"}, 2},
		{[]string{"-only", ""}, 2},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out, errs bytes.Buffer
			if code := Main(t.Context(), tt.args, &out, &errs); code != tt.code {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, tt.code, errs.Bytes())
			}
		})
	}
}

// TestTAXII runs the TAXII phases at tiny sizes against stores filled as
// Run fills them, and checks that every request was answered and every count
// is right. Timings and targets are not checked.
func TestTAXII(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	const n, small = 2000, 300
	gen := Indicators{Seed: 7, Size: objectSize}
	for _, s := range []struct {
		name string
		n    int
	}{{"large", n}, {"small", small}} {
		file := filepath.Join(dir, s.name+".ndjson")
		if _, err := writeFile(file, gen, s.n); err != nil {
			t.Fatal(err)
		}
		if _, err := importPhase(ctx, request{File: file, N: s.n, Backend: "sqlite",
			DSN: filepath.Join(dir, s.name+".db"), Collection: "bench"}, io.Discard); err != nil {
			t.Fatal(err)
		}
	}
	var out, errs bytes.Buffer
	cfg := Config{N: n, Small: small, Samples: 20, Seed: 7, Dir: dir, Stdout: &out, Stderr: &errs,
		Posts: 3, PostSize: 50, Readers: 5, ReadRequests: 4, ReadFor: time.Minute}
	r := &runner{cfg: cfg}
	if err := r.taxii(ctx, filepath.Join(dir, "large.db"), filepath.Join(dir, "small.db")); err != nil {
		t.Fatalf("taxii: %v\nstdout:\n%s\nstderr:\n%s", err, out.Bytes(), errs.Bytes())
	}
	t.Logf("\n%s", out.Bytes())
	got := r.stats
	want := taxiiStats{Posted: 3 * 50, Pulled: n, PulledSmall: small, Lookups: 2 * cfg.Samples,
		Reads: cfg.Readers * cfg.ReadRequests, Written: got.Written}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
	if got.Written%cfg.PostSize != 0 {
		t.Errorf("writer stored %d objects, not whole batches of %d", got.Written, cfg.PostSize)
	}
	if got, want := countTargets(r.rep), 5; got != want {
		t.Errorf("%d figures with a target, want %d", got, want)
	}
	// The stores hold what was pulled, posted and written, and nothing else.
	st, err := sqlite.Open(ctx, filepath.Join(dir, "large.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if s, err := st.Stats(ctx); err != nil || s.Versions != int64(n+got.Written) {
		t.Errorf("large store holds %d versions (%v), want %d", s.Versions, err, n+got.Written)
	}
}

// TestIndicators checks the generator's promises: deterministic, unique
// ids that ID reproduces, objects the validator accepts, about Size bytes.
func TestIndicators(t *testing.T) {
	const n = 3000
	for _, g := range []Indicators{{}, {Seed: 1, Size: objectSize}, {Seed: 2, Size: 2000}} {
		var buf bytes.Buffer
		size, err := g.WriteNDJSON(&buf, n)
		if err != nil {
			t.Fatal(err)
		}
		if int64(buf.Len()) != size {
			t.Errorf("WriteNDJSON reported %d bytes, wrote %d", size, buf.Len())
		}
		if g.Size > 0 {
			if avg := size / n; avg < int64(g.Size) || avg > int64(g.Size)+20 {
				t.Errorf("Size %d: average object is %d bytes", g.Size, avg)
			}
		}
		seen := map[string]bool{}
		patterns := map[string]bool{}
		for i, line := range bytes.Split(bytes.TrimSuffix(buf.Bytes(), []byte("\n")), []byte("\n")) {
			if again := g.Append(nil, i); !bytes.Equal(line, again) {
				t.Fatalf("seed %d: object %d differs when generated again", g.Seed, i)
			}
			o, err := stix.Parse(line)
			if err != nil {
				t.Fatalf("seed %d: object %d rejected: %v\n%s", g.Seed, i, err, line)
			}
			if o.ID != g.ID(i) {
				t.Fatalf("seed %d: object %d has id %s, ID gives %s", g.Seed, i, o.ID, g.ID(i))
			}
			if seen[o.ID] {
				t.Fatalf("seed %d: id %s repeated", g.Seed, o.ID)
			}
			seen[o.ID] = true
			var m struct {
				Pattern string `json:"pattern"`
			}
			if err := json.Unmarshal(line, &m); err != nil {
				t.Fatal(err)
			}
			if patterns[m.Pattern] {
				t.Fatalf("seed %d: pattern %s repeated", g.Seed, m.Pattern)
			}
			patterns[m.Pattern] = true
		}
	}
	if (Indicators{Seed: 1}).ID(0) == (Indicators{Seed: 2}).ID(0) {
		t.Error("different seeds give the same id")
	}
}

func TestComma(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -4000: "-4,000"} {
		if got := comma(n); got != want {
			t.Errorf("comma(%d) = %q, want %q", n, got, want)
		}
	}
}

// BenchmarkIndicators measures the generator, which the benchmark's own
// timings exclude but its setup time includes.
func BenchmarkIndicators(b *testing.B) {
	b.ReportAllocs()
	g := Indicators{Seed: 1, Size: objectSize}
	var buf []byte
	for i := 0; b.Loop(); i++ {
		buf = g.Append(buf[:0], i)
	}
	b.SetBytes(int64(len(buf)))
}

// BenchmarkIngestSQLite measures the write path a batch at a time into a
// store that grows as the benchmark runs; setu-bench measures the same path
// at a fixed, large size against its baseline.
func BenchmarkIngestSQLite(b *testing.B) {
	b.ReportAllocs()
	ctx := b.Context()
	st, err := sqlite.Open(ctx, b.TempDir()+"/bench.db", store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	c := store.Collection{ID: uuid.NewString(), Alias: "bench"}
	if err := st.CreateCollection(ctx, c); err != nil {
		b.Fatal(err)
	}
	in := ingest.New(st, ingest.DefaultBatch)
	g := Indicators{Seed: 1, Size: objectSize}
	raws := make([][]byte, ingest.DefaultBatch)
	next, size := 0, 0
	for b.Loop() {
		b.StopTimer()
		size = 0
		for k := range raws {
			raws[k] = g.Append(raws[k][:0], next)
			size += len(raws[k])
			next++
		}
		b.StartTimer()
		items, err := in.Objects(ctx, c.ID, raws)
		if err != nil {
			b.Fatal(err)
		}
		for _, it := range items {
			if it.Outcome != ingest.Added {
				b.Fatalf("object %d: %v %v", it.Index, it.Outcome, it.Err)
			}
		}
	}
	b.SetBytes(int64(size))
	b.ReportMetric(float64(next)/b.Elapsed().Seconds(), "objects/s")
}

// TestOnly runs one phase alone at a tiny size: only its figures are printed.
func TestOnly(t *testing.T) {
	var out, errs bytes.Buffer
	rep, err := Run(t.Context(), Config{N: 500, Small: 100, Samples: 20, Only: []string{"policy"}, Stdout: &out, Stderr: &errs})
	if err != nil {
		t.Fatalf("Run: %v\nstdout:\n%s\nstderr:\n%s", err, out.Bytes(), errs.Bytes())
	}
	t.Logf("\n%s", out.Bytes())
	for _, prefix := range []string{"import    ", "read      ", "page      ", "post      "} {
		if strings.Contains(out.String(), "\n"+prefix) {
			t.Errorf("output of -only policy has a line starting %q", prefix)
		}
	}
	if got, want := countTargets(rep), 2; got != want {
		t.Errorf("%d figures with a target, want %d", got, want)
	}
}

// TestPolicyStores checks the collections the policy figures read, through
// the gate, for every kind of reader: who sees what is the point of the
// figures, so it is checked independently of them. Timings are not checked.
func TestPolicyStores(t *testing.T) {
	ctx := t.Context()
	const n, small, seed = 1000, 150, 3
	ps, err := buildPolicyStores(ctx, t.TempDir(), seed, n, small)
	if ps != nil {
		defer ps.close()
	}
	if err != nil {
		t.Fatal(err)
	}
	owner := policy.Reader{User: "bench-owner-analyst", Org: policyOwner}
	outsider := policy.Reader{User: "bench-outsider-analyst", Org: policyOutsider}
	peer := policy.Reader{Peer: "partner-node"}
	large, smallSt := ps.large, ps.small
	tests := []struct {
		name   string
		st     store.Store
		coll   string
		reader policy.Reader
		want   int
		rule   string // the rule that allows every object seen
	}{
		{"all/local", large, ps.all, localReader, n, "distribution-partners"},
		{"all/member", large, ps.all, memberReader, n, "distribution-partners"},
		{"all/peer", large, ps.all, peer, n, "distribution-partners"},
		{"shared/member", large, ps.shared, memberReader, 10, "distribution-group"},
		{"shared-small/member", smallSt, ps.sharedSm, memberReader, 2, "distribution-group"},
		{"shared/owner", large, ps.shared, owner, n, "own"},
		{"shared/outsider", large, ps.shared, outsider, 0, ""},
		{"shared/local", large, ps.shared, localReader, 0, ""},
		{"shared/peer", large, ps.shared, peer, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gate := policy.NewGate(tt.st, policy.Config{})
			q := store.Query{Collection: tt.coll, Limit: 7, NoBody: true}
			seen := 0
			for {
				p, err := gate.Query(ctx, tt.reader, q)
				if err != nil {
					t.Fatal(err)
				}
				if p.More && len(p.Versions) != q.Limit {
					t.Fatalf("page after %d: %d objects and more", q.After, len(p.Versions))
				}
				for k, v := range p.Versions {
					if d := p.Decisions[k]; d.Rule != tt.rule {
						t.Fatalf("%s allowed by rule %s, want %s", v.ID, d.Rule, tt.rule)
					}
				}
				seen += len(p.Versions)
				if !p.More {
					break
				}
				q.After = p.Last
			}
			if seen != tt.want {
				t.Errorf("saw %d objects, want %d", seen, tt.want)
			}
		})
	}
	// The member's pass the figure makes finds exactly the shared objects.
	gate := policy.NewGate(large, policy.Config{})
	seqs, pages, err := memberPass(ctx, gate, ps.shared, n, Indicators{Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	if len(seqs) != sharedCount(n) || pages != 1 {
		t.Errorf("member pass: %d objects in %d pages, want %d in 1", len(seqs), pages, sharedCount(n))
	}
}

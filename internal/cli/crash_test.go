package cli_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/setu-cti/setu/internal/bench"
	"github.com/setu-cti/setu/internal/store"
	"github.com/setu-cti/setu/internal/store/sqlite"
)

// TestImportSurvivesKill kills `setu import` with SIGKILL part-way through a
// large import, imports the same file again, and checks that every object
// ended up stored exactly once and that the database is intact: what a
// committed batch wrote survives, what an interrupted one wrote leaves no
// trace, and the second run stores exactly what the first did not.
func TestImportSurvivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped in -short mode: builds the setu binary and imports 100,000 objects twice")
	}
	const (
		n     = 100_000
		batch = 1000
	)
	ctx := t.Context()
	dir := t.TempDir()
	started := time.Now()
	bin := buildSetu(t, dir)
	t.Logf("built setu in %v", time.Since(started))

	gen := bench.Indicators{Seed: 7}
	input := filepath.Join(dir, "indicators.ndjson")
	f, err := os.Create(input)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gen.WriteNDJSON(f, n); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(data, 0o700); err != nil {
		t.Fatal(err)
	}
	// The test opens the database before the importer does, so the schema
	// exists before either writes, and keeps it open to watch progress; the
	// killed process's last committed batch must be visible through it.
	st, err := sqlite.Open(ctx, filepath.Join(data, "setu.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	importArgs := []string{"import", "--data", data, "--collection", "c", "--batch", fmt.Sprint(batch), "-q", input}
	first := exec.Command(bin, importArgs...)
	var firstOut bytes.Buffer
	first.Stdout, first.Stderr = &firstOut, &firstOut
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- first.Wait() }()

	// Kill once a tenth is committed: some objects stored, most not. The
	// importer is then almost certainly inside a write transaction.
	deadline := time.Now().Add(30 * time.Second)
	for {
		s, err := st.Stats(ctx)
		if err != nil {
			first.Process.Kill()
			t.Fatal(err)
		}
		if s.CollectionRows >= n/10 {
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("import exited (%v) after %d rows, before it could be killed:\n%s", err, s.CollectionRows, firstOut.Bytes())
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			first.Process.Kill()
			t.Fatalf("import committed only %d rows in 30s:\n%s", s.CollectionRows, firstOut.Bytes())
		}
	}
	if err := first.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-exited

	killed, err := st.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%v: killed the import with %d of %d objects committed", time.Since(started), killed.CollectionRows, n)
	if killed.CollectionRows <= 0 || killed.CollectionRows >= n {
		t.Fatalf("after the kill %d of %d rows are committed; the test needs a partial import", killed.CollectionRows, n)
	}
	// Each batch is one transaction, so only whole batches are visible, and
	// each committed version has exactly its one collection row.
	if killed.CollectionRows%batch != 0 {
		t.Errorf("after the kill %d rows are committed, not a whole number of %d-object batches", killed.CollectionRows, batch)
	}
	if killed.Versions != killed.CollectionRows || killed.Objects != killed.CollectionRows {
		t.Errorf("after the kill: %+v; want versions, objects and collection rows equal", killed)
	}
	if got := countChanges(t, st, nil); got != killed.CollectionRows {
		t.Errorf("after the kill the change log has %d records for %d rows", got, killed.CollectionRows)
	}

	// Again, to completion: what was committed comes back as duplicates.
	rctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(rctx, bin, importArgs...).CombinedOutput()
	if err != nil {
		t.Fatalf("second import: %v\n%s", err, out)
	}
	t.Logf("%v: second import done", time.Since(started))
	var accepted, added, dup, rejected, warnings int64
	if _, err := fmt.Sscanf(lastLine(out), "accepted %d (new %d, duplicate %d), rejected %d, warnings %d",
		&accepted, &added, &dup, &rejected, &warnings); err != nil {
		t.Fatalf("second import summary: %v\n%s", err, out)
	}
	if accepted != n || dup != killed.CollectionRows || added != n-killed.CollectionRows || rejected != 0 {
		t.Errorf("second import: accepted %d (new %d, duplicate %d), rejected %d; want accepted %d (new %d, duplicate %d), rejected 0",
			accepted, added, dup, rejected, n, n-killed.CollectionRows, killed.CollectionRows)
	}

	s, err := st.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := (store.Stats{Versions: n, Objects: n, CollectionRows: n, LastSeq: s.LastSeq}); s != want {
		t.Errorf("after both imports: %+v, want %+v", s, want)
	}

	want := make(map[string]bool, n)
	for i := range n {
		want[gen.ID(i)] = true
	}

	// Paging the collection through the store sees each object once.
	c, err := st.Collection(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	seen := make(map[string]bool, n)
	q := store.Query{Collection: c.ID, Limit: 1000, NoBody: true}
	for {
		p, err := st.Query(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range p.Versions {
			checkOnce(t, "query", v.ID, want, seen)
		}
		if !p.More {
			break
		}
		q.After = p.Last
	}
	if len(seen) != n {
		t.Errorf("paging the collection saw %d objects, want %d", len(seen), n)
	}

	// So does the change log, and so does `setu export`.
	if got := countChanges(t, st, want); got != n {
		t.Errorf("change log has %d records, want %d", got, n)
	}
	exported := filepath.Join(dir, "export.ndjson")
	if out, err := exec.CommandContext(rctx, bin, "export", "--data", data, "--collection", "c",
		"--format", "ndjson", "-o", exported).CombinedOutput(); err != nil {
		t.Fatalf("export: %v\n%s", err, out)
	}
	ef, err := os.Open(exported)
	if err != nil {
		t.Fatal(err)
	}
	defer ef.Close()
	clear(seen)
	sc := bufio.NewScanner(ef)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		var o struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(sc.Bytes(), &o); err != nil {
			t.Fatalf("export line %d: %v", len(seen)+1, err)
		}
		checkOnce(t, "export", o.ID, want, seen)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(seen) != n {
		t.Errorf("export wrote %d objects, want %d", len(seen), n)
	}

	// The store owns the integrity check, as only it may speak SQL.
	if ic, ok := any(st).(interface{ IntegrityCheck(context.Context) error }); ok {
		if err := ic.IntegrityCheck(ctx); err != nil {
			t.Errorf("integrity check: %v", err)
		}
	} else {
		t.Log("the SQLite store has no IntegrityCheck method; database integrity not checked")
	}
}

// buildSetu builds the setu command into dir: the crash must happen to the
// real program, in its own process.
func buildSetu(t *testing.T, dir string) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command to build setu with: %v", err)
	}
	bin := filepath.Join(dir, "setu")
	out, err := exec.Command(goTool, "build", "-o", bin, "github.com/setu-cti/setu/cmd/setu").CombinedOutput()
	if err != nil {
		t.Fatalf("building setu: %v\n%s", err, out)
	}
	return bin
}

// countChanges counts the change-log records; with want set, it also checks
// that each names a distinct expected object.
func countChanges(t *testing.T, st store.Store, want map[string]bool) int64 {
	t.Helper()
	seen := map[string]bool{}
	var n, after int64
	for {
		cs, err := st.Changes(t.Context(), after, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) == 0 {
			return n
		}
		for _, c := range cs {
			if want != nil {
				checkOnce(t, "change log", c.ID, want, seen)
			}
			n++
		}
		after = cs[len(cs)-1].Seq
	}
}

func checkOnce(t *testing.T, where, id string, want, seen map[string]bool) {
	t.Helper()
	if !want[id] {
		t.Fatalf("%s: unexpected object %q", where, id)
	}
	if seen[id] {
		t.Fatalf("%s: object %s seen twice", where, id)
	}
	seen[id] = true
}

func lastLine(b []byte) string {
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	return string(lines[len(lines)-1])
}

package match

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// FuzzIndex compiles a random pattern into an index, beside a few fixed
// indicators, and checks that Match agrees with plain evaluation of every
// indicator against a fixed observation (testdata/index/observation.json),
// and that Lookup reports the direct indicators evaluation says match. The
// seeds are the patterns of the matcher's scripts and the specification's
// examples.
func FuzzIndex(f *testing.F) {
	for _, s := range seedPatterns(f) {
		f.Add(s)
	}
	data, err := os.ReadFile("testdata/index/observation.json")
	if err != nil {
		f.Fatal(err)
	}
	objs, err := DecodeObjects(data)
	if err != nil {
		f.Fatal(err)
	}
	obs, err := Observations(objs)
	if err != nil || len(obs) != 1 {
		f.Fatalf("observation: %v", err)
	}
	ob := &obs[0]
	at := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	fixed := []Indicator{
		{ID: "indicator--fixed-1", Pattern: "[domain-name:value = 'example.com']"},
		{ID: "indicator--fixed-2", Pattern: "[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f' AND file:size > 100]"},
		{ID: "indicator--fixed-3", Pattern: "[ipv6-addr:value ISSUBSET '2001:db8::/32']"},
	}
	f.Fuzz(func(t *testing.T, src string) {
		inds := append(fixed[:len(fixed):len(fixed)], Indicator{ID: "indicator--fuzz", Pattern: src})
		ix := NewIndex()
		errs := ix.Update(inds, nil)
		or := &oracle{inds: map[string]Indicator{}}
		for _, ind := range inds {
			or.inds[ind.ID] = ind
		}
		if bad := or.matcher(src).m == nil; bad != (len(errs) == 1) {
			t.Fatalf("pattern %q: evaluable %v, but Update reported %v", src, !bad, errs)
		}
		want := or.match(t, ob, at)
		got := ix.Match(ob, at)
		if d := cmp.Diff(want, got); d != "" {
			t.Fatalf("pattern %q: Match differs from evaluation (-want +got):\n%s", src, d)
		}
		ix.Rebuild()
		if d := cmp.Diff(want, ix.Match(ob, at)); d != "" {
			t.Fatalf("pattern %q: after a rebuild, Match differs from evaluation (-want +got):\n%s", src, d)
		}
	})
}

// seedPatterns reads the patterns of testdata/*.txt and of the pattern
// package's specification examples.
func seedPatterns(t testing.TB) []string {
	t.Helper()
	files, _ := filepath.Glob("testdata/*.txt")
	files = append(files, filepath.Join("..", "stix", "pattern", "testdata", "spec-examples.txt"))
	var out []string
	for _, name := range files {
		fh, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			switch {
			case strings.HasPrefix(line, "pattern "):
				out = append(out, strings.TrimPrefix(line, "pattern "))
			case strings.HasPrefix(line, "[") || strings.HasPrefix(line, "("):
				out = append(out, line)
			}
		}
		fh.Close()
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
	}
	if len(out) == 0 {
		t.Fatal("no seed patterns")
	}
	return out
}

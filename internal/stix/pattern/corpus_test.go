package pattern_test

import (
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/setu-cti/setu/internal/stix"
	"github.com/setu-cti/setu/internal/stix/pattern"
)

// stixPatterns returns the pattern of every indicator with pattern_type
// "stix" in the bundle file name, with the indicator's id.
func stixPatterns(t testing.TB, name string) map[string]string {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	r := stix.NewReader(f)
	for {
		raw, i, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("%s: object %d: %v", name, i, err)
		}
		var o struct {
			ID          string `json:"id"`
			Type        string `json:"type"`
			Pattern     string `json:"pattern"`
			PatternType string `json:"pattern_type"`
		}
		if err := json.Unmarshal(raw, &o); err != nil {
			t.Fatalf("%s: object %d: %v", name, i, err)
		}
		if o.Type == "indicator" && o.PatternType == "stix" {
			out[o.ID] = o.Pattern
		}
	}
}

// TestExamples parses every STIX indicator pattern in the OASIS example
// bundles kept with the stix package.
func TestExamples(t *testing.T) {
	files, err := filepath.Glob("../testdata/examples/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no example bundles: %v", err)
	}
	n := 0
	for _, name := range files {
		for id, s := range stixPatterns(t, name) {
			n++
			p, err := pattern.Parse(s)
			if err != nil {
				t.Errorf("%s %s: %v\n%s", filepath.Base(name), id, err, s)
				continue
			}
			checkRoundTrip(t, s, p)
		}
	}
	if n < 40 {
		t.Errorf("only %d patterns found in the examples", n)
	}
	t.Logf("%d patterns", n)
}

// TestCorpus parses the indicator patterns of the real-world data sets
// under SETU_CORPUS: MITRE ATT&CK and CAPEC (which today carry no
// indicators, so the test mostly guards against that changing unnoticed),
// the OASIS examples, and the STIX 2.1 exports of the MISP converter.
func TestCorpus(t *testing.T) {
	root := os.Getenv("SETU_CORPUS")
	if root == "" {
		t.Skip("SETU_CORPUS is unset; set it to the root of the shared test data to parse the ATT&CK, CAPEC, OASIS and MISP indicator patterns")
	}
	for _, dir := range []string{"attack", "stix21-examples", "misp/misp-stix/tests"} {
		t.Run(dir, func(t *testing.T) {
			n := 0
			err := filepath.WalkDir(filepath.Join(root, filepath.FromSlash(dir)), func(name string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if d.IsDir() || !strings.HasSuffix(name, ".json") || filepath.Base(name) == "index.json" {
					return nil
				}
				if dir == "misp/misp-stix/tests" && !strings.HasSuffix(name, "_stix21.json") {
					return nil // MISP's own format and STIX 2.0 exports
				}
				for id, s := range stixPatterns(t, name) {
					n++
					p, err := pattern.Parse(s)
					if err != nil {
						t.Errorf("%s %s: %v\n%s", filepath.Base(name), id, err, s)
						continue
					}
					checkRoundTrip(t, s, p)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%d patterns", n)
		})
	}
}

package stix

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// corpusFiles are the real STIX 2.1 data sets, relative to SETU_CORPUS.
var corpusFiles = []string{
	"attack/enterprise-attack-18.1-reconstructed-stix21.json",
	"attack/ics-attack/ics-attack.json",
	"attack/mobile-attack/mobile-attack-17.1.json",
	"attack/capec-stix21.json",
}

// corpusWarnings is how many warnings each data set must give: CAPEC has
// two external references whose URL begins with a space.
var corpusWarnings = map[string]int{"capec-stix21.json": 2}

// TestCorpus streams the MITRE ATT&CK and CAPEC bundles: every object must
// be framed, accepted and round-tripped. It reads the files from the
// directory named by SETU_CORPUS so that no machine path is baked in.
func TestCorpus(t *testing.T) {
	root := os.Getenv("SETU_CORPUS")
	if root == "" {
		t.Skip("SETU_CORPUS is unset; set it to the root of the shared test data to run the ATT&CK/CAPEC corpus test")
	}
	for _, name := range corpusFiles {
		t.Run(filepath.Base(name), func(t *testing.T) {
			f, err := os.Open(filepath.Join(root, filepath.FromSlash(name)))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			r := NewReader(f)
			n, failed, warned := 0, 0, 0
			for {
				raw, i, err := r.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatalf("object %d: %v", i, err)
				}
				n++
				o, err := Parse(raw)
				if err != nil {
					failed++
					if failed <= 20 {
						t.Errorf("object %d: %v", i, err)
					}
					continue
				}
				checkRoundTrip(t, raw, o)
				warned += len(o.Warnings)
			}
			if want := corpusWarnings[filepath.Base(name)]; warned != want {
				t.Errorf("%d warnings, want %d", warned, want)
			}
			if failed > 0 {
				t.Errorf("%d of %d objects rejected", failed, n)
			}
			t.Logf("%d objects", n)
		})
	}
}

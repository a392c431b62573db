package taxiiserver_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/setu-cti/setu/internal/ingest"
	"github.com/setu-cti/setu/internal/stix"
	"github.com/setu-cti/setu/internal/store"
	"github.com/setu-cti/setu/internal/taxii"
)

// attackBundles are MITRE's ATT&CK domains in STIX 2.1, relative to
// SETU_CORPUS. Each lists its copyright statement marking after the
// objects it marks.
var attackBundles = []string{
	"attack/enterprise-attack-18.1-reconstructed-stix21.json",
	"attack/ics-attack/ics-attack.json",
	"attack/mobile-attack/mobile-attack-17.1.json",
}

// TestATTACKEveryOrder imports the three ATT&CK domains in every order, as
// the operator's import does (in transactions of the default batch, so a
// definition can land batches after the objects it marks), and reads the
// collection over TAXII as an analyst of an ordinary organisation: every
// object of every domain must be visible.
func TestATTACKEveryOrder(t *testing.T) {
	root := os.Getenv("SETU_CORPUS")
	if root == "" {
		t.Skip("SETU_CORPUS is unset; set it to the root of the shared test data to import ATT&CK in every order")
	}
	if testing.Short() {
		t.Skip("imports ATT&CK six times")
	}
	want := map[string]bool{}
	for _, name := range attackBundles {
		for _, id := range bundleIDs(t, filepath.Join(root, filepath.FromSlash(name))) {
			want[id] = true
		}
	}
	for _, order := range [][]int{{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}} {
		label := ""
		for _, i := range order {
			label += "+" + []string{"enterprise", "ics", "mobile"}[i]
		}
		t.Run(label[1:], func(t *testing.T) {
			w := newWorld(t, backends()[0])
			ctx := context.Background()
			must(t, w.db.SetGrant(ctx, store.Grant{Collection: w.coll["ro"], Org: "b", Read: true}))
			in := ingest.New(w.db, ingest.DefaultBatch)
			for _, i := range order {
				f, err := os.Open(filepath.Join(root, filepath.FromSlash(attackBundles[i])))
				must(t, err)
				// MITRE's domains share objects whose same versions differ
				// slightly; the version stored first is kept, so a few
				// rejects are expected and every id is still there.
				_, err = in.Stream(ctx, w.coll["ro"], f, nil)
				f.Close()
				must(t, err)
			}
			seen := map[string]bool{}
			for pg, err := range w.client("bob").AllObjects(ctx, w.root(), w.coll["ro"], taxii.Filter{Limit: 1000}) {
				must(t, err)
				for _, o := range pg.Envelope.Objects {
					id, ok := idOf(o)
					if !ok {
						t.Fatalf("served object without an id: %.200s", o)
					}
					seen[id] = true
				}
			}
			missing := 0
			for id := range want {
				if !seen[id] {
					if missing++; missing <= 5 {
						t.Errorf("%s is not visible to an analyst of another organisation", id)
					}
				}
			}
			if missing > 0 || len(seen) != len(want) {
				t.Errorf("%d of %d objects visible (%d missing)", len(seen), len(want), missing)
			}
		})
	}
}

// bundleIDs returns the ids of a bundle's objects.
func bundleIDs(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	must(t, err)
	defer f.Close()
	r := stix.NewReader(f)
	var ids []string
	for {
		raw, _, err := r.Next()
		if errors.Is(err, io.EOF) {
			return ids
		}
		must(t, err)
		id, ok := idOf(raw)
		if !ok {
			t.Fatalf("%s: object without an id", path)
		}
		ids = append(ids, id)
	}
}

func idOf(raw []byte) (string, bool) {
	o, err := stix.Parse(raw)
	if err != nil {
		return "", false
	}
	return o.ID, true
}

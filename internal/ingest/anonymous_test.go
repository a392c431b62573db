package ingest_test

import (
	"context"
	"strings"
	"testing"

	"github.com/setu-cti/setu/internal/account"
	"github.com/setu-cti/setu/internal/ingest"
	"github.com/setu-cti/setu/internal/policy"
	"github.com/setu-cti/setu/internal/store"
)

// TestAnonymousSighting: an anonymous organisation's sighting names the
// organisation as where it was seen; everyone else is served the node in
// its place there too, and the other places unchanged.
func TestAnonymousSighting(t *testing.T) {
	for _, creator := range []string{"with creator", "without creator"} {
		t.Run(creator, func(t *testing.T) { testAnonymousSighting(t, creator == "with creator") })
	}
}

func testAnonymousSighting(t *testing.T, withCreator bool) {
	db := open(t)
	ctx := context.Background()
	anon := writer("a")
	anon.Anonymous = true
	ident := account.Org{ID: "a"}.IdentityID()
	node := account.Org{ID: account.NodeOrg}.IdentityID()
	other := "identity--00000000-0000-4000-8000-0000000000bb"
	const id = "sighting--00000001-0000-4000-8000-000000000000"
	sighting := `{"type":"sighting","spec_version":"2.1","id":"` + id + `","created":"2024-01-01T00:00:00.000Z",` +
		`"modified":"2024-01-01T00:00:00.000Z","sighting_of_ref":"indicator--00000001-0000-4000-8000-000000000000",` +
		`"count":3,"where_sighted_refs":["` + ident + `","` + other + `","` + node + `"]`
	if withCreator {
		sighting += createdBy("a")
	}
	sighting += `}`
	run(t, ingest.New(db, 0), []step{{anon, sighting, ingest.Added, nil}})

	gate := policy.NewGate(db, policy.Config{})
	for _, tc := range []struct {
		name  string
		r     policy.Reader
		where string
	}{
		{"submitter", policy.Reader{User: "u", Org: "a"}, `"where_sighted_refs":["` + ident + `","` + other + `","` + node + `"]`},
		{"other organisation", policy.Reader{User: "v", Org: "b"}, `"where_sighted_refs":["` + node + `","` + other + `"]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := gate.Query(ctx, tc.r, store.Query{Collection: coll, Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Versions) != 1 {
				t.Fatalf("%d versions served", len(p.Versions))
			}
			body := string(p.Versions[0].Body)
			if !strings.Contains(body, tc.where) {
				t.Errorf("served %s\nwant it to hold %s", body, tc.where)
			}
			if c := strings.Contains(body, `"created_by_ref"`); c != withCreator {
				t.Errorf("served created_by_ref: %v, sent: %v: %s", c, withCreator, body)
			}
			if tc.r.Org != "a" && strings.Contains(body, ident) {
				t.Errorf("the submitter's identity reaches %+v: %s", tc.r, body)
			}
		})
	}
}

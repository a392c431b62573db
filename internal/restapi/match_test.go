package restapi_test

import (
	"context"
	"strings"
	"testing"

	"github.com/setu-cti/setu/internal/account"
	"github.com/setu-cti/setu/internal/detect"
	"github.com/setu-cti/setu/internal/ingest"
	"github.com/setu-cti/setu/internal/policy"
	"github.com/setu-cti/setu/internal/restapi"
	"github.com/setu-cti/setu/internal/store"
	"github.com/setu-cti/setu/internal/store/sqlite"
)

type matchOut struct {
	Applied      int64 `json:"applied"`
	Observations int   `json:"observations"`
	Matches      []struct {
		Observation string `json:"observation"`
		Indicator   struct {
			ID   string `json:"id"`
			Type string `json:"type"`
			Name string `json:"name"`
		} `json:"indicator"`
		Pattern  string `json:"pattern"`
		Bindings []struct {
			Expr         int      `json:"expr"`
			Text         string   `json:"text"`
			ObservedData string   `json:"observed_data"`
			Objects      []string `json:"objects"`
			Count        int64    `json:"count"`
		} `json:"bindings"`
		Indicates []struct {
			ID   string `json:"id"`
			Type string `json:"type"`
			Name string `json:"name"`
		} `json:"indicates"`
	} `json:"matches"`
	Sightings int `json:"sightings"`
}

const (
	shared  = "indicator--00000001-0000-4000-8000-000000000000"
	private = "indicator--00000002-0000-4000-8000-000000000000"
)

// TestMatchEndpoint: observables and observed-data are matched against the
// indicators the caller may see; report=true records sightings as the
// caller's organisation.
func TestMatchEndpoint(t *testing.T) {
	ctx := context.Background()
	var eng *detect.Engine
	w := newWorld(t, func(c *restapi.Config, db *sqlite.DB) {
		eng = detect.New(db, policy.Config{})
		c.Detect = eng
	})
	must(t, w.db.SetGrant(ctx, store.Grant{Collection: collID, Org: "b", Read: true, Write: true}))
	own := policy.Distribution{Scope: policy.ScopeOrg}
	def, err := own.MarkingDefinition()
	must(t, err)
	ind := func(id, value, extra string) []byte {
		return []byte(`{"type":"indicator","spec_version":"2.1","id":"` + id + `","created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:00.000Z",` +
			`"pattern":"[domain-name:value = '` + value + `']","pattern_type":"stix","valid_from":"2024-01-01T00:00:00Z"` + extra + `}`)
	}
	in := ingest.New(w.db, 0)
	items, err := in.Objects(ctx, collID, [][]byte{def, ind(shared, "c2.bad-actor.net", "")})
	must(t, err)
	items2, err := in.ObjectsAs(ctx, ingest.Writer{Org: "a", Identity: account.Org{ID: "a"}.IdentityID()}, collID,
		[][]byte{ind(private, "c2.bad-actor.net", `,"object_marking_refs":["`+own.MarkingID()+`"]`)})
	must(t, err)
	for _, it := range append(items, items2...) {
		if it.Outcome != ingest.Added {
			t.Fatalf("%s: %v", it.ID, it.Err)
		}
	}
	if r := w.do(call{method: "POST", path: "match", user: "bob", body: `{"observables":[]}`}); r.status != 503 {
		t.Errorf("before the index is loaded: %d %s", r.status, r.body)
	}
	must(t, eng.Load(ctx, nil))

	observables := `{"observables":[{"type":"domain-name","value":"c2.bad-actor.net"},{"type":"domain-name","value":"fine.example.org"}]}`
	stixBody := `{"type":"bundle","id":"bundle--00000000-0000-4000-8000-000000000001","objects":[
		{"type":"observed-data","spec_version":"2.1","id":"observed-data--00000000-0000-4000-8000-000000000001","created":"2025-01-01T00:00:00.000Z","modified":"2025-01-01T00:00:00.000Z",
		 "first_observed":"2025-01-01T00:00:00Z","last_observed":"2025-01-01T00:00:00Z","number_observed":3,"object_refs":["domain-name--00000000-0000-4000-8000-000000000002"]},
		{"type":"domain-name","spec_version":"2.1","id":"domain-name--00000000-0000-4000-8000-000000000002","value":"c2.bad-actor.net"}]}`
	tests := []struct {
		name, user, body string
		want             []string // observation indicator
	}{
		{"observables, submitting org", "alice", observables, []string{"observables[0] " + shared, "observables[0] " + private}},
		{"observables, other org", "bob", observables, []string{"observables[0] " + shared}},
		{"observed-data", "bob", stixBody, []string{"observed-data--00000000-0000-4000-8000-000000000001 " + shared}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := w.do(call{method: "POST", path: "match", user: tc.user, body: tc.body})
			if r.status != 200 {
				t.Fatalf("%d %s", r.status, r.body)
			}
			out := decode[matchOut](t, r)
			var got []string
			for _, m := range out.Matches {
				got = append(got, m.Observation+" "+m.Indicator.ID)
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") || out.Applied == 0 {
				t.Errorf("got %v (applied %d), want %v", got, out.Applied, tc.want)
			}
		})
	}
	for _, tc := range []struct{ name, user, body, query string }{
		{"empty", "bob", "", ""},
		{"not JSON", "bob", "{", ""},
		{"observable without type", "bob", `{"observables":[{"value":"x"}]}`, ""},
		{"no observed-data", "bob", `{"type":"bundle","id":"bundle--00000000-0000-4000-8000-000000000001","objects":[]}`, ""},
		{"bad report flag", "bob", observables, "?report=maybe"},
	} {
		if r := w.do(call{method: "POST", path: "match" + tc.query, user: tc.user, body: tc.body}); r.status != 400 {
			t.Errorf("%s: %d %s", tc.name, r.status, r.body)
		}
	}
	if r := w.do(call{method: "POST", path: "match?report=true&collection=shared", user: "reader", body: observables}); r.status != 403 {
		t.Errorf("read-only user reporting: %d %s", r.status, r.body)
	}
	if r := w.do(call{method: "POST", path: "match", body: observables}); r.status != 401 {
		t.Errorf("anonymous caller: %d", r.status)
	}

	// Reporting twice aggregates into one sighting with the sum.
	for round := 1; round <= 2; round++ {
		r := w.do(call{method: "POST", path: "match?report=true&collection=shared", user: "bob", body: stixBody})
		if r.status != 200 || decode[matchOut](t, r).Sightings != 1 {
			t.Fatalf("report %d: %d %s", round, r.status, r.body)
		}
	}
	p, err := w.db.Query(ctx, store.Query{Collection: collID, Types: []string{"sighting"}, Limit: 10})
	must(t, err)
	if len(p.Versions) != 1 {
		t.Fatalf("%d sightings stored", len(p.Versions))
	}
	body := string(p.Versions[0].Body)
	if !strings.Contains(body, `"count":6`) || !strings.Contains(body, `"sighting_of_ref":"`+shared+`"`) || !strings.Contains(body, account.Org{ID: "b"}.IdentityID()) {
		t.Errorf("sighting %s", body)
	}
}

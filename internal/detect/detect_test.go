package detect_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/setu-cti/setu/internal/account"
	"github.com/setu-cti/setu/internal/detect"
	"github.com/setu-cti/setu/internal/ingest"
	"github.com/setu-cti/setu/internal/match"
	"github.com/setu-cti/setu/internal/policy"
	"github.com/setu-cti/setu/internal/store"
	"github.com/setu-cti/setu/internal/store/sqlite"
)

const coll = "4e0c1a52-0000-4000-8000-000000000001"

var at = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)

func id(typ string, n int) string { return fmt.Sprintf("%s--%08d-0000-4000-8000-000000000000", typ, n) }

func sdo(typ string, n, mod int, props string) string {
	return fmt.Sprintf(`{"type":%q,"spec_version":"2.1","id":%q,"created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:%02d.000Z"%s}`,
		typ, id(typ, n), mod, props)
}

func indicator(n, mod int, pattern, extra string) string {
	return sdo("indicator", n, mod, fmt.Sprintf(`,"name":"ind %d","pattern":%q,"pattern_type":"stix","valid_from":"2024-01-01T00:00:00Z"%s`, n, pattern, extra))
}

func relationship(n int, kind, src, dst string) string {
	return sdo("relationship", n, 0, fmt.Sprintf(`,"relationship_type":%q,"source_ref":%q,"target_ref":%q`, kind, src, dst))
}

type world struct {
	db *sqlite.DB
	in *ingest.Ingester
}

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "d.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.CreateCollection(ctx, store.Collection{ID: coll, Alias: "c", Title: "c"}); err != nil {
		t.Fatal(err)
	}
	return &world{db: db, in: ingest.New(db, 0)}
}

func (w *world) put(t *testing.T, wr ingest.Writer, objs ...string) {
	t.Helper()
	raws := make([][]byte, len(objs))
	for i, o := range objs {
		raws[i] = []byte(o)
	}
	items, err := w.in.ObjectsAs(context.Background(), wr, coll, raws)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if it.Outcome == ingest.Rejected {
			t.Fatalf("%s: %v", it.ID, it.Err)
		}
	}
}

func domain(value string) *match.Observation {
	ob := match.NewObservation("observed-data--00000000-0000-4000-8000-000000000001", at, at, 1,
		[]match.Object{{Ref: "domain-name--00000000-0000-4000-8000-000000000002", Type: "domain-name", Props: map[string]any{"type": "domain-name", "value": value}}})
	return &ob
}

func writer(org string) ingest.Writer {
	return ingest.Writer{Org: org, Identity: account.Org{ID: org}.IdentityID()}
}

func names(hs []detect.Hit) []string {
	var out []string
	for _, h := range hs {
		s := h.Indicator.ID
		for _, r := range h.Indicates {
			s += " indicates " + r.Name
		}
		for _, r := range h.MitigatedBy {
			s += " mitigated-by " + r.Name
		}
		out = append(out, s)
	}
	return out
}

// TestEngine: hits carry what the indicator indicates and what mitigates
// it, follow the policy for each reader, and follow the store as
// indicators are added, versioned, revoked and as their context changes.
func TestEngine(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	own := `,"object_marking_refs":["` + mustMarking(t, w, policy.Distribution{Scope: policy.ScopeOrg}) + `"]`
	w.put(t, ingest.Operator,
		indicator(1, 0, "[domain-name:value = 'evil.example']", ""),
		indicator(2, 0, "[domain-name:value = 'evil.example' AND domain-name:value LIKE 'evil%']", ""),
		indicator(4, 0, "[file:name = 'x']", ""),
		sdo("indicator", 5, 0, `,"pattern":"title:\"evil\"","pattern_type":"sigma","valid_from":"2024-01-01T00:00:00Z"`),
		sdo("malware", 1, 0, `,"name":"PoisonIvy","is_family":true`),
		sdo("course-of-action", 1, 0, `,"name":"Block the domain"`),
		sdo("course-of-action", 2, 0, `,"name":"Reimage"`),
		relationship(1, "indicates", id("indicator", 1), id("malware", 1)),
		relationship(2, "mitigates", id("course-of-action", 1), id("indicator", 1)),
		relationship(3, "mitigates", id("course-of-action", 2), id("malware", 1)),
	)
	w.put(t, writer("a"), indicator(3, 0, "[domain-name:value = 'evil.example']", own))

	e := detect.New(w.db, policy.Config{})
	var bad []string
	if err := e.Load(ctx, func(id string, err error) { bad = append(bad, id) }); err != nil {
		t.Fatal(err)
	}
	if st := e.Stats(); st.Indicators != 4 || st.OtherTypes != 1 {
		t.Errorf("stats %+v", st)
	}
	alice := &policy.Reader{User: "alice", Org: "a"}
	bob := &policy.Reader{User: "bob", Org: "b"}
	full := id("indicator", 1) + " indicates PoisonIvy mitigated-by Block the domain mitigated-by Reimage"
	tests := []struct {
		name string
		r    *policy.Reader
		want []string
	}{
		{"operator", nil, []string{full, id("indicator", 2), id("indicator", 3)}},
		{"submitting org", alice, []string{full, id("indicator", 2), id("indicator", 3)}},
		{"other org", bob, []string{full, id("indicator", 2)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, names(e.Match(tc.r, domain("evil.example"), at))); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			// MatchAll: the same hits per observation, none for the
			// others; a zero time is the engine's clock.
			obs := []match.Observation{*domain("good.example"), *domain("evil.example"), *domain("evil.example")}
			all := e.MatchAll(tc.r, obs, []time.Time{at, at, {}})
			if len(all) != 3 || len(all[0]) != 0 {
				t.Fatalf("MatchAll: %d results, first %v", len(all), all)
			}
			for _, hits := range all[1:] {
				if diff := cmp.Diff(tc.want, names(hits)); diff != "" {
					t.Errorf("MatchAll (-want +got):\n%s", diff)
				}
			}
		})
	}
	if got := e.Match(nil, domain("good.example"), at); len(got) != 0 {
		t.Errorf("no-hit observation: %v", names(got))
	}

	// Changes: indicator 1 revoked, 2 versioned to another value, a new
	// indicator 6, a malformed pattern stays stored but unevaluated.
	w.put(t, ingest.Operator,
		indicator(1, 1, "[domain-name:value = 'evil.example']", `,"revoked":true`),
		indicator(2, 1, "[domain-name:value = 'other.example']", ""),
		indicator(6, 0, "[domain-name:value = 'evil.example']", ""),
		indicator(7, 0, "[domain-name:value = ", ""),
	)
	before := e.Applied()
	if err := e.Sync(ctx, func(id string, err error) { bad = append(bad, id+": "+err.Error()) }); err != nil {
		t.Fatal(err)
	}
	if e.Applied() <= before {
		t.Errorf("applied %d, was %d", e.Applied(), before)
	}
	if got, want := names(e.Match(nil, domain("evil.example"), at)), []string{id("indicator", 3), id("indicator", 6)}; !cmp.Equal(got, want) {
		t.Errorf("after changes: %v, want %v", got, want)
	}
	if got := names(e.Match(nil, domain("other.example"), at)); len(got) != 1 || got[0] != id("indicator", 2) {
		t.Errorf("new version: %v", got)
	}
	if len(bad) != 1 || !strings.HasPrefix(bad[0], id("indicator", 7)) {
		t.Errorf("not evaluable reported: %v", bad)
	}
	if st := e.Stats(); st.NotEvaluable != 1 {
		t.Errorf("stats %+v", st)
	}

	// Context follows too: a new relationship adds to a hit, a revoked one
	// leaves it.
	w.put(t, ingest.Operator, relationship(4, "indicates", id("indicator", 6), id("malware", 1)))
	must(t, e.Sync(ctx, nil))
	want6 := id("indicator", 6) + " indicates PoisonIvy mitigated-by Reimage"
	if got := names(e.Match(nil, domain("evil.example"), at)); len(got) != 2 || got[1] != want6 {
		t.Errorf("after a new relationship: %v", got)
	}
	w.put(t, ingest.Operator, sdo("relationship", 3, 1, fmt.Sprintf(`,"relationship_type":"mitigates","source_ref":%q,"target_ref":%q,"revoked":true`, id("course-of-action", 2), id("malware", 1))))
	must(t, e.Sync(ctx, nil))
	if got := names(e.Match(nil, domain("evil.example"), at)); len(got) != 2 || got[1] != id("indicator", 6)+" indicates PoisonIvy" {
		t.Errorf("after revoking a relationship: %v", got)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func mustMarking(t *testing.T, w *world, d policy.Distribution) string {
	t.Helper()
	b, err := d.MarkingDefinition()
	if err != nil {
		t.Fatal(err)
	}
	w.put(t, ingest.Operator, string(b))
	return d.MarkingID()
}

// TestMatchWhileFollowing: Match goes on while changes are applied (run
// with -race).
func TestMatchWhileFollowing(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	w.put(t, ingest.Operator, indicator(1, 0, "[domain-name:value = 'evil.example']", ""), sdo("malware", 1, 0, `,"name":"M","is_family":true`))
	e := detect.New(w.db, policy.Config{})
	must(t, e.Load(ctx, nil))
	done := make(chan struct{})
	go func() {
		defer close(done)
		for n := 0; n < 2000; n++ {
			if hits := e.Match(nil, domain("evil.example"), at); len(hits) == 0 {
				t.Error("indicator 1 stopped matching")
				return
			}
		}
	}()
	for n := 2; n < 40; n++ {
		w.put(t, ingest.Operator, indicator(n, 0, "[domain-name:value = 'evil.example']", ""),
			relationship(n, "indicates", id("indicator", n-1), id("malware", 1)))
		must(t, e.Sync(ctx, nil))
	}
	<-done
	if got := len(e.Match(nil, domain("evil.example"), at)); got != 39 {
		t.Errorf("%d hits, want 39", got)
	}
}

// countingSource counts the versions the engine asks for.
type countingSource struct {
	detect.Source
	current int
}

func (c *countingSource) Current(ctx context.Context, id string) (store.Version, error) {
	c.current++
	return c.Source.Current(ctx, id)
}

// TestSyncSkipsListedAgain: a version already applied and listed again in
// another collection (a partner's view, say) costs no store read.
func TestSyncSkipsListedAgain(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	objs := []string{indicator(1, 0, "[domain-name:value = 'evil.example']", ""), indicator(2, 0, "[domain-name:value = 'evil2.example']", "")}
	w.put(t, ingest.Operator, objs...)
	src := &countingSource{Source: w.db}
	e := detect.New(src, policy.Config{})
	must(t, e.Load(ctx, nil))
	other := "4e0c1a52-0000-4000-8000-000000000002"
	must(t, w.db.CreateCollection(ctx, store.Collection{ID: other, Alias: "view", Title: "view"}))
	raws := [][]byte{[]byte(objs[0]), []byte(objs[1])}
	if _, err := ingest.New(w.db, 0).Objects(ctx, other, raws); err != nil {
		t.Fatal(err)
	}
	src.current = 0
	must(t, e.Sync(ctx, nil))
	if src.current != 0 {
		t.Errorf("%d store reads for versions already applied", src.current)
	}
	w.put(t, ingest.Operator, indicator(1, 1, "[domain-name:value = 'evil3.example']", ""))
	must(t, e.Sync(ctx, nil))
	if src.current != 1 || len(e.Match(nil, domain("evil3.example"), at)) != 1 {
		t.Errorf("a newer version: %d reads", src.current)
	}
}

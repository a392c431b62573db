package policy_test

import (
	"context"
	"crypto/sha256"
	"path/filepath"
	"testing"
	"time"

	"github.com/setu-cti/setu/internal/account"
	"github.com/setu-cti/setu/internal/ingest"
	"github.com/setu-cti/setu/internal/policy"
	"github.com/setu-cti/setu/internal/stix"
	"github.com/setu-cti/setu/internal/store"
	"github.com/setu-cti/setu/internal/store/sqlite"
)

// TestGatePeerGroups: a partner node reading through the gate is read with
// the sharing groups the registry lists it in at that moment, directly or
// through a member group, so a group's object put in the peer's view (as
// egress does, keeping the keys fixed at ingest) is served to it exactly
// while it is a member.
func TestGatePeerGroups(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "g.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	const src, view = "5b2f5a0e-4d0c-4a8e-8b8e-000000000001", "5b2f5a0e-4d0c-4a8e-8b8e-000000000002"
	for _, id := range []string{src, view} {
		if err := db.CreateCollection(ctx, store.Collection{ID: id, Title: id, Created: t0}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.CreatePeer(ctx, store.Peer{Name: "JP", URL: "https://jp.example/taxii2/", CertSHA256: sha256.Sum256([]byte("jp")), Created: t0}); err != nil {
		t.Fatal(err)
	}
	for _, g := range []string{"g-telecom", "g-all"} {
		if err := db.CreateGroup(ctx, store.Group{ID: g, Name: g, Created: t0}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.AddGroupMember(ctx, "g-all", "group:g-telecom"); err != nil {
		t.Fatal(err)
	}

	cfg := policy.Config{}
	in := ingest.New(db, 0, ingest.WithPolicy(cfg), ingest.WithGroups(db))
	ids := map[string]string{"g-telecom": "indicator--0a0a0a0a-0000-4000-8000-000000000001", "g-all": "indicator--0a0a0a0a-0000-4000-8000-000000000002"}
	var defs, objs [][]byte
	for g, id := range ids {
		d := policy.Distribution{Scope: policy.ScopeGroup, Group: g}
		def, err := d.MarkingDefinition()
		if err != nil {
			t.Fatal(err)
		}
		defs = append(defs, def)
		objs = append(objs, []byte(`{"type":"indicator","spec_version":"2.1","id":"`+id+`","created":"2026-03-01T00:00:00.000Z",`+
			`"modified":"2026-03-01T00:00:00.000Z","pattern":"[ipv4-addr:value = '10.0.0.1']","pattern_type":"stix",`+
			`"valid_from":"2026-03-01T00:00:00Z","object_marking_refs":["`+stix.TLPAmber+`","`+d.MarkingID()+`"]}`))
	}
	if _, err := in.Objects(ctx, src, defs); err != nil {
		t.Fatal(err)
	}
	w := ingest.Writer{Org: "in-telco", Identity: account.Org{ID: "in-telco"}.IdentityID()}
	items, err := in.ObjectsAs(ctx, w, src, objs)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if it.Outcome != ingest.Added {
			t.Fatalf("%s: %v %v", it.ID, it.Outcome, it.Err)
		}
	}
	pg, err := db.Query(ctx, store.Query{Collection: src, Types: []string{"indicator"}, Versions: store.VersionFilter{All: true}, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Put(ctx, view, pg.Versions); err != nil {
		t.Fatal(err)
	}

	gate := policy.NewGate(db, cfg)
	served := func() map[string]bool {
		t.Helper()
		p, err := gate.Query(ctx, policy.Reader{Peer: "JP", Country: "JP"}, store.Query{Collection: view, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for i, v := range p.Versions {
			if p.Decisions[i].Rule != "distribution-group" {
				t.Errorf("%s served under rule %s", v.ID, p.Decisions[i].Rule)
			}
			out[v.ID] = true
		}
		return out
	}
	if got := served(); len(got) != 0 {
		t.Errorf("served before JP is a member: %v", got)
	}
	if err := db.AddGroupMember(ctx, "g-telecom", "peer:JP"); err != nil {
		t.Fatal(err)
	}
	if got := served(); !got[ids["g-telecom"]] || !got[ids["g-all"]] || len(got) != 2 {
		t.Errorf("served once JP is a member of g-telecom, within g-all: %v", got)
	}
	if err := db.RemoveGroupMember(ctx, "g-telecom", "peer:JP"); err != nil {
		t.Fatal(err)
	}
	if got := served(); len(got) != 0 {
		t.Errorf("served after JP left the group: %v", got)
	}
	// A reader that names its groups is taken at its word, as an
	// organisation's reader is.
	p, err := gate.Query(ctx, policy.Reader{Peer: "JP", Groups: []string{"g-all"}}, store.Query{Collection: view, Limit: 10})
	if err != nil || len(p.Versions) != 1 || p.Versions[0].ID != ids["g-all"] {
		t.Errorf("a peer read with g-all: %+v, %v", p.Versions, err)
	}
}

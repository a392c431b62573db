package federation_test

import (
	"crypto/ed25519"
	"path/filepath"
	"testing"
	"time"

	"github.com/setu-cti/setu/internal/federation"
	"github.com/setu-cti/setu/internal/ingest"
	"github.com/setu-cti/setu/internal/policy"
	"github.com/setu-cti/setu/internal/stix"
	"github.com/setu-cti/setu/internal/store"
)

// TestEgressWaitsForArrivingProvenance: ingress stores a received object
// and then the provenance it came with. An egress round to a third node
// that runs in between must not withhold the object for good: it stops
// before it and decides it in a later round. Only an object whose
// provenance stays missing past the grace period is withheld, and one
// from a plain TAXII server (no provenance ever) at once.
func TestEgressWaitsForArrivingProvenance(t *testing.T) {
	db := openStore(t, filepath.Join(t.TempDir(), "b.db")) // its clock is t0
	node, err := federation.Init(ctx, db, "BB", "JP", makeCert(t, p256(t), bothEKUs...), seed(2))
	if err != nil {
		t.Fatal(err)
	}
	const inbound = "4e0c1a52-0000-4000-8000-0000000000aa"
	if err := db.CreateCollection(ctx, store.Collection{ID: inbound, Alias: "from-AA", Title: "from AA", Created: t0}); err != nil {
		t.Fatal(err)
	}
	aaKey, _, err := ed25519.GenerateKey(seed(3))
	if err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"AA", "CC", "PLAIN"} {
		p := store.Peer{Name: name, URL: "https://127.0.0.1:1/taxii2/", CertSHA256: [32]byte{byte(i + 1)}, Created: t0}
		if name == "AA" {
			p.SigningKey = aaKey
		}
		if err := db.CreatePeer(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	a := parse(t, func(m map[string]any) {
		m["peer"], m["version"], m["mode"] = "CC", 1, "pull"
		m["direction"] = map[string]any{"outbound": []any{"from-AA"}}
		m["distribution"] = []any{"nodes", "public"}
		delete(m, "sectors")
		delete(m, "groups")
	})
	if _, err := db.PutAgreement(ctx, a.Record(t0)); err != nil {
		t.Fatal(err)
	}

	// An object of AA's, as ingress stores it, without its provenance yet.
	d := policy.Distribution{Scope: policy.ScopeNodes}
	def, err := d.MarkingDefinition()
	if err != nil {
		t.Fatal(err)
	}
	const id, plainID = "indicator--0a0a0a0a-0000-4000-8000-000000000001", "indicator--0a0a0a0a-0000-4000-8000-000000000002"
	objOf := func(id string) string {
		return `{"type":"indicator","spec_version":"2.1","id":"` + id + `","created":"2026-05-01T00:00:00.000Z",` +
			`"modified":"2026-05-01T00:00:00.000Z","pattern":"[domain-name:value = 'evil.example']","pattern_type":"stix",` +
			`"valid_from":"2026-05-01T00:00:00Z","object_marking_refs":["` + stix.TLPGreen + `","` + d.MarkingID() + `"]}`
	}
	in := ingest.New(db, 0)
	for _, step := range []struct {
		w   ingest.Writer
		raw string
	}{
		{ingest.Operator, string(def)},
		{ingest.Writer{Org: federation.NodeSubmitter("PLAIN"), Relay: true, Via: "PLAIN"}, objOf(plainID)},
		{ingest.Writer{Org: federation.NodeSubmitter("AA"), Relay: true, Via: "AA"}, objOf(id)},
	} {
		items, err := in.ObjectsAs(ctx, step.w, inbound, [][]byte{[]byte(step.raw)})
		if err != nil || items[0].Outcome != ingest.Added {
			t.Fatalf("storing: %v %+v", err, items)
		}
	}

	now := t0.Add(time.Second)
	eng, err := federation.NewEngine(federation.SyncConfig{DB: db, Node: node, PageSize: 10, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	round := func() (withheld int64, cursor int64) {
		t.Helper()
		if _, err := eng.Round(ctx, "CC"); err != nil {
			t.Fatal(err)
		}
		counts, err := db.SyncCounts(ctx, "CC")
		if err != nil {
			t.Fatal(err)
		}
		var w int64
		for _, m := range counts {
			w += m["withheld:provenance-missing"]
		}
		cur, err := db.SyncCursor(ctx, "CC", store.SyncOut, inbound)
		if err != nil {
			t.Fatal(err)
		}
		return w, cur.Seq
	}
	// In flight: neither withheld nor passed by the cursor. The plain
	// server's object before it is withheld at once.
	w, seq := round()
	if w != 1 {
		t.Errorf("withheld %d for missing provenance, want 1 (the plain server's object only)", w)
	}
	pg, err := db.Query(ctx, store.Query{Collection: inbound, Versions: store.VersionFilter{All: true}, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	var objSeq, plainSeq int64
	for _, v := range pg.Versions {
		switch v.ID {
		case id:
			objSeq = v.Seq
		case plainID:
			plainSeq = v.Seq
		}
	}
	if objSeq == 0 || seq >= objSeq || seq < plainSeq {
		t.Fatalf("egress cursor at %d, the plain server's object at %d, the arriving one at %d", seq, plainSeq, objSeq)
	}
	// Past the grace period the provenance is taken to be lost: withheld,
	// and the cursor goes on.
	now = t0.Add(10 * time.Minute)
	if w, seq := round(); w != 2 || seq < objSeq {
		t.Errorf("after the grace period: withheld %d, cursor %d (object at %d)", w, seq, objSeq)
	}
}

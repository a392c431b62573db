package ingest_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/setu-cti/setu/internal/account"
	"github.com/setu-cti/setu/internal/ingest"
	"github.com/setu-cti/setu/internal/policy"
	"github.com/setu-cti/setu/internal/stix"
	"github.com/setu-cti/setu/internal/store"
)

// facts reads the stored policy facts of indicator n's current version.
func facts(t *testing.T, db store.Store, n int) (policy.Facts, store.Version) {
	t.Helper()
	v, err := db.Current(context.Background(), indicatorID(n))
	if err != nil {
		t.Fatal(err)
	}
	return policy.DecodeFacts(v.Facts, v.Submitter), v
}

func indicatorID(n int) string { return fmt.Sprintf("indicator--%08d-0000-4000-8000-000000000000", n) }

// TestSectorsFixedAtIngest: the submitting organisation's sectors are
// kept beside each version as it is first stored; a later change of the
// organisation's sectors applies to what it submits from then on.
func TestSectorsFixedAtIngest(t *testing.T) {
	db := open(t)
	in := ingest.New(db, 0)
	telco := ingest.OrgWriter(account.Org{ID: "telco", Sectors: []string{"telecommunications"}}, false)
	run(t, in, []step{{telco, indicator(1, 0, createdBy("telco")), ingest.Added, nil}})
	telco.Sectors = []string{"energy"}
	run(t, in, []step{
		{telco, indicator(1, 0, createdBy("telco")), ingest.Duplicate, nil},
		{telco, indicator(2, 0, createdBy("telco")), ingest.Added, nil},
		{ingest.Operator, indicator(3, 0, ""), ingest.Added, nil},
	})
	for n, want := range map[int][]string{1: {"telecommunications"}, 2: {"energy"}, 3: nil} {
		if f, _ := facts(t, db, n); !slices.Equal(f.Sectors, want) {
			t.Errorf("indicator %d: sectors %v, want %v", n, f.Sectors, want)
		}
	}
}

// TestAnonymousToPartners: an organisation anonymous towards partners is
// served as itself on the node and as the node to partner nodes: one
// released body, fixed at ingest, the same for every peer. Whether the
// body partners get names the submitter is recorded for agreements.
func TestAnonymousToPartners(t *testing.T) {
	db := open(t)
	ctx := context.Background()
	partners := ingest.OrgWriter(account.Org{ID: "p", AnonymousToPartners: true}, false)
	named := ingest.OrgWriter(account.Org{ID: "n"}, false)
	relay := ingest.OrgWriter(account.Org{ID: "r"}, true)
	mitre := `,"created_by_ref":"identity--c78cb6e5-0c4b-4611-8297-d1b8b55e40b5"`
	in := ingest.New(db, 0)
	run(t, in, []step{
		{partners, indicator(1, 0, createdBy("p")), ingest.Added, nil},
		{named, indicator(2, 0, createdBy("n")), ingest.Added, nil},
		{relay, indicator(3, 0, mitre), ingest.Added, nil},
		{ingest.Operator, indicator(4, 0, ""), ingest.Added, nil},
	})
	for n, want := range map[int]policy.Facts{
		1: {Submitter: "p", Attribution: policy.AttributionAnonymous, PeersOnly: true},
		2: {Submitter: "n", Attribution: policy.AttributionNamed},
		3: {Submitter: "r", Attribution: policy.AttributionAnonymous},
		4: {Submitter: account.NodeOrg, Attribution: policy.AttributionAnonymous},
	} {
		f, _ := facts(t, db, n)
		got := policy.Facts{Submitter: f.Submitter, Attribution: f.Attribution, PeersOnly: f.PeersOnly}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("indicator %d (-want +got):\n%s", n, diff)
		}
	}

	ident, node := account.Org{ID: "p"}.IdentityID(), account.Org{ID: account.NodeOrg}.IdentityID()
	gate := policy.NewGate(db, policy.Config{})
	for _, tc := range []struct {
		name string
		r    policy.Reader
		want string
	}{
		{"submitter", policy.Reader{User: "u", Org: "p"}, ident},
		{"another organisation of the node", policy.Reader{User: "v", Org: "b"}, ident},
		{"partner node", policy.Reader{Peer: "JP"}, node},
		{"another partner node", policy.Reader{Peer: "KR"}, node},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// GREEN by default, so that partner nodes may read it.
			g := policy.NewGate(db, policy.Config{DefaultTLP: stix.TLPLevelGreen})
			if tc.r.Peer == "" {
				g = gate
			}
			p, err := g.Query(ctx, tc.r, store.Query{Collection: coll, IDs: []string{indicatorID(1)}, Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Versions) != 1 {
				t.Fatalf("%d versions served", len(p.Versions))
			}
			if got := creatorOf(t, p.Versions[0].Body); got != tc.want {
				t.Errorf("served created_by_ref %s, want %s", got, tc.want)
			}
		})
	}
}

// TestReceivedHandling: an object received from a partner keeps, beside
// it, the handling and sectors its origin sent: an unmarked object is
// handled at the origin's level, not this node's default; a marking
// stricter than the handling still wins; the handling stays when a late
// marking definition completes the object's facts.
func TestReceivedHandling(t *testing.T) {
	db := open(t)
	ctx := context.Background()
	in := ingest.New(db, 0)
	w := ingest.Writer{Org: "node:IN", Relay: true, Via: "IN"}
	green := &ingest.Received{Handling: policy.Handling{TLP: stix.TLPLevelGreen, Distribution: []policy.Distribution{{Scope: policy.ScopePartners}}},
		Sectors: []string{"telecommunications"}}
	raws := [][]byte{
		[]byte(indicator(1, 0, "")),
		[]byte(indicator(2, 0, `,"object_marking_refs":["`+stix.TLPAmber+`"]`)),
		[]byte(indicator(3, 0, "")),
		// Its marking definition comes later: the handling still applies
		// once the definition completes the object's facts.
		[]byte(indicator(4, 0, `,"object_marking_refs":["`+statementID+`"]`)),
	}
	items, err := in.Store(ctx, coll, in.PrepareReceived(ctx, w, raws, []*ingest.Received{green, green, nil, green}, map[string][]byte{}))
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if it.Outcome != ingest.Added {
			t.Fatalf("%s: %v %v", it.ID, it.Outcome, it.Err)
		}
	}
	if f, _ := facts(t, db, 4); len(f.Unknown) != 1 {
		t.Fatalf("indicator 4 before its marking definition: unknown %v", f.Unknown)
	}
	if _, err := in.Store(ctx, coll, in.PrepareReceived(ctx, w, [][]byte{[]byte(statement)}, nil, map[string][]byte{})); err != nil {
		t.Fatal(err)
	}
	for n, want := range map[int]policy.Facts{
		1: {TLP: stix.TLPLevelGreen, Scopes: []policy.Scope{policy.ScopePartners}, Sectors: []string{"telecommunications"}},
		2: {TLP: stix.TLPLevelAmber, Scopes: []policy.Scope{policy.ScopePartners}, Sectors: []string{"telecommunications"}},
		3: {},
		4: {TLP: stix.TLPLevelGreen, Scopes: []policy.Scope{policy.ScopePartners}, Sectors: []string{"telecommunications"}},
	} {
		f, _ := facts(t, db, n)
		got := policy.Facts{TLP: f.TLP, Scopes: f.Scopes, Sectors: f.Sectors, Attribution: f.Attribution, Unknown: f.Unknown}
		if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("indicator %d (-want +got):\n%s", n, diff)
		}
	}
	// Under an AMBER default, a local organisation reads the received
	// GREEN-handled object as GREEN.
	d := policy.Config{DefaultTLP: stix.TLPLevelAmber}
	f, _ := facts(t, db, 1)
	if dec := d.Decide(policy.Reader{User: "u", Org: "x"}, f); !dec.Allow || dec.Rule != "distribution-partners" || !slices.Contains(d.Audience(f), policy.KeyNode) {
		t.Errorf("local reader: %+v, audience %v", dec, d.Audience(f))
	}
}

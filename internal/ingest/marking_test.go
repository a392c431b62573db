package ingest_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/setu-cti/setu/internal/account"
	"github.com/setu-cti/setu/internal/ingest"
	"github.com/setu-cti/setu/internal/policy"
	"github.com/setu-cti/setu/internal/stix"
	"github.com/setu-cti/setu/internal/store"
)

// statement is a copyright statement marking like MITRE's on ATT&CK.
const statementID = "marking-definition--fa42a846-8d90-4e51-bc29-71d5b4802168"

const statement = `{"type":"marking-definition","spec_version":"2.1","id":"` + statementID + `",` +
	`"created":"2017-06-01T00:00:00.000Z","definition_type":"statement","definition":{"statement":"Copyright 2015-2025, The MITRE Corporation."}}`

// TestMarkingOrder: an object whose marking definition comes after it —
// later in the batch, in a later batch of the stream, in a later call —
// ends up with the audience the definition gives, exactly as if the
// definition had come first. Until then it is stored with a warning.
func TestMarkingOrder(t *testing.T) {
	marked := func(n int) string {
		return indicator(n, 0, `,"object_marking_refs":["`+statementID+`"]`)
	}
	tests := []struct {
		name  string
		batch int        // objects per transaction
		calls [][]string // each an ObjectsAs call
		// warned: objects stored with a warning about the marking.
		warned []int
	}{
		{"definition first", 0, [][]string{{statement, marked(1), marked(2)}}, nil},
		{"definition last in the batch", 0, [][]string{{marked(1), marked(2), statement}}, nil},
		{"definition in a later batch of the stream", 2, [][]string{{marked(1), marked(2), marked(3), statement}}, []int{1, 2}},
		{"definition in a later call", 0, [][]string{{marked(1), marked(2)}, {statement}}, []int{1, 2}},
		{"definition posted again later", 0, [][]string{{marked(1)}, {statement}, {marked(2)}, {statement}}, []int{1}},
	}
	reader := policy.Reader{User: "v", Org: "b"}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := open(t)
			ctx := context.Background()
			in := ingest.New(db, tc.batch)
			warned := map[int]bool{}
			for _, call := range tc.calls {
				raws := make([][]byte, len(call))
				for i, s := range call {
					raws[i] = []byte(s)
				}
				items, err := in.ObjectsAs(ctx, writer("a"), coll, raws)
				if err != nil {
					t.Fatal(err)
				}
				for _, it := range items {
					if it.Outcome == ingest.Rejected {
						t.Fatalf("%s rejected: %v", it.ID, it.Err)
					}
					for _, w := range it.Warnings {
						if strings.Contains(w, statementID) && strings.Contains(w, "only the submitting organisation") {
							var n int
							if _, err := fmtSscan(it.ID, &n); err == nil {
								warned[n] = true
							}
						}
					}
				}
			}
			for _, n := range tc.warned {
				if !warned[n] {
					t.Errorf("indicator %d stored without a warning about its marking", n)
				}
				delete(warned, n)
			}
			if len(warned) > 0 {
				t.Errorf("unexpected warnings for %v", warned)
			}
			// Another organisation reads every object, through the
			// audience index as every read path does.
			p, err := policy.NewGate(db, policy.Config{}).Query(ctx, reader, store.Query{Collection: coll, Types: []string{"indicator"}, Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			want := 0
			for _, call := range tc.calls {
				for _, s := range call {
					if strings.HasPrefix(s, `{"type":"indicator"`) {
						want++
					}
				}
			}
			if len(p.Versions) != want {
				t.Errorf("another organisation reads %d indicators, want %d", len(p.Versions), want)
			}
		})
	}
}

// TestWellKnownMarkings: a Setu distribution marking every node derives
// alike (a fixed scope, residency) or that of a group in the registry
// needs no definition in the stream; an unknown id is stored with a
// warning and stays with its submitter.
func TestWellKnownMarkings(t *testing.T) {
	db := open(t)
	ctx := context.Background()
	for _, o := range []string{"a", "b", "c"} {
		must(t, db.CreateOrg(ctx, account.Org{ID: o, Name: o, Country: "IN", Kind: account.Business}))
	}
	must(t, db.CreateGroup(ctx, store.Group{ID: "g-energy", Name: "energy"}))
	must(t, db.AddGroupMember(ctx, "g-energy", "org:b"))
	in := ingest.New(db, 0, ingest.WithGroups(db))
	tests := []struct {
		name    string
		marking string
		readers map[string]bool // org -> may read
		warned  bool
	}{
		{"community scope", policy.Distribution{Scope: policy.ScopeCommunity}.MarkingID(), map[string]bool{"b": true, "c": true}, false},
		{"org scope", policy.Distribution{Scope: policy.ScopeOrg}.MarkingID(), map[string]bool{"b": false, "c": false}, false},
		{"residency", policy.Distribution{Resident: "JP"}.MarkingID(), map[string]bool{"b": true, "c": true}, false},
		{"group in the registry", policy.Distribution{Scope: policy.ScopeGroup, Group: "g-energy"}.MarkingID(), map[string]bool{"b": true, "c": false}, false},
		{"unknown", "marking-definition--00000000-0000-4000-8000-0000000000ff", map[string]bool{"b": false, "c": false}, true},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			items, err := in.ObjectsAs(ctx, writer("a"), coll, [][]byte{[]byte(indicator(100+i, 0, `,"object_marking_refs":["`+tc.marking+`"]`))})
			if err != nil {
				t.Fatal(err)
			}
			it := items[0]
			if it.Outcome != ingest.Added {
				t.Fatalf("%v %v", it.Outcome, it.Err)
			}
			if got := len(it.Warnings) > 0; got != tc.warned {
				t.Errorf("warnings %q, want some: %v", it.Warnings, tc.warned)
			}
			v, err := db.Current(ctx, it.ID)
			if err != nil {
				t.Fatal(err)
			}
			for org, want := range tc.readers {
				r := policy.Reader{User: "u-" + org, Org: org}
				if org == "b" {
					r.Groups = []string{"g-energy"}
				}
				if d := (policy.Config{}).Decide(r, policy.DecodeFacts(v.Facts, v.Submitter)); d.Allow != want {
					t.Errorf("org %s: %+v, want allow %v", org, d, want)
				}
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// fmtSscan reads an indicator's number from its id.
func fmtSscan(id string, n *int) (int, error) {
	return fmt.Sscanf(strings.TrimPrefix(id, "indicator--"), "%08d", n)
}

// TestAssignedHandling: handling the writer assigns (import --tlp
// --share) is metadata: the object is stored as sent, decided as if it
// carried the handling, and the handling survives a marking definition
// that arrives later.
func TestAssignedHandling(t *testing.T) {
	db := open(t)
	ctx := context.Background()
	w := writer("a")
	w.Handling = policy.Handling{TLP: stix.TLPLevelRed, Distribution: []policy.Distribution{{Recipients: []string{"user:alice"}}}}
	obj := indicator(1, 0, `,"object_marking_refs":["`+statementID+`"]`)
	items, err := ingest.New(db, 0).ObjectsAs(ctx, w, coll, [][]byte{[]byte(obj)})
	must(t, err)
	if items[0].Outcome != ingest.Added {
		t.Fatalf("%v %v", items[0].Outcome, items[0].Err)
	}
	// The statement arrives later, from the operator.
	if _, err := ingest.New(db, 0).Objects(ctx, coll, [][]byte{[]byte(statement)}); err != nil {
		t.Fatal(err)
	}
	v, err := db.Current(ctx, items[0].ID)
	must(t, err)
	if strings.Contains(string(v.Body), "e828b379") || !strings.Contains(string(v.Body), statementID) {
		t.Errorf("stored body changed: %s", v.Body)
	}
	gate := policy.NewGate(db, policy.Config{})
	for _, tc := range []struct {
		r    policy.Reader
		want int
	}{
		{policy.Reader{User: "alice", Org: "b"}, 1},
		{policy.Reader{User: "bob", Org: "b"}, 0},
		{policy.Reader{Peer: "jp"}, 0},
	} {
		p, err := gate.Query(ctx, tc.r, store.Query{Collection: coll, Types: []string{"indicator"}, Limit: 10})
		must(t, err)
		if len(p.Versions) != tc.want {
			t.Errorf("%+v reads %d, want %d", tc.r, len(p.Versions), tc.want)
		}
	}
}

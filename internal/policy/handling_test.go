package policy

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/setu-cti/setu/internal/stix"
)

func TestParseShare(t *testing.T) {
	tests := []struct {
		in      string
		want    []Distribution
		wantErr bool
	}{
		{"partners", []Distribution{{Scope: ScopePartners}}, false},
		{"org", []Distribution{{Scope: ScopeOrg}}, false},
		{"community, group:g-energy", []Distribution{{Scope: ScopeCommunity}, {Scope: ScopeGroup, Group: "g-energy"}}, false},
		{"org:cert-in,user:alice", []Distribution{{Recipients: []string{"org:cert-in", "user:alice"}}}, false},
		{"resident:in", []Distribution{{Resident: "IN"}}, false},
		{"", nil, false},
		{"everyone", nil, true},
		{"group:", nil, true},
		{"user:", nil, true},
		{"resident:IND", nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseShare(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v, want error %v", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" && !tc.wantErr {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestAssign: assigned handling only narrows, and decides as markings
// would: AMBER assigned to an unmarked object keeps it from partners until
// a partners share is assigned too; RED names its recipients.
func TestAssign(t *testing.T) {
	peer := Reader{Peer: "jp"}
	alice := Reader{User: "alice", Org: "b"}
	bob := Reader{User: "bob", Org: "c"}
	tests := []struct {
		name  string
		own   Facts
		h     Handling
		allow map[string]bool
	}{
		{"amber", Facts{}, Handling{TLP: stix.TLPLevelAmber}, map[string]bool{"peer": false, "alice": true}},
		{"amber shared with partners", Facts{}, Handling{TLP: stix.TLPLevelAmber, Distribution: []Distribution{{Scope: ScopePartners}}},
			map[string]bool{"peer": true, "alice": true}},
		{"red to recipients", Facts{}, Handling{TLP: stix.TLPLevelRed, Distribution: []Distribution{{Recipients: []string{"user:alice"}}}},
			map[string]bool{"peer": false, "alice": true, "bob": false}},
		{"never widens", Facts{TLP: stix.TLPLevelRed}, Handling{TLP: stix.TLPLevelClear}, map[string]bool{"alice": false, "peer": false}},
		{"own distribution kept", Facts{TLP: stix.TLPLevelGreen, Scopes: []Scope{ScopeCommunity}}, Handling{Distribution: []Distribution{{Scope: ScopePublic}}},
			map[string]bool{"alice": true, "peer": false}},
	}
	readers := map[string]Reader{"peer": peer, "alice": alice, "bob": bob}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.own.Submitter = "s"
			f := tc.own.Assign(tc.h)
			if f.Assigned == nil || !cmp.Equal(*f.Assigned, tc.h) {
				t.Errorf("Assigned %+v", f.Assigned)
			}
			keys := Config{}.Audience(f)
			for who, want := range tc.allow {
				r := readers[who]
				d := Config{}.Decide(r, f)
				if d.Allow != want {
					t.Errorf("%s: %+v, want allow %v", who, d, want)
				}
				if d.Allow && !holdsAny(r.Keys(), keys) {
					t.Errorf("%s allowed but holds none of %v", who, keys)
				}
			}
		})
	}
}

func holdsAny(have, want []string) bool {
	for _, k := range have {
		for _, w := range want {
			if k == w {
				return true
			}
		}
	}
	return false
}

// TestAssignAccumulates: handling assigned twice (a submitter's, then the
// origin's of a received object) keeps both, each distribution once, so
// that facts computed again get the stricter of all.
func TestAssignAccumulates(t *testing.T) {
	first := Handling{TLP: stix.TLPLevelAmber, Distribution: []Distribution{{Scope: ScopePartners}}}
	second := Handling{TLP: stix.TLPLevelGreen, Distribution: []Distribution{{Scope: ScopePartners}, {Resident: "IN"}}}
	f := Facts{}.Assign(first).Assign(second)
	want := Handling{TLP: stix.TLPLevelAmber, Distribution: []Distribution{{Scope: ScopePartners}, {Resident: "IN"}}}
	if f.Assigned == nil || !cmp.Equal(*f.Assigned, want) {
		t.Errorf("Assigned %+v, want %+v", f.Assigned, want)
	}
	if f.TLP != stix.TLPLevelAmber || !slices.Equal(f.Scopes, []Scope{ScopePartners}) || !slices.Equal(f.Resident, []string{"IN"}) {
		t.Errorf("facts %+v", f)
	}
	// Computed again from markings that say nothing: the same.
	again := Facts{}.Assign(*f.Assigned)
	if again.TLP != f.TLP || !slices.Equal(again.Scopes, f.Scopes) || !slices.Equal(again.Resident, f.Resident) {
		t.Errorf("again %+v, want %+v", again, f)
	}
}

// TestReleased: the handling a version is released under names its TLP
// (the node's default when it has none), scopes, groups and residency,
// and never TLP:RED recipients.
func TestReleased(t *testing.T) {
	c := Config{DefaultTLP: stix.TLPLevelGreen}
	f := Facts{Scopes: []Scope{ScopePartners, ScopeGroup}, Groups: []string{"g"}, Resident: []string{"JP"}, Recipients: []string{"user:a"}}
	want := Handling{TLP: stix.TLPLevelGreen, Distribution: []Distribution{{Scope: ScopePartners}, {Scope: ScopeGroup, Group: "g"}, {Resident: "JP"}}}
	if diff := cmp.Diff(want, c.Released(f)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// Assigned again on the receiving side, it gives the same facts.
	got := Facts{}.Assign(c.Released(f))
	if got.TLP != stix.TLPLevelGreen || !slices.Equal(got.Scopes, []Scope{ScopePartners, ScopeGroup}) || !slices.Equal(got.Groups, []string{"g"}) {
		t.Errorf("received %+v", got)
	}
}

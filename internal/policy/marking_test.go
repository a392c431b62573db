package policy

import (
	"errors"
	"strings"
	"testing"

	"github.com/setu-cti/setu/internal/stix"
)

func TestDistributionMarkingRoundTrip(t *testing.T) {
	for _, d := range []Distribution{
		{Scope: ScopeOrg}, {Scope: ScopeCommunity}, {Scope: ScopeGroup, Group: "g-1234"},
		{Scope: ScopePartners}, {Scope: ScopeNodes}, {Scope: ScopePublic},
		{Recipients: []string{"user:alice", "org:b"}},
	} {
		t.Run(d.key(), func(t *testing.T) {
			body, err := d.MarkingDefinition()
			if err != nil {
				t.Fatal(err)
			}
			// The definition is valid STIX, and the same on every call.
			o, err := stix.Parse(body)
			if err != nil {
				t.Fatalf("not valid STIX: %v\n%s", err, body)
			}
			again, _ := d.MarkingDefinition()
			if string(again) != string(body) || o.ID != d.MarkingID() {
				t.Fatal("marking definition is not deterministic")
			}
			m, err := Interpret(o.ID, body)
			if err != nil {
				t.Fatal(err)
			}
			if m.Kind != KindDistribution || m.Distribution.key() != d.key() {
				t.Errorf("interpreted %+v", m)
			}
		})
	}
}

func TestInterpretRejects(t *testing.T) {
	good, _ := Distribution{Scope: ScopeCommunity}.MarkingDefinition()
	tests := []struct {
		name, id, body, want string
	}{
		{"unknown id without body", "marking-definition--00000000-0000-4000-8000-000000000001", "", "not known"},
		{"unknown definition type", "marking-definition--00000000-0000-4000-8000-000000000001",
			`{"type":"marking-definition","id":"marking-definition--00000000-0000-4000-8000-000000000001","definition_type":"acme","definition":{"x":1}}`, "not implemented"},
		{"id mismatch", "marking-definition--00000000-0000-4000-8000-000000000002", string(good), "has id"},
		{"bad scope", Distribution{Scope: ScopeCommunity}.MarkingID(),
			strings.Replace(string(good), `"scope":"community"`, `"scope":"galaxy"`, 1), "unknown scope"},
		{"scope forged under another id", Distribution{Scope: ScopeCommunity}.MarkingID(),
			strings.Replace(string(good), `"scope":"community"`, `"scope":"public"`, 1), "must have id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body []byte
			if tt.body != "" {
				body = []byte(tt.body)
			}
			_, err := Interpret(tt.id, body)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	community, _ := Distribution{Scope: ScopeCommunity}.MarkingDefinition()
	group, _ := Distribution{Scope: ScopeGroup, Group: "g1"}.MarkingDefinition()
	statement := `{"type":"marking-definition","spec_version":"2.1","id":"marking-definition--fa42a846-8d90-4e51-bc29-71d5b4802168","created":"2017-06-01T00:00:00.000Z","definition_type":"statement","definition":{"statement":"Copyright MITRE"}}`
	known := map[string]string{
		Distribution{Scope: ScopeCommunity}.MarkingID():            string(community),
		Distribution{Scope: ScopeGroup, Group: "g1"}.MarkingID():   string(group),
		"marking-definition--fa42a846-8d90-4e51-bc29-71d5b4802168": statement,
	}
	resolve := func(id string) ([]byte, error) {
		if b, ok := known[id]; ok {
			return []byte(b), nil
		}
		return nil, nil
	}
	f, err := Classify([]string{stix.TLPGreen, stix.TLPAmber, "marking-definition--fa42a846-8d90-4e51-bc29-71d5b4802168",
		Distribution{Scope: ScopeCommunity}.MarkingID(), Distribution{Scope: ScopeGroup, Group: "g1"}.MarkingID()}, resolve)
	if err != nil {
		t.Fatal(err)
	}
	if f.TLP != stix.TLPLevelAmber || len(f.Scopes) != 2 || len(f.Groups) != 1 || len(f.Unknown) != 0 {
		t.Errorf("facts %+v: want AMBER (most restrictive), community and group g1 both, statement ignored", f)
	}
	// Both distributions apply: a group member on this node passes, a
	// group member's node does not (community stops at the border).
	f.Submitter = "s"
	if d := cfg.Decide(Reader{User: "u", Org: "o", Groups: []string{"g1"}}, f); !d.Allow {
		t.Errorf("local group member denied: %+v", d)
	}
	if d := cfg.Decide(Reader{Peer: "jp", Groups: []string{"g1"}}, f); d.Allow {
		t.Errorf("peer allowed through community+group: %+v", d)
	}
	f, _ = Classify([]string{"marking-definition--00000000-0000-4000-8000-000000000009"}, resolve)
	if len(f.Unknown) != 1 {
		t.Errorf("unknown marking not reported: %+v", f)
	}
	boom := errors.New("store down")
	if _, err := Classify([]string{"marking-definition--x"}, func(string) ([]byte, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Errorf("resolver failure not returned: %v", err)
	}
}

func TestResidencyMarking(t *testing.T) {
	d := Distribution{Resident: "IN"}
	b, err := d.MarkingDefinition()
	if err != nil {
		t.Fatal(err)
	}
	m, err := Interpret(d.MarkingID(), b)
	if err != nil || m.Kind != KindDistribution || m.Distribution.Resident != "IN" {
		t.Fatalf("Interpret: %+v, %v", m, err)
	}
	f, err := Classify([]string{d.MarkingID(), stix.TLPGreen}, func(string) ([]byte, error) { return b, nil })
	if err != nil || len(f.Resident) != 1 || f.Resident[0] != "IN" || f.TLP != stix.TLPLevelGreen {
		t.Errorf("Classify: %+v, %v", f, err)
	}
	for _, bad := range []Distribution{{Resident: "in"}, {Resident: "IND"}, {Resident: "IN", Scope: ScopePublic}} {
		if _, err := bad.MarkingDefinition(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

// TestWellKnown: the markings every node derives alike are found by id,
// with their exact definitions; those that need a registry are not.
func TestWellKnown(t *testing.T) {
	for _, tc := range []struct {
		d    Distribution
		want bool
	}{
		{Distribution{Scope: ScopeOrg}, true},
		{Distribution{Scope: ScopeCommunity}, true},
		{Distribution{Scope: ScopePartners}, true},
		{Distribution{Scope: ScopeNodes}, true},
		{Distribution{Scope: ScopePublic}, true},
		{Distribution{Resident: "IN"}, true},
		{Distribution{Resident: "ZZ"}, true},
		{Distribution{Scope: ScopeGroup, Group: "g"}, false},
		{Distribution{Recipients: []string{"org:a"}}, false},
	} {
		t.Run(tc.d.key(), func(t *testing.T) {
			got := WellKnown(tc.d.MarkingID())
			if (got != nil) != tc.want {
				t.Fatalf("WellKnown: %s, want found %v", got, tc.want)
			}
			if tc.want {
				def, err := tc.d.MarkingDefinition()
				if err != nil || string(def) != string(got) {
					t.Errorf("definition %s, want %s (%v)", got, def, err)
				}
			}
		})
	}
	if WellKnown("marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9") != nil {
		t.Error("a TLP marking is built in, not a distribution")
	}
}

package policy

import (
	"slices"
	"strings"
	"testing"

	"github.com/setu-cti/setu/internal/stix"
)

var (
	alice   = Reader{User: "alice", Org: "a", Country: "IN", Groups: []string{"in-jp-telecom"}}
	bob     = Reader{User: "bob", Org: "b", Country: "IN"}
	submit  = Reader{User: "sam", Org: "s", Country: "IN"}
	peerJP  = Reader{Peer: "jp", Groups: []string{"in-jp-telecom"}}
	peerSG  = Reader{Peer: "sg"}
	cfg     = Config{}
	readers = map[string]Reader{"submitter": submit, "alice": alice, "bob": bob, "peer-jp": peerJP, "peer-sg": peerSG}
)

// TestDecideTable checks, for each TLP level and distribution scope, who of
// the submitter, a group member (alice), another local organisation (bob)
// and two peers, one of them a member of the group (jp), may read.
func TestDecideTable(t *testing.T) {
	group := Facts{Scopes: []Scope{ScopeGroup}, Groups: []string{"in-jp-telecom"}}
	tests := []struct {
		name  string
		facts Facts
		allow string // space-separated readers allowed
	}{
		{"no markings: default AMBER, community", Facts{}, "submitter alice bob"},
		{"CLEAR alone: public", Facts{TLP: stix.TLPLevelClear}, "submitter alice bob peer-jp peer-sg"},
		{"GREEN alone: partners", Facts{TLP: stix.TLPLevelGreen}, "submitter alice bob peer-jp peer-sg"},
		{"GREEN received from a partner is not relayed", Facts{TLP: stix.TLPLevelGreen, Via: "jp"}, "submitter alice bob"},
		{"AMBER alone: community", Facts{TLP: stix.TLPLevelAmber}, "submitter alice bob"},
		{"AMBER+STRICT alone", Facts{TLP: stix.TLPLevelAmberStrict}, "submitter alice bob"},
		{"RED without recipients: submitter only", Facts{TLP: stix.TLPLevelRed}, "submitter"},
		{"RED to alice", Facts{TLP: stix.TLPLevelRed, Recipients: []string{"user:alice"}}, "submitter alice"},
		{"RED to org b", Facts{TLP: stix.TLPLevelRed, Recipients: []string{"org:b"}}, "submitter bob"},
		{"RED public distribution still RED", Facts{TLP: stix.TLPLevelRed, Scopes: []Scope{ScopePublic}}, "submitter"},
		{"CLEAR org", Facts{TLP: stix.TLPLevelClear, Scopes: []Scope{ScopeOrg}}, "submitter"},
		{"CLEAR community", Facts{TLP: stix.TLPLevelClear, Scopes: []Scope{ScopeCommunity}}, "submitter alice bob"},
		{"CLEAR group", withTLP(group, stix.TLPLevelClear), "submitter alice peer-jp"},
		{"GREEN group", withTLP(group, stix.TLPLevelGreen), "submitter alice peer-jp"},
		{"AMBER group", withTLP(group, stix.TLPLevelAmber), "submitter alice peer-jp"},
		{"AMBER+STRICT group: never across the border", withTLP(group, stix.TLPLevelAmberStrict), "submitter alice"},
		{"RED group: named recipients only", Facts{TLP: stix.TLPLevelRed, Scopes: []Scope{ScopeGroup}, Groups: []string{"in-jp-telecom"}}, "submitter"},
		{"GREEN group without members here or there", Facts{TLP: stix.TLPLevelGreen, Scopes: []Scope{ScopeGroup}, Groups: []string{"other"}}, "submitter"},
		{"GREEN for either of two groups", Facts{TLP: stix.TLPLevelGreen, Scopes: []Scope{ScopeGroup}, Groups: []string{"other", "in-jp-telecom"}}, "submitter alice peer-jp"},
		{"GREEN group and partners: both must pass", Facts{TLP: stix.TLPLevelGreen, Scopes: []Scope{ScopeGroup, ScopePartners}, Groups: []string{"in-jp-telecom"}}, "submitter alice peer-jp"},
		{"GREEN group and partners received from a partner", Facts{TLP: stix.TLPLevelGreen, Scopes: []Scope{ScopeGroup, ScopePartners}, Groups: []string{"in-jp-telecom"}, Via: "sg"}, "submitter alice"},
		{"GREEN group and community: not across the border", Facts{TLP: stix.TLPLevelGreen, Scopes: []Scope{ScopeGroup, ScopeCommunity}, Groups: []string{"in-jp-telecom"}}, "submitter alice"},
		{"GREEN group resident in IN", Facts{TLP: stix.TLPLevelGreen, Scopes: []Scope{ScopeGroup}, Groups: []string{"in-jp-telecom"}, Resident: []string{"IN"}}, "submitter alice"},
		{"GREEN partners", Facts{TLP: stix.TLPLevelGreen, Scopes: []Scope{ScopePartners}}, "submitter alice bob peer-jp peer-sg"},
		{"AMBER partners", Facts{TLP: stix.TLPLevelAmber, Scopes: []Scope{ScopePartners}}, "submitter alice bob peer-jp peer-sg"},
		{"AMBER+STRICT partners: local only", Facts{TLP: stix.TLPLevelAmberStrict, Scopes: []Scope{ScopePartners}}, "submitter alice bob"},
		{"AMBER public is capped", Facts{TLP: stix.TLPLevelAmber, Scopes: []Scope{ScopePublic}}, "submitter alice bob peer-jp peer-sg"},
		{"AMBER public from a partner is capped to one hop", Facts{TLP: stix.TLPLevelAmber, Scopes: []Scope{ScopePublic}, Via: "jp"}, "submitter alice bob"},
		{"CLEAR nodes", Facts{TLP: stix.TLPLevelClear, Scopes: []Scope{ScopeNodes}, Via: "jp"}, "submitter alice bob peer-jp peer-sg"},
		{"unknown marking: submitter only", Facts{TLP: stix.TLPLevelClear, Unknown: []string{"marking-definition--x"}}, "submitter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.facts
			f.Submitter = "s"
			for name, r := range readers {
				d := cfg.Decide(r, f)
				want := strings.Contains(" "+tt.allow+" ", " "+name+" ")
				if d.Allow != want {
					t.Errorf("%s: allow=%v (%s: %s), want %v", name, d.Allow, d.Rule, d.Reason, want)
				}
				if d.Rule == "" || d.Reason == "" {
					t.Errorf("%s: decision without rule or reason: %+v", name, d)
				}
			}
		})
	}
}

func withTLP(f Facts, t stix.TLP) Facts { f.TLP = t; return f }

// TestGroupMembershipIsTheReaders: whether a partner node reads a group's
// objects follows the groups it is read with, so a change of membership
// applies to objects stored before it; and the group's audience key, which
// a member node holds, finds the object for it.
func TestGroupMembershipIsTheReaders(t *testing.T) {
	f := Facts{Submitter: "s", TLP: stix.TLPLevelAmber, Scopes: []Scope{ScopeGroup}, Groups: []string{"g-telecom"}}
	for _, tt := range []struct {
		name   string
		groups []string
		allow  bool
	}{
		{"not a member", nil, false},
		{"member of another group", []string{"g-finance"}, false},
		{"member", []string{"g-finance", "g-telecom"}, true},
	} {
		r := Reader{Peer: "jp", Groups: tt.groups}
		d := cfg.Decide(r, f)
		if d.Allow != tt.allow || d.Rule != "distribution-group" {
			t.Errorf("%s: %+v, want allow %v under distribution-group", tt.name, d, tt.allow)
		}
		aud := cfg.Audience(f)
		holds := false
		for _, k := range r.Keys() {
			holds = holds || slices.Contains(aud, k)
		}
		if holds != tt.allow {
			t.Errorf("%s: reader keys %v, audience %v: holds one %v, want %v", tt.name, r.Keys(), aud, holds, tt.allow)
		}
	}
	// A local member organisation and a member node hold the group's key;
	// "node" alone, which partners never hold, must not replace it.
	both := Facts{Submitter: "s", Scopes: []Scope{ScopeNodes, ScopeGroup}, Groups: []string{"g-telecom"}}
	peer := Reader{Peer: "jp", Groups: []string{"g-telecom"}}
	if d := cfg.Decide(peer, both); !d.Allow {
		t.Fatalf("member node under nodes and group distribution: %+v", d)
	}
	if aud := cfg.Audience(both); !slices.ContainsFunc(peer.Keys(), func(k string) bool { return slices.Contains(aud, k) }) {
		t.Errorf("audience %v names no key of the member node (%v)", aud, peer.Keys())
	}
}

func TestDefaultTLPConfigurable(t *testing.T) {
	c := Config{DefaultTLP: stix.TLPLevelRed}
	if d := c.Decide(alice, Facts{Submitter: "s"}); d.Allow || d.Rule != "tlp-red" {
		t.Errorf("default RED: %+v", d)
	}
}

func TestUnknownReasonNamesMarking(t *testing.T) {
	d := cfg.Decide(alice, Facts{Submitter: "s", Unknown: []string{"marking-definition--1234"}})
	if d.Allow || !strings.Contains(d.Reason, "marking-definition--1234") {
		t.Errorf("%+v", d)
	}
}

func TestGranularMarkingsWithhold(t *testing.T) {
	f := Facts{Submitter: "s", TLP: stix.TLPLevelGreen,
		Granular: []Facts{{TLP: stix.TLPLevelRed, Recipients: []string{"user:alice"}}}}
	if d := cfg.Decide(alice, f); !d.Allow {
		t.Errorf("recipient of the RED part denied: %+v", d)
	}
	if d := cfg.Decide(bob, f); d.Allow || d.Rule != "granular-marking" {
		t.Errorf("reader not cleared for the RED part: %+v", d)
	}
	if d := cfg.Decide(submit, f); !d.Allow {
		t.Errorf("submitter: %+v", d)
	}
	f.Granular = []Facts{{Unknown: []string{"marking-definition--x"}}}
	if d := cfg.Decide(alice, f); d.Allow {
		t.Errorf("unknown granular marking: %+v", d)
	}
}

// TestResidency: an object marked resident in a country is read by local
// readers as its other markings allow and never by a peer node outside
// that country.
func TestResidency(t *testing.T) {
	f := Facts{Submitter: "s", TLP: stix.TLPLevelClear, Resident: []string{"IN"}}
	for name, r := range readers {
		d := cfg.Decide(r, f)
		if want := !r.IsPeer(); d.Allow != want {
			t.Errorf("%s: %+v, want allow %v", name, d, want)
		}
		if r.IsPeer() && d.Rule != "residency" {
			t.Errorf("%s: rule %s", name, d.Rule)
		}
	}
	if d := cfg.Decide(Reader{Peer: "in-2", Country: "IN"}, f); !d.Allow {
		t.Errorf("a peer node in the resident country: %+v", d)
	}
}

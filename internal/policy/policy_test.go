package policy

import (
	"strings"
	"testing"

	"github.com/setu-cti/setu/internal/stix"
)

var (
	alice   = Reader{User: "alice", Org: "a", Country: "IN", Groups: []string{"in-jp-telecom"}}
	bob     = Reader{User: "bob", Org: "b", Country: "IN"}
	submit  = Reader{User: "sam", Org: "s", Country: "IN"}
	peerJP  = Reader{Peer: "jp"}
	peerSG  = Reader{Peer: "sg"}
	cfg     = Config{}
	readers = map[string]Reader{"submitter": submit, "alice": alice, "bob": bob, "peer-jp": peerJP, "peer-sg": peerSG}
)

// TestDecideTable checks, for each TLP level and distribution scope, who of
// the submitter, a group member (alice), another local organisation (bob)
// and two peers may read.
func TestDecideTable(t *testing.T) {
	group := Facts{Scopes: []Scope{ScopeGroup}, Groups: []string{"in-jp-telecom"}, GroupPeers: []string{"jp"}}
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

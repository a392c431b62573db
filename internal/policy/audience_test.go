package policy

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/setu-cti/setu/internal/stix"
	"github.com/setu-cti/setu/internal/store"
)

// TestAudienceCoversDecide checks the index contract on random facts and
// readers: whoever Decide allows holds one of the object's audience keys.
func TestAudienceCoversDecide(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	orgs := []string{"s", "a", "b", "c"}
	groups := []string{"g1", "g2"}
	peers := []string{"jp", "sg"}
	pick := func(xs []string) []string {
		var out []string
		for _, x := range xs {
			if rng.IntN(2) == 0 {
				out = append(out, x)
			}
		}
		return out
	}
	var readers []Reader
	for _, o := range orgs {
		readers = append(readers, Reader{User: "u-" + o, Org: o, Groups: pick(groups)})
	}
	for _, p := range peers {
		// A partner node may be a member of sharing groups, as an
		// organisation is.
		for _, gs := range [][]string{nil, groups[:1], groups[1:], groups} {
			readers = append(readers, Reader{Peer: p, Groups: gs})
		}
	}
	tlps := []stix.TLP{0, stix.TLPLevelClear, stix.TLPLevelGreen, stix.TLPLevelAmber, stix.TLPLevelAmberStrict, stix.TLPLevelRed}
	// Keys are computed once, at ingest, under one default; the node's
	// default may change later, so they must cover Decide under every one.
	stored := Config{}
	for _, c := range []Config{{}, {DefaultTLP: stix.TLPLevelClear}, {DefaultTLP: stix.TLPLevelGreen}, {DefaultTLP: stix.TLPLevelAmberStrict}, {DefaultTLP: stix.TLPLevelRed}} {
		for i := 0; i < 20000; i++ {
			f := Facts{Submitter: orgs[rng.IntN(len(orgs))], TLP: tlps[rng.IntN(len(tlps))]}
			for _, s := range Scopes {
				if rng.IntN(4) == 0 {
					f.Scopes = append(f.Scopes, s)
				}
			}
			f.Groups = pick(groups)
			if rng.IntN(3) == 0 {
				f.Via = peers[rng.IntN(len(peers))]
			}
			for _, o := range pick(orgs) {
				f.Recipients = append(f.Recipients, "org:"+o)
			}
			for _, o := range pick(orgs) {
				f.Recipients = append(f.Recipients, "user:u-"+o)
			}
			if rng.IntN(20) == 0 {
				f.Unknown = []string{"marking-definition--x"}
			}
			aud := stored.Audience(f)
			for _, r := range readers {
				d := c.Decide(r, f)
				holds := slices.ContainsFunc(r.Keys(), func(k string) bool { return slices.Contains(aud, k) })
				if d.Allow && !holds {
					t.Fatalf("config %+v facts %+v: %+v allowed (%s) but holds none of %v", c, f, r, d.Rule, aud)
				}
			}
		}
	}
}

func TestFactsEncoding(t *testing.T) {
	f := Facts{TLP: stix.TLPLevelAmber, Scopes: []Scope{ScopeGroup}, Groups: []string{"g"}}
	got := DecodeFacts(f.Encode(), "s")
	if got.TLP != f.TLP || got.Scopes[0] != ScopeGroup || got.Submitter != "s" {
		t.Errorf("round trip %+v", got)
	}
	if bad := DecodeFacts(nil, "s"); len(bad.Unknown) == 0 {
		t.Error("missing facts must not decode as unrestricted")
	}
	if d := (Config{}).Decide(Reader{User: "x", Org: "o"}, DecodeFacts([]byte("{"), "s")); d.Allow {
		t.Error("unreadable facts allowed a reader")
	}
}

// TestUnresolvedMarker: encoded facts hold the marker the store indexes
// exactly when they name a marking the node could not interpret, on the
// object or on part of it.
func TestUnresolvedMarker(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    Facts
		want bool
	}{
		{"none", Facts{Submitter: "a", TLP: stix.TLPLevelGreen}, false},
		{"unknown", Facts{Submitter: "a", Unknown: []string{"marking-definition--x"}}, true},
		{"granular unknown", Facts{Submitter: "a", Granular: []Facts{{Unknown: []string{"marking-definition--x"}}}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := bytes.Contains(tc.f.Encode(), []byte(store.UnresolvedMarker)); got != tc.want {
				t.Errorf("%s holds the marker: %v, want %v", tc.f.Encode(), got, tc.want)
			}
		})
	}
}

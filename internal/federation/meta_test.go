package federation_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/setu-cti/setu/internal/federation"
	"github.com/setu-cti/setu/internal/policy"
	"github.com/setu-cti/setu/internal/stix"
)

// TestProvenanceMeta: what the origin fixed beside an object (its
// handling, the submitter's sectors) travels in provenance under the
// origin's signature: a hop forwards it unchanged, and neither it nor the
// object can be changed without the signature failing.
func TestProvenanceMeta(t *testing.T) {
	bs := bodies(4)
	green := &federation.Meta{TLP: "green", Sectors: []string{"telecommunications", "energy"}}
	group := &federation.Meta{TLP: "amber", Distribution: []string{"group"}, Groups: []string{"in-jp-telecom"}, Resident: []string{"IN"}}
	origin, err := federation.SignMeta(nodes["IN-CERT"], t0, bs, []*federation.Meta{green, group, green, group})
	if err != nil {
		t.Fatal(err)
	}
	atKR := mustHop(t, "JP-CERT", "KR-CERT", bs, origin)
	for _, ps := range [][]federation.Provenance{origin, atKR} {
		self := "JP-CERT"
		if len(ps[0].Path) > 0 {
			self = "KR-CERT"
		}
		v := federation.NewVerifier(self, everyone)
		for i := range ps {
			p := ps[i]
			if p.Format != 2 || p.Meta == nil {
				t.Fatalf("format %d, meta %v", p.Format, p.Meta)
			}
			if err := v.Verify(&p, bs[i]); err != nil {
				t.Fatalf("object %d at %s: %v", i, self, err)
			}
			b, err := p.Encode()
			if err != nil {
				t.Fatal(err)
			}
			back, err := federation.DecodeProvenance(b)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(&p, back); diff != "" {
				t.Fatalf("decoded (-want +got):\n%s", diff)
			}
			if err := v.Verify(back, bs[i]); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Lists are read as sets: the signature covers their sorted form.
	if got := origin[0].Meta.Sectors; !cmp.Equal(got, []string{"energy", "telecommunications"}) {
		t.Errorf("sectors signed as %v", got)
	}

	v := federation.NewVerifier("KR-CERT", everyone)
	for _, tt := range []struct {
		name string
		edit func(p *federation.Provenance)
	}{
		{"TLP relaxed", func(p *federation.Provenance) { p.Meta = &federation.Meta{TLP: "clear", Sectors: p.Meta.Sectors} }},
		{"sector added", func(p *federation.Provenance) {
			p.Meta = &federation.Meta{TLP: p.Meta.TLP, Sectors: append([]string{"finance"}, p.Meta.Sectors...)}
		}},
		{"meta dropped as format 1", func(p *federation.Provenance) { p.Format, p.Meta = 1, nil }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := atKR[0]
			tt.edit(&p)
			if err := v.Verify(&p, bs[0]); !errors.Is(err, federation.ErrBadSignature) {
				t.Errorf("Verify = %v, want ErrBadSignature", err)
			}
		})
	}

	for _, tt := range []struct {
		name string
		doc  string
		want string
	}{
		{"format 2 without meta", `{"v":2,"origin":%s}`, "needs meta"},
		{"format 1 with meta", `{"v":1,"meta":{"tlp":"green"},"origin":%s}`, "carries no meta"},
		{"TLP red", `{"v":2,"meta":{"tlp":"red"},"origin":%s}`, "red never leaves"},
		{"no TLP", `{"v":2,"meta":{"sectors":["energy"]},"origin":%s}`, "no tlp"},
		{"org distribution", `{"v":2,"meta":{"distribution":["org"],"tlp":"green"},"origin":%s}`, "distribution"},
		{"group without groups", `{"v":2,"meta":{"distribution":["group"],"tlp":"green"},"origin":%s}`, "groups"},
		{"bad sector", `{"v":2,"meta":{"sectors":["Telecom Ops"],"tlp":"green"},"origin":%s}`, "sectors"},
		{"unknown member", `{"v":2,"meta":{"tlp":"green","owner":"x"},"origin":%s}`, "unknown field"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			o, err := origin[0].Encode()
			if err != nil {
				t.Fatal(err)
			}
			s := string(o)
			step := s[strings.Index(s, `"origin":`)+len(`"origin":`) : len(s)-1]
			doc := strings.Replace(tt.doc, "%s", step, 1)
			if _, err := federation.DecodeProvenance([]byte(doc)); !errors.Is(err, federation.ErrMalformed) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("DecodeProvenance(%s) = %v, want ErrMalformed mentioning %q", doc, err, tt.want)
			}
		})
	}
}

// TestMetaOf: the handling sent is the object's TLP, else the releasing
// node's default, and its distribution; the sectors are the submitter's.
func TestMetaOf(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  policy.Config
		f    policy.Facts
		want federation.Meta
	}{
		{"unmarked, AMBER by default", policy.Config{}, policy.Facts{}, federation.Meta{TLP: "amber"}},
		{"unmarked, GREEN by default", policy.Config{DefaultTLP: stix.TLPLevelGreen}, policy.Facts{Sectors: []string{"energy"}},
			federation.Meta{TLP: "green", Sectors: []string{"energy"}}},
		{"marked", policy.Config{DefaultTLP: stix.TLPLevelGreen},
			policy.Facts{TLP: stix.TLPLevelAmber, Scopes: []policy.Scope{policy.ScopePartners, policy.ScopeGroup}, Groups: []string{"g"}, Resident: []string{"IN"}},
			federation.Meta{TLP: "amber", Distribution: []string{"group", "partners"}, Groups: []string{"g"}, Resident: []string{"IN"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(&tt.want, federation.MetaOf(tt.cfg, tt.f)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

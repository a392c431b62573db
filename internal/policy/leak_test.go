package policy_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/setu-cti/setu/internal/account"
	"github.com/setu-cti/setu/internal/ingest"
	"github.com/setu-cti/setu/internal/policy"
	"github.com/setu-cti/setu/internal/stix"
	"github.com/setu-cti/setu/internal/store"
	"github.com/setu-cti/setu/internal/store/sqlite"
)

// A world for the leak test: organisations in two countries, one user each,
// and objects submitted by them with random markings.
type world struct {
	orgs    []account.Org
	objects []worldObject
}

type worldObject struct {
	id        string
	submitter string
	// versions are the object's versions, oldest first, each with markings
	// of its own: a later version may widen or narrow its audience.
	versions []worldVersion
}

type worldVersion struct {
	modified int      // seconds after the object's creation
	tlps     []string // TLP marking ids
	scopes   []policy.Scope
	red      []string // recipients: "user:NAME" / "org:ID"
	unknown  bool
}

// visible is the oracle, written from the rules in words rather than from
// the package: an organisation sees what it submitted; a version with a
// marking the node does not know is its submitter's alone; TLP:RED reaches
// its named recipients only; otherwise a local reader is kept out only by an
// "own organisation" distribution.
func (o worldObject) visible(v worldVersion, org, user string) bool {
	if org == o.submitter {
		return true
	}
	if v.unknown {
		return false
	}
	red := slices.Contains(v.tlps, stix.TLPRed) || slices.Contains(v.tlps, stix.TLP1Red)
	if red {
		return slices.Contains(v.red, "user:"+user) || slices.Contains(v.red, "org:"+org)
	}
	return !slices.Contains(v.scopes, policy.ScopeOrg)
}

// seen returns the versions (by modified) the reader may see, oldest first:
// "first" is the oldest of them, "last" the newest.
func (o worldObject) seen(org, user string) []int {
	var out []int
	for _, v := range o.versions {
		if o.visible(v, org, user) {
			out = append(out, v.modified)
		}
	}
	return out
}

func newWorld(rng *rand.Rand, wi, nObjects int) world {
	var w world
	for i, c := range []string{"IN", "IN", "JP", "JP"} {
		w.orgs = append(w.orgs, account.Org{ID: fmt.Sprintf("o%d", i), Name: "Org", Country: c, Kind: account.Business})
	}
	tlps := []string{stix.TLPClear, stix.TLPGreen, stix.TLPAmber, stix.TLPAmberStrict, stix.TLPRed, stix.TLP1White, stix.TLP1Red}
	scopes := []policy.Scope{policy.ScopeOrg, policy.ScopeCommunity, policy.ScopePartners, policy.ScopeNodes, policy.ScopePublic}
	for n := range nObjects {
		o := worldObject{id: fmt.Sprintf("indicator--%08x-0000-4000-8000-%012x", wi, n), submitter: w.orgs[rng.IntN(len(w.orgs))].ID}
		nv := 1
		if rng.IntN(3) == 0 {
			nv += 1 + rng.IntN(2)
		}
		for i := range nv {
			v := worldVersion{modified: i}
			for _, t := range tlps {
				if rng.IntN(6) == 0 {
					v.tlps = append(v.tlps, t)
				}
			}
			for _, s := range scopes {
				if rng.IntN(6) == 0 {
					v.scopes = append(v.scopes, s)
				}
			}
			if rng.IntN(2) == 0 {
				for _, org := range w.orgs {
					switch rng.IntN(4) {
					case 0:
						v.red = append(v.red, "org:"+org.ID)
					case 1:
						v.red = append(v.red, "user:u-"+org.ID)
					}
				}
			}
			v.unknown = rng.IntN(15) == 0
			o.versions = append(o.versions, v)
		}
		w.objects = append(w.objects, o)
	}
	return w
}

// markingRefs returns the object's marking references and the definitions
// that must be stored for them.
func (o worldVersion) markingRefs(t *testing.T) (refs []string, defs []string) {
	refs = append(refs, o.tlps...)
	for _, s := range o.scopes {
		d := policy.Distribution{Scope: s}
		b, err := d.MarkingDefinition()
		if err != nil {
			t.Fatal(err)
		}
		refs, defs = append(refs, d.MarkingID()), append(defs, string(b))
	}
	if len(o.red) > 0 {
		d := policy.Distribution{Recipients: o.red}
		b, err := d.MarkingDefinition()
		if err != nil {
			t.Fatal(err)
		}
		refs, defs = append(refs, d.MarkingID()), append(defs, string(b))
	}
	if o.unknown {
		refs = append(refs, "marking-definition--00000000-0000-4000-8000-00000000dead")
	}
	return refs, defs
}

func (o worldObject) json(v worldVersion, refs []string) string {
	var mr string
	if len(refs) > 0 {
		mr = `,"object_marking_refs":["` + strings.Join(refs, `","`) + `"]`
	}
	return fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":%q,"created":"2024-01-01T00:00:00.000Z",`+
		`"modified":"2024-01-01T00:00:%02d.000Z","pattern":"[ipv4-addr:value = '10.0.0.1']","pattern_type":"stix",`+
		`"valid_from":"2024-01-01T00:00:00Z"%s}`, o.id, v.modified, mr)
}

// TestLeak builds random worlds, stores their objects through the write
// path as their submitters, and checks that every reader's pages, at random
// page sizes, hold exactly what the oracle allows.
func TestLeak(t *testing.T) {
	worlds, perWorld := 2000, 25
	if testing.Short() {
		worlds = 100
	}
	ctx := context.Background()
	// One database; each world lives in a collection of its own with object
	// ids of its own, so thousands of worlds stay cheap.
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "w.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for wi := range worlds {
		rng := rand.New(rand.NewPCG(uint64(wi), 7))
		w := newWorld(rng, wi, perWorld)
		coll := store.Collection{ID: fmt.Sprintf("5b2f5a0e-4d0c-4a8e-8b8e-%012x", wi), Alias: fmt.Sprintf("w%d", wi), Title: "c"}
		if err := db.CreateCollection(ctx, coll); err != nil {
			t.Fatal(err)
		}
		cfg := policy.Config{}
		in := ingest.New(db, 0, ingest.WithPolicy(cfg))
		// The definitions first, as the operator would publish them.
		var defs []string
		for _, o := range w.objects {
			for _, v := range o.versions {
				_, ds := v.markingRefs(t)
				defs = append(defs, ds...)
			}
		}
		var raws [][]byte
		for _, d := range defs {
			raws = append(raws, []byte(d))
		}
		if _, err := in.Objects(ctx, coll.ID, raws); err != nil {
			t.Fatal(err)
		}
		// Each organisation submits its objects' versions in batches, one
		// per version round, newest last.
		for round := range 3 {
			bySubmitter := map[string][][]byte{}
			for _, o := range w.objects {
				if round < len(o.versions) {
					refs, _ := o.versions[round].markingRefs(t)
					bySubmitter[o.submitter] = append(bySubmitter[o.submitter], []byte(o.json(o.versions[round], refs)))
				}
			}
			for org, raws := range bySubmitter {
				items, err := in.ObjectsAs(ctx, ingest.Writer{Org: org, Identity: account.Org{ID: org}.IdentityID()}, coll.ID, raws)
				if err != nil {
					t.Fatal(err)
				}
				for _, it := range items {
					if it.Outcome != ingest.Added {
						t.Fatalf("world %d: %s: %v %v", wi, it.ID, it.Outcome, it.Err)
					}
				}
			}
		}
		gate := policy.NewGate(db, cfg)
		for _, org := range w.orgs {
			r := policy.Reader{User: "u-" + org.ID, Org: org.ID, Country: org.Country}
			for _, sel := range []struct {
				name string
				vf   store.VersionFilter
				pick func(seen []int) []int
			}{
				{"last", store.VersionFilter{}, func(s []int) []int { return s[len(s)-1:] }},
				{"first", store.VersionFilter{First: true}, func(s []int) []int { return s[:1] }},
				{"first,last", store.VersionFilter{First: true, Last: true}, func(s []int) []int { return slices.Compact([]int{s[0], s[len(s)-1]}) }},
				{"all", store.VersionFilter{All: true}, func(s []int) []int { return s }},
			} {
				var want []string
				for _, o := range w.objects {
					if seen := o.seen(r.Org, r.User); len(seen) > 0 {
						for _, m := range sel.pick(seen) {
							want = append(want, fmt.Sprintf("%s@%d", o.id, m))
						}
					}
				}
				sort.Strings(want)
				// Through the reader's keys, and by a plain scan deciding
				// every row: the same rows either way.
				for _, query := range []struct {
					name string
					f    func(context.Context, policy.Reader, store.Query) (policy.Page, error)
				}{{"keys", gate.Query}, {"dense", gate.QueryDense}} {
					limit := 1 + rng.IntN(10)
					var got []string
					q := store.Query{Collection: coll.ID, Types: []string{"indicator"}, Versions: sel.vf, Limit: limit}
					for pages := 0; ; pages++ {
						p, err := query.f(ctx, r, q)
						if err != nil {
							t.Fatal(err)
						}
						if len(p.Versions) > limit || (p.More && len(p.Versions) < limit) {
							t.Fatalf("world %d reader %s %s (%s): page of %d with limit %d, more %v", wi, r.Org, sel.name, query.name, len(p.Versions), limit, p.More)
						}
						for _, v := range p.Versions {
							got = append(got, fmt.Sprintf("%s@%d", v.ID, v.Modified.Second()))
						}
						if !p.More || pages > 3*perWorld {
							break
						}
						q.After = p.Last
					}
					sort.Strings(got)
					if !slices.Equal(want, got) {
						for _, o := range w.objects {
							t.Logf("%s submitter %s: versions %+v; %s sees %v", o.id, o.submitter, o.versions, r.Org, o.seen(r.Org, r.User))
						}
						t.Fatalf("world %d reader %s, %s (%s):\n got %v\nwant %v", wi, r.Org, sel.name, query.name, got, want)
					}
				}
			}
		}
	}
}

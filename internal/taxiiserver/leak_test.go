package taxiiserver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/setu-cti/setu/internal/account"
	"github.com/setu-cti/setu/internal/policy"
	"github.com/setu-cti/setu/internal/stix"
	"github.com/setu-cti/setu/internal/store"
	"github.com/setu-cti/setu/internal/taxii"
)

// leakObject is an object of a random world and what its markings say.
type leakObject struct {
	n         int
	poster    string // user who posts it
	org       string // the poster's organisation
	tlps      []string
	scopes    []policy.Scope
	groups    []string
	red       []string
	unknown   bool
	versions  int
	markRefs  []string
	markDefns []string
}

// visible is the oracle, from the rules in words: an organisation sees what
// it submitted; an unknown marking keeps an object with its submitter;
// TLP:RED reaches named recipients only; otherwise every distribution must
// let the reader in: "own organisation" lets no one else in, a sharing group
// lets its member organisations in, the others let every local reader in.
func (o leakObject) visible(org, user string, members map[string][]string) bool {
	if org == o.org {
		return true
	}
	if o.unknown {
		return false
	}
	if slices.Contains(o.tlps, stix.TLPRed) {
		return slices.Contains(o.red, "user:"+user) || slices.Contains(o.red, "org:"+org)
	}
	for _, s := range o.scopes {
		switch s {
		case policy.ScopeOrg:
			return false
		case policy.ScopeGroup:
			in := false
			for _, g := range o.groups {
				in = in || slices.Contains(members[g], org)
			}
			if !in {
				return false
			}
		}
	}
	return true
}

func leakID(n int) string { return fmt.Sprintf("indicator--%08x-2222-4222-8222-222222222222", n) }

func (o leakObject) body(version int) string {
	mr := ""
	if len(o.markRefs) > 0 {
		mr = `,"object_marking_refs":["` + strings.Join(o.markRefs, `","`) + `"]`
	}
	m := time.Date(2024, 1, 1, 0, 0, version, 0, time.UTC).Format("2006-01-02T15:04:05.000Z")
	return fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":%q,"created":"2024-01-01T00:00:00.000Z",`+
		`"modified":%q,"pattern":"[ipv4-addr:value = '10.1.%d.%d']","pattern_type":"stix",`+
		`"valid_from":"2024-01-01T00:00:00Z"%s}`, leakID(o.n), m, o.n/256, o.n%256, mr)
}

// TestLeakTAXII builds random worlds on a running server and checks every
// TAXII read path (objects and manifest, paged at random sizes; object and
// versions for every id) for every reader against the oracle: exactly the
// allowed objects and versions, and a denied object answered exactly as an
// absent one.
func TestLeakTAXII(t *testing.T) {
	worlds, perWorld := 8, 30
	if testing.Short() {
		worlds = 3
	}
	be := backends()[0] // SQLite; the policy does not depend on the backend
	for wi := range worlds {
		rng := rand.New(rand.NewPCG(uint64(wi), 99))
		w := newWorld(t, be)
		ctx := context.Background()
		// A third organisation in Japan, and one sharing group spanning
		// countries.
		must(t, w.db.CreateOrg(ctx, account.Org{ID: "c", Name: "Org C", Country: "JP", Kind: account.Government}))
		must(t, w.db.CreateUser(ctx, account.User{Name: "carl", Org: "c", Role: account.Analyst}))
		secret, tok, err := account.NewToken("carl", "", time.Now(), 0)
		must(t, err)
		must(t, w.db.CreateToken(ctx, tok))
		w.tokens["carl"] = secret
		groups := w.db.(store.Groups)
		must(t, groups.CreateGroup(ctx, store.Group{ID: "g1", Name: "g1"}))
		members := map[string][]string{"g1": {}}
		for _, o := range []string{"a", "b", "c"} {
			if rng.IntN(2) == 0 {
				must(t, groups.AddGroupMember(ctx, "g1", "org:"+o))
				members["g1"] = append(members["g1"], o)
			}
		}
		must(t, w.db.SetGrant(ctx, store.Grant{Collection: w.coll["inbox"], Org: store.AnyOrg, Read: true, Write: true}))

		posters := map[string]string{"alice": "a", "bob": "b", "carl": "c"}
		names := []string{"alice", "bob", "carl"}
		var objs []leakObject
		defs := map[string]string{}
		for n := range perWorld {
			o := leakObject{n: n, poster: names[rng.IntN(3)], versions: 1 + rng.IntN(2)}
			o.org = posters[o.poster]
			for _, tl := range []string{stix.TLPClear, stix.TLPGreen, stix.TLPAmber, stix.TLPAmberStrict, stix.TLPRed} {
				if rng.IntN(5) == 0 {
					o.tlps = append(o.tlps, tl)
				}
			}
			o.markRefs = append(o.markRefs, o.tlps...)
			addDist := func(d policy.Distribution) {
				b, err := d.MarkingDefinition()
				must(t, err)
				defs[d.MarkingID()] = string(b)
				o.markRefs = append(o.markRefs, d.MarkingID())
			}
			for _, s := range []policy.Scope{policy.ScopeOrg, policy.ScopeCommunity, policy.ScopePartners, policy.ScopePublic, policy.ScopeGroup} {
				if rng.IntN(5) != 0 {
					continue
				}
				o.scopes = append(o.scopes, s)
				if s == policy.ScopeGroup {
					o.groups = append(o.groups, "g1")
					addDist(policy.Distribution{Scope: s, Group: "g1"})
				} else {
					addDist(policy.Distribution{Scope: s})
				}
			}
			if rng.IntN(2) == 0 {
				for _, u := range []string{"user:alice", "user:bob", "org:c", "org:a"} {
					if rng.IntN(3) == 0 {
						o.red = append(o.red, u)
					}
				}
				if len(o.red) > 0 {
					addDist(policy.Distribution{Recipients: o.red})
				}
			}
			if rng.IntN(12) == 0 {
				o.unknown = true
				o.markRefs = append(o.markRefs, "marking-definition--00000000-0000-4000-8000-0000000000ee")
			}
			objs = append(objs, o)
		}
		var defList []string
		for _, d := range defs {
			defList = append(defList, d)
		}
		sort.Strings(defList)
		if len(defList) > 0 {
			if st := w.post("admin", "inbox", defList...); st.FailureCount != 0 {
				t.Fatalf("world %d: definitions: %+v", wi, st)
			}
		}
		for _, o := range objs {
			for v := range o.versions {
				if st := w.post(o.poster, "inbox", o.body(v)); st.SuccessCount != 1 {
					t.Fatalf("world %d: %s posting %s: %+v", wi, o.poster, leakID(o.n), st)
				}
			}
		}

		readers := map[string]string{"alice": "a", "reader": "a", "bob": "b", "carl": "c"}
		for user, org := range readers {
			var want []string
			for _, o := range objs {
				if o.visible(org, user, members) {
					want = append(want, leakID(o.n))
				}
			}
			sort.Strings(want)
			for _, ep := range []string{"objects", "manifest"} {
				got := pagedIDs(t, w, user, ep, 1+rng.IntN(8))
				if !slices.Equal(got, want) {
					t.Fatalf("world %d, %s (org %s), %s: got %v\nwant %v\nobjects %+v", wi, user, org, ep, got, want, objs)
				}
			}
			absent := w.do(request{method: "GET", url: w.objectsURL("inbox") + leakID(9999) + "/", user: user})
			for _, o := range objs {
				id := leakID(o.n)
				r := w.do(request{method: "GET", url: w.objectsURL("inbox") + id + "/", user: user})
				vr := w.do(request{method: "GET", url: w.objectsURL("inbox") + id + "/versions/", user: user})
				if slices.Contains(want, id) {
					var vs taxii.Versions
					must(t, json.Unmarshal([]byte(vr.body), &vs))
					if r.status != 200 || vr.status != 200 || len(vs.Versions) != o.versions {
						t.Fatalf("world %d, %s: allowed %s: object %d, versions %d %v", wi, user, id, r.status, vr.status, vs.Versions)
					}
					continue
				}
				for _, resp := range []response{r, vr} {
					if resp.status != absent.status || resp.body != absent.body || resp.header.Get("Content-Type") != absent.header.Get("Content-Type") {
						t.Fatalf("world %d, %s: denied %s answered %d %s; an absent object %d %s", wi, user, id, resp.status, resp.body, absent.status, absent.body)
					}
				}
			}
		}
	}
}

// pagedIDs pages through a collection endpoint and returns the sorted ids,
// checking the paging invariants on the way.
func pagedIDs(t *testing.T, w *world, user, endpoint string, limit int) []string {
	t.Helper()
	base := w.root() + "collections/" + w.coll["inbox"] + "/" + endpoint + "/?match[type]=indicator&limit=" + fmt.Sprint(limit)
	var ids []string
	next := ""
	for pages := 0; ; pages++ {
		if pages > 200 {
			t.Fatal("paging does not end")
		}
		u := base
		if next != "" {
			u += "&next=" + url.QueryEscape(next)
		}
		r := w.do(request{method: "GET", url: u, user: user})
		if r.status != 200 {
			t.Fatalf("%s %s: %d %s", user, endpoint, r.status, r.body)
		}
		var page struct {
			More    bool              `json:"more"`
			Next    string            `json:"next"`
			Objects []json.RawMessage `json:"objects"`
		}
		must(t, json.Unmarshal([]byte(r.body), &page))
		if len(page.Objects) > limit || (page.More && len(page.Objects) != limit) || (page.More && page.Next == "") {
			t.Fatalf("%s %s: page of %d, limit %d, more %v", user, endpoint, len(page.Objects), limit, page.More)
		}
		for _, o := range page.Objects {
			var h struct{ ID string }
			must(t, json.Unmarshal(o, &h))
			ids = append(ids, h.ID)
		}
		if !page.More {
			break
		}
		next = page.Next
	}
	sort.Strings(ids)
	return ids
}

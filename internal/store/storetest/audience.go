package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/setu-cti/setu/internal/store"
)

// testAudience checks the policy metadata a version carries and the
// audience-filtered query: rows are found through the reader's keys, in seq
// order, with every other filter still applied, and paging stays exact.
func testAudience(t *testing.T, open Opener) {
	s := openWith(t, open, store.Options{})
	ctx := context.Background()

	// Object n is visible to keys[n%5]; objects 0..9 get a second version.
	keySets := [][]string{{"node"}, {"org:a"}, {"org:b", "group:g1"}, {"user:u1"}, {"org:a", "peer:jp"}}
	want := map[string][]key{} // reader key -> rows it must see (All versions)
	var vs []store.Version
	for n := range 300 {
		v := indicator(t, n, 0)
		v.Submitter = fmt.Sprintf("org-%d", n%3)
		v.Facts = []byte(fmt.Sprintf(`{"tlp":%d}`, n%4))
		v.Audience = keySets[n%5]
		vs = append(vs, v)
		if n < 10 {
			v2 := indicator(t, n, 1)
			v2.Submitter, v2.Facts, v2.Audience = v.Submitter, v.Facts, v.Audience
			vs = append(vs, v2)
		}
	}
	put(t, s, collA, vs...)
	all := queryAll(t, s, store.Query{Collection: collA, Versions: store.VersionFilter{All: true}, Limit: 1000})
	for _, v := range all {
		n := 0
		fmt.Sscanf(v.ID[len("indicator--00000000-0000-4000-8000-"):], "%d", &n)
		for _, k := range keySets[n%5] {
			want[k] = append(want[k], key{v.ID, v.VersionTime.UTC(), v.Seq})
		}
		// Metadata round-trips.
		if v.Submitter != fmt.Sprintf("org-%d", n%3) || string(v.Facts) != fmt.Sprintf(`{"tlp":%d}`, n%4) {
			t.Fatalf("%s: metadata %q %q", v.ID, v.Submitter, v.Facts)
		}
	}

	for _, tt := range []struct {
		name   string
		keys   []string
		filter func(q *store.Query)
	}{
		{"one key", []string{"node"}, nil},
		{"several keys", []string{"org:a", "group:g1", "user:u1"}, nil},
		{"key held by overlapping sets", []string{"org:a", "peer:jp"}, nil},
		{"no matching key", []string{"org:zzz"}, nil},
		{"latest versions", []string{"node", "org:a"}, func(q *store.Query) { q.Versions = store.VersionFilter{} }},
		{"by id", []string{"org:a"}, func(q *store.Query) { q.IDs = []string{vs[1].ID, "indicator--" + uuidN(4)} }},
	} {
		for _, limit := range []int{1, 7, 100} {
			t.Run(fmt.Sprintf("%s/limit %d", tt.name, limit), func(t *testing.T) {
				q := store.Query{Collection: collA, Versions: store.VersionFilter{All: true}, ReaderKeys: tt.keys, Limit: limit}
				if tt.filter != nil {
					tt.filter(&q)
				}
				got := keys(queryAll(t, s, q))
				// The expected rows: those the same query returns without the
				// audience, kept when they share a key with the reader.
				nq := q
				nq.ReaderKeys, nq.Limit = nil, 1000
				var exp []key
				for _, v := range queryAll(t, s, nq) {
					n := 0
					fmt.Sscanf(v.ID[len("indicator--00000000-0000-4000-8000-"):], "%d", &n)
					if slices.ContainsFunc(keySets[n%5], func(k string) bool { return slices.Contains(tt.keys, k) }) {
						exp = append(exp, key{v.ID, v.VersionTime.UTC(), v.Seq})
					}
				}
				if diff := cmp.Diff(exp, got, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("audience %v (-want +got):\n%s", tt.keys, diff)
				}
			})
		}
	}
	t.Run("empty audience matches nothing", func(t *testing.T) {
		p, err := s.Query(ctx, store.Query{Collection: collA, ReaderKeys: []string{}, Limit: 10})
		if err != nil || len(p.Versions) != 0 || p.More {
			t.Errorf("page %d rows, more %v, err %v", len(p.Versions), p.More, err)
		}
	})
	t.Run("metadata of the first store is kept", func(t *testing.T) {
		again := vs[0]
		again.Submitter, again.Facts, again.Audience = "someone-else", []byte(`{}`), []string{"public"}
		put(t, s, collB, again)
		got := queryAll(t, s, store.Query{Collection: collB, Limit: 10})
		if len(got) != 1 || got[0].Submitter != vs[0].Submitter || string(got[0].Facts) != string(vs[0].Facts) {
			t.Fatalf("re-stored version: %+v", got)
		}
		// Its audience in the new collection is the first store's, too.
		if p, _ := s.Query(ctx, store.Query{Collection: collB, ReaderKeys: []string{"public"}, Limit: 10}); len(p.Versions) != 0 {
			t.Errorf("audience changed by a later store")
		}
		if p, _ := s.Query(ctx, store.Query{Collection: collB, ReaderKeys: vs[0].Audience, Limit: 10}); len(p.Versions) != 1 {
			t.Errorf("audience of the first store not listed in the new collection")
		}
	})
}

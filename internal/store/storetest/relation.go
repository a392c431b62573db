package storetest

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/setu-cti/setu/internal/store"
)

// testRelations: relationship versions are found by either end, each
// version once however often it is recorded.
func testRelations(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	rl, ok := s.(store.Relations)
	if !ok {
		t.Skipf("%T does not implement store.Relations", s)
	}
	ctx := context.Background()
	rs := []store.Relation{
		{ID: "relationship--1", VersionTime: tm(0), Kind: "indicates", Source: "indicator--a", Target: "malware--m"},
		{ID: "relationship--1", VersionTime: tm(5), Kind: "indicates", Source: "indicator--a", Target: "malware--m", Revoked: true},
		{ID: "relationship--2", VersionTime: tm(0), Kind: "mitigates", Source: "course-of-action--c", Target: "malware--m"},
		{ID: "relationship--3", VersionTime: tm(0), Kind: "mitigates", Source: "course-of-action--d", Target: "indicator--b"},
	}
	if err := rl.PutRelations(ctx, rs); err != nil {
		t.Fatal(err)
	}
	if err := rl.PutRelations(ctx, rs[:2]); err != nil { // again: nothing changes
		t.Fatal(err)
	}
	key := func(r store.Relation) string {
		return strings.Join([]string{r.ID, r.VersionTime.UTC().String(), r.Kind, r.Source, r.Target, map[bool]string{true: "revoked"}[r.Revoked]}, " ")
	}
	for _, tc := range []struct {
		ids  []string
		want []store.Relation
	}{
		{[]string{"indicator--a"}, rs[:2]},
		{[]string{"malware--m"}, rs[:3]},
		{[]string{"indicator--a", "indicator--b"}, []store.Relation{rs[0], rs[1], rs[3]}},
		{[]string{"nothing--x"}, nil},
		{nil, nil},
	} {
		got, err := rl.RelationsOf(ctx, tc.ids)
		if err != nil {
			t.Fatal(err)
		}
		var g, w []string
		for _, r := range got {
			g = append(g, key(r))
		}
		for _, r := range tc.want {
			w = append(w, key(r))
		}
		slices.Sort(g)
		slices.Sort(w)
		if !slices.Equal(g, w) {
			t.Errorf("RelationsOf(%v):\n got %q\nwant %q", tc.ids, g, w)
		}
	}
}

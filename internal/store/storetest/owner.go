package storetest

import (
	"errors"
	"testing"

	"github.com/setu-cti/setu/internal/store"
)

// testOwner checks that only the submitter of an object's versions adds
// versions to it, while exact copies stay duplicates for anyone.
func testOwner(t *testing.T, open Opener) {
	s := openWith(t, open, store.Options{})
	as := func(v store.Version, org string) store.Version { v.Submitter = org; return v }
	v1, v2, v3 := indicator(t, 1, 0), indicator(t, 1, 1), indicator(t, 1, 2)

	wantOutcomes(t, put(t, s, collA, as(v1, "a")), store.Added)
	rs := put(t, s, collA, as(v2, "b"))
	if rs[0].Outcome != store.Rejected || !errors.Is(rs[0].Err, store.ErrNotOwner) {
		t.Fatalf("another organisation's new version: %+v", rs[0])
	}
	// An exact copy is a duplicate, or a listing in another collection,
	// whoever sends it.
	wantOutcomes(t, put(t, s, collA, as(v1, "b")), store.Duplicate)
	wantOutcomes(t, put(t, s, collB, as(v1, "b")), store.Added)
	wantOutcomes(t, put(t, s, collA, as(v2, "a")), store.Added)
	if cur := current(t, s, v1.ID); !cur.Modified.Equal(v2.Modified) || cur.Submitter != "a" {
		t.Errorf("current %v by %q", cur.Modified, cur.Submitter)
	}
	// Within one batch: a new object's first version sets its owner.
	w1, w2 := indicator(t, 2, 0), indicator(t, 2, 1)
	rs = put(t, s, collA, as(w1, "a"), as(w2, "b"), as(v3, "b"))
	if rs[0].Outcome != store.Added || !errors.Is(rs[1].Err, store.ErrNotOwner) || !errors.Is(rs[2].Err, store.ErrNotOwner) {
		t.Errorf("batch outcomes %v, %v / %v", outcomes(rs), rs[1].Err, rs[2].Err)
	}
	// Observables belong to no one: different content under the same id
	// from another organisation is a new version.
	wantOutcomes(t, put(t, s, collA, as(ipv4(t, 3, "198.51.100.1"), "a")), store.Added)
	wantOutcomes(t, put(t, s, collA, as(ipv4(t, 3, "198.51.100.2"), "b")), store.Added)
}

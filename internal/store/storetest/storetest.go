// Package storetest is the conformance suite that every implementation of
// store.Store must pass. A backend's own test calls Run with a function that
// opens a fresh, empty, migrated store; the suite owns everything else.
//
// The suite depends only on the store contract, the standard library and
// go-cmp: versions are built from JSON literals by NewVersion, which parses
// just the properties the store needs, so the suite does not rely on the STIX
// package being correct.
//
// Timestamps in the fixtures have millisecond precision, which every backend
// keeps exactly (PostgreSQL timestamps hold microseconds).
package storetest

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/setu-cti/setu/internal/store"
)

// Opener returns a fresh, empty, migrated store opened with opts. The backend
// registers its own cleanup (t.Cleanup) to close and remove it.
type Opener func(t *testing.T, opts store.Options) store.Store

// Run runs the whole suite against the backend that open creates.
//
// The opener receives the store.Options a test needs (an injected clock for
// the date_added tests); a backend passes them through unchanged.
func Run(t *testing.T, open Opener) {
	t.Run("Collections", func(t *testing.T) { testCollections(t, open) })
	t.Run("Put", func(t *testing.T) { testPut(t, open) })
	t.Run("SCO", func(t *testing.T) { testSCO(t, open) })
	t.Run("MarkingDefinition", func(t *testing.T) { testMarkingDefinition(t, open) })
	t.Run("TwoCollections", func(t *testing.T) { testTwoCollections(t, open) })
	t.Run("CopyIntoCollection", func(t *testing.T) { testCopyIntoCollection(t, open) })
	t.Run("SeqAndDateAdded", func(t *testing.T) { testSeqAndDateAdded(t, open) })
	t.Run("Query", func(t *testing.T) { testQuery(t, open) })
	t.Run("FirstLastFlags", func(t *testing.T) { testFirstLastFlags(t, open) })
	t.Run("Paging", func(t *testing.T) { testPaging(t, open) })
	t.Run("PagingWhileWriting", func(t *testing.T) { testPagingWhileWriting(t, open) })
	t.Run("Changes", func(t *testing.T) { testChanges(t, open) })
	t.Run("ConcurrentPut", func(t *testing.T) { testConcurrentPut(t, open) })
	t.Run("Audience", func(t *testing.T) { testAudience(t, open) })
	t.Run("Owner", func(t *testing.T) { testOwner(t, open) })
	t.Run("Ref", func(t *testing.T) { testRef(t, open) })
	t.Run("Repolicy", func(t *testing.T) { testRepolicy(t, open) })
	t.Run("Relations", func(t *testing.T) { testRelations(t, open) })
}

// NewVersion builds a store.Version from a JSON object literal: Body is the
// literal's bytes, Hash their SHA-256, and id, type, spec_version, created,
// modified and revoked are read from it. It fails the test on malformed input.
func NewVersion(t testing.TB, body string) store.Version {
	t.Helper()
	var p struct {
		ID          string     `json:"id"`
		Type        string     `json:"type"`
		SpecVersion string     `json:"spec_version"`
		Created     *time.Time `json:"created"`
		Modified    *time.Time `json:"modified"`
		Revoked     bool       `json:"revoked"`
	}
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Fatalf("NewVersion(%s): %v", body, err)
	}
	v := store.Version{
		ID:          p.ID,
		Type:        p.Type,
		SpecVersion: p.SpecVersion,
		Revoked:     p.Revoked,
		Body:        []byte(body),
		Hash:        sha256.Sum256([]byte(body)),
	}
	if p.Created != nil {
		v.Created = p.Created.UTC()
	}
	if p.Modified != nil {
		v.Modified = p.Modified.UTC()
	}
	return v
}

// ---- fixtures ----

var base = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

// ts formats base+n milliseconds as a STIX timestamp.
func ts(n int) string {
	return base.Add(time.Duration(n) * time.Millisecond).Format("2006-01-02T15:04:05.000Z")
}

func tm(n int) time.Time { return base.Add(time.Duration(n) * time.Millisecond) }

func uuidN(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) }

// sdo returns a version of an SDO: created at base, modified at base+mod ms.
func sdo(t testing.TB, typ string, n, mod int, extra string) store.Version {
	t.Helper()
	return NewVersion(t, fmt.Sprintf(`{"type":%q,"spec_version":"2.1","id":"%s--%s","created":%q,"modified":%q,"name":"n%d"%s}`,
		typ, typ, uuidN(n), ts(0), ts(mod), n, extra))
}

func indicator(t testing.TB, n, mod int) store.Version { return sdo(t, "indicator", n, mod, "") }

func ipv4(t testing.TB, n int, value string) store.Version {
	t.Helper()
	return NewVersion(t, fmt.Sprintf(`{"type":"ipv4-addr","spec_version":"2.1","id":"ipv4-addr--%s","value":%q}`, uuidN(n), value))
}

const collA = "11111111-1111-4111-8111-111111111111"
const collB = "22222222-2222-4222-8222-222222222222"

// openWith opens a store holding collections A (alias "a") and B (alias "b").
func openWith(t *testing.T, open Opener, opts store.Options) store.Store {
	t.Helper()
	s := open(t, opts)
	ctx := context.Background()
	for _, c := range []store.Collection{
		{ID: collA, Alias: "a", Title: "A", Created: tm(0)},
		{ID: collB, Alias: "b", Title: "B", Created: tm(1)},
	} {
		if err := s.CreateCollection(ctx, c); err != nil {
			t.Fatalf("CreateCollection(%s): %v", c.ID, err)
		}
	}
	return s
}

func put(t testing.TB, s store.Store, coll string, vs ...store.Version) []store.Result {
	t.Helper()
	rs, err := s.Put(context.Background(), coll, vs)
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	if len(rs) != len(vs) {
		t.Fatalf("Put returned %d results for %d versions", len(rs), len(vs))
	}
	return rs
}

func outcomes(rs []store.Result) []store.Outcome {
	out := make([]store.Outcome, len(rs))
	for i, r := range rs {
		out[i] = r.Outcome
	}
	return out
}

func wantOutcomes(t testing.TB, rs []store.Result, want ...store.Outcome) {
	t.Helper()
	if diff := cmp.Diff(want, outcomes(rs)); diff != "" {
		t.Fatalf("outcomes (-want +got):\n%s", diff)
	}
	for i, r := range rs {
		switch r.Outcome {
		case store.Added:
			if r.Seq <= 0 || r.DateAdded.IsZero() || r.Ref <= 0 || r.Err != nil {
				t.Errorf("result %d: Added with Seq %d, DateAdded %v, Ref %d, Err %v", i, r.Seq, r.DateAdded, r.Ref, r.Err)
			}
		case store.Duplicate:
			if r.Err != nil || r.Ref <= 0 {
				t.Errorf("result %d: Duplicate with Ref %d, Err %v", i, r.Ref, r.Err)
			}
		case store.Rejected:
			if r.Err == nil {
				t.Errorf("result %d: Rejected without Err", i)
			}
		}
	}
}

func stats(t testing.TB, s store.Store) store.Stats {
	t.Helper()
	st, err := s.Stats(context.Background())
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	return st
}

func current(t testing.TB, s store.Store, id string) store.Version {
	t.Helper()
	v, err := s.Current(context.Background(), id)
	if err != nil {
		t.Fatalf("Current(%s): %v", id, err)
	}
	return v
}

// queryAll pages through q with q.Limit and returns every row, checking the
// page invariants on the way.
func queryAll(t testing.TB, s store.Store, q store.Query) []store.Version {
	t.Helper()
	var all []store.Version
	for pages := 0; ; pages++ {
		if pages > 100000 {
			t.Fatal("paging does not end")
		}
		p, err := s.Query(context.Background(), q)
		if err != nil {
			t.Fatalf("Query(%+v): %v", q, err)
		}
		if len(p.Versions) > q.Limit {
			t.Fatalf("page has %d rows, limit %d", len(p.Versions), q.Limit)
		}
		if p.More && len(p.Versions) == 0 {
			t.Fatalf("empty page with More")
		}
		prev := q.After
		for _, v := range p.Versions {
			if v.Seq <= prev {
				t.Fatalf("seq %d after %d: not increasing", v.Seq, prev)
			}
			prev = v.Seq
		}
		wantLast := int64(0)
		if n := len(p.Versions); n > 0 {
			wantLast = p.Versions[n-1].Seq
		}
		if p.Last != wantLast {
			t.Fatalf("Page.Last = %d, want %d", p.Last, wantLast)
		}
		all = append(all, p.Versions...)
		if !p.More {
			return all
		}
		q.After = p.Last
	}
}

// key identifies a returned row for comparisons.
type key struct {
	ID    string
	VTime time.Time
	Seq   int64
}

func keys(vs []store.Version) []key {
	out := make([]key, len(vs))
	for i, v := range vs {
		out[i] = key{v.ID, v.VersionTime.UTC(), v.Seq}
	}
	return out
}

// versionOpts compares what a store returns with what was put.
var versionOpts = cmp.Options{
	cmpopts.IgnoreFields(store.Version{}, "VersionTime", "Ref", "Seq", "DateAdded", "Audience", "IsFirst", "IsLast"),
	cmpopts.EquateEmpty(),
}

// ---- collections ----

func testCollections(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t, store.Options{})
	cs := []store.Collection{
		{ID: collA, Alias: "alpha", Title: "Alpha", Description: "first", MediaTypes: []string{"application/stix+json;version=2.1"}, Created: tm(0)},
		{ID: collB, Title: "Beta", Created: tm(1)},
		{ID: "33333333-3333-4333-8333-333333333333", Title: "Gamma", Created: tm(2)},
		{ID: "44444444-4444-4444-8444-444444444444", Alias: "delta", Title: "Delta", Created: tm(3)},
	}
	for _, c := range cs {
		if err := s.CreateCollection(ctx, c); err != nil {
			t.Fatalf("CreateCollection(%s): %v", c.ID, err)
		}
	}
	for _, tc := range []struct {
		name string
		key  string
		want store.Collection
		err  error
	}{
		{"by id", collA, cs[0], nil},
		{"by alias", "alpha", cs[0], nil},
		{"no alias", collB, cs[1], nil},
		{"other alias", "delta", cs[3], nil},
		{"unknown id", "55555555-5555-4555-8555-555555555555", store.Collection{}, store.ErrNotFound},
		{"unknown alias", "omega", store.Collection{}, store.ErrNotFound},
		{"empty", "", store.Collection{}, store.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.Collection(ctx, tc.key)
			if !errors.Is(err, tc.err) {
				t.Fatalf("Collection(%q) error %v, want %v", tc.key, err, tc.err)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); tc.err == nil && diff != "" {
				t.Errorf("Collection(%q) (-want +got):\n%s", tc.key, diff)
			}
		})
	}
	for _, tc := range []struct {
		name string
		c    store.Collection
	}{
		{"duplicate id", store.Collection{ID: collA, Title: "again"}},
		{"duplicate alias", store.Collection{ID: "66666666-6666-4666-8666-666666666666", Alias: "alpha"}},
		{"alias equal to an id", store.Collection{ID: "77777777-7777-4777-8777-777777777777", Alias: collB}},
		{"id equal to an alias", store.Collection{ID: "delta"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := s.CreateCollection(ctx, tc.c); !errors.Is(err, store.ErrExists) {
				t.Fatalf("CreateCollection error %v, want ErrExists", err)
			}
		})
	}
	got, err := s.Collections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(cs, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("Collections (-want +got):\n%s", diff)
	}
}

// ---- put ----

func testPut(t *testing.T, open Opener) {
	ctx := context.Background()
	t.Run("every version kept, current is latest", func(t *testing.T) {
		s := openWith(t, open, store.Options{})
		v1, v2, v3, v0 := indicator(t, 1, 10), indicator(t, 1, 20), indicator(t, 1, 30), indicator(t, 1, 5)
		wantOutcomes(t, put(t, s, collA, v1, v3), store.Added, store.Added)
		wantOutcomes(t, put(t, s, collA, v2), store.Added)
		if diff := cmp.Diff(v3, current(t, s, v1.ID), versionOpts); diff != "" {
			t.Errorf("Current (-want +got):\n%s", diff)
		}
		// An older version stored later is kept but does not become current.
		wantOutcomes(t, put(t, s, collA, v0), store.Added)
		cur := current(t, s, v1.ID)
		if diff := cmp.Diff(v3, cur, versionOpts); diff != "" {
			t.Errorf("Current after older version (-want +got):\n%s", diff)
		}
		if !cur.VersionTime.Equal(tm(30)) {
			t.Errorf("Current.VersionTime = %v, want %v", cur.VersionTime, tm(30))
		}
		all := queryAll(t, s, store.Query{Collection: collA, Versions: store.VersionFilter{All: true}, Limit: 10})
		if len(all) != 4 {
			t.Fatalf("All: %d rows, want 4", len(all))
		}
		byTime := map[time.Time]store.Version{}
		for _, v := range all {
			byTime[v.VersionTime.UTC()] = v
		}
		for _, want := range []store.Version{v0, v1, v2, v3} {
			if diff := cmp.Diff(want, byTime[want.Modified], versionOpts); diff != "" {
				t.Errorf("version %v (-want +got):\n%s", want.Modified, diff)
			}
		}
		if st := stats(t, s); st.Versions != 4 || st.Objects != 1 || st.CollectionRows != 4 || st.LastSeq < 4 {
			t.Errorf("Stats = %+v, want 4 versions, 1 object, 4 rows", st)
		}
	})
	t.Run("duplicate changes nothing", func(t *testing.T) {
		s := openWith(t, open, store.Options{})
		v := indicator(t, 1, 10)
		wantOutcomes(t, put(t, s, collA, v), store.Added)
		before := stats(t, s)
		changes, _ := s.Changes(ctx, 0, 100)
		wantOutcomes(t, put(t, s, collA, v), store.Duplicate)
		wantOutcomes(t, put(t, s, collA, v, v), store.Duplicate, store.Duplicate)
		if diff := cmp.Diff(before, stats(t, s)); diff != "" {
			t.Errorf("Stats changed by a duplicate (-before +after):\n%s", diff)
		}
		after, _ := s.Changes(ctx, 0, 100)
		if len(after) != len(changes) {
			t.Errorf("duplicate appended change-log records: %d -> %d", len(changes), len(after))
		}
	})
	t.Run("same version twice in one batch", func(t *testing.T) {
		s := openWith(t, open, store.Options{})
		v := indicator(t, 1, 10)
		wantOutcomes(t, put(t, s, collA, v, v), store.Added, store.Duplicate)
		if st := stats(t, s); st.Versions != 1 || st.CollectionRows != 1 {
			t.Errorf("Stats = %+v", st)
		}
	})
	t.Run("conflict", func(t *testing.T) {
		s := openWith(t, open, store.Options{})
		v := indicator(t, 1, 10)
		other := sdo(t, "indicator", 1, 10, `,"description":"different"`)
		wantOutcomes(t, put(t, s, collA, v), store.Added)
		rs := put(t, s, collA, other)
		wantOutcomes(t, rs, store.Rejected)
		if !errors.Is(rs[0].Err, store.ErrConflict) {
			t.Errorf("Err = %v, want ErrConflict", rs[0].Err)
		}
		// The conflict does not depend on the collection.
		rs = put(t, s, collB, other)
		if !errors.Is(rs[0].Err, store.ErrConflict) {
			t.Errorf("other collection: Err = %v, want ErrConflict", rs[0].Err)
		}
		if diff := cmp.Diff(v, current(t, s, v.ID), versionOpts); diff != "" {
			t.Errorf("Current (-want +got):\n%s", diff)
		}
		if st := stats(t, s); st.Versions != 1 || st.CollectionRows != 1 {
			t.Errorf("Stats = %+v", st)
		}
	})
	t.Run("batch with one conflict stores the others", func(t *testing.T) {
		s := openWith(t, open, store.Options{})
		b := indicator(t, 2, 10)
		wantOutcomes(t, put(t, s, collA, b), store.Added)
		bad := sdo(t, "indicator", 2, 10, `,"description":"different"`)
		rs := put(t, s, collA, indicator(t, 1, 10), bad, indicator(t, 3, 10))
		wantOutcomes(t, rs, store.Added, store.Rejected, store.Added)
		if !errors.Is(rs[1].Err, store.ErrConflict) {
			t.Errorf("Err = %v, want ErrConflict", rs[1].Err)
		}
		if rs[2].Seq <= rs[0].Seq {
			t.Errorf("seq %d then %d", rs[0].Seq, rs[2].Seq)
		}
		if st := stats(t, s); st.Versions != 3 || st.CollectionRows != 3 {
			t.Errorf("Stats = %+v", st)
		}
	})
	t.Run("revoked", func(t *testing.T) {
		s := openWith(t, open, store.Options{})
		v1 := indicator(t, 1, 10)
		rev := sdo(t, "indicator", 1, 20, `,"revoked":true`)
		if !rev.Revoked {
			t.Fatal("fixture not revoked")
		}
		wantOutcomes(t, put(t, s, collA, v1, rev), store.Added, store.Added)
		rs := put(t, s, collA, indicator(t, 1, 30))
		wantOutcomes(t, rs, store.Rejected)
		if !errors.Is(rs[0].Err, store.ErrRevoked) {
			t.Errorf("later version: Err = %v, want ErrRevoked", rs[0].Err)
		}
		// An older version is still stored; the revoked one stays current.
		wantOutcomes(t, put(t, s, collA, indicator(t, 1, 15)), store.Added)
		// The revoked version itself may still be listed in another collection.
		wantOutcomes(t, put(t, s, collB, rev), store.Added)
		cur := current(t, s, v1.ID)
		if diff := cmp.Diff(rev, cur, versionOpts); diff != "" {
			t.Errorf("Current (-want +got):\n%s", diff)
		}
		if st := stats(t, s); st.Versions != 3 {
			t.Errorf("Stats.Versions = %d, want 3", st.Versions)
		}
	})
	t.Run("revoked within one batch", func(t *testing.T) {
		s := openWith(t, open, store.Options{})
		rs := put(t, s, collA, indicator(t, 1, 10), sdo(t, "indicator", 1, 20, `,"revoked":true`), indicator(t, 1, 30))
		wantOutcomes(t, rs, store.Added, store.Added, store.Rejected)
		if !errors.Is(rs[2].Err, store.ErrRevoked) {
			t.Errorf("Err = %v, want ErrRevoked", rs[2].Err)
		}
	})
	t.Run("cancelled context stores nothing", func(t *testing.T) {
		s := openWith(t, open, store.Options{})
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := s.Put(cctx, collA, []store.Version{indicator(t, 1, 10), indicator(t, 2, 10)}); err == nil {
			t.Fatal("Put with a cancelled context succeeded")
		}
		if st := stats(t, s); st.Versions != 0 || st.CollectionRows != 0 {
			t.Errorf("Stats = %+v, want nothing stored", st)
		}
		if _, err := s.Current(ctx, indicator(t, 1, 10).ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Current: %v, want ErrNotFound", err)
		}
	})
	t.Run("unknown collection", func(t *testing.T) {
		s := openWith(t, open, store.Options{})
		if _, err := s.Put(ctx, "99999999-9999-4999-8999-999999999999", []store.Version{indicator(t, 1, 10)}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Put: %v, want ErrNotFound", err)
		}
		if _, err := s.Query(ctx, store.Query{Collection: "99999999-9999-4999-8999-999999999999", Limit: 1}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Query: %v, want ErrNotFound", err)
		}
	})
	t.Run("current not found", func(t *testing.T) {
		s := openWith(t, open, store.Options{})
		if _, err := s.Current(ctx, "indicator--"+uuidN(404)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Current: %v, want ErrNotFound", err)
		}
	})
	t.Run("empty batch", func(t *testing.T) {
		s := openWith(t, open, store.Options{})
		rs, err := s.Put(ctx, collA, nil)
		if err != nil || len(rs) != 0 {
			t.Errorf("Put(nil) = %v, %v", rs, err)
		}
	})
}

// ---- SCOs and marking definitions ----

func testSCO(t *testing.T, open Opener) {
	s := openWith(t, open, store.Options{})
	s1 := ipv4(t, 1, "198.51.100.1")
	s2 := NewVersion(t, fmt.Sprintf(`{"type":"ipv4-addr","spec_version":"2.1","id":"ipv4-addr--%s","value":"198.51.100.1","belongs_to_refs":["autonomous-system--%s"]}`, uuidN(1), uuidN(9)))
	if s1.Versioned() {
		t.Fatal("SCO fixture is versioned")
	}
	r1 := put(t, s, collA, s1)
	wantOutcomes(t, r1, store.Added)
	wantOutcomes(t, put(t, s, collA, s1), store.Duplicate)
	c1 := current(t, s, s1.ID)
	if diff := cmp.Diff(s1, c1, versionOpts); diff != "" {
		t.Errorf("Current (-want +got):\n%s", diff)
	}
	if c1.VersionTime.IsZero() {
		t.Error("SCO VersionTime is zero")
	}
	// Different content under the same id: a new version, which becomes current.
	r2 := put(t, s, collA, s2)
	wantOutcomes(t, r2, store.Added)
	c2 := current(t, s, s1.ID)
	if diff := cmp.Diff(s2, c2, versionOpts); diff != "" {
		t.Errorf("Current after new content (-want +got):\n%s", diff)
	}
	if !c2.VersionTime.After(c1.VersionTime) {
		t.Errorf("new SCO version time %v not after %v", c2.VersionTime, c1.VersionTime)
	}
	// The old content again: still a duplicate, current unchanged.
	wantOutcomes(t, put(t, s, collA, s1), store.Duplicate)
	// Into another collection: listed there, stored once, keeps its version time.
	wantOutcomes(t, put(t, s, collB, s1), store.Added)
	if st := stats(t, s); st.Versions != 2 || st.Objects != 1 || st.CollectionRows != 3 {
		t.Errorf("Stats = %+v, want 2 versions, 1 object, 3 rows", st)
	}
	got := queryAll(t, s, store.Query{Collection: collB, Limit: 5, Versions: store.VersionFilter{All: true}})
	if len(got) != 1 || !got[0].VersionTime.Equal(c1.VersionTime) {
		t.Errorf("collection B rows %v, want the first version at %v", keys(got), c1.VersionTime)
	}
	if diff := cmp.Diff(s2, current(t, s, s1.ID), versionOpts); diff != "" {
		t.Errorf("Current after re-listing old content (-want +got):\n%s", diff)
	}
	// Last within collection A is the newer content.
	got = queryAll(t, s, store.Query{Collection: collA, Limit: 5})
	if len(got) != 1 || got[0].Hash != s2.Hash {
		t.Errorf("last in A: %v", keys(got))
	}
	// Exact version time selects one.
	got = queryAll(t, s, store.Query{Collection: collA, Limit: 5, Versions: store.VersionFilter{At: []time.Time{c1.VersionTime}}})
	if len(got) != 1 || got[0].Hash != s1.Hash {
		t.Errorf("At first version time: %v", keys(got))
	}
}

func testMarkingDefinition(t *testing.T, open Opener) {
	s := openWith(t, open, store.Options{})
	id := "marking-definition--" + uuidN(7)
	md := NewVersion(t, fmt.Sprintf(`{"type":"marking-definition","spec_version":"2.1","id":%q,"created":%q,"definition_type":"statement","definition":{"statement":"Copyright"}}`, id, ts(100)))
	other := NewVersion(t, fmt.Sprintf(`{"type":"marking-definition","spec_version":"2.1","id":%q,"created":%q,"definition_type":"statement","definition":{"statement":"Other"}}`, id, ts(100)))
	wantOutcomes(t, put(t, s, collA, md), store.Added)
	wantOutcomes(t, put(t, s, collA, md), store.Duplicate)
	rs := put(t, s, collA, other)
	wantOutcomes(t, rs, store.Rejected)
	if !errors.Is(rs[0].Err, store.ErrConflict) {
		t.Errorf("Err = %v, want ErrConflict", rs[0].Err)
	}
	cur := current(t, s, id)
	if !cur.VersionTime.Equal(tm(100)) {
		t.Errorf("VersionTime = %v, want created %v", cur.VersionTime, tm(100))
	}
	if diff := cmp.Diff(md, cur, versionOpts); diff != "" {
		t.Errorf("Current (-want +got):\n%s", diff)
	}
}

// testCopyIntoCollection lists stored versions in a second collection in
// one batch, as a peer's view is filled: out of order, one twice, with the
// audience of the first store whatever the batch says.
func testCopyIntoCollection(t *testing.T, open Opener) {
	s := openWith(t, open, store.Options{})
	one := indicator(t, 1, 10)
	v1, v2, v3 := indicator(t, 2, 10), indicator(t, 2, 20), indicator(t, 2, 30)
	for _, v := range []*store.Version{&one, &v1, &v2, &v3} {
		v.Audience = []string{"peer:JP"}
	}
	one.Audience = []string{"public"}
	put(t, s, collA, one, v1, v2, v3)
	v2b := v2
	v2b.Audience = []string{"org:other"} // ignored: v2 is stored
	wantOutcomes(t, put(t, s, collB, v3, v1, v3, one, v2b), store.Added, store.Added, store.Duplicate, store.Added, store.Added)
	wantOutcomes(t, put(t, s, collB, v2, one), store.Duplicate, store.Duplicate)
	type flags struct {
		ID          string
		Mod         int
		First, Last bool
	}
	var got []flags
	for _, v := range queryAll(t, s, store.Query{Collection: collB, Versions: store.VersionFilter{All: true}, Limit: 10}) {
		got = append(got, flags{v.ID, int(v.VersionTime.Sub(base) / time.Millisecond), v.IsFirst, v.IsLast})
	}
	want := []flags{{v3.ID, 30, false, true}, {v1.ID, 10, true, false}, {one.ID, 10, true, true}, {v2.ID, 20, false, false}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rows of B (-want +got):\n%s", diff)
	}
	for _, tt := range []struct {
		keys []string
		n    int
	}{{[]string{"peer:JP"}, 3}, {[]string{"public"}, 1}, {[]string{"org:other"}, 0}} {
		vs := queryAll(t, s, store.Query{Collection: collB, Versions: store.VersionFilter{All: true}, Limit: 10, ReaderKeys: tt.keys})
		if len(vs) != tt.n {
			t.Errorf("B as %v: %d rows, want %d", tt.keys, len(vs), tt.n)
		}
	}
}

func testTwoCollections(t *testing.T, open Opener) {
	s := openWith(t, open, store.Options{})
	v := indicator(t, 1, 10)
	wantOutcomes(t, put(t, s, collA, v), store.Added)
	wantOutcomes(t, put(t, s, collB, v), store.Added)
	wantOutcomes(t, put(t, s, collA, v), store.Duplicate)
	wantOutcomes(t, put(t, s, collB, v), store.Duplicate)
	if st := stats(t, s); st.Versions != 1 || st.Objects != 1 || st.CollectionRows != 2 {
		t.Errorf("Stats = %+v, want 1 version in 2 rows", st)
	}
	for _, c := range []string{collA, collB} {
		got := queryAll(t, s, store.Query{Collection: c, Limit: 10})
		if len(got) != 1 {
			t.Fatalf("collection %s: %d rows", c, len(got))
		}
		if diff := cmp.Diff(v, got[0], versionOpts); diff != "" {
			t.Errorf("collection %s (-want +got):\n%s", c, diff)
		}
	}
	// "Last" is among the versions in that collection: a newer version in B
	// does not hide the older one in A.
	v2 := indicator(t, 1, 20)
	wantOutcomes(t, put(t, s, collB, v2), store.Added)
	if got := queryAll(t, s, store.Query{Collection: collA, Limit: 10}); len(got) != 1 || !got[0].VersionTime.Equal(tm(10)) {
		t.Errorf("last in A = %v, want version at %v", keys(got), tm(10))
	}
	if got := queryAll(t, s, store.Query{Collection: collB, Limit: 10}); len(got) != 1 || !got[0].VersionTime.Equal(tm(20)) {
		t.Errorf("last in B = %v, want version at %v", keys(got), tm(20))
	}
	if got := queryAll(t, s, store.Query{Collection: collB, Limit: 10, Versions: store.VersionFilter{First: true}}); len(got) != 1 || !got[0].VersionTime.Equal(tm(10)) {
		t.Errorf("first in B = %v, want version at %v", keys(got), tm(10))
	}
}

// ---- seq and date_added ----

func testSeqAndDateAdded(t *testing.T, open Opener) {
	t0 := time.Date(2025, 6, 1, 0, 0, 0, 123456789, time.UTC)
	for _, tc := range []struct {
		name  string
		clock func() func() time.Time
	}{
		{"system clock", func() func() time.Time { return time.Now }},
		{"stopped clock", func() func() time.Time { return func() time.Time { return t0 } }},
		{"backwards clock", func() func() time.Time {
			var mu sync.Mutex
			now := t0
			return func() time.Time {
				mu.Lock()
				defer mu.Unlock()
				now = now.Add(-time.Second)
				return now
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openWith(t, open, store.Options{Now: tc.clock()})
			var rs []store.Result
			n := 0
			for batch := range 4 {
				coll := collA
				if batch%2 == 1 {
					coll = collB
				}
				var vs []store.Version
				for range 5 {
					n++
					vs = append(vs, indicator(t, n, 10))
				}
				rs = append(rs, put(t, s, coll, vs...)...)
			}
			for i, r := range rs {
				if r.Outcome != store.Added {
					t.Fatalf("result %d: %v", i, r.Outcome)
				}
				if !r.DateAdded.Equal(r.DateAdded.Truncate(time.Microsecond)) {
					t.Errorf("DateAdded %v has sub-microsecond digits", r.DateAdded)
				}
				if i == 0 {
					continue
				}
				p := rs[i-1]
				if r.Seq <= p.Seq {
					t.Errorf("seq %d after %d", r.Seq, p.Seq)
				}
				if r.DateAdded.Sub(p.DateAdded) < time.Microsecond {
					t.Errorf("date_added %v after %v: not strictly increasing by >= 1µs", r.DateAdded, p.DateAdded)
				}
			}
			if tc.name != "system clock" && rs[0].DateAdded.Before(t0.Add(-time.Second).Truncate(time.Microsecond)) {
				t.Errorf("first date_added %v is before the clock's first reading", rs[0].DateAdded)
			}
			// Reads report what Put reported.
			got := map[int64]time.Time{}
			for _, c := range []string{collA, collB} {
				for _, v := range queryAll(t, s, store.Query{Collection: c, Limit: 3}) {
					got[v.Seq] = v.DateAdded
				}
			}
			for _, r := range rs {
				if d, ok := got[r.Seq]; !ok || !d.Equal(r.DateAdded) {
					t.Errorf("seq %d: read date_added %v, Put reported %v", r.Seq, d, r.DateAdded)
				}
			}
			if st := stats(t, s); st.LastSeq != rs[len(rs)-1].Seq {
				t.Errorf("Stats.LastSeq = %d, want %d", st.LastSeq, rs[len(rs)-1].Seq)
			}
		})
	}
}

// ---- query ----

// row is the suite's model of a collection row.
type row struct {
	ID, Type, Spec string
	VTime          time.Time
	Seq            int64
	DateAdded      time.Time
	Hash           [32]byte
}

// model keeps the rows of one collection as Put reported them.
type model struct{ rows []row }

func (m *model) add(t testing.TB, s store.Store, vs []store.Version, rs []store.Result) {
	t.Helper()
	for i, r := range rs {
		if r.Outcome != store.Added {
			continue
		}
		v := vs[i]
		vt := v.Modified
		if vt.IsZero() {
			vt = v.Created
		}
		if vt.IsZero() { // SCO: the store chose the version time
			found := false
			for _, sv := range queryAll(t, s, store.Query{Collection: collA, IDs: []string{v.ID}, Versions: store.VersionFilter{All: true}, Limit: 50, NoBody: true}) {
				if sv.Seq == r.Seq {
					vt, found = sv.VersionTime, true
				}
			}
			if !found {
				t.Fatalf("SCO row %d not found", r.Seq)
			}
		}
		m.rows = append(m.rows, row{v.ID, v.Type, v.SpecVersion, vt.UTC(), r.Seq, r.DateAdded, v.Hash})
	}
}

// want applies q to the model.
func (m *model) want(q store.Query) []key {
	first, last := map[string]time.Time{}, map[string]time.Time{}
	for _, r := range m.rows {
		if f, ok := first[r.ID]; !ok || r.VTime.Before(f) {
			first[r.ID] = r.VTime
		}
		if l, ok := last[r.ID]; !ok || r.VTime.After(l) {
			last[r.ID] = r.VTime
		}
	}
	vf := q.Versions
	if vf.IsZero() {
		vf.Last = true
	}
	var out []key
	for _, r := range m.rows {
		if r.Seq <= q.After || (!q.AddedAfter.IsZero() && !r.DateAdded.After(q.AddedAfter)) {
			continue
		}
		if len(q.IDs) > 0 && !slices.Contains(q.IDs, r.ID) ||
			len(q.Types) > 0 && !slices.Contains(q.Types, r.Type) ||
			len(q.SpecVersions) > 0 && !slices.Contains(q.SpecVersions, r.Spec) {
			continue
		}
		ok := vf.All || vf.Last && r.VTime.Equal(last[r.ID]) || vf.First && r.VTime.Equal(first[r.ID]) ||
			slices.ContainsFunc(vf.At, func(at time.Time) bool { return at.Equal(r.VTime) })
		if ok {
			out = append(out, key{r.ID, r.VTime, r.Seq})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Seq < out[j].Seq })
	return out
}

// fill puts a mixed collection: indicators with 1-3 versions (some stored
// out of order), malware, SCOs with two contents, an object in spec 2.0-era
// form (no spec_version), and a few rows in collection B that must not leak.
func fill(t testing.TB, s store.Store, m *model, nObjects int, batch int) map[string]store.Version {
	t.Helper()
	bodies := map[string]store.Version{}
	var vs []store.Version
	flush := func() {
		if len(vs) == 0 {
			return
		}
		rs := put(t, s, collA, vs...)
		m.add(t, s, vs, rs)
		for i, r := range rs {
			if r.Outcome == store.Added {
				bodies[fmt.Sprint(r.Seq)] = vs[i]
			}
		}
		vs = nil
	}
	push := func(v store.Version) {
		vs = append(vs, v)
		if len(vs) >= batch {
			flush()
		}
	}
	var late []store.Version
	for i := 1; i <= nObjects; i++ {
		switch i % 5 {
		case 0, 1:
			push(indicator(t, i, 10))
			push(indicator(t, i, 20+i%3))
		case 2:
			push(sdo(t, "malware", i, 10, `,"is_family":false`))
		case 3:
			push(ipv4(t, i, "192.0.2.1"))
			late = append(late, ipv4(t, i, "192.0.2.2"))
		case 4:
			push(indicator(t, i, 30))
			late = append(late, indicator(t, i, 15), indicator(t, i, 40))
			push(NewVersion(t, fmt.Sprintf(`{"type":"x-legacy","id":"x-legacy--%s","created":%q,"modified":%q}`, uuidN(i), ts(0), ts(1))))
		}
	}
	for _, v := range late {
		push(v)
	}
	flush()
	put(t, s, collB, indicator(t, 1, 10), indicator(t, 1, 999), sdo(t, "malware", nObjects+1, 10, ""))
	return bodies
}

func testQuery(t *testing.T, open Opener) {
	ctx := context.Background()
	s := openWith(t, open, store.Options{})
	var m model
	bodies := fill(t, s, &m, 40, 17)
	mid := m.rows[len(m.rows)/2]
	someID, otherID := indicator(t, 4, 30).ID, ipv4(t, 3, "").ID
	// Version times of object 4 in A: 15, 30, 40.
	for _, tc := range []struct {
		name string
		q    store.Query
	}{
		{"default is last", store.Query{}},
		{"last", store.Query{Versions: store.VersionFilter{Last: true}}},
		{"first", store.Query{Versions: store.VersionFilter{First: true}}},
		{"all", store.Query{Versions: store.VersionFilter{All: true}}},
		{"first and last", store.Query{Versions: store.VersionFilter{First: true, Last: true}}},
		{"at", store.Query{Versions: store.VersionFilter{At: []time.Time{tm(15), tm(21)}}}},
		{"at and last", store.Query{Versions: store.VersionFilter{Last: true, At: []time.Time{tm(10)}}}},
		{"at no match", store.Query{Versions: store.VersionFilter{At: []time.Time{tm(12345)}}}},
		{"ids", store.Query{IDs: []string{someID, otherID}}},
		{"ids all", store.Query{IDs: []string{someID, otherID}, Versions: store.VersionFilter{All: true}}},
		{"ids first", store.Query{IDs: []string{someID}, Versions: store.VersionFilter{First: true}}},
		{"ids absent", store.Query{IDs: []string{"indicator--" + uuidN(99999)}}},
		{"id only in other collection", store.Query{IDs: []string{"malware--" + uuidN(41)}}},
		{"types", store.Query{Types: []string{"malware"}}},
		{"types all", store.Query{Types: []string{"indicator", "ipv4-addr"}, Versions: store.VersionFilter{All: true}}},
		{"types first", store.Query{Types: []string{"indicator"}, Versions: store.VersionFilter{First: true}}},
		{"types and ids", store.Query{Types: []string{"ipv4-addr"}, IDs: []string{someID, otherID}, Versions: store.VersionFilter{All: true}}},
		{"spec versions", store.Query{SpecVersions: []string{"2.1"}, Versions: store.VersionFilter{All: true}}},
		{"spec version empty", store.Query{SpecVersions: []string{""}}},
		{"after", store.Query{After: mid.Seq, Versions: store.VersionFilter{All: true}}},
		{"after last", store.Query{After: mid.Seq}},
		{"added after", store.Query{AddedAfter: mid.DateAdded, Versions: store.VersionFilter{All: true}}},
		{"added after with types", store.Query{AddedAfter: mid.DateAdded, Types: []string{"indicator"}}},
		{"added after end", store.Query{AddedAfter: m.rows[len(m.rows)-1].DateAdded}},
		{"added after start", store.Query{AddedAfter: m.rows[0].DateAdded.Add(-time.Microsecond)}},
		{"everything", store.Query{After: 3, AddedAfter: m.rows[5].DateAdded, Types: []string{"indicator", "malware"}, SpecVersions: []string{"2.1"}, Versions: store.VersionFilter{First: true, At: []time.Time{tm(21)}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := m.want(tc.q)
			for _, limit := range []int{1, 3, 1000} {
				q := tc.q
				q.Collection, q.Limit = collA, limit
				got := queryAll(t, s, q)
				if diff := cmp.Diff(want, keys(got), cmpopts.EquateEmpty()); diff != "" {
					t.Fatalf("limit %d (-want +got):\n%s", limit, diff)
				}
			}
		})
	}
	t.Run("bodies and fields", func(t *testing.T) {
		for _, noBody := range []bool{false, true} {
			got := queryAll(t, s, store.Query{Collection: collA, Versions: store.VersionFilter{All: true}, Limit: 1000, NoBody: noBody})
			for _, v := range got {
				want := bodies[fmt.Sprint(v.Seq)]
				if noBody {
					want.Body = nil
					if v.Body != nil {
						t.Fatalf("NoBody: seq %d has a body", v.Seq)
					}
				}
				if diff := cmp.Diff(want, v, versionOpts); diff != "" {
					t.Fatalf("seq %d (-want +got):\n%s", v.Seq, diff)
				}
				if v.DateAdded.IsZero() || v.VersionTime.IsZero() {
					t.Fatalf("seq %d: DateAdded %v VersionTime %v", v.Seq, v.DateAdded, v.VersionTime)
				}
			}
		}
	})
	t.Run("limit must be positive", func(t *testing.T) {
		for _, limit := range []int{0, -1} {
			if _, err := s.Query(ctx, store.Query{Collection: collA, Limit: limit}); err == nil {
				t.Errorf("Query with limit %d succeeded", limit)
			}
		}
	})
}

func testPaging(t *testing.T, open Opener) {
	s := openWith(t, open, store.Options{})
	var m model
	fill(t, s, &m, 1250, 500) // about 2,500 rows
	if len(m.rows) < 2400 {
		t.Fatalf("fixture has only %d rows", len(m.rows))
	}
	for _, tc := range []struct {
		name string
		q    store.Query
	}{
		{"last", store.Query{}},
		{"all", store.Query{Versions: store.VersionFilter{All: true}}},
		{"type", store.Query{Types: []string{"indicator"}}},
		{"types all", store.Query{Types: []string{"malware", "ipv4-addr"}, Versions: store.VersionFilter{All: true}}},
		{"first manifest", store.Query{Versions: store.VersionFilter{First: true}, NoBody: true}},
	} {
		q := tc.q
		want := m.want(q)
		for _, limit := range []int{7, 100, 1000} {
			t.Run(fmt.Sprintf("%s/limit=%d", tc.name, limit), func(t *testing.T) {
				q := q
				q.Collection, q.Limit = collA, limit
				got := queryAll(t, s, q) // checks limit, order, More and Last per page
				if diff := cmp.Diff(want, keys(got)); diff != "" {
					t.Fatalf("(-want +got):\n%s", diff)
				}
				// More is false only at the end: a page that ends exactly at
				// the last row says so.
				if len(want) > 0 {
					q.After = want[len(want)-1].Seq - 1
					p, err := s.Query(context.Background(), q)
					if err != nil || len(p.Versions) != 1 || p.More {
						t.Fatalf("last page: %d rows, More %v, err %v", len(p.Versions), p.More, err)
					}
				}
			})
		}
	}
}

// testPagingWhileWriting pages through a collection while writers add to
// it: a row committed before a page's cursor must never be skipped.
func testPagingWhileWriting(t *testing.T, open Opener) {
	ctx := context.Background()
	s := openWith(t, open, store.Options{})
	const writers, batches, perBatch = 3, 15, 10
	var wg sync.WaitGroup
	done := make(chan struct{})
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				var vs []store.Version
				for i := range perBatch {
					vs = append(vs, indicator(t, 100000*(w+1)+100*b+i, 10))
				}
				if _, err := s.Put(ctx, collA, vs); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	go func() { wg.Wait(); close(done) }()
	seen := map[int64]int{}
	var after int64
	finished := false
	for {
		p, err := s.Query(ctx, store.Query{Collection: collA, After: after, Limit: 7, NoBody: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range p.Versions {
			seen[v.Seq]++
		}
		if len(p.Versions) > 0 {
			after = p.Last
		}
		if !p.More {
			if finished {
				break
			}
			select {
			case <-done:
				finished = true // one more pass after every writer is done
			default:
			}
		}
	}
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
	all := queryAll(t, s, store.Query{Collection: collA, Limit: 1000, NoBody: true})
	if len(all) != writers*batches*perBatch {
		t.Fatalf("%d rows, want %d", len(all), writers*batches*perBatch)
	}
	for _, v := range all {
		if seen[v.Seq] != 1 {
			t.Errorf("seq %d seen %d times while paging", v.Seq, seen[v.Seq])
		}
	}
	if len(seen) != len(all) {
		t.Errorf("paging saw %d rows, collection has %d", len(seen), len(all))
	}
}

func testChanges(t *testing.T, open Opener) {
	ctx := context.Background()
	s := openWith(t, open, store.Options{})
	var want []store.Change
	add := func(coll string, vs ...store.Version) {
		for i, r := range put(t, s, coll, vs...) {
			if r.Outcome == store.Added {
				want = append(want, store.Change{Seq: r.Seq, Kind: "add", Collection: coll, ID: vs[i].ID, VersionTime: vs[i].Modified})
			}
		}
	}
	add(collA, indicator(t, 1, 10), indicator(t, 2, 10))
	add(collB, indicator(t, 1, 10), indicator(t, 3, 10))
	add(collA, indicator(t, 1, 10), indicator(t, 1, 20), sdo(t, "indicator", 2, 10, `,"x":1`))
	got, err := s.Changes(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	timeEq := cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })
	if diff := cmp.Diff(want, got, timeEq); diff != "" {
		t.Fatalf("Changes (-want +got):\n%s", diff)
	}
	// Paging through the change log.
	var paged []store.Change
	for after := int64(0); ; {
		cs, err := s.Changes(ctx, after, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) > 2 {
			t.Fatalf("Changes returned %d records, limit 2", len(cs))
		}
		if len(cs) == 0 {
			break
		}
		paged = append(paged, cs...)
		after = cs[len(cs)-1].Seq
	}
	if diff := cmp.Diff(want, paged, timeEq); diff != "" {
		t.Fatalf("paged Changes (-want +got):\n%s", diff)
	}
	if cs, err := s.Changes(ctx, want[len(want)-1].Seq, 10); err != nil || len(cs) != 0 {
		t.Errorf("Changes after the end = %v, %v", cs, err)
	}
}

func testConcurrentPut(t *testing.T, open Opener) {
	ctx := context.Background()
	s := openWith(t, open, store.Options{})
	const workers, batches, perBatch = 4, 10, 20
	var wg sync.WaitGroup
	results := make([][]store.Result, workers)
	errs := make([]error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				var vs []store.Version
				for i := range perBatch {
					// Every worker also puts a version shared by all, to race on duplicates.
					if i == 0 {
						vs = append(vs, indicator(t, 7, 10+b))
						continue
					}
					vs = append(vs, indicator(t, 1000*(w+1)+perBatch*b+i, 10))
				}
				rs, err := s.Put(ctx, collA, vs)
				if err != nil {
					errs[w] = err
					return
				}
				results[w] = append(results[w], rs...)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	seqs := map[int64]bool{}
	added := 0
	for _, rs := range results {
		for _, r := range rs {
			if r.Outcome == store.Added {
				added++
				if seqs[r.Seq] {
					t.Errorf("seq %d assigned twice", r.Seq)
				}
				seqs[r.Seq] = true
			}
		}
	}
	wantRows := workers*batches*(perBatch-1) + batches
	if added != wantRows {
		t.Errorf("%d added, want %d", added, wantRows)
	}
	all := queryAll(t, s, store.Query{Collection: collA, Versions: store.VersionFilter{All: true}, Limit: 100, NoBody: true})
	if len(all) != wantRows {
		t.Errorf("%d rows listed, want %d", len(all), wantRows)
	}
	for _, v := range all {
		if !seqs[v.Seq] {
			t.Errorf("listed seq %d was not reported by Put", v.Seq)
		}
		delete(seqs, v.Seq)
	}
	if st := stats(t, s); st.CollectionRows != int64(wantRows) {
		t.Errorf("Stats.CollectionRows = %d, want %d", st.CollectionRows, wantRows)
	}
}

// testFirstLastFlags: collection reads say which row holds an object's
// oldest and newest version in that collection, whatever the filter (the
// policy gate selects versions among those a reader may see from them).
func testFirstLastFlags(t *testing.T, open Opener) {
	s := openWith(t, open, store.Options{})
	one := indicator(t, 1, 10)
	v1, v2, v3 := indicator(t, 2, 10), indicator(t, 2, 20), indicator(t, 2, 30)
	for _, v := range []*store.Version{&one, &v1, &v2, &v3} {
		v.Audience = []string{"public"}
	}
	put(t, s, collA, one, v2)
	put(t, s, collA, v1) // older, stored later: the flags follow version time, not seq
	put(t, s, collA, v3)
	put(t, s, collB, v2)
	type flags struct {
		ID          string
		Mod         int
		First, Last bool
	}
	read := func(q store.Query) []flags {
		var out []flags
		for _, v := range queryAll(t, s, q) {
			out = append(out, flags{v.ID, int(v.VersionTime.Sub(base) / time.Millisecond), v.IsFirst, v.IsLast})
		}
		return out
	}
	all := store.VersionFilter{All: true}
	tests := []struct {
		name string
		q    store.Query
		want []flags
	}{
		{"all", store.Query{Collection: collA, Versions: all}, []flags{
			{one.ID, 10, true, true}, {v2.ID, 20, false, false}, {v1.ID, 10, true, false}, {v3.ID, 30, false, true}}},
		{"last", store.Query{Collection: collA}, []flags{{one.ID, 10, true, true}, {v3.ID, 30, false, true}}},
		{"ids", store.Query{Collection: collA, IDs: []string{v1.ID}, Versions: all}, []flags{
			{v2.ID, 20, false, false}, {v1.ID, 10, true, false}, {v3.ID, 30, false, true}}},
		{"audience", store.Query{Collection: collA, Versions: all, ReaderKeys: []string{"public"}}, []flags{
			{one.ID, 10, true, true}, {v2.ID, 20, false, false}, {v1.ID, 10, true, false}, {v3.ID, 30, false, true}}},
		{"other collection", store.Query{Collection: collB, Versions: all}, []flags{{v2.ID, 20, true, true}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.q.Limit = 2
			if diff := cmp.Diff(tc.want, read(tc.q)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// testRef checks the version references Put reports and reads return: one
// per stored version, whatever collection lists it, increasing with each
// version stored.
func testRef(t *testing.T, open Opener) {
	s := openWith(t, open, store.Options{})
	v1, v2, sco := indicator(t, 1, 0), indicator(t, 1, 5), ipv4(t, 1, "192.0.2.1")
	rs := put(t, s, collA, v1, sco)
	wantOutcomes(t, rs, store.Added, store.Added)
	again := put(t, s, collA, v1, sco)
	wantOutcomes(t, again, store.Duplicate, store.Duplicate)
	other := put(t, s, collB, v1, sco)
	wantOutcomes(t, other, store.Added, store.Added)
	for i := range rs {
		if again[i].Ref != rs[i].Ref || other[i].Ref != rs[i].Ref {
			t.Errorf("version %d: Refs %d, %d (duplicate), %d (another collection): want one", i, rs[i].Ref, again[i].Ref, other[i].Ref)
		}
	}
	if rs[0].Ref == rs[1].Ref {
		t.Errorf("two versions share Ref %d", rs[0].Ref)
	}
	newer := put(t, s, collA, v2)
	wantOutcomes(t, newer, store.Added)
	if newer[0].Ref <= max(rs[0].Ref, rs[1].Ref) {
		t.Errorf("a version stored later has Ref %d, not above %d and %d", newer[0].Ref, rs[0].Ref, rs[1].Ref)
	}
	if got := current(t, s, v1.ID).Ref; got != newer[0].Ref {
		t.Errorf("Current Ref %d, want %d", got, newer[0].Ref)
	}
	want := map[string]int64{v1.Key(): rs[0].Ref, sco.Key(): rs[1].Ref, v2.Key(): newer[0].Ref}
	for _, v := range queryAll(t, s, store.Query{Collection: collA, Versions: store.VersionFilter{All: true}, Limit: 10}) {
		if v.Ref != want[v.Key()] {
			t.Errorf("Query: %s has Ref %d, want %d", v.Key(), v.Ref, want[v.Key()])
		}
	}
}

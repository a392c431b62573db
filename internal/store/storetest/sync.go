package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/setu-cti/setu/internal/store"
)

// RunSync runs the conformance tests for the sync engine's state: cursors,
// counters and provenance. The stores open returns must implement
// store.Peers and store.Sync.
func RunSync(t *testing.T, open Opener) {
	syncStore := func(t *testing.T) interface {
		store.Peers
		store.Sync
	} {
		s := open(t, store.Options{})
		p, ok := s.(interface {
			store.Peers
			store.Sync
		})
		if !ok {
			t.Fatalf("%T does not implement store.Sync", s)
		}
		for _, name := range []string{"JP-CERT", "KR-CERT"} {
			var fp [32]byte
			copy(fp[:], name)
			if err := p.CreatePeer(ctx, store.Peer{Name: name, URL: "https://" + name + ".example/", CertSHA256: fp}); err != nil {
				t.Fatal(err)
			}
		}
		return p
	}
	t.Run("Cursors", func(t *testing.T) {
		s := syncStore(t)
		if _, err := s.SyncCursor(ctx, "JP-CERT", store.SyncIn, "c1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("absent cursor: %v, want ErrNotFound", err)
		}
		added := time.Date(2026, 3, 1, 10, 0, 0, 123456000, time.UTC)
		in := store.SyncCursor{Peer: "JP-CERT", Direction: store.SyncIn, Collection: "c1", Added: added, Objects: 7,
			LastSuccess: added.Add(time.Minute), LastError: ""}
		out := store.SyncCursor{Peer: "JP-CERT", Direction: store.SyncOut, Collection: "c2", Seq: 42, Agreement: [32]byte{1, 2}}
		other := store.SyncCursor{Peer: "KR-CERT", Direction: store.SyncOut, Collection: "c2", Seq: 5, LastError: "down"}
		for _, c := range []store.SyncCursor{in, out, other} {
			if err := s.SetSyncCursor(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.SyncCursor(ctx, "JP-CERT", store.SyncIn, "c1")
		if err != nil {
			t.Fatal(err)
		}
		opt := cmpopts.IgnoreFields(store.SyncCursor{}, "Updated")
		if diff := cmp.Diff(in, got, opt); diff != "" {
			t.Errorf("cursor (-want +got):\n%s", diff)
		}
		if got.Updated.IsZero() {
			t.Error("Updated not set")
		}
		out.Seq = 50
		if err := s.SetSyncCursor(ctx, out); err != nil {
			t.Fatal(err)
		}
		list, err := s.SyncCursors(ctx, "JP-CERT")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]store.SyncCursor{in, out}, list, opt); diff != "" {
			t.Errorf("cursors of JP-CERT (-want +got):\n%s", diff)
		}
		all, err := s.SyncCursors(ctx, "")
		if err != nil || len(all) != 3 {
			t.Fatalf("all cursors: %d, %v; want 3", len(all), err)
		}
		if err := s.SetSyncCursor(ctx, store.SyncCursor{Peer: "nobody", Direction: store.SyncIn, Collection: "c"}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("cursor of an absent peer: %v, want ErrNotFound", err)
		}
		if err := s.DeletePeer(ctx, "KR-CERT"); err != nil {
			t.Fatal(err)
		}
		if all, _ := s.SyncCursors(ctx, ""); len(all) != 2 {
			t.Errorf("after removing a peer, %d cursors, want 2", len(all))
		}
	})
	t.Run("Counts", func(t *testing.T) {
		s := syncStore(t)
		for range 2 {
			if err := s.AddSyncCounts(ctx, "JP-CERT", map[string]int64{"in": 3, "refused:agreement-tlp": 1}); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.AddSyncCounts(ctx, "KR-CERT", map[string]int64{"out": 9}); err != nil {
			t.Fatal(err)
		}
		got, err := s.SyncCounts(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]map[string]int64{"JP-CERT": {"in": 6, "refused:agreement-tlp": 2}, "KR-CERT": {"out": 9}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("counts (-want +got):\n%s", diff)
		}
		one, err := s.SyncCounts(ctx, "KR-CERT")
		if err != nil || len(one) != 1 {
			t.Errorf("counts of one peer: %v, %v", one, err)
		}
	})
	// refs stores n versions and returns their Refs, in the order stored.
	refs := func(t *testing.T, s store.Store, n int) []int64 {
		t.Helper()
		if err := s.CreateCollection(ctx, store.Collection{ID: collA, Alias: "a", Title: "A", Created: tm(0)}); err != nil {
			t.Fatal(err)
		}
		vs := make([]store.Version, n)
		for i := range vs {
			vs[i] = indicator(t, i+1, 0)
		}
		rs := put(t, s, collA, vs...)
		out := make([]int64, n)
		for i, r := range rs {
			if r.Outcome != store.Added || r.Ref <= 0 {
				t.Fatalf("put %d: %+v, want Added with a Ref", i, r)
			}
			out[i] = r.Ref
		}
		return out
	}
	t.Run("Provenance", func(t *testing.T) {
		s := syncStore(t)
		ref := refs(t, s.(store.Store), 2)
		rs := []store.ProvenanceRecord{
			{Version: ref[0], Route: "", Record: []byte(`{"v":1}`)},
			{Version: ref[0], Route: "KR-CERT", Record: []byte(`{"v":1,"path":[]}`)},
			{Version: ref[1], Route: "", Record: []byte(`{"v":1,"x":2}`)},
		}
		added, err := s.PutProvenance(ctx, rs)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]bool{true, true, true}, added); diff != "" {
			t.Errorf("first put, new (-want +got):\n%s", diff)
		}
		// The first record of a (version, route) stays.
		added, err = s.PutProvenance(ctx, []store.ProvenanceRecord{
			{Version: ref[0], Route: "", Record: []byte(`{"v":2}`)},
			{Version: ref[0], Route: "<-KR-CERT", Record: []byte(`{"v":3}`)},
		})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]bool{false, true}, added); diff != "" {
			t.Errorf("second put, new (-want +got):\n%s", diff)
		}
		rs = append(rs, store.ProvenanceRecord{Version: ref[0], Route: "<-KR-CERT", Record: []byte(`{"v":3}`)})
		got, err := s.Provenance(ctx, []int64{ref[0], ref[1] + 1000}, nil)
		if err != nil {
			t.Fatal(err)
		}
		sortRecs := cmpopts.SortSlices(func(a, b store.ProvenanceRecord) bool {
			return a.Version < b.Version || a.Version == b.Version && a.Route < b.Route
		})
		if diff := cmp.Diff([]store.ProvenanceRecord{rs[0], rs[1], rs[3]}, got, sortRecs); diff != "" {
			t.Errorf("provenance (-want +got):\n%s", diff)
		}
		got, err = s.Provenance(ctx, []int64{ref[0], ref[1]}, []string{""})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]store.ProvenanceRecord{rs[0], rs[2]}, got, sortRecs); diff != "" {
			t.Errorf("provenance of route '' (-want +got):\n%s", diff)
		}
		// A record of a version that is not stored is refused, with the
		// rest of its call.
		_, err = s.PutProvenance(ctx, []store.ProvenanceRecord{
			{Version: ref[1], Route: "JP-CERT", Record: []byte(`{"v":4}`)},
			{Version: ref[1] + 1000, Route: "", Record: []byte(`{"v":5}`)},
		})
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("provenance of a version not stored: %v, want ErrNotFound", err)
		}
		if got, err := s.Provenance(ctx, []int64{ref[1]}, []string{"JP-CERT"}); err != nil || len(got) != 0 {
			t.Errorf("a refused call stored %v (%v)", got, err)
		}
	})
	t.Run("ProvenanceShared", func(t *testing.T) {
		s := syncStore(t)
		ref := refs(t, s.(store.Store), 6)
		batch := []byte("\x01root and tree of batch A")
		other := []byte("\x01root and tree of batch B")
		same := append([]byte(nil), other...) // equal content, another slice
		rs := []store.ProvenanceRecord{
			{Version: ref[0], Record: []byte{1, 0}, Shared: batch},
			{Version: ref[1], Record: []byte{1, 1}, Shared: batch},
			{Version: ref[2], Record: []byte{1, 0}, Shared: other},
			{Version: ref[3], Record: []byte{1, 1}, Shared: same},
			{Version: ref[4], Record: []byte(`{"v":1}`)},
			{Version: ref[0], Route: "KR-CERT", Record: []byte{1, 2}, Shared: other},
		}
		added, err := s.PutProvenance(ctx, rs)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]bool{true, true, true, true, true, true}, added); diff != "" {
			t.Errorf("first put, new (-want +got):\n%s", diff)
		}
		// A record already stored keeps its shared part too.
		added, err = s.PutProvenance(ctx, []store.ProvenanceRecord{
			{Version: ref[0], Record: []byte{1, 9}, Shared: []byte("\x01another batch")},
			{Version: ref[5], Record: []byte{1, 3}, Shared: batch},
		})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]bool{false, true}, added); diff != "" {
			t.Errorf("second put, new (-want +got):\n%s", diff)
		}
		rs = append(rs, store.ProvenanceRecord{Version: ref[5], Record: []byte{1, 3}, Shared: batch})
		got, err := s.Provenance(ctx, append([]int64{ref[5] + 1000}, ref...), nil)
		if err != nil {
			t.Fatal(err)
		}
		sortRecs := cmpopts.SortSlices(func(a, b store.ProvenanceRecord) bool {
			return a.Version < b.Version || a.Version == b.Version && a.Route < b.Route
		})
		if diff := cmp.Diff(rs, got, sortRecs); diff != "" {
			t.Errorf("provenance (-want +got):\n%s", diff)
		}
		got, err = s.Provenance(ctx, []int64{ref[0]}, []string{"KR-CERT"})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]store.ProvenanceRecord{rs[5]}, got); diff != "" {
			t.Errorf("provenance of route KR-CERT (-want +got):\n%s", diff)
		}
	})
}

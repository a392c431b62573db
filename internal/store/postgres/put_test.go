package postgres

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/setu-cti/setu/internal/store"
	"github.com/setu-cti/setu/internal/store/storetest"
)

const putColl = "77777777-7777-4777-8777-777777777777"

func putStore(t *testing.T) (*DB, string) {
	t.Helper()
	dsn := testDSN(t)
	db := openTest(t, dsn, store.Options{})
	if err := db.CreateCollection(context.Background(), store.Collection{ID: putColl}); err != nil {
		t.Fatal(err)
	}
	return db, dsn
}

// Behaviour of this backend beyond the conformance suite.
func TestPutEdges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("time out of range rejects one version", func(t *testing.T) {
		db, _ := putStore(t)
		far := indicator(t, 1, 0)
		far.Modified = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
		rs, err := db.Put(ctx, putColl, []store.Version{indicator(t, 2, 0), far})
		if err != nil {
			t.Fatal(err)
		}
		if rs[0].Outcome != store.Added || rs[1].Outcome != store.Rejected || rs[1].Err == nil {
			t.Fatalf("results %+v", rs)
		}
		if _, err := db.Current(ctx, far.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Current of the rejected object: %v, want ErrNotFound", err)
		}
		var heads int
		if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM heads`).Scan(&heads); err != nil || heads != 1 {
			t.Errorf("%d head rows (%v), want 1", heads, err)
		}
	})
	t.Run("zero hash is computed", func(t *testing.T) {
		db, _ := putStore(t)
		v := indicator(t, 1, 0)
		want := v.Hash
		v.Hash = [32]byte{}
		if _, err := db.Put(ctx, putColl, []store.Version{v}); err != nil {
			t.Fatal(err)
		}
		if cur, err := db.Current(ctx, v.ID); err != nil || cur.Hash != want {
			t.Fatalf("Current hash %x, %v; want %x", cur.Hash, err, want)
		}
	})
	t.Run("concurrent SCOs from several instances", func(t *testing.T) {
		// Instances racing on one new SCO id: equal content is stored once,
		// different content gets distinct version times, and the flags and
		// head stay consistent.
		db, dsn := putStore(t)
		a := storetest.NewVersion(t, `{"type":"ipv4-addr","spec_version":"2.1","id":"ipv4-addr--00000000-0000-4000-8000-000000000001","value":"198.51.100.1"}`)
		b := storetest.NewVersion(t, `{"type":"ipv4-addr","spec_version":"2.1","id":"ipv4-addr--00000000-0000-4000-8000-000000000001","value":"198.51.100.1","x_note":"b"}`)
		stopped := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for i := range 8 {
			other := openTest(t, dsn, store.Options{Now: func() time.Time { return stopped }})
			wg.Add(1)
			go func() {
				defer wg.Done()
				vs := []store.Version{a, b}
				if i%2 == 1 {
					vs = []store.Version{b, a}
				}
				if _, err := other.Put(ctx, putColl, vs); err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		st, err := db.Stats(ctx)
		if err != nil || st.Versions != 2 || st.Objects != 1 || st.CollectionRows != 2 {
			t.Fatalf("Stats = %+v, %v; want 2 versions of 1 object in 2 rows", st, err)
		}
		for _, vf := range []store.VersionFilter{{First: true}, {Last: true}} {
			p, err := db.Query(ctx, store.Query{Collection: putColl, Versions: vf, Limit: 10})
			if err != nil || len(p.Versions) != 1 {
				t.Fatalf("%+v: %d rows, %v", vf, len(p.Versions), err)
			}
		}
	})
}

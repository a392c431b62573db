package postgres

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/setu-cti/setu/internal/store"
	"github.com/setu-cti/setu/internal/store/storetest"
)

// TestCommitOrder runs several instances (one pool each) writing to one
// collection, with overlapping objects so that they also race on
// duplicates and new versions, while another instance pages through the
// collection and follows the change log. Neither reader may skip or repeat
// a row: a row that commits after a reader's cursor passed its seq would be
// lost for good.
func TestCommitOrder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := testDSN(t)
	const coll = "33333333-3333-4333-8333-333333333333"
	const instances, writersPer, batches, perBatch, shared = 3, 2, 12, 40, 25
	reader := openTest(t, dsn, store.Options{})
	if err := reader.CreateCollection(ctx, store.Collection{ID: coll, Title: "order"}); err != nil {
		t.Fatal(err)
	}

	var wg sync.WaitGroup
	errs := make(chan error, instances*writersPer)
	for in := range instances {
		db := openTest(t, dsn, store.Options{})
		for w := range writersPer {
			wg.Add(1)
			go func() {
				defer wg.Done()
				writer := in*writersPer + w
				rng := rand.New(rand.NewPCG(uint64(writer), 1))
				for b := range batches {
					var vs []store.Version
					for i := range perBatch - shared {
						vs = append(vs, indicator(t, 1000*(writer+1)+perBatch*b+i, 0))
					}
					// Shared objects: every writer puts versions of the
					// same ids, each at one of a few times, in random order.
					for i := range shared {
						vs = append(vs, indicator(t, i, rng.IntN(4)))
					}
					rng.Shuffle(len(vs), func(i, j int) { vs[i], vs[j] = vs[j], vs[i] })
					if _, err := db.Put(ctx, coll, vs); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	seen := map[int64]int{}
	var changes []store.Change
	var after, changed int64
	for finished := false; ; {
		// Read whether the writers are done before reading, so that the
		// pass after they are is complete.
		select {
		case <-done:
			finished = true
		default:
		}
		for {
			p, err := reader.Query(ctx, store.Query{Collection: coll, After: after, Limit: 13, NoBody: true, Versions: store.VersionFilter{All: true}})
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range p.Versions {
				seen[v.Seq]++
			}
			after = max(after, p.Last)
			if !p.More {
				break
			}
		}
		cs, err := reader.Changes(ctx, changed, 17)
		if err != nil {
			t.Fatal(err)
		}
		changes = append(changes, cs...)
		if len(cs) > 0 {
			changed = cs[len(cs)-1].Seq
		}
		if finished && len(cs) == 0 {
			break
		}
	}
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}

	all, err := reader.Query(ctx, store.Query{Collection: coll, Limit: 1 << 20, NoBody: true, Versions: store.VersionFilter{All: true}})
	if err != nil {
		t.Fatal(err)
	}
	want := instances*writersPer*batches*(perBatch-shared) + shared*4
	if len(all.Versions) != want {
		t.Fatalf("%d rows, want %d", len(all.Versions), want)
	}
	for _, v := range all.Versions {
		if seen[v.Seq] != 1 {
			t.Errorf("seq %d seen %d times while paging", v.Seq, seen[v.Seq])
		}
	}
	if len(seen) != len(all.Versions) {
		t.Errorf("paging saw %d rows, collection has %d", len(seen), len(all.Versions))
	}
	if len(changes) != len(all.Versions) {
		t.Errorf("change log follower saw %d records, want %d", len(changes), len(all.Versions))
	}
	for i, c := range changes {
		if i < len(all.Versions) && c.Seq != all.Versions[i].Seq {
			t.Fatalf("change %d has seq %d, row has %d", i, c.Seq, all.Versions[i].Seq)
		}
	}

	// The first/last flags survived the races: exactly one first and one
	// last row per object, at its earliest and latest version times.
	var bad int
	err = reader.pool.QueryRow(ctx, `
		SELECT count(*) FROM (
			SELECT id FROM collection_rows GROUP BY id
			HAVING count(*) FILTER (WHERE is_first) <> 1
			    OR count(*) FILTER (WHERE is_last) <> 1
			    OR min(vtime) <> min(vtime) FILTER (WHERE is_first)
			    OR max(vtime) <> max(vtime) FILTER (WHERE is_last)) x`).Scan(&bad)
	if err != nil || bad != 0 {
		t.Errorf("%d objects with wrong first/last flags (err %v)", bad, err)
	}
	st, err := reader.Stats(ctx)
	if err != nil || st.Versions != int64(want) || st.Objects != int64(want-shared*3) {
		t.Errorf("Stats = %+v, %v; want %d versions", st, err, want)
	}
}

// indicator is an indicator version with id number n, modified mod
// milliseconds after its creation.
func indicator(t testing.TB, n, mod int) store.Version {
	return storetest.NewVersion(t, fmt.Sprintf(
		`{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-%012d","created":"2024-03-01T12:00:00.000Z","modified":"2024-03-01T12:00:00.%03dZ","name":"n%d","pattern":"[ipv4-addr:value = '198.51.100.%d']","pattern_type":"stix","valid_from":"2024-03-01T12:00:00Z"}`,
		n, mod, n, n%256))
}

package postgres

import (
	"context"
	"crypto/sha256"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/setu-cti/setu/internal/store"
)

const benchBatch = 1000

// benchVersions returns a batch of new indicator versions, distinct for each
// n, of a realistic size (about 450 bytes).
func benchVersions(n int64) []store.Version {
	created := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	vs := make([]store.Version, benchBatch)
	for i := range vs {
		id := fmt.Sprintf("indicator--%08x-0000-4000-8000-%012x", n, i)
		body := fmt.Sprintf(`{"created":"2024-03-01T12:00:00.000Z","created_by_ref":"identity--f431f809-377b-45e0-aa1c-6a4751cae5ff","id":%q,"indicator_types":["malicious-activity"],"modified":"2024-03-01T12:00:00.000Z","name":"Malicious site %d","object_marking_refs":["marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"],"pattern":"[domain-name:value = 'bad-%d-%d.example.com']","pattern_type":"stix","spec_version":"2.1","type":"indicator","valid_from":"2024-03-01T12:00:00Z"}`, id, i, n, i)
		vs[i] = store.Version{
			ID: id, Type: "indicator", SpecVersion: "2.1",
			Created: created, Modified: created,
			Body: []byte(body), Hash: sha256.Sum256([]byte(body)),
		}
	}
	return vs
}

func benchStore(b *testing.B) (*DB, string) {
	db := openTest(b, testDSN(b), store.Options{})
	const coll = "66666666-6666-4666-8666-666666666666"
	if err := db.CreateCollection(context.Background(), store.Collection{ID: coll}); err != nil {
		b.Fatal(err)
	}
	return db, coll
}

// baselineRate is the objects/s of the baseline sub-benchmark in this run,
// 0 if it did not run.
var baselineRate float64

func reportObjects(b *testing.B, objects int64) {
	rate := float64(objects) / b.Elapsed().Seconds()
	b.ReportMetric(rate, "objects/s")
	if baselineRate > 0 {
		b.ReportMetric(rate/baselineRate, "x-baseline-copy")
	}
}

// BenchmarkPut measures Put with batches of 1,000 versions: all new (without
// and with audience keys), all exact duplicates (a feed fetched again), and
// new batches from several goroutines at once (instances sharing the database). Each is reported in
// objects/s and as a ratio to baseline-copy, measured first in the same
// run: the same bodies written with COPY into a table without indexes and
// committed, the least any store can do with them.
func BenchmarkPut(b *testing.B) {
	ctx := context.Background()
	b.Run("baseline-copy", func(b *testing.B) {
		db, _ := benchStore(b)
		if _, err := db.pool.Exec(ctx, `CREATE TABLE baseline (id text, body bytea)`); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		var n int64
		for b.Loop() {
			b.StopTimer()
			n++
			vs := benchVersions(n)
			b.StartTimer()
			_, err := db.pool.CopyFrom(ctx, pgx.Identifier{"baseline"}, []string{"id", "body"},
				pgx.CopyFromSlice(len(vs), func(i int) ([]any, error) { return []any{vs[i].ID, vs[i].Body}, nil }))
			if err != nil {
				b.Fatal(err)
			}
		}
		baselineRate = float64(n*benchBatch) / b.Elapsed().Seconds()
		b.ReportMetric(baselineRate, "objects/s")
	})
	b.Run("new", func(b *testing.B) {
		db, coll := benchStore(b)
		b.ReportAllocs()
		var n int64
		for b.Loop() {
			b.StopTimer()
			n++
			vs := benchVersions(n)
			b.StartTimer()
			if _, err := db.Put(ctx, coll, vs); err != nil {
				b.Fatal(err)
			}
		}
		reportObjects(b, n*benchBatch)
	})
	b.Run("new-audience", func(b *testing.B) {
		// As new, with the policy metadata the write path sets: three
		// audience keys per version, so three audience rows per
		// collection row.
		db, coll := benchStore(b)
		b.ReportAllocs()
		var n int64
		for b.Loop() {
			b.StopTimer()
			n++
			vs := benchVersions(n)
			for i := range vs {
				vs[i].Submitter = "org-a"
				vs[i].Facts = []byte(`{"tlp":"green","distribution":"community"}`)
				vs[i].Audience = []string{"node", "org:a", fmt.Sprintf("group:g%d", i%8)}
			}
			b.StartTimer()
			if _, err := db.Put(ctx, coll, vs); err != nil {
				b.Fatal(err)
			}
		}
		reportObjects(b, n*benchBatch)
	})
	b.Run("duplicate", func(b *testing.B) {
		db, coll := benchStore(b)
		vs := benchVersions(0)
		if _, err := db.Put(ctx, coll, vs); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		var n int64
		for b.Loop() {
			n++
			rs, err := db.Put(ctx, coll, vs)
			if err != nil || rs[0].Outcome != store.Duplicate {
				b.Fatal(err, rs[0])
			}
		}
		reportObjects(b, n*benchBatch)
	})
	b.Run("parallel-new", func(b *testing.B) {
		db, coll := benchStore(b)
		b.ReportAllocs()
		b.SetParallelism(2) // 2 × GOMAXPROCS writers
		var n atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				vs := benchVersions(n.Add(1))
				if _, err := db.Put(ctx, coll, vs); err != nil {
					b.Error(err)
					return
				}
			}
		})
		reportObjects(b, n.Load()*benchBatch)
	})
}

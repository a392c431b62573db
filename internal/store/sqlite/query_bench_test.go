package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/setu-cti/setu/internal/store"
)

// BenchmarkQuery times one page and one id lookup in collections of 4,000
// and 1,000,000 rows; the times should be about the same. The large
// collection is filled with SQL directly (Put is measured by
// BenchmarkImport), one object in ten with a second version, and types
// mixed; it is skipped with -short. Audience pages should cost about the
// same as the others whatever share of the collection the reader sees.
//
//	go test ./internal/store/sqlite -run '^$' -bench Query
func BenchmarkQuery(b *testing.B) {
	for _, rows := range []int{4000, 1_000_000} {
		b.Run(fmt.Sprintf("rows=%d", rows), func(b *testing.B) {
			if testing.Short() && rows > 10000 {
				b.Skip("large collection in -short mode")
			}
			db := fillDirect(b, rows)
			ctx := context.Background()
			mid := int64(rows / 2)
			for _, tc := range []struct {
				name string
				q    store.Query
			}{
				{"first-page", store.Query{Limit: 100}},
				{"middle-page", store.Query{After: mid, Limit: 100}},
				{"middle-page-all", store.Query{After: mid, Limit: 100, Versions: store.VersionFilter{All: true}}},
				{"middle-page-type", store.Query{After: mid, Limit: 100, Types: []string{"malware"}}},
				{"middle-page-manifest", store.Query{After: mid, Limit: 100, NoBody: true}},
				{"added-after", store.Query{AddedAfter: timeAt(mid), Limit: 100}},
				{"id", store.Query{IDs: []string{fmt.Sprintf("indicator--%036d", rows/3)}, Limit: 100}},
				// A reader whose key lists 1 row in 100, one with half the
				// rows, and one with four keys of 1 in 100 each.
				{"audience-rare-middle", store.Query{After: mid, Limit: 100, ReaderKeys: []string{"org:7"}}},
				{"audience-public-middle", store.Query{After: mid, Limit: 100, ReaderKeys: []string{"public"}}},
				{"audience-keys-middle", store.Query{After: mid, Limit: 100, ReaderKeys: []string{"org:1", "org:2", "group:3", "user:4"}}},
				{"audience-rare-id", store.Query{IDs: []string{fmt.Sprintf("indicator--%036d", 107)}, Limit: 100, ReaderKeys: []string{"org:7"}}},
			} {
				b.Run(tc.name, func(b *testing.B) {
					tc.q.Collection = "c"
					b.ReportAllocs()
					for b.Loop() {
						p, err := db.Query(ctx, tc.q)
						if err != nil || len(p.Versions) == 0 {
							b.Fatalf("%+v: %d rows, %v", tc.q, len(p.Versions), err)
						}
					}
				})
			}
			b.Run("current", func(b *testing.B) {
				id := fmt.Sprintf("indicator--%036d", rows/3)
				for b.Loop() {
					if _, err := db.Current(ctx, id); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// timeAt is the date_added fillDirect gives seq n.
func timeAt(n int64) time.Time { return time.UnixMicro(1_700_000_000_000_000 + n) }

// fillDirect builds a store whose collection "c" has n rows.
func fillDirect(b *testing.B, n int) *DB {
	b.Helper()
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(b.TempDir(), "q.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if err := db.CreateCollection(ctx, store.Collection{ID: "c"}); err != nil {
		b.Fatal(err)
	}
	// Objects k = 1..m; every tenth has a second version. Types: 1 in 5 is
	// a malware, the rest indicators.
	m := n * 10 / 11
	stmts := []string{
		`WITH RECURSIVE k(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM k WHERE k < ?1)
		INSERT INTO versions (pk, id, vtime, hash, type, spec_version, created, modified, revoked, body)
		SELECT k, iif(k % 5 = 0, 'malware', 'indicator') || '--' || printf('%036d', k), 1000, randomblob(32),
			iif(k % 5 = 0, 'malware', 'indicator'), '2.1', 1000, 1000, 0, randomblob(600) FROM k`,
		`INSERT INTO versions (pk, id, vtime, hash, type, spec_version, created, modified, revoked, body)
		SELECT ?1 + pk / 10, id, 2000, randomblob(32), type, '2.1', 1000, 2000, 0, randomblob(600)
		FROM versions WHERE pk % 10 = 0`,
		`INSERT INTO collection_rows (collection, seq, version_pk, type, date_added, is_first, is_last)
		SELECT 1, pk, pk, type, 1700000000000000 + pk, vtime = 1000, pk > ?1 OR pk % 10 != 0 FROM versions ORDER BY pk`,
		// Audience: every row one org of 100 and, for even seqs, public;
		// group:G and user:U list 1 row in 100 as well.
		`INSERT INTO audience (collection, key, seq)
		SELECT 1, 'org:' || (seq % 100), seq FROM collection_rows
		UNION ALL SELECT 1, 'public', seq FROM collection_rows WHERE seq % 2 = 0
		UNION ALL SELECT 1, 'group:' || (seq % 100), seq FROM collection_rows WHERE seq % 100 = 3
		UNION ALL SELECT 1, 'user:' || (seq % 100), seq FROM collection_rows WHERE seq % 100 = 4`,
		`UPDATE counter SET last_seq = (SELECT max(seq) FROM collection_rows), last_date_added = 1700000000000000 + (SELECT max(seq) FROM collection_rows)`,
		`ANALYZE`,
	}
	for _, s := range stmts {
		if _, err := db.w.ExecContext(ctx, s, m); err != nil {
			b.Fatalf("%s: %v", s, err)
		}
	}
	return db
}

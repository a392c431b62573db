package postgres

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/setu-cti/setu/internal/store"
)

// TestQueryPlans checks that every query shape TAXII uses is answered from
// an index in seq order: no sequential scan, and no sort of the whole
// collection where an index gives the order.
func TestQueryPlans(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openTest(t, testDSN(t), store.Options{})
	const coll, other = "44444444-4444-4444-8444-444444444444", "55555555-5555-4555-8555-555555555555"
	for _, id := range []string{coll, other} {
		if err := db.CreateCollection(ctx, store.Collection{ID: id}); err != nil {
			t.Fatal(err)
		}
	}
	for b := range 8 {
		var vs []store.Version
		for i := range 1000 {
			vs = append(vs, indicator(t, b*1000+i, 0))
			if i%4 == 0 {
				vs = append(vs, indicator(t, b*1000+i, 1+i%3))
			}
		}
		c := coll
		if b == 7 {
			c = other
		}
		if _, err := db.Put(ctx, c, vs); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.pool.Exec(ctx, `ANALYZE`); err != nil {
		t.Fatal(err)
	}
	k, err := db.collectionKey(ctx, coll)
	if err != nil {
		t.Fatal(err)
	}
	mid := time.Now().Add(-time.Hour)
	for _, tc := range []struct {
		name   string
		q      store.Query
		sorted bool // the index gives seq order: no Sort node
	}{
		{"last", store.Query{}, true},
		{"all", store.Query{Versions: store.VersionFilter{All: true}}, true},
		{"first", store.Query{Versions: store.VersionFilter{First: true}}, true},
		{"after cursor", store.Query{After: 5000}, true},
		{"added after", store.Query{AddedAfter: mid}, true},
		{"type last", store.Query{Types: []string{"indicator"}}, false},
		{"types all", store.Query{Types: []string{"malware", "tool"}, Versions: store.VersionFilter{All: true}}, false},
		{"ids", store.Query{IDs: []string{indicator(t, 17, 0).ID, indicator(t, 2001, 0).ID}}, false},
		{"ids all", store.Query{IDs: []string{indicator(t, 17, 0).ID}, Versions: store.VersionFilter{All: true}}, false},
		{"at", store.Query{Versions: store.VersionFilter{At: []time.Time{time.Date(2024, 3, 1, 12, 0, 0, 1e6, time.UTC)}}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := tc.q
			q.Limit = 100
			sql, args, err := querySQL(k, q)
			if err != nil {
				t.Fatal(err)
			}
			rows, _ := db.pool.Query(ctx, "EXPLAIN "+sql, args...)
			lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				t.Fatal(err)
			}
			plan := strings.Join(lines, "\n")
			if testing.Verbose() {
				t.Logf("\n%s", plan)
			}
			if strings.Contains(plan, "Seq Scan") {
				t.Errorf("plan scans a table:\n%s", plan)
			}
			if tc.sorted && strings.Contains(plan, "Sort") {
				t.Errorf("plan sorts:\n%s", plan)
			}
		})
	}
}

package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/setu-cti/setu/internal/store"
	"github.com/setu-cti/setu/internal/store/storetest"
)

// TestAudiencePlans checks that a page restricted to an audience costs what
// the reader's rows cost, not what the collection holds: in a collection of
// 8,000 rows where one key is on every row and another on a few rows at its
// end, each statement reads the audience primary key key by key, reads at
// most a chunk of candidates and looks each up by primary key, so the tuples
// a page touches stay near the page size whatever the collection holds.
func TestAudiencePlans(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openTest(t, testDSN(t), store.Options{})
	const coll = "77777777-7777-4777-8777-777777777777"
	if err := db.CreateCollection(ctx, store.Collection{ID: coll}); err != nil {
		t.Fatal(err)
	}
	for b := range 8 {
		var vs []store.Version
		for i := range 1000 {
			n := b*1000 + i
			v := indicator(t, n, 0)
			v.Submitter, v.Facts, v.Audience = "org-a", []byte(`{}`), []string{"public"}
			if n%400 == 399 { // 20 rows, spread over the collection
				v.Audience = []string{"public", "org:rare"}
			}
			if n >= 7990 { // 10 more at its end
				v.Audience = []string{"user:late"}
			}
			vs = append(vs, v)
		}
		if _, err := db.Put(ctx, coll, vs); err != nil {
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
	for _, tc := range []struct {
		name    string
		q       store.Query
		maxRead int // tuples all scans of the statement may return
	}{
		{"common key", store.Query{ReaderKeys: []string{"public"}, Versions: store.VersionFilter{All: true}}, 4 * 101},
		{"common key after cursor", store.Query{ReaderKeys: []string{"public"}, After: 6000, Versions: store.VersionFilter{All: true}}, 4 * 101},
		{"rare keys", store.Query{ReaderKeys: []string{"org:rare", "user:late", "user:none"}, Versions: store.VersionFilter{All: true}}, 4 * 101},
		{"rare and common", store.Query{ReaderKeys: []string{"org:rare", "public"}}, 5 * 101},
		{"types", store.Query{ReaderKeys: []string{"user:late"}, Types: []string{"indicator"}}, 4 * 101},
		{"added after", store.Query{ReaderKeys: []string{"user:late", "public"}, AddedAfter: time.Now().Add(-time.Hour)}, 5 * 101},
		{"ids", store.Query{ReaderKeys: []string{"org:rare"}, IDs: []string{indicator(t, 399, 0).ID, indicator(t, 17, 0).ID}}, 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := tc.q
			q.Limit = 100
			var sql string
			var args []any
			var err error
			if len(q.IDs) > 0 {
				sql, args, err = querySQL(k, q)
			} else {
				sql, args, err = audienceSQL(k, q, q.ReaderKeys, q.After, q.Limit+1, q.Limit+1)
			}
			if err != nil {
				t.Fatal(err)
			}
			var plan []byte
			if err := db.pool.QueryRow(ctx, "EXPLAIN (ANALYZE, FORMAT JSON) "+sql, args...).Scan(&plan); err != nil {
				t.Fatal(err)
			}
			var root []struct{ Plan planNode }
			if err := json.Unmarshal(plan, &root); err != nil {
				t.Fatal(err)
			}
			var read int
			var walk func(n *planNode)
			walk = func(n *planNode) {
				if n.NodeType == "Seq Scan" {
					t.Errorf("plan scans %s", n.Relation)
				}
				if strings.Contains(n.NodeType, "Scan") && n.Relation != "" {
					read += int(n.ActualRows * n.ActualLoops)
				}
				for i := range n.Plans {
					walk(&n.Plans[i])
				}
			}
			walk(&root[0].Plan)
			if read > tc.maxRead {
				t.Errorf("statement reads %d tuples, want at most %d", read, tc.maxRead)
			}
			if t.Failed() || testing.Verbose() {
				var text []string
				rows, _ := db.pool.Query(ctx, "EXPLAIN (ANALYZE, COSTS OFF) "+sql, args...)
				text, _ = pgx.CollectRows(rows, pgx.RowTo[string])
				t.Logf("%d tuples read\n%s", read, strings.Join(text, "\n"))
			}
		})
	}
}

// planNode is a node of an EXPLAIN (ANALYZE, FORMAT JSON) plan.
type planNode struct {
	NodeType    string     `json:"Node Type"`
	Relation    string     `json:"Relation Name"`
	ActualRows  float64    `json:"Actual Rows"`
	ActualLoops float64    `json:"Actual Loops"`
	Plans       []planNode `json:"Plans"`
}

// TestAudienceChunks pages a reader whose rows mostly fail another filter:
// the matches lie after many candidates, so they are reached through
// growing chunks, and the page still ends exactly where they do.
func TestAudienceChunks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openTest(t, testDSN(t), store.Options{})
	const coll = "88888888-8888-4888-8888-888888888888"
	if err := db.CreateCollection(ctx, store.Collection{ID: coll}); err != nil {
		t.Fatal(err)
	}
	var vs []store.Version
	for n := range 3000 {
		v := indicator(t, n, 0)
		v.Audience = []string{"public", "public"} // a repeated key counts once
		vs = append(vs, v)
	}
	var want []string
	for n := range 5 {
		v := storetest.NewVersion(t, fmt.Sprintf(
			`{"type":"malware","spec_version":"2.1","id":"malware--00000000-0000-4000-8000-%012d","created":"2024-03-01T12:00:00.000Z","modified":"2024-03-01T12:00:00.000Z","name":"m%d","is_family":false}`, n, n))
		v.Audience = []string{"org:x", "public"}
		vs, want = append(vs, v), append(want, v.ID)
	}
	if _, err := db.Put(ctx, coll, vs); err != nil {
		t.Fatal(err)
	}
	q := store.Query{Collection: coll, ReaderKeys: []string{"public", "user:u"}, Types: []string{"malware"}, Limit: 2}
	var got []string
	for {
		p, err := db.Query(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range p.Versions {
			got = append(got, v.ID)
		}
		if !p.More {
			break
		}
		q.After = p.Last
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// TestAudienceDelete checks that Delete removes the audience rows of the
// rows it removes, and that listing a version again lists its keys again.
func TestAudienceDelete(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openTest(t, testDSN(t), store.Options{})
	const coll = "99999999-9999-4999-8999-999999999999"
	if err := db.CreateCollection(ctx, store.Collection{ID: coll}); err != nil {
		t.Fatal(err)
	}
	var vs []store.Version
	for n := range 3 {
		for mod := range 2 {
			v := indicator(t, n, mod)
			v.Audience = []string{"node", fmt.Sprintf("org:%d", n)}
			vs = append(vs, v)
		}
	}
	if _, err := db.Put(ctx, coll, vs); err != nil {
		t.Fatal(err)
	}
	audienceRows := func() int {
		var n int
		if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM audience`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := audienceRows(); n != 12 {
		t.Fatalf("%d audience rows after Put, want 12", n)
	}
	if n, err := db.Delete(ctx, coll, vs[0].ID, store.VersionFilter{All: true}, nil); err != nil || n != 2 {
		t.Fatalf("Delete = %d, %v", n, err)
	}
	if n := audienceRows(); n != 8 {
		t.Errorf("%d audience rows after Delete, want 8", n)
	}
	// No collection row without its audience rows, nor the reverse.
	var orphans int
	if err := db.pool.QueryRow(ctx, `
		SELECT (SELECT count(*) FROM audience a
		        WHERE NOT EXISTS (SELECT 1 FROM collection_rows r WHERE r.collection = a.collection AND r.seq = a.seq))
		     + (SELECT count(*) FROM collection_rows r
		        WHERE NOT EXISTS (SELECT 1 FROM audience a WHERE a.collection = r.collection AND a.seq = r.seq))`).Scan(&orphans); err != nil {
		t.Fatal(err)
	}
	if orphans != 0 {
		t.Errorf("%d rows without their counterpart", orphans)
	}
	// Put again, with other metadata: the stored keys come back.
	again := vs[0]
	again.Audience = []string{"public"}
	if _, err := db.Put(ctx, coll, []store.Version{again}); err != nil {
		t.Fatal(err)
	}
	p, err := db.Query(ctx, store.Query{Collection: coll, ReaderKeys: []string{"org:0"}, Versions: store.VersionFilter{All: true}, Limit: 10})
	if err != nil || len(p.Versions) != 1 || p.Versions[0].ID != vs[0].ID {
		t.Errorf("after listing again: %+v, %v", p.Versions, err)
	}
}

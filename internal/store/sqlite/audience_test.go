package sqlite

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/setu-cti/setu/internal/store"
	"github.com/setu-cti/setu/internal/store/storetest"
)

const audColl = "44444444-4444-4444-8444-444444444444"

func audVersion(t *testing.T, n, mod int, keys ...string) store.Version {
	t.Helper()
	v := storetest.NewVersion(t, fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-%012d",`+
		`"created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:%02d.000Z","pattern":"[ipv4-addr:value = '192.0.2.1']"}`, n, mod))
	v.Audience = keys
	v.Submitter = "org-x"
	return v
}

func openAud(t *testing.T) *DB {
	t.Helper()
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "aud.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.CreateCollection(context.Background(), store.Collection{ID: audColl, Title: "aud"}); err != nil {
		t.Fatal(err)
	}
	return db
}

// audienceRows lists the audience table as "key@seq", in key then seq order.
func audienceRows(t *testing.T, db *DB) []string {
	t.Helper()
	rows, err := db.r.Query(`SELECT key, seq FROM audience ORDER BY collection, key, seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var k string
		var seq int64
		if err := rows.Scan(&k, &seq); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s@%d", k, seq))
	}
	return out
}

func pageAll(t *testing.T, db *DB, q store.Query) []int64 {
	t.Helper()
	var seqs []int64
	for {
		p, err := db.Query(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range p.Versions {
			seqs = append(seqs, v.Seq)
		}
		if !p.More {
			return seqs
		}
		q.After = p.Last
	}
}

// TestAudienceRows checks the audience rows Put and Delete keep: one per
// row and distinct key, written in chunks and one by one, removed with the
// row and given back, with the first store's keys, when the version is
// listed again.
func TestAudienceRows(t *testing.T) {
	ctx := context.Background()
	db := openAud(t)
	var vs []store.Version
	var want []string
	n := audienceChunk + 7 // a full chunk and a remainder
	for i := range n {
		vs = append(vs, audVersion(t, i, 0, "node", "org:a", "node")) // a repeated key counts once
		want = append(want, fmt.Sprintf("node@%d", i+1), fmt.Sprintf("org:a@%d", i+1))
	}
	if _, err := db.Put(ctx, audColl, vs); err != nil {
		t.Fatal(err)
	}
	slices.Sort(want)
	got := audienceRows(t, db)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("audience rows: %d, want %d", len(got), len(want))
	}

	if _, err := db.Delete(ctx, audColl, vs[0].ID, store.VersionFilter{}, nil); err != nil {
		t.Fatal(err)
	}
	if got := audienceRows(t, db); slices.Contains(got, "node@1") || slices.Contains(got, "org:a@1") || len(got) != 2*(n-1) {
		t.Fatalf("after delete: %d rows, row 1 still listed: %v", len(got), slices.Contains(got, "node@1"))
	}
	again := vs[0]
	again.Audience = []string{"public"}
	rs, err := db.Put(ctx, audColl, []store.Version{again})
	if err != nil || rs[0].Outcome != store.Added {
		t.Fatalf("put again: %+v, %v", rs, err)
	}
	seq := rs[0].Seq
	got = audienceRows(t, db)
	if !slices.Contains(got, fmt.Sprintf("node@%d", seq)) || !slices.Contains(got, fmt.Sprintf("org:a@%d", seq)) ||
		slices.Contains(got, fmt.Sprintf("public@%d", seq)) {
		t.Errorf("listed again with other keys than the first store's")
	}
	if err := db.IntegrityCheck(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestAudienceManyKeys checks a reader with more keys than one scan merges:
// the scans' pages are merged, a row listed under keys of two scans comes
// once, and paging is exact at every limit.
func TestAudienceManyKeys(t *testing.T) {
	ctx := context.Background()
	db := openAud(t)
	var reader []string
	for i := range 2*maxScanKeys + 5 {
		reader = append(reader, fmt.Sprintf("group:%03d", i))
	}
	var vs []store.Version
	var want []int64
	for i := range 200 {
		var keys []string
		switch i % 4 {
		case 0: // one of the reader's keys
			keys = []string{reader[i%len(reader)]}
		case 1: // keys in the first and the last scan
			keys = []string{reader[0], reader[len(reader)-1], "user:other"}
		case 2: // nobody the reader is
			keys = []string{"user:other"}
		case 3: // none
		}
		vs = append(vs, audVersion(t, i, 0, keys...))
		if i%4 < 2 {
			want = append(want, int64(i+1))
		}
	}
	if _, err := db.Put(ctx, audColl, vs); err != nil {
		t.Fatal(err)
	}
	for _, limit := range []int{1, 3, 50, 500} {
		got := pageAll(t, db, store.Query{Collection: audColl, ReaderKeys: reader, Limit: limit})
		if !slices.Equal(got, want) {
			t.Errorf("limit %d: got %v\nwant %v", limit, got, want)
		}
	}
}

// TestAudienceMigration opens a store written before the audience schema:
// its versions read with no metadata, audience-filtered reads do not list
// them, and new versions get rows.
func TestAudienceMigration(t *testing.T) {
	ctx := context.Background()
	// The embedded migrations before this one, whatever their number.
	before := fstest.MapFS{}
	names, err := fs.Glob(migrationFiles, "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if strings.HasSuffix(n, "_audience.sql") {
			break
		}
		b, _ := fs.ReadFile(migrationFiles, n)
		before[n] = &fstest.MapFile{Data: b}
	}
	path := filepath.Join(t.TempDir(), "old.db")
	if _, _, err := migratePath(ctx, path, before); err != nil {
		t.Fatal(err)
	}
	// This binary's statements need the new schema: write the old one by hand.
	old, err := openWriter(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.Exec(`INSERT INTO collections (id, title, description, media_types, created) VALUES (?, 'aud', '', '[]', 0)`, audColl); err != nil {
		t.Fatal(err)
	}
	v := audVersion(t, 1, 0)
	if _, err := old.Exec(`INSERT INTO versions (id, vtime, hash, type, spec_version, created, modified, revoked, body)
		VALUES (?, ?, ?, 'indicator', '2.1', ?, ?, 0, ?)`, v.ID, v.Modified.UnixNano(), v.Hash[:], v.Created.UnixNano(), v.Modified.UnixNano(), v.Body); err != nil {
		t.Fatal(err)
	}
	if _, err := old.Exec(`INSERT INTO collection_rows VALUES (1, 1, 1, 'indicator', 1, 1, 1); UPDATE counter SET last_seq = 1, last_date_added = 1`); err != nil {
		t.Fatal(err)
	}
	old.Close()

	db, err := Open(ctx, path, store.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p, err := db.Query(ctx, store.Query{Collection: audColl, Limit: 10, NoBody: true})
	if err != nil || len(p.Versions) != 1 || p.Versions[0].Submitter != "" || p.Versions[0].Facts != nil {
		t.Fatalf("old version: %+v, %v", p.Versions, err)
	}
	if got := pageAll(t, db, store.Query{Collection: audColl, ReaderKeys: []string{"node"}, Limit: 10}); len(got) != 0 {
		t.Errorf("old version listed under a key: %v", got)
	}
	// Listed in another collection, it still has no keys.
	if err := db.CreateCollection(ctx, store.Collection{ID: "55555555-5555-4555-8555-555555555555", Title: "b"}); err != nil {
		t.Fatal(err)
	}
	if rs, err := db.Put(ctx, "55555555-5555-4555-8555-555555555555", []store.Version{audVersion(t, 1, 0, "node"), audVersion(t, 2, 0, "node")}); err != nil ||
		rs[0].Outcome != store.Added || rs[1].Outcome != store.Added {
		t.Fatalf("put: %+v, %v", rs, err)
	}
	if got := audienceRows(t, db); !slices.Equal(got, []string{"node@3"}) {
		t.Errorf("audience rows %v, want the new version's only", got)
	}
}

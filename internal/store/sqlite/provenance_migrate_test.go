package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/setu-cti/setu/internal/store"
	"github.com/setu-cti/setu/internal/store/storetest"
)

// TestProvenanceByVersionMigration stores provenance under the old text
// keys (object id, '@', RFC 3339 version time or the SCO's content hash)
// and checks that the migration keeps each record with its version.
func TestProvenanceByVersionMigration(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "p.db")
	db, err := open(ctx, path, store.Options{Migrate: true}, upTo(t, 11))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CreateCollection(ctx, store.Collection{ID: "11111111-1111-4111-8111-111111111111", Title: "A"}); err != nil {
		t.Fatal(err)
	}
	vs := storetest.LegacyProvenanceVersions(t)
	rs, err := db.Put(ctx, "11111111-1111-4111-8111-111111111111", vs)
	if err != nil {
		t.Fatal(err)
	}
	var want []store.ProvenanceRecord
	for i, v := range vs {
		rec := []byte(fmt.Sprintf(`{"n":%d}`, i))
		if _, err := db.w.ExecContext(ctx, `INSERT INTO provenance (key, route, record, shared) VALUES (?, '', ?, NULL), (?, 'KR', ?, ?)`,
			storetest.LegacyProvenanceKey(v), rec, storetest.LegacyProvenanceKey(v), rec, []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
		want = append(want,
			store.ProvenanceRecord{Version: rs[i].Ref, Record: rec},
			store.ProvenanceRecord{Version: rs[i].Ref, Route: "KR", Record: rec, Shared: []byte{byte(i)}})
	}
	for _, k := range storetest.LegacyProvenanceStrays(vs) {
		if _, err := db.w.ExecContext(ctx, `INSERT INTO provenance (key, route, record) VALUES (?, '', 'x')`, k); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	if _, _, err := migratePath(ctx, path, upTo(t, 12)); err != nil {
		t.Fatal(err)
	}
	db, err = open(ctx, path, store.Options{}, upTo(t, 12))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var got []store.ProvenanceRecord
	rows, err := db.r.QueryContext(ctx, `SELECT version_pk, route, record, shared FROM provenance ORDER BY version_pk, route`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var r store.ProvenanceRecord
		if err := rows.Scan(&r.Version, &r.Route, &r.Record, &r.Shared); err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("provenance after the migration (-want +got):\n%s", diff)
	}
}

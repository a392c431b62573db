package postgres

import (
	"context"
	"fmt"
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
	dsn := testDSN(t)
	var before []migration
	for _, m := range migrations {
		if m.version <= 11 {
			before = append(before, m)
		}
	}
	db, err := open(ctx, dsn, store.Options{Migrate: true}, before)
	if err != nil {
		t.Fatal(err)
	}
	const coll = "11111111-1111-4111-8111-111111111111"
	if err := db.CreateCollection(ctx, store.Collection{ID: coll, Title: "A"}); err != nil {
		t.Fatal(err)
	}
	vs := storetest.LegacyProvenanceVersions(t)
	rs, err := db.Put(ctx, coll, vs)
	if err != nil {
		t.Fatal(err)
	}
	var want []store.ProvenanceRecord
	for i, v := range vs {
		rec := []byte(fmt.Sprintf(`{"n":%d}`, i))
		if _, err := db.pool.Exec(ctx, `INSERT INTO provenance (key, route, record, shared) VALUES ($1, '', $2, NULL), ($1, 'KR', $2, $3)`,
			storetest.LegacyProvenanceKey(v), rec, []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
		want = append(want,
			store.ProvenanceRecord{Version: rs[i].Ref, Record: rec},
			store.ProvenanceRecord{Version: rs[i].Ref, Route: "KR", Record: rec, Shared: []byte{byte(i)}})
	}
	for _, k := range storetest.LegacyProvenanceStrays(vs) {
		if _, err := db.pool.Exec(ctx, `INSERT INTO provenance (key, route, record) VALUES ($1, '', 'x')`, k); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	db = openTest(t, dsn, store.Options{Migrate: true})
	rows, err := db.pool.Query(ctx, `SELECT version_pk, route, record, shared FROM provenance ORDER BY version_pk, route`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []store.ProvenanceRecord
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

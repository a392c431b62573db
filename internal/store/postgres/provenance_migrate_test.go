package postgres

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

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
	sdo := func(n int, modified string) store.Version {
		return storetest.NewVersion(t, fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-%012d","created":"1969-01-01T00:00:00Z","modified":%q}`, n, modified))
	}
	vs := []store.Version{
		sdo(1, "2016-05-12T08:17:27.123Z"),
		sdo(2, "2016-05-12T08:17:27Z"),
		sdo(3, "2016-05-12T08:17:27.000000001Z"),
		sdo(4, "1969-12-31T23:59:59.5Z"), // before the epoch: a negative version time
		storetest.NewVersion(t, `{"type":"marking-definition","spec_version":"2.1","id":"marking-definition--00000000-0000-4000-8000-000000000005","created":"2017-01-20T00:00:00.000Z","definition_type":"statement","definition":{"statement":"x"}}`),
		storetest.NewVersion(t, `{"type":"ipv4-addr","spec_version":"2.1","id":"ipv4-addr--00000000-0000-4000-8000-000000000006","value":"192.0.2.1"}`),
	}
	rs, err := db.Put(ctx, coll, vs)
	if err != nil {
		t.Fatal(err)
	}
	oldKey := func(v store.Version) string {
		switch {
		case !v.Modified.IsZero():
			return v.ID + "@" + v.Modified.UTC().Format(time.RFC3339Nano)
		case !v.Created.IsZero():
			return v.ID + "@" + v.Created.UTC().Format(time.RFC3339Nano)
		}
		return fmt.Sprintf("%s@sha256:%x", v.ID, v.Hash)
	}
	var want []store.ProvenanceRecord
	for i, v := range vs {
		rec := []byte(fmt.Sprintf(`{"n":%d}`, i))
		if _, err := db.pool.Exec(ctx, `INSERT INTO provenance (key, route, record, shared) VALUES ($1, '', $2, NULL), ($1, 'KR', $2, $3)`,
			oldKey(v), rec, []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
		want = append(want,
			store.ProvenanceRecord{Version: rs[i].Ref, Record: rec},
			store.ProvenanceRecord{Version: rs[i].Ref, Route: "KR", Record: rec, Shared: []byte{byte(i)}})
	}
	for _, k := range []string{"indicator--00000000-0000-4000-8000-000000000009@2016-05-12T08:17:27Z", strings.Replace(oldKey(vs[0]), ".123Z", ".12Z", 1)} {
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

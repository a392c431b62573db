package sqlite

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/setu-cti/setu/internal/store"
	"github.com/setu-cti/setu/internal/store/storetest"
)

// upTo returns the embedded migrations numbered up to last.
func upTo(t *testing.T, last int) fs.FS {
	t.Helper()
	m := fstest.MapFS{}
	names, err := fs.Glob(migrationFiles, "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		var v int
		if _, err := fmt.Sscanf(n, "%04d_", &v); err != nil {
			t.Fatal(err)
		}
		if v > last {
			continue
		}
		b, err := fs.ReadFile(migrationFiles, n)
		if err != nil {
			t.Fatal(err)
		}
		m[n] = &fstest.MapFile{Data: b}
	}
	return m
}

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
	rs, err := db.Put(ctx, "11111111-1111-4111-8111-111111111111", vs)
	if err != nil {
		t.Fatal(err)
	}
	// The old key, as the federation package made it.
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
		if _, err := db.w.ExecContext(ctx, `INSERT INTO provenance (key, route, record, shared) VALUES (?, '', ?, NULL), (?, 'KR', ?, ?)`,
			oldKey(v), rec, oldKey(v), rec, []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
		want = append(want,
			store.ProvenanceRecord{Version: rs[i].Ref, Record: rec},
			store.ProvenanceRecord{Version: rs[i].Ref, Route: "KR", Record: rec, Shared: []byte{byte(i)}})
	}
	// A record whose version is not stored, and one whose time is close
	// to a stored version's but not equal, prove nothing.
	for _, k := range []string{"indicator--00000000-0000-4000-8000-000000000009@2016-05-12T08:17:27Z", strings.Replace(oldKey(vs[0]), ".123Z", ".12Z", 1)} {
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

package sqlite

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/setu-cti/setu/internal/store"
	"github.com/setu-cti/setu/internal/store/storetest"
)

// migrationNumber is the number of the migration whose file name ends in
// suffix, read from the embedded migrations (the number may change when
// branches are merged).
func migrationNumber(t *testing.T, suffix string) int {
	t.Helper()
	names, err := fs.Glob(migrationFiles, "*"+suffix)
	if err != nil || len(names) != 1 {
		t.Fatalf("migration *%s: %v %v", suffix, names, err)
	}
	var n int
	if _, err := fmt.Sscanf(names[0], "%04d_", &n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestRelationsMigration: relationships stored before the relations table
// existed are recorded by its migration, the kinds the write path indexes
// and no others.
func TestRelationsMigration(t *testing.T) {
	ctx := context.Background()
	n := migrationNumber(t, "_relations.sql")
	path := filepath.Join(t.TempDir(), "r.db")
	db, err := open(ctx, path, store.Options{Migrate: true}, upTo(t, n-1))
	if err != nil {
		t.Fatal(err)
	}
	const coll = "11111111-1111-4111-8111-111111111111"
	if err := db.CreateCollection(ctx, store.Collection{ID: coll, Title: "A"}); err != nil {
		t.Fatal(err)
	}
	rel := func(id, kind string) store.Version {
		return storetest.NewVersion(t, `{"type":"relationship","spec_version":"2.1","id":"relationship--`+id+`","created":"2024-01-01T00:00:00.000Z",`+
			`"modified":"2024-01-01T00:00:00.000Z","relationship_type":"`+kind+`","source_ref":"indicator--`+id+`","target_ref":"malware--`+id+`"}`)
	}
	if _, err := db.Put(ctx, coll, []store.Version{rel("00000000-0000-4000-8000-000000000001", "indicates"),
		rel("00000000-0000-4000-8000-000000000002", "uses")}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err = Open(ctx, path, store.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got, err := db.RelationsOf(ctx, []string{"indicator--00000000-0000-4000-8000-000000000001", "indicator--00000000-0000-4000-8000-000000000002"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Kind != "indicates" || !strings.HasSuffix(got[0].Target, "0001") || got[0].VersionTime.IsZero() {
		t.Errorf("recorded %+v", got)
	}
}

package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/setu-cti/setu/internal/store"
	"github.com/setu-cti/setu/internal/store/sqlite"
	"github.com/setu-cti/setu/internal/store/storetest"
)

func openTemp(t *testing.T, opts store.Options) store.Store {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "setu.db"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	return db
}

func TestConformance(t *testing.T) {
	storetest.Run(t, openTemp)
}

var _ storetest.Node = (*sqlite.DB)(nil)

func TestNode(t *testing.T) {
	storetest.RunNode(t, openTemp)
}

// TestDurable checks that what Put returned survives closing and reopening,
// and that a reopened store continues the sequence.
func TestDurable(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "setu.db")
	db, err := sqlite.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const coll = "11111111-1111-4111-8111-111111111111"
	if err := db.CreateCollection(ctx, store.Collection{ID: coll, Alias: "a", Title: "A"}); err != nil {
		t.Fatal(err)
	}
	v := storetest.NewVersion(t, `{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-000000000001","created":"2024-01-01T00:00:00.000Z","modified":"2024-01-02T00:00:00.000Z","pattern":"[ipv4-addr:value = '192.0.2.1']"}`)
	rs, err := db.Put(ctx, coll, []store.Version{v})
	if err != nil || rs[0].Outcome != store.Added {
		t.Fatalf("Put = %v, %v", rs, err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db, err = sqlite.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got, err := db.Current(ctx, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Body) != string(v.Body) || got.Hash != v.Hash || !got.Modified.Equal(v.Modified) {
		t.Errorf("after reopening: %+v", got)
	}
	if c, err := db.Collection(ctx, "a"); err != nil || c.ID != coll {
		t.Errorf("Collection after reopening = %+v, %v", c, err)
	}
	p, err := db.Query(ctx, store.Query{Collection: coll, Limit: 10})
	if err != nil || len(p.Versions) != 1 || p.Versions[0].Seq != rs[0].Seq || !p.Versions[0].DateAdded.Equal(rs[0].DateAdded) {
		t.Fatalf("Query after reopening = %+v, %v", p, err)
	}
	v2 := storetest.NewVersion(t, `{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-000000000001","created":"2024-01-01T00:00:00.000Z","modified":"2024-01-03T00:00:00.000Z","pattern":"[ipv4-addr:value = '192.0.2.1']"}`)
	rs2, err := db.Put(ctx, coll, []store.Version{v, v2})
	if err != nil {
		t.Fatal(err)
	}
	if rs2[0].Outcome != store.Duplicate || rs2[1].Outcome != store.Added || rs2[1].Seq <= rs[0].Seq || !rs2[1].DateAdded.After(rs[0].DateAdded) {
		t.Errorf("Put after reopening = %+v", rs2)
	}
	cur, latest, err := db.SchemaVersion(ctx)
	if err != nil || cur != latest || cur < 1 {
		t.Errorf("SchemaVersion = %d, %d, %v", cur, latest, err)
	}
}

// TestPath checks that a path is used as a file name, whatever characters
// it holds: the driver takes a URI, so they must be escaped.
func TestPath(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "a b#c%20d?e=f&g")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "setu.db")
	db, err := sqlite.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database not at its path: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Dir(dir))
	if len(entries) != 1 {
		t.Errorf("files created outside the directory: %v", entries)
	}
}

func TestIntegrityCheck(t *testing.T) {
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "ic.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.IntegrityCheck(context.Background()); err != nil {
		t.Fatalf("fresh database: %v", err)
	}
}

package sqlite

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/setu-cti/setu/internal/store"
)

// withExtra returns the embedded migrations plus later ones.
func withExtra(t *testing.T, extra map[string]string) fs.FS {
	t.Helper()
	m := upTo(t, math.MaxInt)
	for n, s := range extra {
		m[n] = &fstest.MapFile{Data: []byte(s)}
	}
	return m
}

// upTo returns the embedded migrations numbered up to last.
func upTo(t *testing.T, last int) fstest.MapFS {
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

func latest(t *testing.T) int {
	ms, err := loadMigrations(migrationFiles)
	if err != nil {
		t.Fatal(err)
	}
	return len(ms)
}

func tableExists(t *testing.T, db *DB, name string) bool {
	t.Helper()
	var n int
	if err := db.r.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?`, name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n > 0
}

func TestMigrations(t *testing.T) {
	ctx := context.Background()
	n := latest(t)
	// One more migration, numbered after the embedded ones.
	extraName := func(k int) string { return fmt.Sprintf("%04d_extra.sql", n+k) }
	mfs := withExtra(t, map[string]string{
		extraName(1): `CREATE TABLE extra (x INTEGER); INSERT INTO extra VALUES (42);`,
	})

	t.Run("empty database is initialised", func(t *testing.T) {
		db, err := Open(ctx, filepath.Join(t.TempDir(), "a.db"), store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		cur, lat, err := db.SchemaVersion(ctx)
		if err != nil || cur != n || lat != n {
			t.Fatalf("SchemaVersion = %d, %d, %v; want %d, %d", cur, lat, err, n, n)
		}
	})
	t.Run("behind is refused unless migrating", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "b.db")
		db, err := Open(ctx, path, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		db.Close()
		if _, err := open(ctx, path, store.Options{}, mfs); !errors.Is(err, store.ErrSchemaBehind) {
			t.Fatalf("open behind: %v, want ErrSchemaBehind", err)
		}
		db, err = open(ctx, path, store.Options{Migrate: true}, mfs)
		if err != nil {
			t.Fatalf("open with Migrate: %v", err)
		}
		defer db.Close()
		if !tableExists(t, db, "extra") {
			t.Error("migration not applied")
		}
		var v int
		if err := db.r.QueryRow(`SELECT max(version) FROM schema_migrations`).Scan(&v); err != nil || v != n+1 {
			t.Errorf("recorded version %d, %v; want %d", v, err, n+1)
		}
	})
	t.Run("Migrate", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "c.db")
		from, to, err := migratePath(ctx, path, migrationFiles)
		if err != nil || from != 0 || to != n {
			t.Fatalf("Migrate empty = %d, %d, %v; want 0, %d", from, to, err, n)
		}
		from, to, err = migratePath(ctx, path, mfs)
		if err != nil || from != n || to != n+1 {
			t.Fatalf("Migrate behind = %d, %d, %v; want %d, %d", from, to, err, n, n+1)
		}
		from, to, err = migratePath(ctx, path, mfs)
		if err != nil || from != n+1 || to != n+1 {
			t.Fatalf("Migrate current = %d, %d, %v", from, to, err)
		}
	})
	t.Run("ahead is refused", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "d.db")
		if _, _, err := migratePath(ctx, path, mfs); err != nil {
			t.Fatal(err)
		}
		if _, err := Open(ctx, path, store.Options{}); !errors.Is(err, store.ErrSchemaAhead) {
			t.Fatalf("Open ahead: %v, want ErrSchemaAhead", err)
		}
		if _, err := Open(ctx, path, store.Options{Migrate: true}); !errors.Is(err, store.ErrSchemaAhead) {
			t.Fatalf("Open ahead with Migrate: %v, want ErrSchemaAhead", err)
		}
		if _, _, err := Migrate(ctx, path); !errors.Is(err, store.ErrSchemaAhead) {
			t.Fatalf("Migrate ahead: %v, want ErrSchemaAhead", err)
		}
	})
	t.Run("failed migration leaves the previous version", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "e.db")
		if _, _, err := Migrate(ctx, path); err != nil {
			t.Fatal(err)
		}
		bad := withExtra(t, map[string]string{
			extraName(1): `CREATE TABLE extra (x INTEGER);`,
			extraName(2): `CREATE TABLE half (x INTEGER); INSERT INTO nowhere VALUES (1);`,
		})
		if _, _, err := migratePath(ctx, path, bad); err == nil {
			t.Fatal("broken migration succeeded")
		}
		db, err := open(ctx, path, store.Options{}, withExtra(t, map[string]string{extraName(1): `CREATE TABLE extra (x INTEGER);`}))
		if err != nil {
			t.Fatalf("open at the last good version: %v", err)
		}
		defer db.Close()
		if tableExists(t, db, "half") {
			t.Error("part of the failed migration was kept")
		}
		if !tableExists(t, db, "extra") {
			t.Error("the migration before the failed one was lost")
		}
	})
	t.Run("numbering", func(t *testing.T) {
		for _, tc := range []struct {
			name  string
			files map[string]string
		}{
			{"gap", map[string]string{"0001_a.sql": "", "0003_c.sql": ""}},
			{"no number", map[string]string{"init.sql": ""}},
			{"zero", map[string]string{"0000_a.sql": ""}},
			{"twice", map[string]string{"0001_a.sql": "", "1_b.sql": ""}},
		} {
			m := fstest.MapFS{}
			for k, v := range tc.files {
				m[k] = &fstest.MapFile{Data: []byte(v)}
			}
			if _, err := loadMigrations(m); err == nil {
				t.Errorf("%s: accepted", tc.name)
			}
		}
		if _, err := loadMigrations(migrationFiles); err != nil {
			t.Errorf("embedded migrations: %v", err)
		}
	})
}

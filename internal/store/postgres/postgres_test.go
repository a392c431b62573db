package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/setu-cti/setu/internal/store"
	"github.com/setu-cti/setu/internal/store/storetest"
)

// testDSN returns a DSN for a fresh schema of the database named by
// SETU_TEST_POSTGRES_DSN, dropped when the test ends, so tests run in
// parallel and leave nothing behind. It skips the test when the variable is
// unset.
func testDSN(t testing.TB) string {
	t.Helper()
	base := os.Getenv("SETU_TEST_POSTGRES_DSN")
	if base == "" {
		t.Skip("SETU_TEST_POSTGRES_DSN is not set (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable); skipping PostgreSQL tests")
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect to SETU_TEST_POSTGRES_DSN: %v", err)
	}
	defer conn.Close(ctx)
	b := make([]byte, 8)
	rand.Read(b)
	schema := "setu_test_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return withSearchPath(t, base, schema)
}

// withSearchPath sets the search_path run-time parameter in a URL or
// key=value DSN.
func withSearchPath(t testing.TB, dsn, schema string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " search_path=" + schema
}

func openTest(t testing.TB, dsn string, opts store.Options) *DB {
	t.Helper()
	db, err := Open(context.Background(), dsn, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T, opts store.Options) store.Store {
		return openTest(t, testDSN(t), opts)
	})
}

func TestNode(t *testing.T) {
	storetest.RunNode(t, func(t *testing.T, opts store.Options) store.Store {
		return openTest(t, testDSN(t), opts)
	})
}

// Migrations a newer binary would have: the real ones and one more.
func newerMigrations() []migration {
	return append(append([]migration(nil), migrations...), migration{
		version: len(migrations) + 1,
		name:    "9999_test.sql",
		sql:     `CREATE TABLE migration_test (x integer); INSERT INTO migration_test VALUES (42);`,
	})
}

func TestSchemaVersion(t *testing.T) {
	ctx := context.Background()
	t.Run("empty database is initialised", func(t *testing.T) {
		db := openTest(t, testDSN(t), store.Options{})
		cur, latest, err := db.SchemaVersion(ctx)
		if err != nil || cur != latest || latest != len(migrations) {
			t.Fatalf("SchemaVersion = %d, %d, %v; want %d, %d", cur, latest, err, len(migrations), len(migrations))
		}
	})
	t.Run("behind", func(t *testing.T) {
		dsn := testDSN(t)
		openTest(t, dsn, store.Options{}).Close()
		newer := newerMigrations()
		if _, err := open(ctx, dsn, store.Options{}, newer); !errors.Is(err, store.ErrSchemaBehind) {
			t.Fatalf("open behind without Migrate: %v, want ErrSchemaBehind", err)
		}
		db, err := open(ctx, dsn, store.Options{Migrate: true}, newer)
		if err != nil {
			t.Fatalf("open behind with Migrate: %v", err)
		}
		defer db.Close()
		cur, latest, err := db.SchemaVersion(ctx)
		if err != nil || cur != len(newer) || latest != len(newer) {
			t.Fatalf("SchemaVersion = %d, %d, %v; want %d", cur, latest, err, len(newer))
		}
		var x int
		if err := db.pool.QueryRow(ctx, `SELECT x FROM migration_test`).Scan(&x); err != nil || x != 42 {
			t.Fatalf("migration not applied: %d, %v", x, err)
		}
	})
	t.Run("ahead", func(t *testing.T) {
		dsn := testDSN(t)
		db, err := open(ctx, dsn, store.Options{}, newerMigrations())
		if err != nil {
			t.Fatal(err)
		}
		db.Close()
		for _, migrate := range []bool{false, true} {
			if _, err := Open(ctx, dsn, store.Options{Migrate: migrate}); !errors.Is(err, store.ErrSchemaAhead) {
				t.Errorf("Open ahead (Migrate %v): %v, want ErrSchemaAhead", migrate, err)
			}
		}
	})
	t.Run("concurrent opens migrate once", func(t *testing.T) {
		dsn := testDSN(t)
		const n = 6
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// Half play the newer binary, so both files race.
				ms := migrations
				if i%2 == 1 {
					ms = newerMigrations()
				}
				db, err := open(ctx, dsn, store.Options{Migrate: true}, ms)
				if err == nil {
					db.Close()
				}
				errs[i] = err
			}()
		}
		wg.Wait()
		for i, err := range errs {
			// An older binary may find the schema already ahead of it.
			if err != nil && !(i%2 == 0 && errors.Is(err, store.ErrSchemaAhead)) {
				t.Errorf("open %d: %v", i, err)
			}
		}
		db, err := open(ctx, dsn, store.Options{}, newerMigrations())
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var versions, rows, counters int
		err = db.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM schema_migrations), (SELECT count(*) FROM migration_test), (SELECT count(*) FROM counter)`).Scan(&versions, &rows, &counters)
		if err != nil || versions != len(newerMigrations()) || rows != 1 || counters != 1 {
			t.Fatalf("schema_migrations rows %d, migration_test rows %d, counter rows %d, err %v; want %d, 1, 1",
				versions, rows, counters, err, len(newerMigrations()))
		}
	})
	t.Run("Migrate", func(t *testing.T) {
		dsn := testDSN(t)
		for _, want := range [][2]int{{0, len(migrations)}, {len(migrations), len(migrations)}} {
			from, to, err := Migrate(ctx, dsn)
			if err != nil || from != want[0] || to != want[1] {
				t.Fatalf("Migrate = %d, %d, %v; want %d, %d", from, to, err, want[0], want[1])
			}
		}
		pool, err := connect(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer pool.Close()
		if _, _, err := migrate(ctx, pool, newerMigrations(), false); !errors.Is(err, store.ErrSchemaBehind) {
			t.Fatalf("migrate behind without upgrade: %v, want ErrSchemaBehind", err)
		}
		if from, to, err := migrate(ctx, pool, newerMigrations(), true); err != nil || from != len(migrations) || to != len(migrations)+1 {
			t.Fatalf("migrate newer = %d, %d, %v", from, to, err)
		}
		if _, _, err := Migrate(ctx, dsn); !errors.Is(err, store.ErrSchemaAhead) {
			t.Fatalf("Migrate ahead: %v, want ErrSchemaAhead", err)
		}
	})
}

func TestMigrationNames(t *testing.T) {
	if migrationsErr != nil {
		t.Fatal(migrationsErr)
	}
	if len(migrations) == 0 || migrations[0].version != 1 {
		t.Fatalf("migrations = %v", migrations)
	}
}

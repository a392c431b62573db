// Package pgtest gives tests outside the PostgreSQL backend a fresh,
// isolated PostgreSQL store: each call creates its own schema in the
// database named by SETU_TEST_POSTGRES_DSN and drops it when the test ends,
// so tests run in parallel and leave nothing behind. Without the variable,
// the test is skipped with a message saying how to enable it.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/setu-cti/setu/internal/store"
	"github.com/setu-cti/setu/internal/store/postgres"
)

// EnvDSN names the environment variable holding the test server's DSN.
const EnvDSN = "SETU_TEST_POSTGRES_DSN"

// DSN returns a DSN whose search_path is a fresh schema, dropped at cleanup.
func DSN(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvDSN)
	if base == "" {
		t.Skip(EnvDSN + " is not set (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable); skipping PostgreSQL tests")
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connecting to %s: %v", EnvDSN, err)
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
			t.Errorf("dropping schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
		}
	})
	if strings.HasPrefix(base, "postgres://") || strings.HasPrefix(base, "postgresql://") {
		u, err := url.Parse(base)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return base + " search_path=" + schema
}

// Open opens a migrated store in a fresh schema, closed at cleanup.
func Open(t testing.TB, opts store.Options) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), DSN(t), opts)
	if err != nil {
		t.Fatalf("opening PostgreSQL store: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

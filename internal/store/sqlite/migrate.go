package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/setu-cti/setu/internal/store"
)

//go:embed migrations/*.sql
var embedded embed.FS

// migrationFiles holds the NNNN_name.sql files at its root.
var migrationFiles = func() fs.FS {
	f, err := fs.Sub(embedded, "migrations")
	if err != nil {
		panic(err)
	}
	return f
}()

type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations reads NNNN_name.sql files. Versions must run 1, 2, 3, …
// without gaps, so a missing or misnumbered file is caught at build time
// by the tests rather than at a customer's upgrade.
func loadMigrations(fsys fs.FS) ([]migration, error) {
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, name := range names {
		num, _, ok := strings.Cut(path.Base(name), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("sqlite: migration %q: name must be NNNN_name.sql", name)
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{v, name, string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("sqlite: migration %q: expected version %d", m.name, i+1)
		}
	}
	return ms, nil
}

// SchemaVersion reports the database's schema version and the latest this
// binary knows.
func (db *DB) SchemaVersion(ctx context.Context) (current, latest int, err error) {
	ms, err := loadMigrations(migrationFiles)
	if err != nil {
		return 0, 0, err
	}
	current, err = schemaVersion(ctx, db.r)
	return current, len(ms), err
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// schemaVersion is 0 for a database without the schema_migrations table.
func schemaVersion(ctx context.Context, q querier) (int, error) {
	var n int
	err := q.QueryRowContext(ctx,
		`SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&n)
	if err != nil || n == 0 {
		return 0, wrapErr("schema version", err)
	}
	var v int
	err = q.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&v)
	return v, wrapErr("schema version", err)
}

// migrate brings the schema to the latest version. A database at version 0
// is always initialised; a later one is migrated only if upgrade is set.
// Each migration runs in its own write transaction (BEGIN IMMEDIATE, the
// writer's default), which is also the lock: two processes migrating at once
// serialise, and the second sees the version the first recorded.
func migrate(ctx context.Context, w *sql.DB, fsys fs.FS, upgrade bool) (from, to int, err error) {
	ms, err := loadMigrations(fsys)
	if err != nil {
		return 0, 0, err
	}
	latest := len(ms)
	from, err = schemaVersion(ctx, w)
	if err != nil {
		return 0, 0, err
	}
	switch {
	case from > latest:
		return from, from, fmt.Errorf("schema version %d, this binary knows %d: %w", from, latest, store.ErrSchemaAhead)
	case from > 0 && from < latest && !upgrade:
		return from, from, fmt.Errorf("schema version %d, this binary needs %d: %w", from, latest, store.ErrSchemaBehind)
	}
	if from == latest {
		return from, from, nil
	}
	to = from
	for {
		done, v, err := migrateOne(ctx, w, ms)
		if err != nil {
			return from, to, err
		}
		to = v
		if done {
			return from, to, nil
		}
	}
}

// migrateOne applies the next pending migration, if any, re-reading the
// version under the write lock.
func migrateOne(ctx context.Context, w *sql.DB, ms []migration) (done bool, version int, err error) {
	tx, err := w.BeginTx(ctx, nil)
	if err != nil {
		return false, 0, wrapErr("migrate", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx,
		`CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied INTEGER NOT NULL)`); err != nil {
		return false, 0, wrapErr("migrate", err)
	}
	v, err := schemaVersion(ctx, tx)
	if err != nil {
		return false, 0, err
	}
	if v > len(ms) {
		return false, v, fmt.Errorf("schema version %d, this binary knows %d: %w", v, len(ms), store.ErrSchemaAhead)
	}
	if v == len(ms) {
		return true, v, tx.Commit()
	}
	m := ms[v]
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return false, v, fmt.Errorf("sqlite: migration %s: %w", m.name, err)
	}
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO schema_migrations (version, name, applied) VALUES (?, ?, unixepoch())`, m.version, m.name); err != nil {
		return false, v, wrapErr("migrate", err)
	}
	if err := tx.Commit(); err != nil {
		return false, v, wrapErr("migrate", err)
	}
	return false, m.version, nil
}

func wrapErr(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("sqlite: %s: %w", op, err)
}

package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/setu-cti/setu/internal/store"
)

// The schema is the ordered list of files migrations/NNNN_name.sql; the
// schema version is the number of the last one applied. Files are never
// edited once released: a change is a new file.
//
//go:embed migrations/*.sql
var migrationFS embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

// migrations are parsed once; a malformed set is a build defect, caught by
// the first test that opens a database.
var migrations, migrationsErr = loadMigrations(migrationFS)

func loadMigrations(fsys fs.FS) ([]migration, error) {
	names, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, path := range names {
		name := strings.TrimPrefix(path, "migrations/")
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("postgres: migration %s: name is not NNNN_name.sql", name)
		}
		b, err := fs.ReadFile(fsys, path)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: name, sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("postgres: migration %s: expected number %d", m.name, i+1)
		}
	}
	return ms, nil
}

// The advisory lock that serialises migrations is keyed by the schema being
// migrated, so instances sharing a schema take turns while databases in
// other schemas of the same cluster are not held up.
const migrateLock = `SELECT pg_advisory_xact_lock(hashtextextended('setu.migrate.' || current_schema(), 0))`

// SchemaVersion reports the version of the database schema and the latest
// version this binary knows. current is 0 for an empty database.
func (db *DB) SchemaVersion(ctx context.Context) (current, latest int, err error) {
	current, err = schemaVersion(ctx, db.pool)
	return current, len(db.migrations), err
}

// Migrate applies the pending migrations to the database named by dsn and
// reports the schema version before and after; store.ErrSchemaAhead if the
// schema is newer than this binary. It is what Open does with
// Options.Migrate, for a command that migrates without serving.
func Migrate(ctx context.Context, dsn string) (from, to int, err error) {
	if migrationsErr != nil {
		return 0, 0, migrationsErr
	}
	pool, err := connect(ctx, dsn)
	if err != nil {
		return 0, 0, err
	}
	defer pool.Close()
	return migrate(ctx, pool, migrations, true)
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// schemaVersion is 0 for a database without the schema_migrations table.
func schemaVersion(ctx context.Context, q querier) (int, error) {
	// A statement naming a missing table fails to parse, so existence is
	// asked first.
	var exists bool
	if err := q.QueryRow(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists); err != nil {
		return 0, fmt.Errorf("postgres: schema version: %w", err)
	}
	if !exists {
		return 0, nil
	}
	var v int
	if err := q.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, fmt.Errorf("postgres: schema version: %w", err)
	}
	return v, nil
}

// migrate brings the schema to the latest of ms. A database at version 0 is
// always initialised; a later one is migrated only if upgrade is set.
func migrate(ctx context.Context, pool *pgxpool.Pool, ms []migration, upgrade bool) (from, to int, err error) {
	latest := len(ms)
	from, err = schemaVersion(ctx, pool)
	if err != nil {
		return 0, 0, err
	}
	switch {
	case from > latest:
		return from, from, fmt.Errorf("schema version %d, this binary knows %d: %w", from, latest, store.ErrSchemaAhead)
	case from > 0 && from < latest && !upgrade:
		return from, from, fmt.Errorf("schema version %d, this binary needs %d: %w", from, latest, store.ErrSchemaBehind)
	case from == latest:
		return from, from, nil
	}
	to = from
	for {
		done, v, err := migrateOne(ctx, pool, ms)
		if err != nil {
			return from, to, err
		}
		to = v
		if done {
			return from, to, nil
		}
	}
}

// migrateOne applies the next pending migration, if any, in its own
// transaction. The transaction first takes the migration lock and re-reads
// the version, so when several instances migrate at once each file is
// applied by exactly one of them and the others find it applied.
func migrateOne(ctx context.Context, pool *pgxpool.Pool, ms []migration) (done bool, version int, err error) {
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, migrateLock); err != nil {
			return fmt.Errorf("postgres: migration lock: %w", err)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version integer PRIMARY KEY,
			name    text NOT NULL,
			applied timestamptz NOT NULL DEFAULT now())`); err != nil {
			return fmt.Errorf("postgres: migrate: %w", err)
		}
		v, err := schemaVersion(ctx, tx)
		if err != nil {
			return err
		}
		version = v
		switch {
		case v > len(ms):
			return fmt.Errorf("schema version %d, this binary knows %d: %w", v, len(ms), store.ErrSchemaAhead)
		case v == len(ms):
			done = true
			return nil
		}
		m := ms[v]
		// Without arguments Exec uses the simple protocol, which runs a
		// file of several statements.
		if _, err := tx.Exec(ctx, m.sql); err != nil {
			return fmt.Errorf("postgres: migration %s: %w", m.name, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.version, m.name); err != nil {
			return fmt.Errorf("postgres: migrate: %w", err)
		}
		version = m.version
		return nil
	})
	return done, version, err
}

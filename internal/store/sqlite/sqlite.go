// Package sqlite is Setu's default storage backend: one SQLite file, opened
// with a CGO-free driver. DB implements store.Store and the node parts of the
// contract (store.Accounts, store.Statuses, store.Secrets, store.Deleter),
// and passes storetest.Run and storetest.RunNode.
//
// Durability and concurrency. The database runs in WAL mode with
// synchronous=FULL, so a Put that returned is on disk. All writes go through
// one connection (SQLite allows one writer at a time; queuing in Go is cheaper
// than contending for the file lock) and each write transaction starts with
// BEGIN IMMEDIATE, so it holds the write lock from its first statement: the
// seq and date_added values it reads from the counter row at the start are
// still the latest when it writes the counter back as its last step. Reads
// use a separate pool and see a consistent snapshot per call, so a Query is
// never blocked by a Put. A third connection copies committed WAL pages back
// into the database file in the background, so a commit only appends to the
// WAL and its cost does not grow with the store. A database
// file is meant to be used by one process at a time (`setu serve` on SQLite
// runs as one instance); a second process waits on the busy timeout rather
// than failing at once.
//
// Cost. Put runs a handful of prepared statements per version, each an index
// seek or an append; Query and Current are index range scans whose cost
// does not depend on the size of the store (the plans are pinned and checked
// by the tests). The schema, with the reasons for each index, is in
// migrations/.
//
// Schema. Numbered migrations (migrations/NNNN_name.sql) are embedded and
// applied forward only, each in its own transaction, recording the version in
// the schema_migrations table. Open initialises an empty file; it refuses a
// schema that is behind (store.ErrSchemaBehind) unless Options.Migrate is
// set, and one that is ahead of this binary (store.ErrSchemaAhead). Migrate
// applies pending migrations explicitly (`setu migrate`).
//
// Time. Version times are stored in nanoseconds since the Unix epoch, which
// covers the years 1678 to 2261; a version with a timestamp outside that range
// is rejected. date_added has microsecond precision.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"runtime"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/setu-cti/setu/internal/store"
)

// DB is an open SQLite store. It is safe for concurrent use.
type DB struct {
	w   *sql.DB // the single writer connection
	r   *sql.DB // reader pool
	now func() time.Time

	stmts writeStmts
	ckpt  *checkpointer

	readMu    sync.Mutex
	readStmts map[string]*sql.Stmt // prepared Query statements by SQL text
}

var _ store.Store = (*DB)(nil)

// Open opens (creating if needed) the database at path and checks its schema:
// an empty database is initialised; one whose schema is behind is migrated if
// opts.Migrate, else refused with store.ErrSchemaBehind; one that is ahead is
// refused with store.ErrSchemaAhead.
func Open(ctx context.Context, path string, opts store.Options) (*DB, error) {
	return open(ctx, path, opts, migrationFiles)
}

// Migrate applies the pending migrations to the database at path (creating
// it if needed) and reports the schema version before and after.
func Migrate(ctx context.Context, path string) (from, to int, err error) {
	return migratePath(ctx, path, migrationFiles)
}

func migratePath(ctx context.Context, path string, migrations fs.FS) (from, to int, err error) {
	w, err := openWriter(path)
	if err != nil {
		return 0, 0, err
	}
	defer w.Close()
	return migrate(ctx, w, migrations, true)
}

func open(ctx context.Context, path string, opts store.Options, migrations fs.FS) (*DB, error) {
	w, err := openWriter(path)
	if err != nil {
		return nil, err
	}
	if _, _, err := migrate(ctx, w, migrations, opts.Migrate); err != nil {
		w.Close()
		return nil, err
	}
	r, err := openReaders(path)
	if err != nil {
		w.Close()
		return nil, err
	}
	ckpt, err := startCheckpointer(path)
	if err != nil {
		r.Close()
		w.Close()
		return nil, err
	}
	db := &DB{w: w, r: r, now: opts.Now, ckpt: ckpt}
	if db.now == nil {
		db.now = time.Now
	}
	if err := db.stmts.prepare(ctx, w); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// dsn builds a driver DSN. Pragmas are set per connection by the driver, so
// every connection a pool opens is configured the same way.
func dsn(path string, pragmas []string, params url.Values) string {
	q := url.Values{}
	for k, v := range params {
		q[k] = v
	}
	for _, p := range append([]string{
		"busy_timeout(10000)",
		"foreign_keys(1)",
		"synchronous(FULL)",
	}, pragmas...) {
		q.Add("_pragma", p)
	}
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

func openWriter(path string) (*sql.DB, error) {
	w, err := sql.Open("sqlite", dsn(path,
		[]string{"journal_mode(WAL)", "cache_size(-65536)", "temp_store(MEMORY)", walBackstop},
		url.Values{"_txlock": {"immediate"}}))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	// Fail now, not on the first write, if the file cannot be opened.
	if err := w.Ping(); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	return w, nil
}

func openReaders(path string) (*sql.DB, error) {
	r, err := sql.Open("sqlite", dsn(path,
		[]string{"query_only(1)", "cache_size(-16384)", "temp_store(MEMORY)"}, nil))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	return r, nil
}

// Close closes the connections. Pending writes have either committed or
// failed.
func (db *DB) Close() error {
	db.stmts.close()
	db.readMu.Lock()
	for _, st := range db.readStmts {
		st.Close()
	}
	db.readStmts = nil
	db.readMu.Unlock()
	// The checkpointer stops first; the writer, closing last, checkpoints
	// what remains.
	return errors.Join(db.ckpt.close(), db.r.Close(), db.w.Close())
}

// Stats counts rows. It scans, so it is for diagnostics and tests only.
func (db *DB) Stats(ctx context.Context) (store.Stats, error) {
	var s store.Stats
	err := db.r.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM versions),
		(SELECT count(DISTINCT id) FROM versions),
		(SELECT count(*) FROM collection_rows),
		(SELECT last_seq FROM counter)`).Scan(&s.Versions, &s.Objects, &s.CollectionRows, &s.LastSeq)
	if err != nil {
		return store.Stats{}, fmt.Errorf("sqlite: stats: %w", err)
	}
	return s, nil
}

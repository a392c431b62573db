// Package postgres is Setu's scale storage backend: a store.Store on
// PostgreSQL that several `setu serve` instances share.
//
// Open connects a pool, checks the schema version against the migrations
// embedded in this binary and, for an empty database, applies them. A schema
// that is behind is refused with store.ErrSchemaBehind unless
// store.Options.Migrate is set; one that is ahead is refused with
// store.ErrSchemaAhead. Migrations run one per transaction under an advisory
// lock, so instances that start together apply each exactly once.
//
// Ordering. Every Put takes its range of sequence numbers and date_added
// values by updating one counter row as the last statement before COMMIT.
// The row lock therefore orders commits: a transaction holding a lower seq
// has committed, and is visible, before any transaction can take a higher
// one. A reader paging with `seq > cursor` never misses a row that commits
// later with a lower seq. The lock is held only for the inserts of the
// collection rows and change records and the commit itself.
//
// Writers of the same stored object serialise on that object's row in
// heads, locked in id order at the start of Put, so the duplicate, conflict
// and revocation checks and the per-collection first/last flags cannot race.
// Writers creating the same new object meet at the unique key of its head
// row: the later one waits, fails and runs again, then finds the object
// stored. Writers of different objects only meet at the counter.
//
// Times. Version times are stored as nanoseconds since the Unix epoch (STIX
// timestamps may be finer than the microseconds timestamptz keeps), so the
// representable range is the years 1678 to 2262; a version outside it is
// rejected. date_added has microsecond precision. Times read back are UTC.
//
// Node records. Beside objects the store keeps what every instance of a
// node must agree on: organisations, users, tokens and grants
// (store.Accounts), TAXII statuses with the jobs that decide them
// (store.Statuses), and node secrets (store.Secrets). Jobs are leased rows
// claimed with FOR UPDATE SKIP LOCKED, their leases timed by the database's
// clock; no transaction is held while a job runs. Delete (store.Deleter)
// writes to the change log like Put, through the same counter.
//
// A *DB is safe for concurrent use by multiple goroutines.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/setu-cti/setu/internal/store"
)

// DB is a store.Store backed by a PostgreSQL database (or the schema named
// first in the DSN's search_path).
type DB struct {
	pool *pgxpool.Pool
	now  func() time.Time

	migrations []migration // the schema this binary knows

	// collections maps collection ids and aliases to their internal key.
	// Collections are never renamed or deleted, so entries never go stale.
	collections sync.Map // string -> int32
}

var _ store.Store = (*DB)(nil)

// Open connects to the database named by dsn (a PostgreSQL URL or key=value
// string, as pgx accepts) and prepares its schema: an empty database is
// initialised, one that is behind is migrated only if opts.Migrate is set
// (else store.ErrSchemaBehind), and one that is ahead is refused with
// store.ErrSchemaAhead.
func Open(ctx context.Context, dsn string, opts store.Options) (*DB, error) {
	if migrationsErr != nil {
		return nil, migrationsErr
	}
	return open(ctx, dsn, opts, migrations)
}

// open is Open with the list of migrations this binary knows, which tests
// vary to play an older or newer binary.
func open(ctx context.Context, dsn string, opts store.Options, ms []migration) (*DB, error) {
	pool, err := connect(ctx, dsn)
	if err != nil {
		return nil, err
	}
	if _, _, err := migrate(ctx, pool, ms, opts.Migrate); err != nil {
		pool.Close()
		return nil, err
	}
	db := &DB{pool: pool, now: opts.Now, migrations: ms}
	if db.now == nil {
		db.now = time.Now
	}
	return db, nil
}

func connect(ctx context.Context, dsn string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse dsn: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	return pool, nil
}

// Close releases the pool's connections; it waits for connections in use to
// be returned.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}

// retryable reports whether a transaction failed only because of its
// interleaving with others, so that running it again may succeed. Writes
// rely on unique constraints to detect two transactions creating the same
// object, so a unique violation is one of these, as is errRaced.
func retryable(err error) bool {
	if errors.Is(err, errRaced) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "40001", "40P01", "23505": // serialization_failure, deadlock_detected, unique_violation
			return true
		}
	}
	return false
}

// Nanosecond times: the representable range of an int64 of nanoseconds.
var (
	minNS = time.Unix(0, -1<<63)
	maxNS = time.Unix(0, 1<<63-1)
)

var errTimeRange = errors.New("time outside the years 1678 to 2262, which this store cannot key")

func toNS(t time.Time) (int64, error) {
	if t.Before(minNS) || t.After(maxNS) {
		return 0, errTimeRange
	}
	return t.UnixNano(), nil
}

// nsPtr is the column value of an optional timestamp: nil when zero.
func nsPtr(t time.Time) (*int64, error) {
	if t.IsZero() {
		return nil, nil
	}
	ns, err := toNS(t)
	if err != nil {
		return nil, err
	}
	return &ns, nil
}

func fromNS(ns int64) time.Time { return time.Unix(0, ns).UTC() }

func fromNSPtr(ns *int64) time.Time {
	if ns == nil {
		return time.Time{}
	}
	return fromNS(*ns)
}

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

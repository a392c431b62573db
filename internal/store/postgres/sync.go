package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/setu-cti/setu/internal/store"
)

var _ store.Sync = (*DB)(nil)

const cursorColumns = `peer, direction, collection, seq, added, agreement, objects, last_success, last_error, updated`

func scanCursor(sc interface{ Scan(...any) error }) (store.SyncCursor, error) {
	var (
		c                  store.SyncCursor
		agreement          []byte
		added, lastSuccess *time.Time
	)
	if err := sc.Scan(&c.Peer, &c.Direction, &c.Collection, &c.Seq, &added, &agreement, &c.Objects, &lastSuccess, &c.LastError, &c.Updated); err != nil {
		return c, err
	}
	copy(c.Agreement[:], agreement)
	if added != nil {
		c.Added = utc(*added)
	}
	if lastSuccess != nil {
		c.LastSuccess = utc(*lastSuccess)
	}
	c.Updated = utc(c.Updated)
	return c, nil
}

// SyncCursor returns one cursor; store.ErrNotFound if never set.
func (db *DB) SyncCursor(ctx context.Context, peer, direction, collection string) (store.SyncCursor, error) {
	c, err := scanCursor(db.pool.QueryRow(ctx, `SELECT `+cursorColumns+` FROM sync_cursors
		WHERE peer = $1 AND direction = $2 AND collection = $3`, peer, direction, collection))
	if err != nil {
		return c, fmt.Errorf("sync cursor %s/%s/%s: %w", peer, direction, collection, rowErr(err))
	}
	return c, nil
}

// SetSyncCursor creates or replaces a cursor; store.ErrNotFound if the
// peer is absent.
func (db *DB) SetSyncCursor(ctx context.Context, c store.SyncCursor) error {
	_, err := db.pool.Exec(ctx, `INSERT INTO sync_cursors (`+cursorColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (peer, direction, collection) DO UPDATE SET seq = excluded.seq, added = excluded.added,
			agreement = excluded.agreement, objects = excluded.objects, last_success = excluded.last_success,
			last_error = excluded.last_error, updated = excluded.updated`,
		c.Peer, c.Direction, c.Collection, c.Seq, nullTime(c.Added), c.Agreement[:], c.Objects,
		nullTime(c.LastSuccess), c.LastError, db.now())
	if err != nil {
		return fmt.Errorf("sync cursor %s/%s/%s: %w", c.Peer, c.Direction, c.Collection, keyErr(err))
	}
	return nil
}

// SyncCursors lists cursors of one peer, or of all when peer is empty.
func (db *DB) SyncCursors(ctx context.Context, peer string) ([]store.SyncCursor, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+cursorColumns+` FROM sync_cursors
		WHERE $1 = '' OR peer = $1 ORDER BY peer, direction, collection`, peer)
	if err != nil {
		return nil, fmt.Errorf("postgres: sync cursors: %w", err)
	}
	defer rows.Close()
	var out []store.SyncCursor
	for rows.Next() {
		c, err := scanCursor(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres: sync cursors: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// AddSyncCounts adds deltas to a peer's counters in one transaction.
func (db *DB) AddSyncCounts(ctx context.Context, peer string, deltas map[string]int64) error {
	if len(deltas) == 0 {
		return nil
	}
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		for name, d := range deltas {
			if _, err := tx.Exec(ctx, `INSERT INTO sync_counts (peer, name, value) VALUES ($1, $2, $3)
				ON CONFLICT (peer, name) DO UPDATE SET value = sync_counts.value + excluded.value`, peer, name, d); err != nil {
				return keyErr(err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("postgres: sync counts of %s: %w", peer, err)
	}
	return nil
}

// SyncCounts returns counters by peer.
func (db *DB) SyncCounts(ctx context.Context, peer string) (map[string]map[string]int64, error) {
	rows, err := db.pool.Query(ctx, `SELECT peer, name, value FROM sync_counts WHERE $1 = '' OR peer = $1`, peer)
	if err != nil {
		return nil, fmt.Errorf("postgres: sync counts: %w", err)
	}
	defer rows.Close()
	out := map[string]map[string]int64{}
	for rows.Next() {
		var p, name string
		var v int64
		if err := rows.Scan(&p, &name, &v); err != nil {
			return nil, fmt.Errorf("postgres: sync counts: %w", err)
		}
		if out[p] == nil {
			out[p] = map[string]int64{}
		}
		out[p][name] = v
	}
	return out, rows.Err()
}

// PutProvenance stores records, keeping any already stored, and the
// shared parts new records name, in one transaction.
func (db *DB) PutProvenance(ctx context.Context, rs []store.ProvenanceRecord) ([]bool, error) {
	added := make([]bool, len(rs))
	if len(rs) == 0 {
		return added, nil
	}
	digests, parts := store.SharedDigests(rs)
	versions := make([]int64, len(rs))
	routes := make([]string, len(rs))
	records := make([][]byte, len(rs))
	for i, r := range rs {
		versions[i], routes[i], records[i] = r.Version, r.Route, r.Record
	}
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("postgres: provenance: %w", err)
	}
	defer tx.Rollback(ctx)
	rows, err := tx.Query(ctx, `INSERT INTO provenance (version_pk, route, record, shared)
		SELECT * FROM unnest($1::bigint[], $2::text[], $3::bytea[], $4::bytea[]) ON CONFLICT DO NOTHING RETURNING version_pk, route`,
		versions, routes, records, digests)
	if err != nil {
		return nil, fmt.Errorf("provenance: %w", keyErr(err))
	}
	type provKey struct {
		version int64
		route   string
	}
	inserted := map[provKey]bool{}
	for rows.Next() {
		var k provKey
		if err := rows.Scan(&k.version, &k.route); err != nil {
			rows.Close()
			return nil, fmt.Errorf("postgres: provenance: %w", err)
		}
		inserted[k] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("provenance: %w", keyErr(err))
	}
	var hashes, bodies [][]byte
	needed := map[[32]byte]bool{}
	for i, r := range rs {
		k := provKey{r.Version, r.Route}
		// A record listed twice in one call is new once.
		added[i] = inserted[k]
		delete(inserted, k)
		if d := digests[i]; added[i] && d != nil && !needed[[32]byte(d)] {
			needed[[32]byte(d)] = true
			hashes = append(hashes, d)
			bodies = append(bodies, parts[[32]byte(d)])
		}
	}
	if len(hashes) > 0 {
		if _, err := tx.Exec(ctx, `INSERT INTO provenance_shared (hash, body)
			SELECT * FROM unnest($1::bytea[], $2::bytea[]) ON CONFLICT DO NOTHING`, hashes, bodies); err != nil {
			return nil, fmt.Errorf("postgres: provenance: %w", err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("postgres: provenance: %w", err)
	}
	return added, nil
}

// Provenance returns the records of versions, of the given routes if any,
// with their shared parts.
func (db *DB) Provenance(ctx context.Context, versions []int64, routes []string) ([]store.ProvenanceRecord, error) {
	if len(versions) == 0 {
		return nil, nil
	}
	q := `SELECT version_pk, route, record, shared FROM provenance WHERE version_pk = ANY($1)`
	args := []any{versions}
	if len(routes) > 0 {
		q += ` AND route = ANY($2)`
		args = append(args, routes)
	}
	rows, err := db.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: provenance: %w", err)
	}
	defer rows.Close()
	var out []store.ProvenanceRecord
	var hashes []string // of each record in out; "" when whole
	for rows.Next() {
		var r store.ProvenanceRecord
		var h []byte
		if err := rows.Scan(&r.Version, &r.Route, &r.Record, &h); err != nil {
			return nil, fmt.Errorf("postgres: provenance: %w", err)
		}
		out = append(out, r)
		hashes = append(hashes, string(h))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: provenance: %w", err)
	}
	parts := map[string][]byte{}
	var want [][]byte
	for _, h := range hashes {
		if _, ok := parts[h]; h != "" && !ok {
			parts[h] = nil
			want = append(want, []byte(h))
		}
	}
	if len(want) > 0 {
		rows, err := db.pool.Query(ctx, `SELECT hash, body FROM provenance_shared WHERE hash = ANY($1)`, want)
		if err != nil {
			return nil, fmt.Errorf("postgres: provenance: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var h, body []byte
			if err := rows.Scan(&h, &body); err != nil {
				return nil, fmt.Errorf("postgres: provenance: %w", err)
			}
			parts[string(h)] = body
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("postgres: provenance: %w", err)
		}
	}
	for i, h := range hashes {
		if h == "" {
			continue
		}
		if out[i].Shared = parts[h]; out[i].Shared == nil {
			return nil, fmt.Errorf("postgres: provenance of version %d: shared part %x missing", out[i].Version, h)
		}
	}
	return out, nil
}

package sqlite

import (
	"context"
	"fmt"
	"strings"

	"github.com/setu-cti/setu/internal/store"
)

var _ store.Sync = (*DB)(nil)

const cursorColumns = `peer, direction, collection, seq, added, agreement, objects, last_success, last_error, updated`

func scanCursor(sc interface{ Scan(...any) error }) (store.SyncCursor, error) {
	var (
		c                           store.SyncCursor
		agreement                   []byte
		added, lastSuccess, updated int64
	)
	if err := sc.Scan(&c.Peer, &c.Direction, &c.Collection, &c.Seq, &added, &agreement, &c.Objects, &lastSuccess, &c.LastError, &updated); err != nil {
		return c, err
	}
	copy(c.Agreement[:], agreement)
	c.Added, c.LastSuccess, c.Updated = fromStored(added), fromStored(lastSuccess), fromStored(updated)
	return c, nil
}

// SyncCursor returns one cursor; store.ErrNotFound if never set.
func (db *DB) SyncCursor(ctx context.Context, peer, direction, collection string) (store.SyncCursor, error) {
	c, err := scanCursor(db.r.QueryRowContext(ctx, `SELECT `+cursorColumns+` FROM sync_cursors
		WHERE peer = ? AND direction = ? AND collection = ?`, peer, direction, collection))
	if err != nil {
		return c, fmt.Errorf("sync cursor %s/%s/%s: %w", peer, direction, collection, rowErr(err))
	}
	return c, nil
}

// SetSyncCursor creates or replaces a cursor; store.ErrNotFound if the
// peer is absent.
func (db *DB) SetSyncCursor(ctx context.Context, c store.SyncCursor) error {
	_, err := db.w.ExecContext(ctx, `INSERT INTO sync_cursors (`+cursorColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (peer, direction, collection) DO UPDATE SET seq = excluded.seq, added = excluded.added,
			agreement = excluded.agreement, objects = excluded.objects, last_success = excluded.last_success,
			last_error = excluded.last_error, updated = excluded.updated`,
		c.Peer, c.Direction, c.Collection, c.Seq, toNanos(c.Added), c.Agreement[:], c.Objects,
		toNanos(c.LastSuccess), c.LastError, toNanos(db.now()))
	if err != nil {
		return fmt.Errorf("sqlite: sync cursor %s/%s/%s: %w", c.Peer, c.Direction, c.Collection, fkErr(err))
	}
	return nil
}

// fkErr reads a foreign-key failure as the peer being absent.
func fkErr(err error) error {
	if err != nil && strings.Contains(err.Error(), "FOREIGN KEY") {
		return fmt.Errorf("%v: %w", err, store.ErrNotFound)
	}
	return err
}

// SyncCursors lists cursors of one peer, or of all when peer is empty.
func (db *DB) SyncCursors(ctx context.Context, peer string) ([]store.SyncCursor, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+cursorColumns+` FROM sync_cursors
		WHERE ? = '' OR peer = ? ORDER BY peer, direction, collection`, peer, peer)
	if err != nil {
		return nil, fmt.Errorf("sqlite: sync cursors: %w", err)
	}
	defer rows.Close()
	var out []store.SyncCursor
	for rows.Next() {
		c, err := scanCursor(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: sync cursors: %w", err)
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
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return wrapErr("sync counts", err)
	}
	defer tx.Rollback()
	for name, d := range deltas {
		if _, err := tx.ExecContext(ctx, `INSERT INTO sync_counts (peer, name, value) VALUES (?, ?, ?)
			ON CONFLICT (peer, name) DO UPDATE SET value = value + excluded.value`, peer, name, d); err != nil {
			return fmt.Errorf("sqlite: sync counts of %s: %w", peer, fkErr(err))
		}
	}
	return wrapErr("sync counts", tx.Commit())
}

// SyncCounts returns counters by peer.
func (db *DB) SyncCounts(ctx context.Context, peer string) (map[string]map[string]int64, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT peer, name, value FROM sync_counts WHERE ? = '' OR peer = ?`, peer, peer)
	if err != nil {
		return nil, fmt.Errorf("sqlite: sync counts: %w", err)
	}
	defer rows.Close()
	out := map[string]map[string]int64{}
	for rows.Next() {
		var p, name string
		var v int64
		if err := rows.Scan(&p, &name, &v); err != nil {
			return nil, fmt.Errorf("sqlite: sync counts: %w", err)
		}
		if out[p] == nil {
			out[p] = map[string]int64{}
		}
		out[p][name] = v
	}
	return out, rows.Err()
}

// PutProvenance stores records, keeping any already stored, and the
// shared parts new records name, in one transaction of multi-row inserts.
func (db *DB) PutProvenance(ctx context.Context, rs []store.ProvenanceRecord) ([]bool, error) {
	added := make([]bool, len(rs))
	if len(rs) == 0 {
		return added, nil
	}
	digests, parts := store.SharedDigests(rs)
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, wrapErr("provenance", err)
	}
	defer tx.Rollback()
	needed := map[[32]byte]bool{}
	for start := 0; start < len(rs); start += provenanceChunk {
		chunk := rs[start:min(start+provenanceChunk, len(rs))]
		args := make([]any, 0, 4*len(chunk))
		for i, r := range chunk {
			var d any // NULL for a whole record
			if digests[start+i] != nil {
				d = digests[start+i]
			}
			args = append(args, r.Version, r.Route, r.Record, d)
		}
		q := `INSERT OR IGNORE INTO provenance (version_pk, route, record, shared) VALUES (?, ?, ?, ?)` + strings.Repeat(", (?, ?, ?, ?)", len(chunk)-1) +
			` RETURNING version_pk, route`
		rows, err := tx.QueryContext(ctx, q, args...)
		if err != nil {
			return nil, provenanceErr(err)
		}
		inserted := map[provKey]bool{}
		for rows.Next() {
			var k provKey
			if err := rows.Scan(&k.version, &k.route); err != nil {
				rows.Close()
				return nil, wrapErr("provenance", err)
			}
			inserted[k] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, provenanceErr(err)
		}
		for i, r := range chunk {
			k := provKey{r.Version, r.Route}
			// A record listed twice in one call is new once.
			added[start+i] = inserted[k]
			delete(inserted, k)
			if added[start+i] && digests[start+i] != nil {
				needed[[32]byte(digests[start+i])] = true
			}
		}
	}
	for d := range needed {
		if _, err := tx.ExecContext(ctx, `INSERT INTO provenance_shared (hash, body) VALUES (?, ?) ON CONFLICT DO NOTHING`,
			d[:], parts[d]); err != nil {
			return nil, wrapErr("provenance", err)
		}
	}
	return added, wrapErr("provenance", tx.Commit())
}

type provKey struct {
	version int64
	route   string
}

// provenanceErr names a record of a version that is not stored (the
// foreign key to versions) as store.ErrNotFound.
func provenanceErr(err error) error {
	if err != nil && strings.Contains(err.Error(), "FOREIGN KEY constraint failed") {
		return fmt.Errorf("provenance of a version that is not stored: %w", store.ErrNotFound)
	}
	return wrapErr("provenance", err)
}

// provenanceChunk bounds the parameters of one lookup.
const provenanceChunk = 300

// Provenance returns the records of versions, of the given routes if any,
// with their shared parts.
func (db *DB) Provenance(ctx context.Context, versions []int64, routes []string) ([]store.ProvenanceRecord, error) {
	var out []store.ProvenanceRecord
	var hashes []string // of each record in out; "" when whole
	for len(versions) > 0 {
		n := min(len(versions), provenanceChunk)
		chunk := versions[:n]
		versions = versions[n:]
		args := make([]any, 0, n+len(routes))
		for _, k := range chunk {
			args = append(args, k)
		}
		q := `SELECT version_pk, route, record, shared FROM provenance WHERE version_pk IN (?` + strings.Repeat(", ?", n-1) + `)`
		if len(routes) > 0 {
			q += ` AND route IN (?` + strings.Repeat(", ?", len(routes)-1) + `)`
			for _, r := range routes {
				args = append(args, r)
			}
		}
		rows, err := db.r.QueryContext(ctx, q, args...)
		if err != nil {
			return nil, fmt.Errorf("sqlite: provenance: %w", err)
		}
		for rows.Next() {
			var r store.ProvenanceRecord
			var h []byte
			if err := rows.Scan(&r.Version, &r.Route, &r.Record, &h); err != nil {
				rows.Close()
				return nil, fmt.Errorf("sqlite: provenance: %w", err)
			}
			out = append(out, r)
			hashes = append(hashes, string(h))
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("sqlite: provenance: %w", err)
		}
	}
	parts := map[string][]byte{}
	var want []any
	for _, h := range hashes {
		if _, ok := parts[h]; h != "" && !ok {
			parts[h] = nil
			want = append(want, []byte(h))
		}
	}
	for len(want) > 0 {
		n := min(len(want), provenanceChunk)
		rows, err := db.r.QueryContext(ctx, `SELECT hash, body FROM provenance_shared WHERE hash IN (`+marks(n)+`)`, want[:n]...)
		if err != nil {
			return nil, fmt.Errorf("sqlite: provenance: %w", err)
		}
		for rows.Next() {
			var h, body []byte
			if err := rows.Scan(&h, &body); err != nil {
				rows.Close()
				return nil, fmt.Errorf("sqlite: provenance: %w", err)
			}
			parts[string(h)] = body
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("sqlite: provenance: %w", err)
		}
		want = want[n:]
	}
	for i, h := range hashes {
		if h == "" {
			continue
		}
		if out[i].Shared = parts[h]; out[i].Shared == nil {
			return nil, fmt.Errorf("sqlite: provenance of version %d: shared part %x missing", out[i].Version, h)
		}
	}
	return out, nil
}

package sqlite

import (
	"context"
	"fmt"

	"github.com/setu-cti/setu/internal/store"
)

var _ store.Relations = (*DB)(nil)

// PutRelations records relationship versions in one transaction.
func (db *DB) PutRelations(ctx context.Context, rs []store.Relation) error {
	if len(rs) == 0 {
		return nil
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return wrapErr("relations", err)
	}
	defer tx.Rollback()
	st, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO relations (id, vtime, kind, source, target, revoked) VALUES (?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return wrapErr("relations", err)
	}
	defer st.Close()
	for _, r := range rs {
		vt, err := nanos(r.VersionTime)
		if err != nil {
			return fmt.Errorf("relation %s: %w", r.ID, err)
		}
		if _, err := st.ExecContext(ctx, r.ID, vt.Int64, r.Kind, r.Source, r.Target, r.Revoked); err != nil {
			return wrapErr("relations", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return wrapErr("relations", err)
	}
	db.ckpt.notify()
	return nil
}

// relationsChunk is how many ids one statement looks up.
const relationsChunk = 400

// RelationsOf finds relationship versions by source and by target, through
// their indexes.
func (db *DB) RelationsOf(ctx context.Context, ids []string) ([]store.Relation, error) {
	var out []store.Relation
	for len(ids) > 0 {
		n := min(len(ids), relationsChunk)
		args := strs(ids[:n])
		rows, err := db.r.QueryContext(ctx, `SELECT id, vtime, kind, source, target, revoked FROM relations WHERE source IN (`+marks(n)+`)
			UNION SELECT id, vtime, kind, source, target, revoked FROM relations WHERE target IN (`+marks(n)+`)`, append(args, args...)...)
		if err != nil {
			return nil, wrapErr("relations", err)
		}
		for rows.Next() {
			var r store.Relation
			var vt int64
			if err := rows.Scan(&r.ID, &vt, &r.Kind, &r.Source, &r.Target, &r.Revoked); err != nil {
				rows.Close()
				return nil, wrapErr("relations", err)
			}
			r.VersionTime = fromNanos(vt)
			out = append(out, r)
		}
		if err := rows.Close(); err != nil {
			return nil, wrapErr("relations", err)
		}
		ids = ids[n:]
	}
	return out, nil
}

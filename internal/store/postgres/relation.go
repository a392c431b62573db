package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/setu-cti/setu/internal/store"
)

var _ store.Relations = (*DB)(nil)

// PutRelations records relationship versions in one statement.
func (db *DB) PutRelations(ctx context.Context, rs []store.Relation) error {
	if len(rs) == 0 {
		return nil
	}
	ids, kinds, sources, targets := make([]string, len(rs)), make([]string, len(rs)), make([]string, len(rs)), make([]string, len(rs))
	vts, revoked := make([]int64, len(rs)), make([]bool, len(rs))
	for i, r := range rs {
		ids[i], kinds[i], sources[i], targets[i], revoked[i] = r.ID, r.Kind, r.Source, r.Target, r.Revoked
		vts[i] = r.VersionTime.UnixNano()
	}
	_, err := db.pool.Exec(ctx, `INSERT INTO relations (id, vtime, kind, source, target, revoked)
		SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::boolean[])
		ON CONFLICT DO NOTHING`, ids, vts, kinds, sources, targets, revoked)
	if err != nil {
		return fmt.Errorf("postgres: relations: %w", err)
	}
	return nil
}

// RelationsOf finds relationship versions by source and by target, through
// their indexes.
func (db *DB) RelationsOf(ctx context.Context, ids []string) ([]store.Relation, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rows, _ := db.pool.Query(ctx, `SELECT id, vtime, kind, source, target, revoked FROM relations WHERE source = ANY($1)
		UNION SELECT id, vtime, kind, source, target, revoked FROM relations WHERE target = ANY($1)`, ids)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Relation, error) {
		var x store.Relation
		var vt int64
		err := r.Scan(&x.ID, &vt, &x.Kind, &x.Source, &x.Target, &x.Revoked)
		x.VersionTime = fromNS(vt)
		return x, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: relations: %w", err)
	}
	return out, nil
}

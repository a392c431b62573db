package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/setu-cti/setu/internal/store"
)

var _ store.Repolicy = (*DB)(nil)

// Unresolved lists versions whose facts name a marking the node could not
// interpret, through the partial index that holds only them (its
// condition is repeated exactly so that the planner uses it).
func (db *DB) Unresolved(ctx context.Context, after int64, limit int) ([]store.Version, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("unresolved: limit %d must be positive", limit)
	}
	rows, err := db.pool.Query(ctx, `SELECT `+versionColumns+`, v.body, v.released, v.audience
		FROM versions v
		WHERE position('"Unknown":["'::bytea IN v.facts) > 0 AND v.pk > $1 ORDER BY v.pk LIMIT $2`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: unresolved: %w", err)
	}
	defer rows.Close()
	var out []store.Version
	for rows.Next() {
		var v store.Version
		if err := scanVersion(rows, &v, &v.Body, &v.Released, &v.Audience); err != nil {
			return nil, fmt.Errorf("postgres: unresolved: %w", err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: unresolved: %w", err)
	}
	return out, nil
}

// SetPolicy replaces versions' policy metadata and the audience rows of
// their collection rows in one transaction. Each object's head row is
// locked first, as Put locks it, so a Put listing the version in another
// collection meanwhile copies either the old keys before this runs or the
// new ones after. The change records take their seqs from the counter row
// in the last statement, as Put and Delete do.
func (db *DB) SetPolicy(ctx context.Context, us []store.PolicyUpdate) error {
	if len(us) == 0 {
		return nil
	}
	for attempt := 1; ; attempt++ {
		err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error { return setPolicy(ctx, tx, us) })
		if err != nil && retryable(err) && attempt < 10 && ctx.Err() == nil {
			continue
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("postgres: set policy: %w", err)
		}
		return err
	}
}

func setPolicy(ctx context.Context, tx pgx.Tx, us []store.PolicyUpdate) error {
	var colls []int32
	rows, _ := tx.Query(ctx, `SELECT pk FROM collections`)
	colls, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return err
	}
	var (
		chColl []int32
		chID   []string
		chVT   []int64
	)
	for _, u := range us {
		var id string
		var vt int64
		var old []string
		err := tx.QueryRow(ctx, `SELECT id, vtime, audience FROM versions WHERE pk = $1`, u.Ref).Scan(&id, &vt, &old)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("version %d: %w", u.Ref, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `SELECT 1 FROM heads WHERE id = $1 FOR NO KEY UPDATE`, id); err != nil {
			return err
		}
		keys := distinct(slices.Sorted(slices.Values(u.Audience)))
		if keys == nil {
			keys = []string{}
		}
		var facts []byte
		if len(u.Facts) > 0 {
			facts = u.Facts
		}
		if _, err := tx.Exec(ctx, `UPDATE versions SET facts = $2, audience = $3 WHERE pk = $1`, u.Ref, facts, keys); err != nil {
			return err
		}
		type row struct {
			coll int32
			seq  int64
		}
		rows, _ := tx.Query(ctx, `SELECT collection, seq FROM collection_rows
			WHERE collection = ANY($1) AND id = $2 AND vtime = $3`, colls, id, vt)
		listed, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
			var x row
			err := r.Scan(&x.coll, &x.seq)
			return x, err
		})
		if err != nil {
			return err
		}
		for _, r := range listed {
			if _, err := tx.Exec(ctx, `DELETE FROM audience WHERE collection = $1 AND seq = $2 AND key = ANY($3)`, r.coll, r.seq, old); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO audience (collection, key, seq) SELECT $1, k, $2 FROM unnest($3::text[]) AS k`, r.coll, r.seq, keys); err != nil {
				return err
			}
			chColl, chID, chVT = append(chColl, r.coll), append(chID, id), append(chVT, vt)
		}
	}
	if len(chID) == 0 {
		return nil
	}
	_, err = tx.Exec(ctx, `
		WITH c AS (
			UPDATE counter SET seq = seq + $1 RETURNING seq - $1 AS seq0
		)
		INSERT INTO changes (seq, kind, collection, id, vtime)
		SELECT c.seq0 + u.ord, 'policy', u.coll, u.id, u.vtime
		FROM c, unnest($2::integer[], $3::text[], $4::bigint[]) WITH ORDINALITY AS u(coll, id, vtime, ord)`,
		len(chID), chColl, chID, chVT)
	return err
}

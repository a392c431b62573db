package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/setu-cti/setu/internal/store"
)

var _ store.Repolicy = (*DB)(nil)

// unresolvedWhere is the partial index's condition, repeated exactly so
// that the planner may use it.
const unresolvedWhere = `instr(v.facts, '"Unknown":["') > 0`

// Unresolved lists versions whose facts name a marking the node could not
// interpret, through the partial index that holds only them.
func (db *DB) Unresolved(ctx context.Context, after int64, limit int) ([]store.Version, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("unresolved: limit %d must be positive", limit)
	}
	rows, err := db.r.QueryContext(ctx, `SELECT `+versionColumns+`, v.body, v.released, v.audience
		FROM versions v INDEXED BY versions_unresolved
		WHERE `+unresolvedWhere+` AND v.pk > ? ORDER BY v.pk LIMIT ?`, after, limit)
	if err != nil {
		return nil, wrapErr("unresolved", err)
	}
	defer rows.Close()
	var out []store.Version
	for rows.Next() {
		var v store.Version
		var aud sql.NullString
		if err := scanVersion(rows, &v, &v.Body, &v.Released, &aud); err != nil {
			return nil, wrapErr("unresolved", err)
		}
		if v.Audience, err = decodeAudience(aud); err != nil {
			return nil, wrapErr("unresolved", err)
		}
		out = append(out, v)
	}
	return out, wrapErr("unresolved", rows.Err())
}

// SetPolicy replaces versions' policy metadata and the audience rows of
// their collection rows in one transaction. Collection rows are found per
// collection through (collection, version_pk); a node has few collections.
func (db *DB) SetPolicy(ctx context.Context, us []store.PolicyUpdate) error {
	if len(us) == 0 {
		return nil
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return wrapErr("set policy", err)
	}
	defer tx.Rollback()
	var colls []int64
	rows, err := tx.QueryContext(ctx, `SELECT pk FROM collections`)
	if err != nil {
		return wrapErr("set policy", err)
	}
	for rows.Next() {
		var c int64
		if err := rows.Scan(&c); err != nil {
			rows.Close()
			return wrapErr("set policy", err)
		}
		colls = append(colls, c)
	}
	rows.Close()
	var seq, dateAdded int64
	if err := tx.QueryRowContext(ctx, writeSQL[0]).Scan(&seq, &dateAdded); err != nil {
		return wrapErr("set policy", err)
	}
	for _, u := range us {
		var id string
		var vt int64
		var old sql.NullString
		err := tx.QueryRowContext(ctx, `SELECT id, vtime, audience FROM versions WHERE pk = ?`, u.Ref).Scan(&id, &vt, &old)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("version %d: %w", u.Ref, store.ErrNotFound)
		}
		if err != nil {
			return wrapErr("set policy", err)
		}
		oldKeys, err := decodeAudience(old)
		if err != nil {
			return wrapErr("set policy", err)
		}
		keys, enc, err := audienceKeys(u.Audience)
		if err != nil {
			return wrapErr("set policy", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE versions SET facts = ?, audience = ? WHERE pk = ?`, nilIfEmpty(u.Facts), enc, u.Ref); err != nil {
			return wrapErr("set policy", err)
		}
		for _, c := range colls {
			var rseq int64
			err := tx.QueryRowContext(ctx, `SELECT seq FROM collection_rows INDEXED BY collection_rows_version
				WHERE collection = ? AND version_pk = ?`, c, u.Ref).Scan(&rseq)
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			if err != nil {
				return wrapErr("set policy", err)
			}
			for _, k := range oldKeys {
				if _, err := tx.ExecContext(ctx, deleteAudienceSQL, c, k, rseq); err != nil {
					return wrapErr("set policy", err)
				}
			}
			for _, k := range keys {
				if _, err := tx.ExecContext(ctx, `INSERT INTO audience (collection, key, seq) VALUES (?, ?, ?)`, c, k, rseq); err != nil {
					return wrapErr("set policy", err)
				}
			}
			seq++
			if _, err := tx.ExecContext(ctx, `INSERT INTO changes (seq, kind, collection, id, vtime) VALUES (?, 'policy', ?, ?, ?)`,
				seq, c, id, vt); err != nil {
				return wrapErr("set policy", err)
			}
		}
	}
	if _, err := tx.ExecContext(ctx, writeSQL[1], seq, dateAdded); err != nil {
		return wrapErr("set policy", err)
	}
	if err := tx.Commit(); err != nil {
		return wrapErr("set policy", err)
	}
	db.ckpt.notify()
	return nil
}

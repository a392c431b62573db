package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/setu-cti/setu/internal/store"
)

var _ store.Deleter = (*DB)(nil)

const deleteAudienceSQL = `DELETE FROM audience WHERE collection = ? AND key = ? AND seq = ?`

// Delete removes from the collection (id or alias) the rows of object id
// whose versions match vf (the zero filter means the last version in the
// collection, as in Query) and, when not empty, whose spec_version is one
// of specVersions. It returns the number of rows removed; store.ErrNotFound
// if the collection is absent or no row matched.
//
// The object's remaining rows in the collection get their first and last
// flags back, so "last" then means the newest version still listed. Each
// removed row appends a change record of kind "delete", its seq taken from
// the counter row like a Put's (date_added does not move: it belongs to
// added rows). The versions stay stored: an (id, version time) keeps
// meaning one content, so conflict and revocation checks and Current are
// unaffected, and a deleted version posted again is listed again.
func (db *DB) Delete(ctx context.Context, collection, id string, vf store.VersionFilter, specVersions []string) (int, error) {
	if vf.IsZero() {
		vf.Last = true
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, wrapErr("delete", err)
	}
	defer tx.Rollback()
	coll, err := collectionPK(ctx, tx, collection)
	if err != nil {
		return 0, err
	}
	rows, err := tx.QueryContext(ctx, `SELECT r.seq, v.vtime, v.spec_version, r.is_first, r.is_last, v.audience
		FROM versions v INDEXED BY versions_id_vtime
		CROSS JOIN collection_rows r INDEXED BY collection_rows_version
		WHERE v.id = ?2 AND r.collection = ?1 AND r.version_pk = v.pk`, coll, id)
	if err != nil {
		return 0, wrapErr("delete", err)
	}
	type row struct {
		seq, vt         int64
		spec            string
		isFirst, isLast bool
		audience        sql.NullString // the version's keys: those of its audience rows
	}
	var all []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.seq, &r.vt, &r.spec, &r.isFirst, &r.isLast, &r.audience); err != nil {
			rows.Close()
			return 0, wrapErr("delete", err)
		}
		all = append(all, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, wrapErr("delete", err)
	}

	var gone, kept []row
	for _, r := range all {
		sel := vf.All || vf.Last && r.isLast || vf.First && r.isFirst ||
			slices.ContainsFunc(vf.At, func(t time.Time) bool { return t.UnixNano() == r.vt })
		if sel && (len(specVersions) == 0 || slices.Contains(specVersions, r.spec)) {
			gone = append(gone, r)
		} else {
			kept = append(kept, r)
		}
	}
	if len(gone) == 0 {
		return 0, fmt.Errorf("delete %s from %s: %w", id, collection, store.ErrNotFound)
	}

	var seq, dateAdded int64
	if err := tx.QueryRowContext(ctx, writeSQL[0]).Scan(&seq, &dateAdded); err != nil {
		return 0, wrapErr("delete", err)
	}
	for _, r := range gone {
		if _, err := tx.ExecContext(ctx, `DELETE FROM collection_rows WHERE collection = ? AND seq = ?`, coll, r.seq); err != nil {
			return 0, wrapErr("delete", err)
		}
		// The row's audience rows are found by key, so the keys come from
		// the version, whose keys are the ones each of its rows was given.
		keys, err := decodeAudience(r.audience)
		if err != nil {
			return 0, wrapErr("delete", err)
		}
		for _, k := range keys {
			if _, err := tx.ExecContext(ctx, deleteAudienceSQL, coll, k, r.seq); err != nil {
				return 0, wrapErr("delete", err)
			}
		}
		seq++
		if _, err := tx.ExecContext(ctx, `INSERT INTO changes (seq, kind, collection, id, vtime) VALUES (?, 'delete', ?, ?, ?)`,
			seq, coll, id, r.vt); err != nil {
			return 0, wrapErr("delete", err)
		}
	}
	if len(kept) > 0 {
		first, last := kept[0], kept[0]
		for _, r := range kept {
			if r.vt < first.vt {
				first = r
			}
			if r.vt > last.vt {
				last = r
			}
		}
		for _, r := range kept {
			isFirst, isLast := r.seq == first.seq, r.seq == last.seq
			if isFirst == r.isFirst && isLast == r.isLast {
				continue
			}
			if _, err := tx.ExecContext(ctx, `UPDATE collection_rows SET is_first = ?, is_last = ? WHERE collection = ? AND seq = ?`,
				isFirst, isLast, coll, r.seq); err != nil {
				return 0, wrapErr("delete", err)
			}
		}
	}
	if _, err := tx.ExecContext(ctx, writeSQL[1], seq, dateAdded); err != nil {
		return 0, wrapErr("delete", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, wrapErr("delete", err)
	}
	db.ckpt.notify()
	return len(gone), nil
}

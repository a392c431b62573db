package postgres

// Deletion and the change log. Removing versions from a collection is a
// write like any other, so Delete appends one change record per removed
// row, of kind "delete" with the collection, object id and version time of
// the row, so that whatever follows the log (match index, caches, live
// streams, outbound sync) learns that the version left the collection. Its
// seq range comes from the counter row, updated as the last statement
// before COMMIT exactly as in Put, so the log stays in commit order;
// date_added is not advanced, as it belongs to collection rows and none is
// added. The versions themselves stay stored even when no collection lists
// them any more: a version's (id, version time) keeps meaning one content,
// so conflict and revocation checks and Current are unaffected, and a
// deleted version posted again is listed again.

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/setu-cti/setu/internal/store"
)

var _ store.Deleter = (*DB)(nil)

// Delete removes from the collection (id or alias) the rows of object id
// whose versions match vf and, when not empty, whose spec_version is one of
// specVersions; versions are selected as Query selects them (the zero
// filter means the last version in the collection). The object's remaining
// rows get their first and last flags back, so "last" then means the newest
// version still listed. The audience rows of the removed rows go with them.
// It returns the number of rows removed;
// store.ErrNotFound if the collection is absent or no row matched.
//
// Delete locks the object's head row, as Put does, so it and writers of
// the object serialise and the flags cannot race.
func (db *DB) Delete(ctx context.Context, collection, id string, vf store.VersionFilter, specVersions []string) (int, error) {
	coll, err := db.collectionKey(ctx, collection)
	if err != nil {
		return 0, err
	}
	args := []any{coll, id}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	sql := `DELETE FROM collection_rows r WHERE r.collection = $1 AND r.id = $2`
	if !vf.All {
		cond, err := versionCond(vf, arg)
		if err != nil {
			return 0, fmt.Errorf("postgres: delete %s: %w", id, err)
		}
		sql += ` AND ` + cond
	}
	if len(specVersions) > 0 {
		sql += ` AND r.spec_version = ANY(` + arg(specVersions) + `)`
	}
	// The audience rows of the removed rows go in the same statement. Their
	// keys are those of the row's version, stored with it, so each is found
	// by the primary key (collection, key, seq).
	sql = `WITH d AS (` + sql + ` RETURNING r.seq, r.vtime, r.version_pk), a AS (
		DELETE FROM audience a
		USING d JOIN versions v ON v.pk = d.version_pk CROSS JOIN LATERAL unnest(v.audience) AS k(key)
		WHERE a.collection = $1 AND a.key = k.key AND a.seq = d.seq)
	SELECT vtime FROM d`
	for attempt := 1; ; attempt++ {
		n, err := db.delete(ctx, coll, id, sql, args)
		if err != nil && retryable(err) && attempt < 10 && ctx.Err() == nil {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("postgres: delete %s from %s: %w", id, collection, err)
		}
		return n, nil
	}
}

// delete is one attempt at a Delete, in two round trips: lock the head and
// delete the rows; then, if any went, fix the flags, append the change
// records and commit.
func (db *DB) delete(ctx context.Context, coll int32, id, sql string, args []any) (int, error) {
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Release()
	// As in Put, the transaction spans pipelined batches, so it is begun and
	// ended by statements and rolled back here unless committed.
	committed := false
	defer func() {
		if !committed {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			_, _ = conn.Exec(rctx, "ROLLBACK")
		}
	}()

	vtimes, err := deleteRows(ctx, conn, id, sql, args)
	if err != nil {
		return 0, err
	}
	if len(vtimes) == 0 {
		return 0, store.ErrNotFound
	}
	slices.Sort(vtimes)

	b := &pgx.Batch{}
	// An object with no row left has no bounds, and nothing to update.
	b.Queue(`
		UPDATE collection_rows r
		SET is_first = r.vtime = b.first, is_last = r.vtime = b.last
		FROM (SELECT min(vtime) AS first, max(vtime) AS last
		      FROM collection_rows WHERE collection = $1 AND id = $2) b
		WHERE r.collection = $1 AND r.id = $2
		  AND (r.is_first <> (r.vtime = b.first) OR r.is_last <> (r.vtime = b.last))`, coll, id)
	b.Queue(`
		WITH c AS (
			UPDATE counter SET seq = seq + $3 RETURNING seq - $3 AS seq0
		)
		INSERT INTO changes (seq, kind, collection, id, vtime)
		SELECT c.seq0 + u.ord, 'delete', $1, $2, u.vtime
		FROM c, unnest($4::bigint[]) WITH ORDINALITY AS u(vtime, ord)`,
		coll, id, len(vtimes), vtimes)
	b.Queue(`COMMIT`)
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		return 0, err
	}
	committed = true
	return len(vtimes), nil
}

// deleteRows begins the transaction, locks the object's head row and
// deletes the matching rows, returning their version times.
func deleteRows(ctx context.Context, conn *pgxpool.Conn, id, sql string, args []any) ([]int64, error) {
	b := &pgx.Batch{}
	b.Queue(`BEGIN`)
	b.Queue(`SELECT 1 FROM heads WHERE id = $1 FOR NO KEY UPDATE`, id)
	b.Queue(sql, args...)
	br := conn.SendBatch(ctx, b)
	vtimes, err := func() ([]int64, error) {
		if _, err := br.Exec(); err != nil {
			return nil, err
		}
		if _, err := br.Exec(); err != nil {
			return nil, err
		}
		rows, _ := br.Query()
		return pgx.CollectRows(rows, pgx.RowTo[int64])
	}()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return vtimes, err
}

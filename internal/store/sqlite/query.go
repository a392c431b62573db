package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/setu-cti/setu/internal/store"
)

// Query returns one page of q. Every statement it runs is a range scan of an
// index from the cursor, "seq > ? ORDER BY seq LIMIT n+1", so a page costs
// the same at any depth and in any collection size:
//
//   - with IDs, the object index finds the ids' versions and the collection
//     index their rows (the cost follows the ids' version count);
//   - otherwise one scan per selected type (or one for all types) and per
//     version selector. Without a type filter, "last" reads a partial index
//     of exactly the latest rows. Everything else reads a full range (all
//     rows, or all rows of a type) and skips rows that are not selected,
//     so a page reads at most about versions-per-object rows per row it
//     returns; that is the trade for one index fewer on every Put;
//   - the scans are merged by seq, which is how TAXII pages by date_added.
//
// With an Audience, the reader's keys drive instead (see audienceScan): the
// audience index yields the rows listed under any of the keys after the
// cursor, in seq order, and every other filter is applied to those rows, so
// a page reads the rows the reader may see, never the rest of the
// collection. With IDs as well, the ids still drive and each of their rows
// is checked against the keys.
//
// AddedAfter becomes a lower bound on seq through the date_added index,
// because seq and date_added increase together. All scans run in one read
// transaction, so they see the same snapshot: a row committed during the
// call cannot be seen by one scan and missed by another.
func (db *DB) Query(ctx context.Context, q store.Query) (store.Page, error) {
	if q.Limit <= 0 {
		return store.Page{}, fmt.Errorf("sqlite: query: limit %d must be positive", q.Limit)
	}
	tx, err := db.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return store.Page{}, wrapErr("query", err)
	}
	defer tx.Rollback()
	coll, err := collectionPK(ctx, tx, q.Collection)
	if err != nil {
		return store.Page{}, err
	}
	after := q.After
	if !q.AddedAfter.IsZero() {
		var first int64
		err := tx.QueryRowContext(ctx,
			`SELECT seq FROM collection_rows WHERE date_added > ? ORDER BY date_added LIMIT 1`,
			q.AddedAfter.UnixMicro()).Scan(&first)
		if errors.Is(err, sql.ErrNoRows) {
			return store.Page{}, nil // nothing was added after it
		}
		if err != nil {
			return store.Page{}, wrapErr("query", err)
		}
		after = max(after, first-1)
	}

	scans := planScans(q, coll, after)

	var merged []store.Version
	for _, s := range scans {
		vs, err := s.run(ctx, db, tx, q.NoBody)
		if err != nil {
			return store.Page{}, wrapErr("query", err)
		}
		merged = mergeBySeq(merged, vs, q.Limit+1)
	}
	var p store.Page
	if len(merged) > q.Limit {
		merged, p.More = merged[:q.Limit], true
	}
	p.Versions = merged
	if len(merged) > 0 {
		p.Last = merged[len(merged)-1].Seq
	}
	return p, nil
}

// planScans returns the statements for a page of q in the collection with
// row key coll, after the cursor.
func planScans(q store.Query, coll, after int64) []scan {
	vf := q.Versions
	if vf.IsZero() {
		vf.Last = true
	}
	n := q.Limit + 1 // one more row tells whether there are more
	body := "v.body, v.released"
	if q.NoBody {
		body = "NULL, NULL"
	}
	cols := versionColumns + `, r.seq, r.date_added, r.is_first, r.is_last, ` + body

	var keys []string
	if q.ReaderKeys != nil {
		keys = slices.Compact(slices.Sorted(slices.Values(q.ReaderKeys)))
		if len(keys) == 0 {
			return nil // no key, no row
		}
	}

	var scans []scan
	if len(q.IDs) > 0 {
		// The ids' versions in the collection, filtered; few rows, so one
		// statement with a sort is cheapest.
		var b where
		b.add("v.id IN ("+marks(len(q.IDs))+")", strs(q.IDs)...)
		b.add("r.seq > ?", after)
		b.in("v.type", q.Types)
		b.in("v.spec_version", q.SpecVersions)
		b.versions(vf)
		if keys != nil {
			// A lookup of (collection, key, seq) per key for each of the
			// ids' rows.
			b.add(`EXISTS (SELECT 1 FROM audience a INDEXED BY `+audiencePK+`
				WHERE a.collection = r.collection AND a.key IN (`+marks(len(keys))+`) AND a.seq = r.seq)`, strs(keys)...)
		}
		scans = append(scans, scan{
			// Pinned: the ids' versions drive, never the collection's rows.
			sql: `SELECT ` + cols + ` FROM versions v INDEXED BY versions_id_vtime
				CROSS JOIN collection_rows r INDEXED BY collection_rows_version
				ON r.collection = ? AND r.version_pk = v.pk
				WHERE ` + b.String() + ` ORDER BY r.seq LIMIT ?`,
			args: append(append([]any{coll}, b.args...), n),
		})
	} else if keys != nil {
		for group := range slices.Chunk(keys, maxScanKeys) {
			scans = append(scans, audienceScan(cols, coll, group, q.Types, q.SpecVersions, vf, after, n))
		}
	} else {
		types := []string{""}
		if len(q.Types) > 0 {
			types = q.Types
		}
		var selectors []versionScan
		if vf.All {
			selectors = []versionScan{selectAll}
		} else {
			if vf.Last {
				selectors = append(selectors, selectLast)
			}
			if vf.First || len(vf.At) > 0 {
				selectors = append(selectors, selectOther)
			}
		}
		for _, typ := range types {
			for _, sel := range selectors {
				scans = append(scans, rangeScan(cols, coll, typ, len(q.Types) > 0, sel, vf, q.SpecVersions, after, n))
			}
		}
	}

	return scans
}

// versionScan names the index range a scan reads.
type versionScan int

const (
	selectAll   versionScan = iota // every row
	selectLast                     // rows with is_last, through the partial indexes
	selectOther                    // "first" and exact times, filtering every row
)

// rangeScan builds one index-ordered scan of a collection from the cursor.
// INDEXED BY pins the index the cost argument relies on; SQLite fails the
// statement rather than silently scanning otherwise.
func rangeScan(cols string, coll int64, typ string, byType bool, sel versionScan, vf store.VersionFilter, specs []string, after int64, n int) scan {
	var index string
	switch {
	case byType:
		index = "collection_rows_type"
	case sel == selectLast:
		index = "collection_rows_last"
	default:
		index = "sqlite_autoindex_collection_rows_1" // the primary key (collection, seq)
	}
	var b where
	b.add("r.collection = ?", coll)
	if byType {
		b.add("r.type = ?", typ)
	}
	if sel == selectLast {
		b.add("r.is_last = 1")
	}
	b.add("r.seq > ?", after)
	b.in("v.spec_version", specs)
	if sel == selectOther {
		b.versions(store.VersionFilter{First: vf.First, At: vf.At})
	}
	return scan{
		sql: `SELECT ` + cols + ` FROM collection_rows r INDEXED BY ` + index + `
			JOIN versions v ON v.pk = r.version_pk
			WHERE ` + b.String() + ` ORDER BY r.seq LIMIT ?`,
		args: append(b.args, n),
	}
}

// audiencePK is the primary key of the audience table, (collection, key, seq).
const audiencePK = "sqlite_autoindex_audience_1"

// maxScanKeys bounds the keys one audience scan merges. Each key is one arm
// of a compound SELECT, and SQLite bounds those (500 by default); a reader
// with more keys gets several scans, merged like the others.
const maxScanKeys = 32

// audienceScan builds the scan of the rows listed under any of keys after
// the cursor. Each key's rows are one range of the audience primary key,
// already in seq order; SQLite merges the ranges in a co-routine (UNION,
// so a row listed under several keys comes once) without sorting, and each
// candidate is joined to its collection row and version and filtered. The
// statement stops at the n-th matching row, so it reads the candidates up
// to that row and no further: the candidates are fetched as the filters
// consume them, however many the filters reject, and a page never restarts
// from an offset. The plan is pinned like the range scans' and checked by
// the tests.
func audienceScan(cols string, coll int64, keys, types, specs []string, vf store.VersionFilter, after int64, n int) scan {
	arms := make([]string, len(keys))
	var args []any
	for i, k := range keys {
		arms[i] = `SELECT seq FROM audience INDEXED BY ` + audiencePK + ` WHERE collection = ? AND key = ? AND seq > ?`
		args = append(args, coll, k, after)
	}
	var b where
	b.add("r.collection = ?", coll)
	b.in("r.type", types) // the row's copy of the type: no version read to reject it
	b.in("v.spec_version", specs)
	b.versions(vf)
	args = append(args, b.args...)
	return scan{
		sql: `SELECT ` + cols + ` FROM (` + strings.Join(arms, " UNION ") + ` ORDER BY seq) cand
			CROSS JOIN collection_rows r INDEXED BY sqlite_autoindex_collection_rows_1 ON r.seq = cand.seq
			CROSS JOIN versions v ON v.pk = r.version_pk
			WHERE ` + b.String() + ` ORDER BY cand.seq LIMIT ?`,
		args: append(args, n),
	}
}

type scan struct {
	sql  string
	args []any
}

func (s scan) run(ctx context.Context, db *DB, tx *sql.Tx, noBody bool) ([]store.Version, error) {
	st, release, err := db.readStmt(ctx, s.sql)
	if err != nil {
		return nil, err
	}
	defer release()
	rows, err := tx.StmtContext(ctx, st).QueryContext(ctx, s.args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var vs []store.Version
	for rows.Next() {
		var (
			v         store.Version
			dateAdded int64
		)
		if err := scanVersion(rows, &v, &v.Seq, &dateAdded, &v.IsFirst, &v.IsLast, &v.Body, &v.Released); err != nil {
			return nil, err
		}
		if noBody {
			v.Body = nil
		}
		v.DateAdded = time.UnixMicro(dateAdded).UTC()
		vs = append(vs, v)
	}
	return vs, rows.Err()
}

// mergeBySeq merges two seq-ordered lists, dropping repeated rows, and keeps
// at most n.
func mergeBySeq(a, b []store.Version, n int) []store.Version {
	if len(a) == 0 {
		return b[:min(len(b), n)]
	}
	out := make([]store.Version, 0, min(len(a)+len(b), n))
	for len(out) < n && (len(a) > 0 || len(b) > 0) {
		switch {
		case len(b) == 0 || len(a) > 0 && a[0].Seq < b[0].Seq:
			out, a = append(out, a[0]), a[1:]
		case len(a) == 0 || b[0].Seq < a[0].Seq:
			out, b = append(out, b[0]), b[1:]
		default: // the same row from two scans
			out, a, b = append(out, a[0]), a[1:], b[1:]
		}
	}
	return out
}

// where accumulates AND-ed conditions and their arguments.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

func (w *where) in(col string, vals []string) {
	if len(vals) > 0 {
		w.add(col+" IN ("+marks(len(vals))+")", strs(vals)...)
	}
}

// versions adds the version selection as one OR-ed condition; All and a
// zero filter add nothing.
func (w *where) versions(vf store.VersionFilter) {
	if vf.All {
		return
	}
	var or []string
	if vf.Last {
		or = append(or, "r.is_last = 1")
	}
	if vf.First {
		or = append(or, "r.is_first = 1")
	}
	if len(vf.At) > 0 {
		or = append(or, "v.vtime IN ("+marks(len(vf.At))+")")
		for _, t := range vf.At {
			w.args = append(w.args, t.UnixNano())
		}
	}
	if len(or) == 0 {
		return
	}
	w.conds = append(w.conds, "("+strings.Join(or, " OR ")+")")
}

func (w *where) String() string { return strings.Join(w.conds, " AND ") }

func marks(n int) string { return strings.TrimSuffix(strings.Repeat("?,", n), ",") }

func strs(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return slices.Clip(out)
}

// Changes returns change-log records after the given seq, in order.
func (db *DB) Changes(ctx context.Context, after int64, limit int) ([]store.Change, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("sqlite: changes: limit %d must be positive", limit)
	}
	rows, err := db.r.QueryContext(ctx,
		`SELECT ch.seq, ch.kind, c.id, ch.id, ch.vtime FROM changes ch JOIN collections c ON c.pk = ch.collection
		WHERE ch.seq > ? ORDER BY ch.seq LIMIT ?`, after, limit)
	if err != nil {
		return nil, wrapErr("changes", err)
	}
	defer rows.Close()
	var cs []store.Change
	for rows.Next() {
		var (
			c  store.Change
			vt int64
		)
		if err := rows.Scan(&c.Seq, &c.Kind, &c.Collection, &c.ID, &vt); err != nil {
			return nil, wrapErr("changes", err)
		}
		c.VersionTime = time.Unix(0, vt).UTC()
		cs = append(cs, c)
	}
	return cs, wrapErr("changes", rows.Err())
}

// readStmt returns the statement for query prepared on the reader pool.
// Query builds its SQL from a few shapes (the number of ids, types and
// times varies), and preparing a join costs about as much as running it
// for a small page, so prepared statements are kept; past maxReadStmts
// shapes, new ones are prepared per call.
// release is to be called when the caller is done with the statement.
func (db *DB) readStmt(ctx context.Context, query string) (st *sql.Stmt, release func(), err error) {
	db.readMu.Lock()
	defer db.readMu.Unlock()
	if st, ok := db.readStmts[query]; ok {
		return st, func() {}, nil
	}
	st, err = db.r.PrepareContext(ctx, query)
	if err != nil {
		return nil, nil, err
	}
	if len(db.readStmts) >= maxReadStmts {
		return st, func() { st.Close() }, nil
	}
	if db.readStmts == nil {
		db.readStmts = map[string]*sql.Stmt{}
	}
	db.readStmts[query] = st
	return st, func() {}, nil
}

const maxReadStmts = 256

package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/setu-cti/setu/internal/store"
)

// Query returns one page of collection rows matching q, in seq order. The
// page is read with `seq > cursor ... ORDER BY seq LIMIT n+1`: the extra row
// only tells whether More rows follow. AddedAfter is turned into a seq bound
// (date_added and seq increase together), so it too narrows the index range
// instead of filtering a scan from the start of the collection. With an
// Audience, the rows are found through the reader's keys instead; see
// queryAudience.
func (db *DB) Query(ctx context.Context, q store.Query) (store.Page, error) {
	if q.Limit <= 0 {
		return store.Page{}, fmt.Errorf("postgres: query limit %d: must be positive", q.Limit)
	}
	coll, err := db.collectionKey(ctx, q.Collection)
	if err != nil {
		return store.Page{}, err
	}
	var vs []store.Version
	switch {
	case q.ReaderKeys != nil && len(q.ReaderKeys) == 0:
		// No key: no row can be seen. The collection is still checked
		// above, so an absent one is reported as such.
	case q.ReaderKeys != nil && len(q.IDs) == 0:
		vs, err = db.queryAudience(ctx, coll, q)
	default:
		vs, err = db.queryRows(ctx, coll, q)
	}
	if err != nil {
		return store.Page{}, fmt.Errorf("postgres: query: %w", err)
	}
	p := store.Page{Versions: vs}
	if len(vs) > q.Limit {
		p.Versions, p.More = vs[:q.Limit], true
	}
	if len(p.Versions) > 0 {
		p.Last = p.Versions[len(p.Versions)-1].Seq
	}
	return p, nil
}

// queryRows reads the rows of a query driven by the indexes of
// collection_rows (querySQL), at most q.Limit+1.
func (db *DB) queryRows(ctx context.Context, coll int32, q store.Query) ([]store.Version, error) {
	sql, args, err := querySQL(coll, q)
	if err != nil {
		return nil, err
	}
	rows, _ := db.pool.Query(ctx, sql, args...)
	vs := make([]store.Version, 0, min(q.Limit+1, 1000))
	for rows.Next() {
		var v store.Version
		var added int64
		if err := scanVersion(rows, &v, &v.Seq, &added, &v.IsFirst, &v.IsLast, &v.Body, &v.Released); err != nil {
			rows.Close()
			return nil, err
		}
		v.DateAdded = fromMicros(added)
		vs = append(vs, v)
	}
	return vs, rows.Err()
}

// maxChunk bounds the candidates one statement of queryAudience reads, so
// that a reader whose rows mostly fail the other filters pages through them
// in statements of bounded cost rather than in one unbounded one.
const maxChunk = 8192

// queryAudience reads the rows of q visible to one of q.ReaderKeys, at most
// q.Limit+1, through the audience index: each statement takes the next
// chunk of candidate seqs after the cursor (the reader's keys merged in seq
// order, a seq listed under several keys once), joins them to their
// collection rows with every other filter of q applied, and returns the
// matches with the chunk's size and last seq. While fewer than Limit+1 rows
// matched and a chunk came back full, the next chunk starts after its last
// seq, and is larger: the first chunk is sized for the common case where
// the other filters keep every candidate.
//
// The statements run outside a transaction. Rows are committed in seq
// order, so a later statement can only see new rows after every seq the
// earlier ones saw: the page stays in seq order and resumable from its last
// seq, as a page of queryRows read while writers commit.
func (db *DB) queryAudience(ctx context.Context, coll int32, q store.Query) ([]store.Version, error) {
	keys := distinct(q.ReaderKeys)
	vs := make([]store.Version, 0, min(q.Limit+1, 1000))
	cursor, chunk := q.After, min(q.Limit+1, maxChunk)
	for {
		sql, args, err := audienceSQL(coll, q, keys, cursor, chunk, q.Limit+1-len(vs))
		if err != nil {
			return nil, err
		}
		var n, last int64
		rows, _ := db.pool.Query(ctx, sql, args...)
		for rows.Next() {
			if rows.RawValues()[0] == nil {
				// No candidate of the chunk matched: the one row carries
				// only the chunk's size and last seq.
				dst := make([]any, len(rows.FieldDescriptions()))
				dst[len(dst)-2], dst[len(dst)-1] = &n, &last
				if err := rows.Scan(dst...); err != nil {
					rows.Close()
					return nil, err
				}
				continue
			}
			var v store.Version
			var added int64
			if err := scanVersion(rows, &v, &v.Seq, &added, &v.IsFirst, &v.IsLast, &v.Body, &v.Released, &n, &last); err != nil {
				rows.Close()
				return nil, err
			}
			v.DateAdded = fromMicros(added)
			vs = append(vs, v)
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
		if len(vs) > q.Limit || n < int64(chunk) {
			return vs, nil // page full, or candidates exhausted
		}
		cursor, chunk = last, min(chunk*4, maxChunk)
	}
}

// audienceSQL builds one statement of queryAudience: candidates are the
// first chunk seqs after cursor in the audience rows of coll under keys,
// matches at most need rows. Each key's seqs are read from the primary key
// (collection, key, seq) in order, at most chunk of them, and merged: the
// first chunk distinct seqs of the union are among them, whatever the keys
// share. A plain `key = ANY(keys) ORDER BY seq LIMIT chunk` would instead
// read every seq of every key after the cursor, in key order, and sort them.
//
// The candidates are then looked up one by one by the primary key of
// collection_rows and filtered, so a statement costs about len(keys)×chunk
// index entries and chunk rows, whatever the collection's size. The lookup
// is a LATERAL subquery with LIMIT 1 (a seq is one row of a collection) so
// that the planner keeps it a probe per candidate: as a plain join, the
// statistics of a small collection lead it to hash the candidates against a
// scan of the whole collection.
//
// The statement always returns at least one row: the chunk's size and last
// seq come with every match, or alone, after null version columns, when
// nothing matched.
func audienceSQL(coll int32, q store.Query, keys []string, cursor int64, chunk, need int) (string, []any, error) {
	args := []any{coll, cursor, keys, chunk}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	var sb strings.Builder
	sb.WriteString(`WITH c AS MATERIALIZED (
	SELECT DISTINCT a.seq
	FROM unnest($3::text[]) AS k(key)
	CROSS JOIN LATERAL (
		SELECT a.seq FROM audience a
		WHERE a.collection = $1 AND a.key = k.key AND a.seq > $2`)
	var cond string
	if !q.AddedAfter.IsZero() {
		// The seq bound of AddedAfter starts the candidates there rather
		// than at the cursor; the date_added condition below states the
		// meaning.
		p := arg(q.AddedAfter.UnixMicro())
		sb.WriteString(`
		  AND a.seq > ` + addedSeqBound(p))
		cond += `
  AND r.date_added > ` + p
	}
	more, err := filterConds(q, arg)
	if err != nil {
		return "", nil, err
	}
	cond += more
	sb.WriteString(`
		ORDER BY a.seq LIMIT $4) a
	ORDER BY a.seq LIMIT $4
), m AS (
	SELECT x.* FROM c CROSS JOIN LATERAL (
		SELECT ` + versionColumns + `, r.seq, r.date_added, r.is_first, r.is_last, ` + bodyColumn(q) + `
		FROM collection_rows r JOIN versions v ON v.pk = r.version_pk
		WHERE r.collection = $1 AND r.seq = c.seq` + strings.ReplaceAll(cond, "\n", "\n\t\t") + `
		LIMIT 1) x
	ORDER BY x.seq
	LIMIT ` + arg(need) + `
), s AS (
	SELECT count(*) AS n, coalesce(max(seq), 0) AS last FROM c
)
SELECT m.*, s.n, s.last FROM s LEFT JOIN m ON true
ORDER BY m.seq`)
	return sb.String(), args, nil
}

// querySQL builds the statement for q in collection coll. Every shape is
// served by an index of collection_rows: the primary key (collection, seq)
// for plain paging, the partial indexes on is_last and is_first for the
// version selectors, (collection, id, vtime) for ids, (collection, type, seq)
// for types and (collection, date_added) for the AddedAfter bound.
//
// With an Audience it is used only together with IDs: the ids bound the
// rows to the versions of a few objects, found by their index, so each is
// checked against the audience primary key instead of walking every row the
// reader may see until those objects come up.
func querySQL(coll int32, q store.Query) (string, []any, error) {
	args := []any{coll, q.After}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	var sb strings.Builder
	sb.WriteString(`SELECT ` + versionColumns + `, r.seq, r.date_added, r.is_first, r.is_last, ` + bodyColumn(q) + `
FROM collection_rows r JOIN versions v ON v.pk = r.version_pk
WHERE r.collection = $1 AND r.seq > $2`)
	if !q.AddedAfter.IsZero() {
		// Both bounds: the seq bound drives the index, the date_added
		// condition states the meaning.
		p := arg(q.AddedAfter.UnixMicro())
		sb.WriteString(`
  AND r.date_added > ` + p + `
  AND r.seq > ` + addedSeqBound(p))
	}
	cond, err := filterConds(q, arg)
	if err != nil {
		return "", nil, err
	}
	sb.WriteString(cond)
	if q.ReaderKeys != nil {
		sb.WriteString(`
  AND EXISTS (SELECT 1 FROM audience a
              WHERE a.collection = $1 AND a.key = ANY(` + arg(distinct(q.ReaderKeys)) + `) AND a.seq = r.seq)`)
	}
	sb.WriteString(`
ORDER BY r.seq
LIMIT ` + arg(q.Limit+1))
	return sb.String(), args, nil
}

// bodyColumn is the body columns of a query's rows (the body and the
// released body): null for a manifest.
func bodyColumn(q store.Query) string {
	if q.NoBody {
		return `NULL::bytea AS body, NULL::bytea AS released`
	}
	return `v.body AS body, v.released AS released`
}

// addedSeqBound is the seq after which the rows added after the time in
// placeholder p lie: that of the last row added at or before it.
func addedSeqBound(p string) string {
	return `coalesce((SELECT b.seq FROM collection_rows b
                   WHERE b.collection = $1 AND b.date_added <= ` + p + `
                   ORDER BY b.date_added DESC LIMIT 1), 0)`
}

// filterConds are the conditions of q on a collection row r other than its
// seq and date_added bounds, each on a new line starting with AND; arg adds
// a parameter and returns its placeholder.
func filterConds(q store.Query, arg func(any) string) (string, error) {
	var sb strings.Builder
	if len(q.IDs) > 0 {
		sb.WriteString(`
  AND r.id = ANY(` + arg(q.IDs) + `)`)
	}
	if len(q.Types) > 0 {
		sb.WriteString(`
  AND r.type = ANY(` + arg(q.Types) + `)`)
	}
	if len(q.SpecVersions) > 0 {
		sb.WriteString(`
  AND r.spec_version = ANY(` + arg(q.SpecVersions) + `)`)
	}
	if vf := q.Versions; !vf.All {
		cond, err := versionCond(vf, arg)
		if err != nil {
			return "", err
		}
		sb.WriteString(`
  AND ` + cond)
	}
	return sb.String(), nil
}

// versionCond is the condition on a collection row r that selects the
// versions vf names, vf.All aside (no condition); arg adds a parameter and
// returns its placeholder. Query and Delete share it, so both select the
// same rows.
func versionCond(vf store.VersionFilter, arg func(any) string) (string, error) {
	var or []string
	if vf.Last || vf.IsZero() {
		or = append(or, `r.is_last`)
	}
	if vf.First {
		or = append(or, `r.is_first`)
	}
	if len(vf.At) > 0 {
		at := make([]int64, len(vf.At))
		for i, t := range vf.At {
			ns, err := toNS(t)
			if err != nil {
				return "", err
			}
			at[i] = ns
		}
		or = append(or, `r.vtime = ANY(`+arg(at)+`)`)
	}
	return `(` + strings.Join(or, ` OR `) + `)`, nil
}

// Changes returns change-log records with Seq > after, at most limit, in
// seq order. Records are committed in seq order (see the package comment),
// so a follower polling with its last seq misses none.
func (db *DB) Changes(ctx context.Context, after int64, limit int) ([]store.Change, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("postgres: changes limit %d: must be positive", limit)
	}
	rows, _ := db.pool.Query(ctx, `
		SELECT c.seq, c.kind, k.id, c.id, c.vtime
		FROM changes c JOIN collections k ON k.pk = c.collection
		WHERE c.seq > $1 ORDER BY c.seq LIMIT $2`, after, limit)
	cs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Change, error) {
		var c store.Change
		var vt int64
		err := row.Scan(&c.Seq, &c.Kind, &c.Collection, &c.ID, &vt)
		c.VersionTime = fromNS(vt)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: changes: %w", err)
	}
	return cs, nil
}

// Stats reports whole-store counts. Counting is exact, so it scans; it is
// meant for diagnostics and tests, not for every request.
func (db *DB) Stats(ctx context.Context) (store.Stats, error) {
	var st store.Stats
	err := db.pool.QueryRow(ctx, `
		SELECT (SELECT count(*) FROM versions),
		       (SELECT count(*) FROM heads),
		       (SELECT count(*) FROM collection_rows),
		       (SELECT seq FROM counter)`).Scan(&st.Versions, &st.Objects, &st.CollectionRows, &st.LastSeq)
	if err != nil {
		return store.Stats{}, fmt.Errorf("postgres: stats: %w", err)
	}
	return st, nil
}

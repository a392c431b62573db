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
// instead of filtering a scan from the start of the collection.
func (db *DB) Query(ctx context.Context, q store.Query) (store.Page, error) {
	if q.Limit <= 0 {
		return store.Page{}, fmt.Errorf("postgres: query limit %d: must be positive", q.Limit)
	}
	coll, err := db.collectionKey(ctx, q.Collection)
	if err != nil {
		return store.Page{}, err
	}
	sql, args, err := querySQL(coll, q)
	if err != nil {
		return store.Page{}, fmt.Errorf("postgres: query: %w", err)
	}
	rows, _ := db.pool.Query(ctx, sql, args...)
	vs := make([]store.Version, 0, min(q.Limit+1, 1000))
	for rows.Next() {
		var v store.Version
		var added int64
		if err := scanVersion(rows, &v, &v.Seq, &added, &v.Body); err != nil {
			rows.Close()
			return store.Page{}, fmt.Errorf("postgres: query: %w", err)
		}
		v.DateAdded = fromMicros(added)
		vs = append(vs, v)
	}
	if err := rows.Err(); err != nil {
		return store.Page{}, fmt.Errorf("postgres: query: %w", err)
	}
	var p store.Page
	if len(vs) > q.Limit {
		vs, p.More = vs[:q.Limit], true
	}
	p.Versions = vs
	if len(vs) > 0 {
		p.Last = vs[len(vs)-1].Seq
	}
	return p, nil
}

// querySQL builds the statement for q in collection coll. Every shape is
// served by an index of collection_rows: the primary key (collection, seq)
// for plain paging, the partial indexes on is_last and is_first for the
// version selectors, (collection, id, vtime) for ids, (collection, type, seq)
// for types and (collection, date_added) for the AddedAfter bound.
func querySQL(coll int32, q store.Query) (string, []any, error) {
	args := []any{coll, q.After}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	var sb strings.Builder
	sb.WriteString(`SELECT ` + versionColumns + `, r.seq, r.date_added, `)
	if q.NoBody {
		sb.WriteString(`NULL::bytea`)
	} else {
		sb.WriteString(`v.body`)
	}
	sb.WriteString(`
FROM collection_rows r JOIN versions v ON v.pk = r.version_pk
WHERE r.collection = $1 AND r.seq > $2`)
	if !q.AddedAfter.IsZero() {
		// Both bounds: the seq bound drives the index, the date_added
		// condition states the meaning.
		us := q.AddedAfter.UnixMicro()
		p := arg(us)
		fmt.Fprintf(&sb, `
  AND r.date_added > %[1]s
  AND r.seq > coalesce((SELECT a.seq FROM collection_rows a
                        WHERE a.collection = $1 AND a.date_added <= %[1]s
                        ORDER BY a.date_added DESC LIMIT 1), 0)`, p)
	}
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
			return "", nil, err
		}
		sb.WriteString(`
  AND ` + cond)
	}
	sb.WriteString(`
ORDER BY r.seq
LIMIT ` + arg(q.Limit+1))
	return sb.String(), args, nil
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

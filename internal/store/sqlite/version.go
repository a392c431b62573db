package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/setu-cti/setu/internal/audit"
	"github.com/setu-cti/setu/internal/store"
)

// writeStmts are the statements of the Put path, prepared once on the writer
// connection; a transaction binds them with Tx.StmtContext, which reuses the
// prepared statement because the writer has a single connection.
type writeStmts struct {
	readCounter, writeCounter *sql.Stmt
	head, exact, unversioned  *sql.Stmt
	inCollection, ends        *sql.Stmt
	clearFirst, clearLast     *sql.Stmt
	insertRow, insertChange   *sql.Stmt
	// Multi-row forms for a full chunk of pending rows (see flush).
	insertRows, insertChanges *sql.Stmt
	// The audience keys stored with a version, and its audience rows in a
	// collection, one at a time and a chunk at a time (see flushAudience).
	versionAudience                 *sql.Stmt
	insertAudience, insertAudiences *sql.Stmt
	// Versions with their pk assigned by Put (see flushVersions).
	maxPK, insertVersionPK, insertVersionsPK *sql.Stmt
}

func (s *writeStmts) list() []**sql.Stmt {
	return []**sql.Stmt{
		&s.readCounter, &s.writeCounter, &s.head, &s.exact, &s.unversioned,
		&s.inCollection, &s.ends, &s.clearFirst, &s.clearLast, &s.insertRow, &s.insertChange,
		&s.insertRows, &s.insertChanges, &s.versionAudience, &s.insertAudience, &s.insertAudiences,
		&s.maxPK, &s.insertVersionPK, &s.insertVersionsPK,
	}
}

var writeSQL = []string{
	`SELECT last_seq, last_date_added FROM counter WHERE one = 1`,
	`UPDATE counter SET last_seq = ?, last_date_added = ? WHERE one = 1`,
	// The newest version of an object: the current one.
	`SELECT pk, vtime, hash, revoked, submitter FROM versions WHERE id = ? ORDER BY vtime DESC LIMIT 1`,
	`SELECT pk, hash FROM versions WHERE id = ? AND vtime = ?`,
	`SELECT pk, vtime FROM versions WHERE id = ? AND hash = ? AND created IS NULL AND modified IS NULL`,
	`SELECT 1 FROM collection_rows WHERE collection = ? AND version_pk = ?`,
	// The rows holding the oldest and newest versions of an object in a
	// collection (at most two rows). The join order and indexes are pinned: the
	// object's few versions drive, never the collection's rows.
	`SELECT r.seq, v.vtime, r.is_first, r.is_last
		FROM versions v INDEXED BY versions_id_vtime
		CROSS JOIN collection_rows r INDEXED BY collection_rows_version
		WHERE v.id = ?2 AND r.collection = ?1 AND r.version_pk = v.pk AND (r.is_first = 1 OR r.is_last = 1)`,
	`UPDATE collection_rows SET is_first = 0 WHERE collection = ? AND seq = ?`,
	`UPDATE collection_rows SET is_last = 0 WHERE collection = ? AND seq = ?`,
	`INSERT INTO collection_rows (collection, seq, version_pk, type, date_added, is_first, is_last)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
	`INSERT INTO changes (seq, kind, collection, id, vtime) VALUES (?, 'add', ?, ?, ?)`,
	`INSERT INTO collection_rows (collection, seq, version_pk, type, date_added, is_first, is_last) VALUES ` +
		repeatJoin("(?, ?, ?, ?, ?, ?, ?)", rowChunk),
	`INSERT INTO changes (seq, kind, collection, id, vtime) VALUES ` + repeatJoin("(?, 'add', ?, ?, ?)", rowChunk),
	`SELECT audience FROM versions WHERE pk = ?`,
	// OR FAIL: a multi-row INSERT that may abort makes SQLite copy every
	// page it touches into a statement journal so it can undo itself; a
	// chunk of audience rows touches a page per key. A failed statement
	// fails the whole Put, whose transaction is rolled back anyway, so
	// undoing the statement alone is not needed.
	`INSERT INTO audience (collection, key, seq) VALUES (?, ?, ?)`,
	`INSERT OR FAIL INTO audience (collection, key, seq) VALUES ` + repeatJoin("(?, ?, ?)", audienceChunk),
	`SELECT coalesce(max(pk), 0) FROM versions`,
	`INSERT INTO versions (pk, id, vtime, hash, type, spec_version, created, modified, revoked, body, submitter, facts, audience, released)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
	// OR FAIL for the reason given for audience rows above.
	`INSERT OR FAIL INTO versions (pk, id, vtime, hash, type, spec_version, created, modified, revoked, body, submitter, facts, audience, released)
		VALUES ` + repeatJoin("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", versionChunk),
}

// versionChunk is how many versions one multi-row INSERT writes. Under the
// single writer, Put assigns version pks itself (after the largest stored
// one), so new versions can be buffered like collection rows and written a
// chunk at a time.
const versionChunk = 32

// rowChunk is how many collection rows (and change records) one multi-row
// INSERT writes. Statement execution, not row count, dominates the cost of a
// bulk Put, so rows are buffered and written a chunk at a time.
const rowChunk = 64

// audienceChunk is how many audience rows one multi-row INSERT writes.
// Nothing in a Put reads audience rows, so they are buffered for the whole
// call and only a remainder smaller than a chunk is written row by row.
const audienceChunk = 128

func repeatJoin(s string, n int) string {
	b := make([]byte, 0, n*(len(s)+1))
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, s...)
	}
	return string(b)
}

func (s *writeStmts) prepare(ctx context.Context, w *sql.DB) error {
	for i, p := range s.list() {
		st, err := w.PrepareContext(ctx, writeSQL[i])
		if err != nil {
			return fmt.Errorf("sqlite: prepare %q: %w", writeSQL[i], err)
		}
		*p = st
	}
	return nil
}

func (s *writeStmts) close() {
	for _, p := range s.list() {
		if *p != nil {
			(*p).Close()
		}
	}
}

// bind returns the statements bound to tx.
func (s *writeStmts) bind(ctx context.Context, tx *sql.Tx) writeStmts {
	var b writeStmts
	src, dst := s.list(), b.list()
	for i := range src {
		*dst[i] = tx.StmtContext(ctx, *src[i])
	}
	return b
}

// Put stores vs into the collection in one transaction. Versions are
// handled in order, so a later version in the batch sees the earlier ones
// (a repeated version is a Duplicate; a version after a revoking one in the
// same batch is rejected). The collection may be named by id or alias; an
// unknown one fails the call with store.ErrNotFound.
func (db *DB) Put(ctx context.Context, collection string, vs []store.Version) ([]store.Result, error) {
	return db.PutAudited(ctx, collection, vs, nil)
}

// PutAudited is Put that appends the audit records record returns in the
// same transaction, after the versions and before the counter row, the
// last write.
func (db *DB) PutAudited(ctx context.Context, collection string, vs []store.Version, record func([]store.Result) []audit.Record) ([]store.Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, wrapErr("put", err)
	}
	defer tx.Rollback()
	coll, err := collectionPK(ctx, tx, collection)
	if err != nil {
		return nil, err
	}
	p := putter{ctx: ctx, coll: coll, st: db.stmts.bind(ctx, tx)}
	defer p.st.close()
	if err := p.st.readCounter.QueryRowContext(ctx).Scan(&p.seq, &p.dateAdded); err != nil {
		return nil, wrapErr("put", err)
	}
	startSeq := p.seq
	// One clock reading per call: rows of a batch are added "at once", and
	// max(now, last+1µs) keeps them distinct and increasing.
	p.now = db.now().UnixMicro()

	if err := p.prefetchHeads(tx, vs); err != nil {
		return nil, wrapErr("put", err)
	}
	if err := p.st.maxPK.QueryRowContext(ctx).Scan(&p.lastPK); err != nil {
		return nil, wrapErr("put", err)
	}
	rs := make([]store.Result, len(vs))
	for i := range vs {
		if rs[i], err = p.put(&vs[i]); err != nil {
			return nil, err
		}
	}
	if err := p.flush(); err != nil {
		return nil, wrapErr("put", err)
	}
	if err := p.flushAudience(true); err != nil {
		return nil, wrapErr("put", err)
	}
	if record != nil {
		if recs := record(rs); len(recs) > 0 {
			if _, err := db.appendAudit(ctx, tx, recs); err != nil {
				return nil, err
			}
		}
	}
	if p.seq != startSeq {
		// The counter row is written as the last step, as every backend
		// does (in PostgreSQL that keeps the row lock short); under
		// SQLite's single writer the values read at the start are still
		// the latest here.
		if _, err := p.st.writeCounter.ExecContext(ctx, p.seq, p.dateAdded); err != nil {
			return nil, wrapErr("put", err)
		}
	}
	// A cancelled call stores nothing, even if every statement ran.
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, wrapErr("put", err)
	}
	db.ckpt.notify()
	return rs, nil
}

// putter is the state of one Put transaction.
type putter struct {
	ctx       context.Context
	coll      int64
	st        writeStmts
	now       int64 // µs
	seq       int64 // last seq assigned
	dateAdded int64 // last date_added assigned, µs

	// heads holds the newest stored version of each object of the batch.
	heads map[string]headRow
	// stored holds what the batch needs of each version stored before the
	// call, for the objects of the batch; inColl, the objects with a row in
	// the collection before the call; listed, those given one by the call.
	// Together they answer, without a statement, for the common case of a
	// stored version listed in a collection that has no row of its object
	// (a peer's view), and only that case.
	stored     map[int64]storedRow
	inColl     map[string]bool
	listed     map[string]bool
	audDecoded map[string][]string

	// New versions not yet written, with the pks Put gave them; flushed
	// before anything reads the versions table, and before their rows.
	lastPK          int64
	pendingVersions [][]any

	// Rows and change records not yet written; flushed before anything reads
	// collection rows and at the end of the transaction.
	pending []pendingRow
	// Audience rows not yet written. Nothing in the transaction reads them,
	// so they wait for a full chunk or the end of the call.
	audience []audienceRow
}

type audienceRow struct {
	key string
	seq int64
}

type pendingRow struct {
	seq, pk, dateAdded, vt int64
	id, typ                string
	first, last            bool
}

// flushVersions writes the pending versions.
func (p *putter) flushVersions() error {
	vs := p.pendingVersions
	for len(vs) >= versionChunk {
		args := make([]any, 0, 13*versionChunk)
		for _, v := range vs[:versionChunk] {
			args = append(args, v...)
		}
		if _, err := p.st.insertVersionsPK.ExecContext(p.ctx, args...); err != nil {
			return err
		}
		vs = vs[versionChunk:]
	}
	for _, v := range vs {
		if _, err := p.st.insertVersionPK.ExecContext(p.ctx, v...); err != nil {
			return err
		}
	}
	p.pendingVersions = p.pendingVersions[:0]
	return nil
}

// flush writes the pending versions, rows and change records.
func (p *putter) flush() error {
	if err := p.flushVersions(); err != nil {
		return err
	}
	rows := p.pending
	for len(rows) >= rowChunk {
		chunk := rows[:rowChunk]
		rows = rows[rowChunk:]
		ra := make([]any, 0, 7*rowChunk)
		ca := make([]any, 0, 4*rowChunk)
		for _, r := range chunk {
			ra = append(ra, p.coll, r.seq, r.pk, r.typ, r.dateAdded, r.first, r.last)
			ca = append(ca, r.seq, p.coll, r.id, r.vt)
		}
		if _, err := p.st.insertRows.ExecContext(p.ctx, ra...); err != nil {
			return err
		}
		if _, err := p.st.insertChanges.ExecContext(p.ctx, ca...); err != nil {
			return err
		}
	}
	for _, r := range rows {
		if _, err := p.st.insertRow.ExecContext(p.ctx, p.coll, r.seq, r.pk, r.typ, r.dateAdded, r.first, r.last); err != nil {
			return err
		}
		if _, err := p.st.insertChange.ExecContext(p.ctx, r.seq, p.coll, r.id, r.vt); err != nil {
			return err
		}
	}
	p.pending = p.pending[:0]
	return nil
}

// flushAudience writes the full chunks of pending audience rows and, with
// all, the rest one by one.
func (p *putter) flushAudience(all bool) error {
	rows := p.audience
	if len(rows) >= audienceChunk {
		args := make([]any, 0, 3*audienceChunk)
		for len(rows) >= audienceChunk {
			args = args[:0]
			for _, a := range rows[:audienceChunk] {
				args = append(args, p.coll, a.key, a.seq)
			}
			rows = rows[audienceChunk:]
			if _, err := p.st.insertAudiences.ExecContext(p.ctx, args...); err != nil {
				return err
			}
		}
	}
	if all {
		for _, a := range rows {
			if _, err := p.st.insertAudience.ExecContext(p.ctx, p.coll, a.key, a.seq); err != nil {
				return err
			}
		}
		rows = rows[len(rows):]
	}
	// Keep the unwritten rows at the front, reusing the buffer.
	p.audience = p.audience[:copy(p.audience, rows)]
	return nil
}

// audienceKeys returns the distinct keys of a version's audience in order,
// and their stored form (NULL when there are none). Distinct, because each
// key of a row is one primary-key entry of the audience table.
func audienceKeys(keys []string) ([]string, any, error) {
	if len(keys) == 0 {
		return nil, nil, nil
	}
	keys = slices.Compact(slices.Sorted(slices.Values(keys)))
	b, err := json.Marshal(keys)
	if err != nil {
		return nil, nil, err
	}
	return keys, string(b), nil
}

// storedAudience reads the audience keys stored with the version pk.
func (p *putter) storedAudience(pk int64) ([]string, error) {
	var enc sql.NullString
	if err := p.st.versionAudience.QueryRowContext(p.ctx, pk).Scan(&enc); err != nil {
		return nil, err
	}
	return decodeAudience(enc)
}

// decodeAudience reads a stored audience, decoding each distinct one once
// per call: a batch's versions share a few.
func (p *putter) decodeAudience(enc sql.NullString) ([]string, error) {
	if keys, ok := p.audDecoded[enc.String]; ok && enc.Valid {
		return keys, nil
	}
	keys, err := decodeAudience(enc)
	if err == nil && enc.Valid {
		p.audDecoded[enc.String] = keys
	}
	return keys, err
}

// decodeAudience reads the stored form of a version's audience keys.
func decodeAudience(enc sql.NullString) ([]string, error) {
	if !enc.Valid || enc.String == "" {
		return nil, nil
	}
	var keys []string
	if err := json.Unmarshal([]byte(enc.String), &keys); err != nil {
		return nil, fmt.Errorf("stored audience %q: %w", enc.String, err)
	}
	return keys, nil
}

// headRow is what Put needs of an object's newest stored version.
type headRow struct {
	found bool
	pk    int64
	vt    int64
	hash  []byte
	rev   bool
	owner string
}

// storedRow is what Put needs of a version stored before the call.
type storedRow struct {
	audience sql.NullString
	inColl   bool // listed in the collection
}

// headChunk is how many ids one prefetch statement looks up.
const headChunk = 400

// prefetchHeads reads the newest stored version of every object in the
// batch with a few IN-list statements instead of one query per version: in
// a bulk import most objects are new, and the per-version lookup was a
// quarter of Put's time. Put keeps the map current as it inserts, so later
// versions of the same object in the batch see the earlier ones.
func (p *putter) prefetchHeads(tx *sql.Tx, vs []store.Version) error {
	p.heads = make(map[string]headRow, len(vs))
	p.stored = map[int64]storedRow{}
	p.inColl = map[string]bool{}
	p.listed = map[string]bool{}
	p.audDecoded = map[string][]string{}
	pkID := map[int64]string{}
	ids := make([]any, 0, len(vs))
	for i := range vs {
		if _, ok := p.heads[vs[i].ID]; !ok && vs[i].ID != "" {
			p.heads[vs[i].ID] = headRow{}
			ids = append(ids, vs[i].ID)
		}
	}
	for len(ids) > 0 {
		n := min(len(ids), headChunk)
		q := `SELECT id, pk, vtime, hash, revoked, submitter, audience FROM versions WHERE id IN (` + marks(n) + `)`
		rows, err := tx.QueryContext(p.ctx, q, ids[:n]...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id string
			var h headRow
			var sr storedRow
			if err := rows.Scan(&id, &h.pk, &h.vt, &h.hash, &h.rev, &h.owner, &sr.audience); err != nil {
				rows.Close()
				return err
			}
			p.stored[h.pk] = sr
			pkID[h.pk] = id
			if cur := p.heads[id]; !cur.found || h.vt > cur.vt {
				h.found = true
				p.heads[id] = h
			}
		}
		if err := rows.Close(); err != nil {
			return err
		}
		ids = ids[n:]
	}
	// Which of those versions the collection lists: through its own
	// index, whose entries for the batch's versions are few and close.
	pks := make([]any, 0, len(pkID))
	for pk := range pkID {
		pks = append(pks, pk)
	}
	for len(pks) > 0 {
		n := min(len(pks), headChunk)
		rows, err := tx.QueryContext(p.ctx, `SELECT version_pk FROM collection_rows WHERE collection = ? AND version_pk IN (`+marks(n)+`)`,
			append([]any{p.coll}, pks[:n]...)...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var pk int64
			if err := rows.Scan(&pk); err != nil {
				rows.Close()
				return err
			}
			sr := p.stored[pk]
			sr.inColl = true
			p.stored[pk] = sr
			p.inColl[pkID[pk]] = true
		}
		if err := rows.Close(); err != nil {
			return err
		}
		pks = pks[n:]
	}
	return nil
}

// next assigns the next row's seq and date_added.
func (p *putter) next() (seq, dateAdded int64) {
	p.seq++
	p.dateAdded = max(p.now, p.dateAdded+1)
	return p.seq, p.dateAdded
}

// Version times are stored as int64 nanoseconds.
var (
	minTime = time.Unix(0, -1<<63+1)
	maxTime = time.Unix(0, 1<<63-1)
)

func nanos(t time.Time) (sql.NullInt64, error) {
	if t.IsZero() {
		return sql.NullInt64{}, nil
	}
	if t.Before(minTime) || t.After(maxTime) {
		return sql.NullInt64{}, fmt.Errorf("timestamp %s is outside the years 1678 to 2261", t.Format(time.RFC3339Nano))
	}
	return sql.NullInt64{Int64: t.UnixNano(), Valid: true}, nil
}

func rejected(v *store.Version, err error) store.Result {
	return store.Result{Outcome: store.Rejected, Err: fmt.Errorf("%s: %w", v.ID, err)}
}

// put handles one version. A returned error fails the whole call; a
// rejection is a Result.
func (p *putter) put(v *store.Version) (store.Result, error) {
	if v.ID == "" || v.Type == "" {
		return rejected(v, errors.New("version without id or type")), nil
	}
	created, err := nanos(v.Created)
	if err != nil {
		return rejected(v, err), nil
	}
	modified, err := nanos(v.Modified)
	if err != nil {
		return rejected(v, err), nil
	}
	ctx := p.ctx
	var (
		vt        int64 // version time, ns
		pk        int64
		stored    bool // the version is already stored on the node
		newObject bool // no version of the object is stored
		hash      []byte
		owner     string // submitter of the stored versions
	)
	head := func() (found bool, hvt int64, hrev bool, err error) {
		if h, ok := p.heads[v.ID]; ok {
			if !h.found {
				return false, 0, false, nil
			}
			pk, hash, owner = h.pk, h.hash, h.owner
			return true, h.vt, h.rev, nil
		}
		if err := p.flushVersions(); err != nil {
			return false, 0, false, err
		}
		err = p.st.head.QueryRowContext(ctx, v.ID).Scan(&pk, &hvt, &hash, &hrev, &owner)
		if errors.Is(err, sql.ErrNoRows) {
			return false, 0, false, nil
		}
		return err == nil, hvt, hrev, err
	}
	if v.Versioned() {
		vt = modified.Int64
		if !modified.Valid {
			vt = created.Int64
		}
		found, hvt, hrev, err := head()
		if err != nil {
			return store.Result{}, wrapErr("put", err)
		}
		switch {
		case !found:
			newObject = true
		case hvt == vt:
			if !bytes.Equal(hash, v.Hash[:]) {
				return rejected(v, store.ErrConflict), nil
			}
			stored = true
		case hvt > vt: // an older version: is it stored?
			if err := p.flushVersions(); err != nil {
				return store.Result{}, wrapErr("put", err)
			}
			err := p.st.exact.QueryRowContext(ctx, v.ID, vt).Scan(&pk, &hash)
			switch {
			case err == nil:
				if !bytes.Equal(hash, v.Hash[:]) {
					return rejected(v, store.ErrConflict), nil
				}
				stored = true
			case !errors.Is(err, sql.ErrNoRows):
				return store.Result{}, wrapErr("put", err)
			}
		case hrev: // a later version of a revoked object
			return rejected(v, store.ErrRevoked), nil
		}
		// Only the owner adds versions; an exact copy is a duplicate whoever
		// sends it. Versions stored without a submitter have no owner to
		// protect.
		if found && !stored && owner != "" && v.Submitter != owner {
			return rejected(v, store.ErrNotOwner), nil
		}
	} else {
		if err := p.flushVersions(); err != nil {
			return store.Result{}, wrapErr("put", err)
		}
		err := p.st.unversioned.QueryRowContext(ctx, v.ID, v.Hash[:]).Scan(&pk, &vt)
		switch {
		case err == nil:
			stored = true
		case errors.Is(err, sql.ErrNoRows):
			found, _, hrev, err := head()
			if err != nil {
				return store.Result{}, wrapErr("put", err)
			}
			if hrev {
				return rejected(v, store.ErrRevoked), nil
			}
			newObject = !found
		default:
			return store.Result{}, wrapErr("put", err)
		}
	}

	sr, known := p.stored[pk]
	// Known: stored before the call, so its rows are as prefetched unless
	// this call listed its object.
	known = known && stored && !p.listed[v.ID]
	if stored && known && sr.inColl {
		return store.Result{Outcome: store.Duplicate, Ref: pk}, nil
	}
	if stored && !known {
		// The version may be listed by a pending row of this very batch.
		if err := p.flush(); err != nil {
			return store.Result{}, wrapErr("put", err)
		}
		err := p.st.inCollection.QueryRowContext(ctx, p.coll, pk).Scan(new(int))
		if err == nil {
			return store.Result{Outcome: store.Duplicate, Ref: pk}, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return store.Result{}, wrapErr("put", err)
		}
	}

	// The audience of the row: a new version's own keys, or those stored
	// with the version when it was first stored, whatever this call says.
	var keys []string
	switch {
	case known:
		if keys, err = p.decodeAudience(sr.audience); err != nil {
			return store.Result{}, wrapErr("put", err)
		}
	case stored:
		if err := p.flushVersions(); err != nil {
			return store.Result{}, wrapErr("put", err)
		}
		if keys, err = p.storedAudience(pk); err != nil {
			return store.Result{}, wrapErr("put", err)
		}
	}

	seq, dateAdded := p.next()
	if !stored {
		if !v.Versioned() {
			// An SCO's version time is the date its content was first
			// stored: this row's date_added, unique and later than any
			// earlier content of the same id.
			vt = dateAdded * int64(time.Microsecond)
		}
		var audience any
		if keys, audience, err = audienceKeys(v.Audience); err != nil {
			return store.Result{}, wrapErr("put", err)
		}
		var facts any // NULL rather than an empty blob
		if len(v.Facts) > 0 {
			facts = v.Facts
		}
		p.lastPK++
		pk = p.lastPK
		p.pendingVersions = append(p.pendingVersions, []any{pk,
			v.ID, vt, v.Hash[:], v.Type, v.SpecVersion, created, modified, v.Revoked, v.Body,
			v.Submitter, facts, audience, nilIfEmpty(v.Released)})
		// Keep the batch's view of the object's newest version current.
		if h, ok := p.heads[v.ID]; ok && (!h.found || vt > h.vt) {
			o := h.owner
			if !h.found {
				o = v.Submitter
			}
			p.heads[v.ID] = headRow{found: true, pk: pk, vt: vt, hash: v.Hash[:], rev: v.Revoked, owner: o}
		}
	}

	first, last := true, true
	// An object with no row in the collection has nothing to displace.
	if !newObject && (p.inColl[v.ID] || p.listed[v.ID]) {
		// ends reads and updates the object's rows, which may be pending.
		if err := p.flush(); err != nil {
			return store.Result{}, wrapErr("put", err)
		}
		if first, last, err = p.ends(v.ID, vt); err != nil {
			return store.Result{}, wrapErr("put", err)
		}
	}
	p.pending = append(p.pending, pendingRow{seq: seq, pk: pk, dateAdded: dateAdded, vt: vt,
		id: v.ID, typ: v.Type, first: first, last: last})
	p.listed[v.ID] = true
	for _, k := range keys {
		p.audience = append(p.audience, audienceRow{key: k, seq: seq})
	}
	if len(p.audience) >= audienceChunk {
		if err := p.flushAudience(false); err != nil {
			return store.Result{}, wrapErr("put", err)
		}
	}
	return store.Result{Outcome: store.Added, Seq: seq, DateAdded: time.UnixMicro(dateAdded).UTC(), Ref: pk}, nil
}

// ends decides whether a version at vt, about to be listed in the
// collection, is the object's first and last there, and clears the flags of
// the rows it displaces.
func (p *putter) ends(id string, vt int64) (first, last bool, err error) {
	rows, err := p.st.ends.QueryContext(p.ctx, p.coll, id)
	if err != nil {
		return false, false, err
	}
	defer rows.Close()
	type end struct {
		seq, vt         int64
		isFirst, isLast bool
	}
	var es []end
	for rows.Next() {
		var e end
		if err := rows.Scan(&e.seq, &e.vt, &e.isFirst, &e.isLast); err != nil {
			return false, false, err
		}
		es = append(es, e)
	}
	if err := rows.Err(); err != nil {
		return false, false, err
	}
	rows.Close()
	first, last = true, true
	for _, e := range es {
		if e.isFirst && e.vt < vt {
			first = false
		}
		if e.isLast && e.vt > vt {
			last = false
		}
	}
	for _, e := range es {
		if first && e.isFirst {
			if _, err := p.st.clearFirst.ExecContext(p.ctx, p.coll, e.seq); err != nil {
				return false, false, err
			}
		}
		if last && e.isLast {
			if _, err := p.st.clearLast.ExecContext(p.ctx, p.coll, e.seq); err != nil {
				return false, false, err
			}
		}
	}
	return first, last, nil
}

const versionColumns = `v.id, v.type, v.spec_version, v.created, v.modified, v.revoked, v.hash, v.vtime, v.submitter, v.facts, v.pk`

// scanVersion scans versionColumns followed by extra destinations.
func scanVersion(sc interface{ Scan(...any) error }, v *store.Version, extra ...any) error {
	var (
		created, modified sql.NullInt64
		hash              []byte
		vt                int64
	)
	dest := append([]any{&v.ID, &v.Type, &v.SpecVersion, &created, &modified, &v.Revoked, &hash, &vt, &v.Submitter, &v.Facts, &v.Ref}, extra...)
	if err := sc.Scan(dest...); err != nil {
		return err
	}
	if created.Valid {
		v.Created = time.Unix(0, created.Int64).UTC()
	}
	if modified.Valid {
		v.Modified = time.Unix(0, modified.Int64).UTC()
	}
	copy(v.Hash[:], hash)
	v.VersionTime = time.Unix(0, vt).UTC()
	return nil
}

// Current returns the version with the latest version time.
func (db *DB) Current(ctx context.Context, id string) (store.Version, error) {
	var v store.Version
	err := scanVersion(db.r.QueryRowContext(ctx,
		`SELECT `+versionColumns+`, v.body, v.released FROM versions v WHERE v.id = ? ORDER BY v.vtime DESC LIMIT 1`, id),
		&v, &v.Body, &v.Released)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Version{}, fmt.Errorf("object %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.Version{}, wrapErr("current", err)
	}
	return v, nil
}

// nilIfEmpty stores an absent optional blob as NULL rather than as an empty
// one.
func nilIfEmpty(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

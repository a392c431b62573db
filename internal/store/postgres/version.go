package postgres

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/setu-cti/setu/internal/audit"
	"github.com/setu-cti/setu/internal/store"
)

// Put stores vs in the collection (id or alias) in one transaction and
// reports an outcome per version; see store.Store. Per version:
//
//   - a versioned object whose (id, version time) is stored with the same
//     hash is listed in the collection (Added) unless it already is
//     (Duplicate); with a different hash it is Rejected with
//     store.ErrConflict, whatever the collection;
//   - a new version later than a revoked version of the same object is
//     Rejected with store.ErrRevoked; earlier versions are still accepted,
//     and stored versions may still be listed in other collections;
//   - an SCO is found by (id, hash); new content becomes a new version whose
//     version time is the time it was first stored, kept strictly after the
//     object's latest version time so that the newest content is current;
//   - a version whose times fall outside what the store can key is Rejected.
//
// A version keeps the policy metadata (Submitter, Facts, Audience) of its
// first store; each collection row gets one audience row per key of its
// version, with the row's seq.
//
// A zero Hash is computed from Body. Put retries by itself when it loses a
// race: a deadlock, or another transaction creating one of its new objects
// first. It costs three round
// trips whatever the batch size: lock and read, insert new versions, then
// write the rest and commit.
func (db *DB) Put(ctx context.Context, collection string, vs []store.Version) ([]store.Result, error) {
	return db.PutAudited(ctx, collection, vs, nil)
}

// PutAudited is Put that appends the audit records record returns in the
// same transaction. The chain head is locked just before the last round
// trip, which writes the records with the rest and commits.
func (db *DB) PutAudited(ctx context.Context, collection string, vs []store.Version, record func([]store.Result) []audit.Record) ([]store.Result, error) {
	coll, err := db.collectionKey(ctx, collection)
	if err != nil {
		return nil, err
	}
	if len(vs) == 0 {
		return []store.Result{}, nil
	}
	for attempt := 1; ; attempt++ {
		rs, err := db.put(ctx, coll, vs, record)
		if err != nil && retryable(err) && attempt < 10 && ctx.Err() == nil {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("postgres: put: %w", err)
		}
		return rs, nil
	}
}

// input is one version of a Put with its derived keys.
type input struct {
	v                 *store.Version
	hash              [32]byte
	versioned         bool
	vtime             int64 // when versioned
	created, modified *int64
	audience          []string // v.Audience without repeats
}

// vkey identifies a version by id and version time.
type vkey struct {
	id    string
	vtime int64
}

// hkey identifies an SCO version by id and content hash.
type hkey struct {
	id   string
	hash [32]byte
}

// known is a version already stored or new in this batch.
type known struct {
	vtime  int64
	hash   [32]byte
	pk     int64 // 0 for a new version until it is inserted
	inColl bool  // listed in the target collection
	// audience is the version's keys: the stored ones for a stored
	// version, whatever a later store brings.
	audience []string
}

// head is the state of one object, read under its row lock.
type head struct {
	vtime     *int64 // latest version time
	revokedAt *int64 // earliest revoked version time
	cur       *known // the new current version, if this batch changes it
	dirty     bool   // the row must be written
	isNew     bool   // no row yet: this batch inserts it
	owner     string // submitter of the object's versions ("" if unknown)
}

// bounds are an object's first and last version times in the collection and
// the rows holding them: an index into putTx.rows, or -1 for a stored row.
type bounds struct {
	first, last       int64
	firstRow, lastRow int
}

// row is a collection row to insert.
type row struct {
	in          *input
	ver         *known
	result      int // index into the Put's results
	first, last bool
}

// putTx is one attempt at a Put: what is stored, then what to write.
type putTx struct {
	coll   int32
	in     []input
	rs     []store.Result
	now    int64 // ns
	heads  map[string]*head
	byTime map[vkey]*known
	byHash map[hkey]*known // SCOs
	bounds map[string]*bounds

	news       []*known // new versions, in input order
	newIn      []*input // their inputs
	rows       []row    // new collection rows, in input order
	unsetFirst []vkey   // stored rows that stop being first
	unsetLast  []vkey   // stored rows that stop being last
	// dups are the duplicates' results with their versions, whose pks a
	// version new to this batch has only once it is inserted.
	dups []dup
}

type dup struct {
	result int
	ver    *known
}

func (db *DB) put(ctx context.Context, coll int32, vs []store.Version, record func([]store.Result) []audit.Record) ([]store.Result, error) {
	now, err := toNS(db.now())
	if err != nil {
		return nil, fmt.Errorf("clock: %w", err)
	}
	tx := &putTx{
		coll: coll, now: now,
		in:     make([]input, len(vs)),
		rs:     make([]store.Result, len(vs)),
		heads:  map[string]*head{},
		byTime: map[vkey]*known{},
		byHash: map[hkey]*known{},
		bounds: map[string]*bounds{},
	}
	tx.prepare(vs)

	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Release()
	// The transaction is begun and committed by statements inside pipelined
	// batches, which pgx.Tx cannot express, so it is rolled back here on
	// any failure. If even that fails the connection is not idle, and the
	// pool discards it on release.
	committed := false
	defer func() {
		if !committed {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			_, _ = conn.Exec(rctx, "ROLLBACK")
		}
	}()

	if err := tx.read(ctx, conn); err != nil {
		return nil, err
	}
	tx.decide()
	var recs []audit.Record
	if record != nil {
		// What each version's outcome will be: rows are added.
		rs := slices.Clone(tx.rs)
		for _, r := range tx.rows {
			rs[r.result] = store.Result{Outcome: store.Added}
		}
		recs = record(rs)
		for i := range recs {
			if err := recs[i].Check(); err != nil {
				return nil, fmt.Errorf("audit record %d of %d: %w", i+1, len(recs), err)
			}
		}
	}
	// The chain head is locked just before the last round trip, so
	// audited writes wait on one another no longer than they must.
	seal := func() ([]audit.Record, error) {
		if len(recs) == 0 {
			return nil, nil
		}
		return sealAudit(ctx, conn, db.now(), recs)
	}
	if len(tx.rows) == 0 {
		sealed, err := seal()
		if err != nil {
			return nil, err
		}
		// Only duplicates and rejections: nothing to write but the record.
		b := &pgx.Batch{}
		queueAudit(b, sealed)
		b.Queue(`COMMIT`)
		if err := conn.SendBatch(ctx, b).Close(); err != nil {
			return nil, err
		}
		committed = true
		return tx.rs, nil
	}
	if tx.raced() {
		return nil, errRaced
	}
	if err := tx.insertVersions(ctx, conn); err != nil {
		return nil, err
	}
	sealed, err := seal()
	if err != nil {
		return nil, err
	}
	if err := tx.finish(ctx, conn, sealed); err != nil {
		return nil, err
	}
	committed = true
	for _, d := range tx.dups {
		tx.rs[d.result].Ref = d.ver.pk
	}
	return tx.rs, nil
}

// duplicate settles input i as a duplicate of version k.
func (tx *putTx) duplicate(i int, k *known) {
	tx.rs[i] = store.Result{Outcome: store.Duplicate, Ref: k.pk}
	tx.dups = append(tx.dups, dup{i, k})
}

// prepare derives each version's keys and rejects those the store cannot key.
func (tx *putTx) prepare(vs []store.Version) {
	for i := range vs {
		v := &vs[i]
		in := &tx.in[i]
		in.v, in.hash = v, v.Hash
		in.audience = distinct(v.Audience)
		if in.hash == ([32]byte{}) {
			in.hash = sha256.Sum256(v.Body)
		}
		var err error
		if in.created, err = nsPtr(v.Created); err == nil {
			in.modified, err = nsPtr(v.Modified)
		}
		if err != nil {
			tx.rs[i] = store.Result{Outcome: store.Rejected, Err: fmt.Errorf("%s: %w", v.ID, err)}
			continue
		}
		switch {
		case in.modified != nil:
			in.versioned, in.vtime = true, *in.modified
		case in.created != nil:
			in.versioned, in.vtime = true, *in.created
		}
	}
}

// read begins the transaction, locks the head rows of the stored objects in
// the batch and reads what is stored about them, in one round trip.
//
// Head rows are locked in id order, so concurrent batches serialise per
// object and do not deadlock over them. Objects new to the node have no row
// to lock; two transactions creating the same object meet at the insert of
// its head row in finish, and the loser runs again. Under READ COMMITTED
// each statement sees everything committed before it started, so the reads
// after the locks see the final state of every stored object this batch
// touches.
func (tx *putTx) read(ctx context.Context, conn *pgxpool.Conn) error {
	var ids, vIDs, sIDs []string
	var vTimes []int64
	var sHashes [][]byte
	for i := range tx.in {
		if tx.rs[i].Outcome != 0 {
			continue // rejected already: no lock, no head row
		}
		in := &tx.in[i]
		ids = append(ids, in.v.ID)
		if in.versioned {
			vIDs, vTimes = append(vIDs, in.v.ID), append(vTimes, in.vtime)
		} else {
			sIDs, sHashes = append(sIDs, in.v.ID), append(sHashes, in.hash[:])
		}
	}
	b := &pgx.Batch{}
	b.Queue(`BEGIN`)
	// Batches are looked up by joining the unnested arrays to the indexes:
	// `id = ANY($1)` with a thousand-element parameter can be planned as a
	// scan that compares every row with every element.
	b.Queue(`
		SELECT h.id, h.vtime, h.revoked_at,
		       -- Every version of an object has its owner as submitter, so any
		       -- version visible to this statement will do. Joining the head's
		       -- current version instead would drop the row when a concurrent
		       -- writer moved the head to a version this snapshot cannot see.
		       coalesce((SELECT v.submitter FROM versions v WHERE v.id = h.id LIMIT 1), '')
		FROM (SELECT DISTINCT unnest($1::text[])) AS u(id) JOIN heads h ON h.id = u.id
		ORDER BY h.id FOR NO KEY UPDATE OF h`, ids)
	b.Queue(`
		SELECT v.id, v.vtime, v.pk, v.hash, v.audience,
		       EXISTS (SELECT 1 FROM collection_rows r WHERE r.collection = $3 AND r.id = v.id AND r.vtime = v.vtime)
		FROM unnest($1::text[], $2::bigint[]) AS u(id, vtime)
		JOIN versions v ON v.id = u.id AND v.vtime = u.vtime`, vIDs, vTimes, tx.coll)
	b.Queue(`
		SELECT v.id, v.vtime, v.pk, v.hash, v.audience,
		       EXISTS (SELECT 1 FROM collection_rows r WHERE r.collection = $3 AND r.id = v.id AND r.vtime = v.vtime)
		FROM unnest($1::text[], $2::bytea[]) AS u(id, hash)
		JOIN versions v ON v.id = u.id AND v.hash = u.hash
		                AND v.created IS NULL AND v.modified IS NULL`, sIDs, sHashes, tx.coll)
	b.Queue(`
		SELECT r.id, r.vtime, r.is_first, r.is_last
		FROM (SELECT DISTINCT unnest($2::text[])) AS u(id)
		JOIN collection_rows r ON r.collection = $1 AND r.id = u.id
		WHERE r.is_first OR r.is_last`, tx.coll, ids)

	br := conn.SendBatch(ctx, b)
	err := tx.readResults(br)
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return err
}

func (tx *putTx) readResults(br pgx.BatchResults) error {
	if _, err := br.Exec(); err != nil { // BEGIN
		return err
	}
	var id, owner string
	var vt, rev *int64
	rows, _ := br.Query()
	if _, err := pgx.ForEachRow(rows, []any{&id, &vt, &rev, &owner}, func() error {
		tx.heads[id] = &head{vtime: vt, revokedAt: rev, owner: owner}
		return nil
	}); err != nil {
		return err
	}
	for _, sco := range []bool{false, true} {
		var k known
		var hash []byte
		rows, _ := br.Query()
		if _, err := pgx.ForEachRow(rows, []any{&id, &k.vtime, &k.pk, &hash, &k.audience, &k.inColl}, func() error {
			k := k
			copy(k.hash[:], hash)
			tx.byTime[vkey{id, k.vtime}] = &k
			if sco {
				tx.byHash[hkey{id, k.hash}] = &k
			}
			return nil
		}); err != nil {
			return err
		}
	}
	var t int64
	var first, last bool
	rows, _ = br.Query()
	_, err := pgx.ForEachRow(rows, []any{&id, &t, &first, &last}, func() error {
		bd := tx.bounds[id]
		if bd == nil {
			bd = &bounds{firstRow: -1, lastRow: -1}
			tx.bounds[id] = bd
		}
		if first {
			bd.first = t
		}
		if last {
			bd.last = t
		}
		return nil
	})
	return err
}

// decide settles each version in input order, so that a version sees the
// effect of those before it in the batch.
func (tx *putTx) decide() {
	for i := range tx.in {
		if tx.rs[i].Outcome != 0 {
			continue
		}
		in := &tx.in[i]
		id := in.v.ID
		h := tx.heads[id]
		if h == nil { // new to the node
			h = &head{isNew: true}
			tx.heads[id] = h
		}
		if in.versioned {
			if k := tx.byTime[vkey{id, in.vtime}]; k != nil {
				switch {
				case k.hash != in.hash:
					tx.rs[i] = rejected(id, in.vtime, store.ErrConflict)
				case k.inColl:
					tx.duplicate(i, k)
				default:
					tx.list(i, k)
				}
				continue
			}
			if h.revokedAt != nil && in.vtime > *h.revokedAt {
				tx.rs[i] = rejected(id, in.vtime, store.ErrRevoked)
				continue
			}
			// Only the owner adds versions; an exact copy (above) is a
			// duplicate whoever sends it.
			if h.owner != "" && in.v.Submitter != h.owner {
				tx.rs[i] = rejected(id, in.vtime, store.ErrNotOwner)
				continue
			}
			tx.list(i, tx.keep(in, h, in.vtime))
			continue
		}
		hk := hkey{id, in.hash}
		if k := tx.byHash[hk]; k != nil {
			if k.inColl {
				tx.duplicate(i, k)
			} else {
				tx.list(i, k)
			}
			continue
		}
		vt := tx.now
		if h.vtime != nil && vt <= *h.vtime {
			vt = *h.vtime + 1
		}
		k := tx.keep(in, h, vt)
		tx.byHash[hk] = k
		tx.list(i, k)
	}
}

func rejected(id string, vtime int64, err error) store.Result {
	return store.Result{Outcome: store.Rejected, Err: fmt.Errorf("%s version %s: %w", id, fromNS(vtime).Format(time.RFC3339Nano), err)}
}

// keep records a new version of the object whose head is h.
func (tx *putTx) keep(in *input, h *head, vt int64) *known {
	k := &known{vtime: vt, hash: in.hash, audience: in.audience}
	if h.owner == "" && in.versioned {
		h.owner = in.v.Submitter
	}
	tx.news, tx.newIn = append(tx.news, k), append(tx.newIn, in)
	tx.byTime[vkey{in.v.ID, vt}] = k
	if h.vtime == nil || vt > *h.vtime {
		h.vtime, h.cur, h.dirty = &vt, k, true
	}
	if in.v.Revoked && (h.revokedAt == nil || vt < *h.revokedAt) {
		h.revokedAt, h.dirty = &vt, true
	}
	return k
}

// list adds a collection row for version k of input i, keeping the
// object's first and last flags in the collection right.
func (tx *putTx) list(i int, k *known) {
	in := &tx.in[i]
	k.inColl = true
	r := len(tx.rows)
	tx.rows = append(tx.rows, row{in: in, ver: k, result: i, first: true, last: true})
	bd := tx.bounds[in.v.ID]
	if bd == nil {
		tx.bounds[in.v.ID] = &bounds{first: k.vtime, last: k.vtime, firstRow: r, lastRow: r}
		return
	}
	// Version times of one object are distinct: the new one is strictly
	// before, between or after the bounds.
	if k.vtime > bd.last {
		tx.unflag(bd.lastRow, in.v.ID, bd.last, false)
		bd.last, bd.lastRow = k.vtime, r
	} else {
		tx.rows[r].last = false
	}
	if k.vtime < bd.first {
		tx.unflag(bd.firstRow, in.v.ID, bd.first, true)
		bd.first, bd.firstRow = k.vtime, r
	} else {
		tx.rows[r].first = false
	}
}

// unflag records that a row stops being the first (or last) of its object
// in the collection: a row of this batch is changed before it is written, a
// stored row by an update.
func (tx *putTx) unflag(r int, id string, vt int64, first bool) {
	switch {
	case r >= 0 && first:
		tx.rows[r].first = false
	case r >= 0:
		tx.rows[r].last = false
	case first:
		tx.unsetFirst = append(tx.unsetFirst, vkey{id, vt})
	default:
		tx.unsetLast = append(tx.unsetLast, vkey{id, vt})
	}
}

// errRaced: another transaction created an object of the batch between
// this one's reads; running again finds it stored, with its head row.
var errRaced = errors.New("an object was created concurrently")

// raced reports whether the reads saw a stored version of an object whose
// head row they did not see. Each statement of the read takes its own
// snapshot, so a transaction creating the object can commit between the
// read of heads and the read of versions. Such an object has no head row to
// lock and no new current version, so its head could not be written; the
// attempt is run again instead.
func (tx *putTx) raced() bool {
	for _, h := range tx.heads {
		if h.isNew && h.cur == nil {
			return true
		}
	}
	return false
}

// insertVersions inserts the new versions in one statement (round trip 2)
// and learns their keys.
func (tx *putTx) insertVersions(ctx context.Context, conn *pgxpool.Conn) error {
	n := len(tx.news)
	if n == 0 {
		return nil
	}
	ids, types, specs := make([]string, n), make([]string, n), make([]string, n)
	created, modified := make([]*int64, n), make([]*int64, n)
	vtimes, revoked := make([]int64, n), make([]bool, n)
	hashes, bodies, released := make([][]byte, n), make([][]byte, n), make([][]byte, n)
	submitters, facts := make([]string, n), make([][]byte, n)
	var ords []int64
	var keys []string
	for j, k := range tx.news {
		in := tx.newIn[j]
		ids[j], types[j], specs[j] = in.v.ID, in.v.Type, in.v.SpecVersion
		created[j], modified[j] = in.created, in.modified
		vtimes[j], revoked[j] = k.vtime, in.v.Revoked
		hashes[j], bodies[j] = k.hash[:], in.v.Body
		if len(in.v.Released) > 0 {
			released[j] = in.v.Released
		}
		submitters[j], facts[j] = in.v.Submitter, in.v.Facts
		for _, key := range k.audience {
			ords, keys = append(ords, int64(j+1)), append(keys, key)
		}
	}
	// The versions' key lists differ in length, and a PostgreSQL array
	// must be rectangular, so the keys come flattened as (version ordinal,
	// key) pairs and are grouped back per version.
	rows, _ := conn.Query(ctx, `
		INSERT INTO versions (id, type, spec_version, created, modified, vtime, revoked, hash, body,
		                      submitter, facts, audience, released)
		SELECT u.id, u.type, u.spec, u.created, u.modified, u.vtime, u.revoked, u.hash, u.body,
		       u.submitter, u.facts, coalesce(a.keys, '{}'), u.released
		FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[],
		            $6::bigint[], $7::boolean[], $8::bytea[], $9::bytea[], $10::text[], $11::bytea[], $14::bytea[])
		        WITH ORDINALITY AS u(id, type, spec, created, modified, vtime, revoked, hash, body, submitter, facts, released, ord)
		LEFT JOIN (SELECT x.ord, array_agg(x.key) AS keys
		           FROM unnest($12::bigint[], $13::text[]) AS x(ord, key)
		           GROUP BY x.ord) a ON a.ord = u.ord
		RETURNING id, vtime, pk`,
		ids, types, specs, created, modified, vtimes, revoked, hashes, bodies, submitters, facts, ords, keys, released)
	var id string
	var vt, pk int64
	_, err := pgx.ForEachRow(rows, []any{&id, &vt, &pk}, func() error {
		tx.byTime[vkey{id, vt}].pk = pk
		return nil
	})
	return err
}

// finish writes the rest and commits, in one round trip (round trip 3):
// move the heads and the first/last flags of stored rows, then take the
// seq and date_added range from the counter, insert the collection rows and
// change records, and COMMIT. The counter row is locked only from that
// statement to the end of the commit.
func (tx *putTx) finish(ctx context.Context, conn *pgxpool.Conn, audits []audit.Record) error {
	b := &pgx.Batch{}
	queueAudit(b, audits)
	var upd, ins headRows
	for id, h := range tx.heads {
		switch {
		case h.isNew:
			ins.add(id, h)
		case h.dirty:
			upd.add(id, h)
		}
	}
	if len(upd.ids) > 0 {
		// A null pk: only the revocation time moved.
		b.Queue(`
			UPDATE heads h
			SET version_pk = coalesce(u.pk, h.version_pk), vtime = u.vtime, revoked_at = u.revoked_at
			FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[]) AS u(id, pk, vtime, revoked_at)
			WHERE h.id = u.id`, upd.ids, upd.pks, upd.vtimes, upd.revoked)
	}
	if len(ins.ids) > 0 {
		// Another transaction creating one of these objects at the same
		// time makes this insert wait for it, then fail with a unique
		// violation; Put then runs again and finds the object stored.
		b.Queue(`
			INSERT INTO heads (id, version_pk, vtime, revoked_at)
			SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[]) AS u(id, pk, vtime, revoked_at)
			ORDER BY id`, ins.ids, ins.pks, ins.vtimes, ins.revoked)
	}
	if n := len(tx.unsetFirst) + len(tx.unsetLast); n > 0 {
		ids, vtimes, first := make([]string, 0, n), make([]int64, 0, n), make([]bool, 0, n)
		for _, k := range tx.unsetFirst {
			ids, vtimes, first = append(ids, k.id), append(vtimes, k.vtime), append(first, true)
		}
		for _, k := range tx.unsetLast {
			ids, vtimes, first = append(ids, k.id), append(vtimes, k.vtime), append(first, false)
		}
		// One row may stop being both first and last.
		b.Queue(`
			UPDATE collection_rows r
			SET is_first = r.is_first AND NOT u.unset_first, is_last = r.is_last AND NOT u.unset_last
			FROM (SELECT id, vtime, bool_or(first) AS unset_first, bool_or(NOT first) AS unset_last
			      FROM unnest($2::text[], $3::bigint[], $4::boolean[]) AS u(id, vtime, first)
			      GROUP BY id, vtime) u
			WHERE r.collection = $1 AND r.id = u.id AND r.vtime = u.vtime`, tx.coll, ids, vtimes, first)
	}
	n := len(tx.rows)
	pks, ids, types, specs := make([]int64, n), make([]string, n), make([]string, n), make([]string, n)
	vtimes, first, last := make([]int64, n), make([]bool, n), make([]bool, n)
	var ords []int64
	var keys []string
	for j, r := range tx.rows {
		pks[j], ids[j], types[j], specs[j] = r.ver.pk, r.in.v.ID, r.in.v.Type, r.in.v.SpecVersion
		vtimes[j], first[j], last[j] = r.ver.vtime, r.first, r.last
		for _, key := range r.ver.audience {
			ords, keys = append(ords, int64(j+1)), append(keys, key)
		}
	}
	// Row j (from 1) gets seq0+j and added0+j: date_added is
	// max(now, last+1µs) for the first row and steps by 1µs. Its audience
	// rows, (row ordinal, key) pairs, get the same seq. They are known
	// before the statement (a stored version's keys were read with it), so
	// while the counter is locked nothing is looked up: the rows are only
	// inserted.
	b.Queue(`
		WITH c AS (
			UPDATE counter SET seq = seq + $2, date_added = greatest($3, date_added + 1) + $2 - 1
			RETURNING seq - $2 AS seq0, date_added - $2 AS added0
		), r AS (
			INSERT INTO collection_rows (collection, seq, version_pk, id, type, spec_version, vtime, date_added, is_first, is_last)
			SELECT $1, c.seq0 + u.ord, u.pk, u.id, u.type, u.spec, u.vtime, c.added0 + u.ord, u.first, u.last
			FROM c, unnest($4::bigint[], $5::text[], $6::text[], $7::text[], $8::bigint[], $9::boolean[], $10::boolean[])
			        WITH ORDINALITY AS u(pk, id, type, spec, vtime, first, last, ord)
			RETURNING seq, id, vtime
		), ch AS (
			INSERT INTO changes (seq, kind, collection, id, vtime)
			SELECT seq, 'add', $1, id, vtime FROM r
		), a AS (
			INSERT INTO audience (collection, key, seq)
			SELECT $1, x.key, c.seq0 + x.ord
			FROM c, unnest($11::bigint[], $12::text[]) AS x(ord, key)
		)
		SELECT seq0, added0 FROM c`,
		tx.coll, n, tx.now/1000, pks, ids, types, specs, vtimes, first, last, ords, keys)
	b.Queue(`COMMIT`)

	var seq0, added0 int64
	br := conn.SendBatch(ctx, b)
	err := func() error {
		for range b.Len() - 2 {
			if _, err := br.Exec(); err != nil {
				return err
			}
		}
		if err := br.QueryRow().Scan(&seq0, &added0); err != nil {
			return err
		}
		_, err := br.Exec()
		return err
	}()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	for j, r := range tx.rows {
		off := int64(j + 1)
		tx.rs[r.result] = store.Result{Outcome: store.Added, Seq: seq0 + off, DateAdded: fromMicros(added0 + off), Ref: r.ver.pk}
	}
	return nil
}

// headRows are head rows to write, as column arrays.
type headRows struct {
	ids                  []string
	pks, vtimes, revoked []*int64
}

func (hr *headRows) add(id string, h *head) {
	var pk *int64
	if h.cur != nil {
		pk = &h.cur.pk
	}
	hr.ids, hr.pks = append(hr.ids, id), append(hr.pks, pk)
	hr.vtimes, hr.revoked = append(hr.vtimes, h.vtime), append(hr.revoked, h.revokedAt)
}

const versionColumns = `v.id, v.type, v.spec_version, v.created, v.modified, v.revoked, v.hash, v.vtime, v.submitter, v.facts, v.pk`

// scanVersion scans versionColumns, then extra destinations.
func scanVersion(row pgx.Row, v *store.Version, extra ...any) error {
	var created, modified *int64
	var hash []byte
	var vtime int64
	dst := append([]any{&v.ID, &v.Type, &v.SpecVersion, &created, &modified, &v.Revoked, &hash, &vtime, &v.Submitter, &v.Facts, &v.Ref}, extra...)
	if err := row.Scan(dst...); err != nil {
		return err
	}
	v.Created, v.Modified, v.VersionTime = fromNSPtr(created), fromNSPtr(modified), fromNS(vtime)
	if len(hash) != len(v.Hash) {
		return fmt.Errorf("stored hash of %s has %d bytes", v.ID, len(hash))
	}
	copy(v.Hash[:], hash)
	return nil
}

// Current returns the version of id with the latest version time across the
// node; store.ErrNotFound if none is stored.
func (db *DB) Current(ctx context.Context, id string) (store.Version, error) {
	var v store.Version
	err := scanVersion(db.pool.QueryRow(ctx, `
		SELECT `+versionColumns+`, v.body, v.released
		FROM heads h JOIN versions v ON v.pk = h.version_pk
		WHERE h.id = $1`, id), &v, &v.Body, &v.Released)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Version{}, fmt.Errorf("object %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.Version{}, fmt.Errorf("postgres: current %s: %w", id, err)
	}
	return v, nil
}

// distinct returns keys without repeats, in their first order: each key of
// a version is one audience row per collection row, and the primary key
// (collection, key, seq) admits it once. It allocates only when keys has a
// repeat.
func distinct(keys []string) []string {
	for i := 1; i < len(keys); i++ {
		if slices.Contains(keys[:i], keys[i]) {
			out := slices.Clone(keys[:i])
			for _, k := range keys[i:] {
				if !slices.Contains(out, k) {
					out = append(out, k)
				}
			}
			return out
		}
	}
	return keys
}

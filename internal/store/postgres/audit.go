package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/setu-cti/setu/internal/audit"
	"github.com/setu-cti/setu/internal/store"
)

var _ store.Audit = (*DB)(nil)

// AppendAudit seals rs after the chain head and appends them in one
// transaction. The head row is locked (SELECT … FOR UPDATE) first and held
// to the commit, so appends from every instance are chained one after
// another; callers batch records (audit.Logger) because of it.
func (db *DB) AppendAudit(ctx context.Context, rs []audit.Record) ([]audit.Record, error) {
	if len(rs) == 0 {
		return nil, nil
	}
	// Checked before taking the lock, which every other append waits on.
	for i := range rs {
		if err := rs[i].Check(); err != nil {
			return nil, fmt.Errorf("postgres: append audit: record %d of %d: %w", i+1, len(rs), err)
		}
	}
	var sealed []audit.Record
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		var err error
		if sealed, err = sealAudit(ctx, tx, db.now(), rs); err != nil {
			return err
		}
		b := &pgx.Batch{}
		queueAudit(b, sealed)
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return fmt.Errorf("postgres: append audit: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return sealed, nil
}

// rowQuerier runs a query in a transaction: a pgx.Tx, or a connection on
// which one was begun.
type rowQuerier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// sealAudit locks the chain head in the transaction q runs in and seals rs
// after it; the lock holds until that transaction ends, so no other append
// seals after the same head.
func sealAudit(ctx context.Context, q rowQuerier, now time.Time, rs []audit.Record) ([]audit.Record, error) {
	var (
		seq  int64
		head []byte
		hash [32]byte
	)
	if err := q.QueryRow(ctx, `SELECT seq, hash FROM audit_head FOR UPDATE`).Scan(&seq, &head); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			err = errNoHead
		}
		return nil, fmt.Errorf("postgres: append audit: head: %w", err)
	}
	if len(head) != len(hash) {
		return nil, fmt.Errorf("postgres: append audit: head hash has %d bytes", len(head))
	}
	copy(hash[:], head)
	sealed, err := audit.Seal(seq, hash, now, rs)
	if err != nil {
		return nil, fmt.Errorf("postgres: append audit: %w", err)
	}
	return sealed, nil
}

// queueAudit queues the inserts of sealed records and the move of the head
// to the last of them.
func queueAudit(b *pgx.Batch, sealed []audit.Record) {
	if len(sealed) == 0 {
		return
	}
	for _, r := range sealed {
		objects := r.Objects
		if objects == nil {
			objects = []string{}
		}
		b.Queue(`INSERT INTO audit_log (seq, time, actor, org, action, path, collection, objects, rule, status, prev, hash)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
			r.Seq, r.Time, r.Actor, r.Org, r.Action, r.Path, r.Collection, objects, r.Rule, r.Status, r.Prev[:], r.Hash[:])
	}
	last := sealed[len(sealed)-1]
	b.Queue(`UPDATE audit_head SET seq = $1, hash = $2`, last.Seq, last.Hash[:])
}

// errNoHead: the head row is gone, which only tampering can do (the
// schema refuses to delete it).
var errNoHead = errors.New("the audit head row is missing")

// AuditRecords returns the records matching q in seq order.
func (db *DB) AuditRecords(ctx context.Context, q store.AuditQuery) ([]audit.Record, error) {
	if q.Limit <= 0 {
		return nil, fmt.Errorf("postgres: audit records: limit %d, must be positive", q.Limit)
	}
	args := []any{q.After}
	where := []string{"seq > $1"}
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, cond+" $"+strconv.Itoa(len(args)))
	}
	if q.Actor != "" {
		add("actor =", q.Actor)
	}
	if q.Action != "" {
		add("action =", q.Action)
	}
	// timestamptz keeps microseconds and PostgreSQL would round a finer
	// bound to the nearest one, so the bound is passed rounded up: that keeps
	// ">= Since" and "< Until" exact.
	if !q.Since.IsZero() {
		add("time >=", ceilMicro(q.Since))
	}
	if !q.Until.IsZero() {
		add("time <", ceilMicro(q.Until))
	}
	args = append(args, q.Limit)
	rows, err := db.pool.Query(ctx, `SELECT seq, time, actor, org, action, path, collection, objects, rule, status, prev, hash
		FROM audit_log WHERE `+strings.Join(where, " AND ")+` ORDER BY seq LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: audit records: %w", err)
	}
	defer rows.Close()
	var out []audit.Record
	for rows.Next() {
		var (
			r          audit.Record
			prev, hash []byte
		)
		if err := rows.Scan(&r.Seq, &r.Time, &r.Actor, &r.Org, &r.Action, &r.Path, &r.Collection, &r.Objects,
			&r.Rule, &r.Status, &prev, &hash); err != nil {
			return nil, fmt.Errorf("postgres: audit records: %w", err)
		}
		r.Time = r.Time.UTC()
		if len(r.Objects) == 0 {
			r.Objects = nil
		}
		// A stored hash of the wrong size is left for verification to
		// report (it cannot match), not turned into a read error here.
		copy(r.Prev[:], prev)
		copy(r.Hash[:], hash)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: audit records: %w", err)
	}
	return out, nil
}

// AuditHead returns the seq and hash of the last record.
func (db *DB) AuditHead(ctx context.Context) (int64, [32]byte, error) {
	var (
		seq  int64
		b    []byte
		hash [32]byte
	)
	if err := db.pool.QueryRow(ctx, `SELECT seq, hash FROM audit_head`).Scan(&seq, &b); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			err = errNoHead
		}
		return 0, hash, fmt.Errorf("postgres: audit head: %w", err)
	}
	copy(hash[:], b)
	return seq, hash, nil
}

// ceilMicro is the first whole microsecond at or after t, as a time:
// records are kept to the microsecond, so time >= ceilMicro(t) is time >= t.
func ceilMicro(t time.Time) time.Time {
	c := t.Truncate(time.Microsecond)
	if c.Before(t) {
		c = c.Add(time.Microsecond)
	}
	return c
}

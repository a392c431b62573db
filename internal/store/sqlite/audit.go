package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/setu-cti/setu/internal/audit"
	"github.com/setu-cti/setu/internal/store"
)

var _ store.Audit = (*DB)(nil)

// AppendAudit seals rs after the chain head and appends them in one write
// transaction. The single writer connection, with BEGIN IMMEDIATE, holds the
// database's write lock from the read of the head to the commit, so no other
// append can seal after the same head.
func (db *DB) AppendAudit(ctx context.Context, rs []audit.Record) ([]audit.Record, error) {
	if len(rs) == 0 {
		return nil, nil
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, wrapErr("append audit", err)
	}
	defer tx.Rollback()
	sealed, err := db.appendAudit(ctx, tx, rs)
	if err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, wrapErr("append audit", err)
	}
	return sealed, nil
}

// appendAudit seals rs after the chain head and appends them in tx, a
// write transaction (which holds the write lock until it ends).
func (db *DB) appendAudit(ctx context.Context, tx *sql.Tx, rs []audit.Record) ([]audit.Record, error) {
	var (
		seq  int64
		head []byte
	)
	if err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE one = 1`).Scan(&seq, &head); err != nil {
		return nil, wrapErr("append audit: head", err)
	}
	var hash [32]byte
	if len(head) != len(hash) {
		return nil, fmt.Errorf("sqlite: append audit: head hash has %d bytes", len(head))
	}
	copy(hash[:], head)
	sealed, err := audit.Seal(seq, hash, db.now(), rs)
	if err != nil {
		return nil, fmt.Errorf("sqlite: append audit: %w", err)
	}
	ins, err := tx.PrepareContext(ctx, `INSERT INTO audit_log
		(seq, time, actor, org, action, path, collection, objects, rule, status, prev, hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return nil, wrapErr("append audit", err)
	}
	defer ins.Close()
	for _, r := range sealed {
		objects, err := objectsJSON(r.Objects)
		if err != nil {
			return nil, err
		}
		if _, err := ins.ExecContext(ctx, r.Seq, r.Time.UnixMicro(), r.Actor, r.Org, r.Action, r.Path,
			r.Collection, objects, r.Rule, r.Status, r.Prev[:], r.Hash[:]); err != nil {
			return nil, wrapErr("append audit", err)
		}
	}
	last := sealed[len(sealed)-1]
	if _, err := tx.ExecContext(ctx, `UPDATE audit_head SET seq = ?, hash = ? WHERE one = 1`, last.Seq, last.Hash[:]); err != nil {
		return nil, wrapErr("append audit: head", err)
	}
	return sealed, nil
}

func objectsJSON(objects []string) (string, error) {
	if objects == nil {
		objects = []string{}
	}
	b, err := json.Marshal(objects)
	return string(b), err
}

// AuditRecords returns the records matching q in seq order.
func (db *DB) AuditRecords(ctx context.Context, q store.AuditQuery) ([]audit.Record, error) {
	if q.Limit <= 0 {
		return nil, fmt.Errorf("sqlite: audit records: limit %d, must be positive", q.Limit)
	}
	where := []string{"seq > ?"}
	args := []any{q.After}
	if q.Actor != "" {
		where, args = append(where, "actor = ?"), append(args, q.Actor)
	}
	if q.Action != "" {
		where, args = append(where, "action = ?"), append(args, q.Action)
	}
	if !q.Since.IsZero() {
		where, args = append(where, "time >= ?"), append(args, ceilMicro(q.Since))
	}
	if !q.Until.IsZero() {
		where, args = append(where, "time < ?"), append(args, ceilMicro(q.Until))
	}
	args = append(args, q.Limit)
	rows, err := db.r.QueryContext(ctx, `SELECT seq, time, actor, org, action, path, collection, objects, rule, status, prev, hash
		FROM audit_log WHERE `+strings.Join(where, " AND ")+` ORDER BY seq LIMIT ?`, args...)
	if err != nil {
		return nil, wrapErr("audit records", err)
	}
	defer rows.Close()
	var out []audit.Record
	for rows.Next() {
		var (
			r          audit.Record
			us         int64
			objects    string
			prev, hash []byte
		)
		if err := rows.Scan(&r.Seq, &us, &r.Actor, &r.Org, &r.Action, &r.Path, &r.Collection, &objects,
			&r.Rule, &r.Status, &prev, &hash); err != nil {
			return nil, wrapErr("audit records", err)
		}
		r.Time = time.UnixMicro(us).UTC()
		if err := json.Unmarshal([]byte(objects), &r.Objects); err != nil {
			return nil, fmt.Errorf("sqlite: audit record %d: objects: %w", r.Seq, err)
		}
		if len(r.Objects) == 0 {
			r.Objects = nil
		}
		// A stored hash of the wrong size is left for verification to
		// report (it cannot match), not turned into a read error here.
		copy(r.Prev[:], prev)
		copy(r.Hash[:], hash)
		out = append(out, r)
	}
	return out, wrapErr("audit records", rows.Err())
}

// ceilMicro is the first whole microsecond at or after t: records are kept
// to the microsecond, so time >= ceilMicro(t) is time >= t.
func ceilMicro(t time.Time) int64 {
	us := t.UnixMicro()
	if time.UnixMicro(us).Before(t) {
		us++
	}
	return us
}

// AuditHead returns the seq and hash of the last record.
func (db *DB) AuditHead(ctx context.Context) (int64, [32]byte, error) {
	var (
		seq  int64
		b    []byte
		hash [32]byte
	)
	err := db.r.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE one = 1`).Scan(&seq, &b)
	if err != nil {
		return 0, hash, wrapErr("audit head", rowErrOrMissingHead(err))
	}
	copy(hash[:], b)
	return seq, hash, nil
}

// errNoHead: the head row is gone, which only tampering can do (the
// schema refuses to delete it).
var errNoHead = errors.New("the audit head row is missing")

func rowErrOrMissingHead(err error) error {
	if errors.Is(rowErr(err), store.ErrNotFound) {
		return errNoHead
	}
	return err
}

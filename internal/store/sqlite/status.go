package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/setu-cti/setu/internal/store"
)

var _ store.Statuses = (*DB)(nil)

// detail is the stored form of a store.StatusDetail.
type detail struct {
	ID      string `json:"id"`
	Version string `json:"version,omitempty"`
	Message string `json:"message,omitempty"`
}

func detailsJSON(ds []store.StatusDetail) (string, error) {
	out := make([]detail, len(ds))
	for i, d := range ds {
		out[i] = detail(d)
	}
	b, err := json.Marshal(out)
	return string(b), err
}

func parseDetails(s string) ([]store.StatusDetail, error) {
	var ds []detail
	if err := json.Unmarshal([]byte(s), &ds); err != nil || len(ds) == 0 {
		return nil, err
	}
	out := make([]store.StatusDetail, len(ds))
	for i, d := range ds {
		out[i] = store.StatusDetail(d)
	}
	return out, nil
}

func statusLists(s store.Status) (successes, failures, pendings string, err error) {
	if successes, err = detailsJSON(s.Successes); err != nil {
		return
	}
	if failures, err = detailsJSON(s.Failures); err != nil {
		return
	}
	pendings, err = detailsJSON(s.Pendings)
	return
}

// CreateStatus stores s and its job, the envelope to ingest, in one
// transaction, so a status never exists without the job that will finish
// it. store.ErrExists if the id is taken. A zero Created is set to the
// store's clock.
func (db *DB) CreateStatus(ctx context.Context, s store.Status, envelope []byte) error {
	if s.Created.IsZero() {
		s.Created = db.now()
	}
	succ, fail, pend, err := statusLists(s)
	if err != nil {
		return err
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return wrapErr("create status", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO statuses (id, collection, user, created, total, successes, failures, pendings, finished)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0)`,
		s.ID, s.Collection, s.User, toNanos(s.Created), s.Total, succ, fail, pend); err != nil {
		return fmt.Errorf("status %s: %w", s.ID, keyErr(err))
	}
	var owner, until any // NULL: not leased
	if s.LeaseOwner != "" {
		owner, until = s.LeaseOwner, db.now().Add(s.Lease).UnixNano()
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO jobs (status, envelope, lease_owner, lease_until) VALUES (?, ?, ?, ?)`,
		s.ID, envelope, owner, until); err != nil {
		return wrapErr("create status", err)
	}
	return wrapErr("create status", tx.Commit())
}

// Status finds a status by id; store.ErrNotFound if absent (or purged).
func (db *DB) Status(ctx context.Context, id string) (store.Status, error) {
	var (
		s                store.Status
		created          int64
		succ, fail, pend string
	)
	err := db.r.QueryRowContext(ctx, `SELECT id, collection, user, created, total, successes, failures, pendings
		FROM statuses WHERE id = ?`, id).Scan(&s.ID, &s.Collection, &s.User, &created, &s.Total, &succ, &fail, &pend)
	if err != nil {
		return store.Status{}, fmt.Errorf("status %s: %w", id, rowErr(err))
	}
	s.Created = fromStored(created)
	for _, l := range []struct {
		dst *[]store.StatusDetail
		src string
	}{{&s.Successes, succ}, {&s.Failures, fail}, {&s.Pendings, pend}} {
		if *l.dst, err = parseDetails(l.src); err != nil {
			return store.Status{}, fmt.Errorf("sqlite: status %s: %w", id, err)
		}
	}
	return s, nil
}

// FinishStatus records the outcome of every object and deletes the job, in
// one transaction; store.ErrNotFound if the status is absent.
func (db *DB) FinishStatus(ctx context.Context, s store.Status) error {
	succ, fail, pend, err := statusLists(s)
	if err != nil {
		return err
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return wrapErr("finish status", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE statuses SET total = ?, successes = ?, failures = ?, pendings = ?, finished = 1 WHERE id = ?`,
		s.Total, succ, fail, pend, s.ID)
	if err := affected(res, err, "status "+s.ID); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM jobs WHERE status = ?`, s.ID); err != nil {
		return wrapErr("finish status", err)
	}
	return wrapErr("finish status", tx.Commit())
}

// ClaimJob leases the oldest job that was never leased or whose lease has
// expired, for d, to owner; store.ErrNotFound if there is none. The writer
// serialises claims, so a job goes to one claimant.
func (db *DB) ClaimJob(ctx context.Context, owner string, d time.Duration) (string, []byte, error) {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return "", nil, wrapErr("claim job", err)
	}
	defer tx.Rollback()
	now := db.now()
	var (
		pk       int64
		status   string
		envelope []byte
	)
	err = tx.QueryRowContext(ctx, `SELECT pk, status, envelope FROM jobs
		WHERE lease_until IS NULL OR lease_until <= ? ORDER BY pk LIMIT 1`, now.UnixNano()).Scan(&pk, &status, &envelope)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil, fmt.Errorf("claim job: %w", store.ErrNotFound)
	}
	if err != nil {
		return "", nil, wrapErr("claim job", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE jobs SET lease_owner = ?, lease_until = ? WHERE pk = ?`,
		owner, now.Add(d).UnixNano(), pk); err != nil {
		return "", nil, wrapErr("claim job", err)
	}
	if err := tx.Commit(); err != nil {
		return "", nil, wrapErr("claim job", err)
	}
	return status, envelope, nil
}

// PurgeStatuses deletes the finished statuses created before before and
// reports how many. Unfinished ones stay whatever their age: their jobs have
// yet to run.
func (db *DB) PurgeStatuses(ctx context.Context, before time.Time) (int, error) {
	res, err := db.w.ExecContext(ctx, `DELETE FROM statuses WHERE finished = 1 AND created < ?`, before.UnixNano())
	if err != nil {
		return 0, wrapErr("purge statuses", err)
	}
	n, err := res.RowsAffected()
	return int(n), wrapErr("purge statuses", err)
}

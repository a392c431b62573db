package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/jackc/pgx/v5"

	"github.com/setu-cti/setu/internal/store"
)

var _ store.Statuses = (*DB)(nil)

// detail is the stored form of a store.StatusDetail: one element of the JSON
// arrays in the statuses table.
type detail struct {
	ID      string `json:"id"`
	Version string `json:"version,omitempty"`
	Message string `json:"message,omitempty"`
}

// detailsJSON is the stored form of a list of details; an empty list is [].
func detailsJSON(ds []store.StatusDetail) (string, error) {
	out := make([]detail, len(ds))
	for i, d := range ds {
		out[i] = detail(d)
	}
	b, err := json.Marshal(out)
	return string(b), err
}

// parseDetails reads a stored list of details; an empty list is nil.
func parseDetails(s string) ([]store.StatusDetail, error) {
	var ds []detail
	if err := json.Unmarshal([]byte(s), &ds); err != nil {
		return nil, err
	}
	if len(ds) == 0 {
		return nil, nil
	}
	out := make([]store.StatusDetail, len(ds))
	for i, d := range ds {
		out[i] = store.StatusDetail(d)
	}
	return out, nil
}

// statusDetails is the stored form of a status' three lists.
func statusDetails(s store.Status) (successes, failures, pendings string, err error) {
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
// statement, so a status never exists without the job that will finish it.
// store.ErrExists if a status with the id is stored. A zero Created is set to
// now; the job is as old as its status, which orders claims.
func (db *DB) CreateStatus(ctx context.Context, s store.Status, envelope []byte) error {
	if s.Created.IsZero() {
		s.Created = db.now()
	}
	if envelope == nil {
		envelope = []byte{}
	}
	succ, fail, pend, err := statusDetails(s)
	if err != nil {
		return fmt.Errorf("postgres: status %s: %w", s.ID, err)
	}
	_, err = db.pool.Exec(ctx, `
		WITH s AS (
			INSERT INTO statuses (id, collection, user_name, created, total, successes, failures, pendings)
			VALUES ($1, $2, $3, $4, $5, $6::text::jsonb, $7::text::jsonb, $8::text::jsonb)
			RETURNING id, created
		)
		INSERT INTO jobs (status_id, envelope, created, lease_owner, lease_until)
		SELECT id, $9, created, $10::text,
		       CASE WHEN $10::text IS NULL THEN NULL ELSE now() + $11::bigint * interval '1 microsecond' END
		FROM s`,
		s.ID, s.Collection, s.User, s.Created, s.Total, succ, fail, pend, envelope, leaseOwner(s), s.Lease.Microseconds())
	if err != nil {
		return fmt.Errorf("status %s: %w", s.ID, keyErr(err))
	}
	return nil
}

// Status finds a status by id; store.ErrNotFound if absent (or purged).
func (db *DB) Status(ctx context.Context, id string) (store.Status, error) {
	var s store.Status
	var succ, fail, pend string
	err := db.pool.QueryRow(ctx, `
		SELECT id, collection, user_name, created, total, successes::text, failures::text, pendings::text
		FROM statuses WHERE id = $1`, id).
		Scan(&s.ID, &s.Collection, &s.User, &s.Created, &s.Total, &succ, &fail, &pend)
	if err != nil {
		return store.Status{}, fmt.Errorf("status %s: %w", id, rowErr(err))
	}
	s.Created = utc(s.Created)
	if s.Successes, err = parseDetails(succ); err == nil {
		if s.Failures, err = parseDetails(fail); err == nil {
			s.Pendings, err = parseDetails(pend)
		}
	}
	if err != nil {
		return store.Status{}, fmt.Errorf("postgres: status %s: stored details: %w", id, err)
	}
	return s, nil
}

// FinishStatus replaces the outcome lists of the stored status s.ID with
// those of s, marks it finished (so it may be purged) and deletes its job,
// in one statement; store.ErrNotFound if the status is absent.
func (db *DB) FinishStatus(ctx context.Context, s store.Status) error {
	succ, fail, pend, err := statusDetails(s)
	if err != nil {
		return fmt.Errorf("postgres: status %s: %w", s.ID, err)
	}
	tag, err := db.pool.Exec(ctx, `
		WITH j AS (DELETE FROM jobs WHERE status_id = $1)
		UPDATE statuses
		SET successes = $2::text::jsonb, failures = $3::text::jsonb, pendings = $4::text::jsonb, finished = true
		WHERE id = $1`, s.ID, succ, fail, pend)
	if err != nil {
		return fmt.Errorf("postgres: status %s: %w", s.ID, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("status %s: %w", s.ID, store.ErrNotFound)
	}
	return nil
}

// ClaimJob leases to owner, for d, the oldest job that is not leased or
// whose lease has expired, and returns its status id and envelope;
// store.ErrNotFound if there is none. It is one statement: SKIP LOCKED lets
// concurrent claimers pass over the job another is taking instead of
// queueing behind it, and a job whose lease was renewed meanwhile is
// rechecked under its lock and passed over. Leases are measured on the
// database's clock, the one every instance shares, so clock skew between
// instances neither shortens nor stretches them. A d of zero or less leases
// a job already expired (another claim may take it at once).
func (db *DB) ClaimJob(ctx context.Context, owner string, d time.Duration) (string, []byte, error) {
	var id string
	var envelope []byte
	err := db.pool.QueryRow(ctx, `
		UPDATE jobs j SET lease_owner = $1, lease_until = now() + $2::bigint * interval '1 microsecond'
		FROM (SELECT status_id FROM jobs
		      WHERE lease_until IS NULL OR lease_until <= now()
		      ORDER BY created, status_id
		      LIMIT 1
		      FOR UPDATE SKIP LOCKED) c
		WHERE j.status_id = c.status_id
		RETURNING j.status_id, j.envelope`, owner, d.Microseconds()).Scan(&id, &envelope)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil, fmt.Errorf("claim job: %w", store.ErrNotFound)
	}
	if err != nil {
		return "", nil, fmt.Errorf("postgres: claim job: %w", err)
	}
	return id, envelope, nil
}

// PurgeStatuses deletes the finished statuses created before before and
// reports how many. Unfinished statuses stay whatever their age: their jobs
// have yet to run.
func (db *DB) PurgeStatuses(ctx context.Context, before time.Time) (int, error) {
	tag, err := db.pool.Exec(ctx, `DELETE FROM statuses WHERE finished AND created < $1`, before)
	if err != nil {
		return 0, fmt.Errorf("postgres: purge statuses: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// leaseOwner is the job's lease owner, NULL when the status asks for none.
func leaseOwner(s store.Status) *string {
	if s.LeaseOwner == "" {
		return nil
	}
	return &s.LeaseOwner
}

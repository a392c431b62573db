package store

import (
	"context"
	"fmt"
	"time"

	"github.com/setu-cti/setu/internal/audit"
)

// AuditQuery selects audit records. Fields AND; an empty field matches all.
type AuditQuery struct {
	After  int64     // records with Seq > After (the paging cursor)
	Actor  string    // exact actor
	Action string    // exact action
	Since  time.Time // Time >= Since (zero: no bound)
	Until  time.Time // Time < Until (zero: no bound)
	Limit  int       // maximum records; must be > 0
}

// Audit keeps the node's audit log: an append-only, hash-chained sequence
// of records (see package audit) and its head, the Seq and Hash of the last
// record. There is no way to update or delete a record through the store;
// the tables also refuse it.
type Audit interface {
	// AppendAudit appends rs in order in one durable transaction: under a
	// lock on the head, it seals them after it (audit.Seal: Seq, Time if
	// zero, Prev, Hash), inserts them and moves the head. It returns the
	// sealed records. A record that fails audit.Record.Check makes the call
	// fail with audit.ErrInvalid and nothing is appended. Concurrent calls
	// serialise on the head, so Seqs stay dense. It satisfies
	// audit.Appender.
	AppendAudit(ctx context.Context, rs []audit.Record) ([]audit.Record, error)
	// AuditRecords returns the records matching q in Seq order, at most
	// q.Limit of them.
	AuditRecords(ctx context.Context, q AuditQuery) ([]audit.Record, error)
	// AuditHead returns the chain head: (0, zero hash) for an empty log.
	AuditHead(ctx context.Context) (seq int64, hash [32]byte, err error)
}

// ScanAudit returns an iterator over every record matching q, fetched
// q.Limit at a time (1000 if not positive), in Seq order: the form
// audit.Verify takes. ok is false after the last record.
func ScanAudit(ctx context.Context, a Audit, q AuditQuery) func() (r audit.Record, ok bool, err error) {
	if q.Limit <= 0 {
		q.Limit = 1000
	}
	var (
		page []audit.Record
		done bool
	)
	return func() (audit.Record, bool, error) {
		if len(page) == 0 && !done {
			var err error
			page, err = a.AuditRecords(ctx, q)
			if err != nil {
				return audit.Record{}, false, err
			}
			done = len(page) < q.Limit
			if len(page) > 0 {
				q.After = page[len(page)-1].Seq
			}
		}
		if len(page) == 0 {
			return audit.Record{}, false, nil
		}
		r := page[0]
		page = page[1:]
		return r, true, nil
	}
}

// VerifyAudit checks a's whole chain against its head and returns the
// number of records and the head, or the first fault (an *audit.Fault
// wrapping audit.ErrBroken) or a read error.
//
// The head is read first and records are checked up to it, so records
// appended meanwhile are left for the next check. A head moved back over
// records that are still stored is caught too: a record past the head must
// have committed (with its head) before a second read of the head, which
// then covers it unless the head was rewritten.
func VerifyAudit(ctx context.Context, a Audit) (n int64, seq int64, hash [32]byte, err error) {
	seq, hash, err = a.AuditHead(ctx)
	if err != nil {
		return 0, 0, hash, err
	}
	var v audit.Verifier
	next := ScanAudit(ctx, a, AuditQuery{})
	for {
		r, ok, err := next()
		if err != nil {
			return 0, seq, hash, err
		}
		if !ok || r.Seq > seq {
			break
		}
		if err := v.Next(r); err != nil {
			return 0, seq, hash, err
		}
	}
	if err := v.Head(seq, hash); err != nil {
		return 0, seq, hash, err
	}
	beyond, err := a.AuditRecords(ctx, AuditQuery{After: seq, Limit: 1})
	if err != nil {
		return 0, seq, hash, err
	}
	if len(beyond) > 0 {
		later, _, err := a.AuditHead(ctx)
		if err != nil {
			return 0, seq, hash, err
		}
		if later < beyond[0].Seq {
			return 0, seq, hash, &audit.Fault{Seq: beyond[0].Seq, Problem: audit.HeadMismatch,
				Detail: fmt.Sprintf("the record is stored but the head is at record %d: the head was moved back", later)}
		}
	}
	n, _, _ = v.Count()
	return n, seq, hash, nil
}

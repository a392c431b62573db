package audit

import (
	"encoding/hex"
	"fmt"
)

// Problem is what is wrong at the first bad position of a chain.
type Problem int

const (
	// Changed: the record's hash does not match its content and Prev; the
	// record was altered, or moved to another Seq.
	Changed Problem = iota + 1
	// Missing: a record is absent: the numbering skips it, or the head
	// points past the last record.
	Missing
	// OutOfOrder: records arrived with a Seq not greater than the previous.
	OutOfOrder
	// Unlinked: the record's Prev is not the previous record's Hash; the
	// previous record was altered and rehashed, or the two are from
	// different chains.
	Unlinked
	// HeadMismatch: the stored head names the last record's Seq but not its
	// Hash, or points before the last record.
	HeadMismatch
)

func (p Problem) String() string {
	switch p {
	case Changed:
		return "changed"
	case Missing:
		return "missing"
	case OutOfOrder:
		return "out of order"
	case Unlinked:
		return "unlinked"
	case HeadMismatch:
		return "head mismatch"
	}
	return "unknown"
}

// Fault is the first fault found in a chain. It wraps ErrBroken.
type Fault struct {
	Seq     int64 // the first bad position
	Problem Problem
	Detail  string
}

func (f *Fault) Error() string {
	return fmt.Sprintf("audit: record %d: %s: %s", f.Seq, f.Problem, f.Detail)
}

func (f *Fault) Unwrap() error { return ErrBroken }

// Verifier checks a chain one record at a time, from record 1, in Seq
// order. The zero value is ready and expects record 1. After the first
// fault every later call returns that fault.
type Verifier struct {
	n     int64    // records checked
	seq   int64    // Seq of the last record checked
	hash  [32]byte // its Hash
	fault *Fault
}

// Next checks r, the next record of the chain; a *Fault if it is not.
func (v *Verifier) Next(r Record) error {
	if v.fault != nil {
		return v.fault
	}
	want := v.seq + 1
	switch {
	case r.Seq <= v.seq:
		return v.fail(r.Seq, OutOfOrder, fmt.Sprintf("came after record %d", v.seq))
	case r.Seq > want:
		return v.fail(want, Missing, fmt.Sprintf("the next record present is %d", r.Seq))
	case r.Hash != r.Sum():
		return v.fail(r.Seq, Changed, "hash does not match the record's content (altered, or moved from another position)")
	case r.Prev != v.hash:
		if r.Seq == 1 {
			return v.fail(r.Seq, Unlinked, "the first record does not start from the zero hash")
		}
		return v.fail(r.Seq, Unlinked, fmt.Sprintf("prev %s is not the hash of record %d (%s): that record was altered and rehashed",
			short(r.Prev), v.seq, short(v.hash)))
	}
	v.n++
	v.seq, v.hash = r.Seq, r.Hash
	return nil
}

// Head checks the stored chain head against the records checked so far:
// it must name the last of them. Call it after the last record.
func (v *Verifier) Head(seq int64, hash [32]byte) error {
	if v.fault != nil {
		return v.fault
	}
	switch {
	case seq > v.seq:
		return v.fail(v.seq+1, Missing, fmt.Sprintf("the head is at record %d but the log ends at %d: records were deleted from the end", seq, v.seq))
	case seq < v.seq:
		return v.fail(seq+1, HeadMismatch, fmt.Sprintf("the head is at record %d but the log goes on to %d", seq, v.seq))
	case hash != v.hash:
		return v.fail(seq, HeadMismatch, fmt.Sprintf("the head hash %s is not the hash of record %d (%s)", short(hash), seq, short(v.hash)))
	}
	return nil
}

// Count returns the number of records checked and the Seq and Hash of the
// last one (zero before any).
func (v *Verifier) Count() (n, seq int64, hash [32]byte) { return v.n, v.seq, v.hash }

func (v *Verifier) fail(seq int64, p Problem, detail string) error {
	v.fault = &Fault{Seq: seq, Problem: p, Detail: detail}
	return v.fault
}

func short(h [32]byte) string { return hex.EncodeToString(h[:8]) }

// Verify reads a whole chain from next, which yields records in Seq order
// (ok false at the end), and reports the first fault (a *Fault, wrapping
// ErrBroken) or next's error. It holds one record at a time. To also check
// the stored head, use a Verifier.
func Verify(next func() (Record, bool, error)) error {
	var v Verifier
	for {
		r, ok, err := next()
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		if err := v.Next(r); err != nil {
			return err
		}
	}
}

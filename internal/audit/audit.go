// Package audit is Setu's append-only, hash-chained record of what a node
// did and on which rule: one Record per response (reads, writes, releases,
// denials, not-found answers alike) and per administrative act. A record
// names ids, versions and hashes only, never object bodies, so the log can
// be kept and exported without becoming a second copy of the data.
//
// Chain. Records are numbered 1, 2, 3, … without gaps. Each record carries
// the hash of the one before it (Prev; the zero hash for record 1) and its
// own Hash, the SHA-256 of the format version, Prev and the record's
// canonical encoding (Encode), which includes its Seq. Changing a record
// then breaks its own hash; recomputing that hash breaks the next record's
// Prev; deleting or moving a record breaks the numbering or a hash. The store
// also keeps the chain head (last Seq and Hash) in a row of its own, so that
// deleting the last records shows as a head that points past the end. An
// attacker who rewrites the head as well can only be caught against a copy
// of the head kept elsewhere, which is why `setu audit verify` prints it.
//
// Stores assign Seq, Prev and Hash with Seal under a lock on the head, in the
// transaction that appends the records; a Verifier (or Verify) checks a
// stored chain, record by record and then against the head.
// Logger batches concurrent callers into one append (group commit).
package audit

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// FormatVersion is the version of the canonical encoding and hash rule. It
// is hashed into every record, so a later format cannot be confused with
// this one; records of different formats may follow each other in a chain.
const FormatVersion byte = 1

// Record is one audited action.
type Record struct {
	Seq        int64     // position in the chain, from 1; set by the store
	Time       time.Time // when it happened; kept to the microsecond, UTC
	Actor      string    // user name, "peer:NAME" for a partner node, or "cli"
	Org        string    // the actor's organisation, if any
	Action     string    // "read", "write", "release", "deny", "org.create", "token.revoke", …
	Path       string    // where: "taxii:objects", "taxii:object", "cli:import", "manage:users", …
	Collection string    // collection id, if any
	Objects    []string  // "id@version" (or "id@hash") entries: never bodies
	Rule       string    // the rule code that allowed or denied
	Status     int       // HTTP status, or the command's exit outcome
	Prev       [32]byte  // Hash of record Seq-1; zero for record 1
	Hash       [32]byte  // SHA-256(FormatVersion || Prev || Encode())
}

// Errors the package reports.
var (
	// ErrInvalid: a record cannot be stored as given (see Record.Check).
	ErrInvalid = errors.New("audit: invalid record")
	// ErrBroken: a stored chain does not verify; the error is a *Fault.
	ErrBroken = errors.New("audit: chain broken")
	// ErrClosed: Log was called after Close.
	ErrClosed = errors.New("audit: logger closed")
)

// Check reports whether r can be stored (ErrInvalid if not): it must have
// an Action, and every text field must be valid UTF-8 without NUL, so that
// both stores keep it byte for byte (PostgreSQL text holds neither invalid
// UTF-8 nor NUL, and a field the database altered would no longer match its
// hash).
func (r *Record) Check() error {
	fields := []struct{ name, v string }{
		{"actor", r.Actor}, {"org", r.Org}, {"action", r.Action}, {"path", r.Path},
		{"collection", r.Collection}, {"rule", r.Rule},
	}
	for i, o := range r.Objects {
		fields = append(fields, struct{ name, v string }{fmt.Sprintf("objects[%d]", i), o})
	}
	for _, f := range fields {
		if !utf8.ValidString(f.v) || strings.ContainsRune(f.v, 0) {
			return fmt.Errorf("%w: %s is not valid UTF-8 text without NUL", ErrInvalid, f.name)
		}
	}
	if r.Action == "" {
		return fmt.Errorf("%w: no action", ErrInvalid)
	}
	return nil
}

// Encode returns the canonical encoding of r's content (every field but
// Prev and Hash): Seq and Time (Unix microseconds) as 8-byte big-endian
// integers, each text field as a 4-byte big-endian length and its bytes,
// Objects as a 4-byte count followed by its entries the same way, and Status
// as an 8-byte big-endian integer. Lengths make the encoding unambiguous, so
// no two different records encode alike; nil and empty Objects encode alike.
func (r *Record) Encode() []byte {
	n := 8 + 8 + 8 + 4
	for _, s := range []string{r.Actor, r.Org, r.Action, r.Path, r.Collection, r.Rule} {
		n += 4 + len(s)
	}
	for _, o := range r.Objects {
		n += 4 + len(o)
	}
	b := make([]byte, 0, n)
	b = binary.BigEndian.AppendUint64(b, uint64(r.Seq))
	b = binary.BigEndian.AppendUint64(b, uint64(r.Time.UnixMicro()))
	str := func(s string) {
		b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	str(r.Actor)
	str(r.Org)
	str(r.Action)
	str(r.Path)
	str(r.Collection)
	b = binary.BigEndian.AppendUint32(b, uint32(len(r.Objects)))
	for _, o := range r.Objects {
		str(o)
	}
	str(r.Rule)
	b = binary.BigEndian.AppendUint64(b, uint64(int64(r.Status)))
	return b
}

// Sum computes the hash r must carry given its content and Prev.
func (r *Record) Sum() [32]byte {
	h := sha256.New()
	h.Write([]byte{FormatVersion})
	h.Write(r.Prev[:])
	h.Write(r.Encode())
	var sum [32]byte
	h.Sum(sum[:0])
	return sum
}

// Seal numbers and chains rs after the head (headSeq, headHash), in order:
// record i gets Seq headSeq+i+1, a zero Time becomes now, every Time is
// truncated to the microsecond in UTC (what the stores keep), and Prev and
// Hash are set. It returns the sealed copies and the new head. It checks
// every record first and seals none if one is invalid (ErrInvalid). The
// caller must hold the head for the whole append, so that no other writer
// seals after the same head.
func Seal(headSeq int64, headHash [32]byte, now time.Time, rs []Record) ([]Record, error) {
	for i := range rs {
		if err := rs[i].Check(); err != nil {
			return nil, fmt.Errorf("record %d of %d: %w", i+1, len(rs), err)
		}
	}
	out := make([]Record, len(rs))
	for i, r := range rs {
		if r.Time.IsZero() {
			r.Time = now
		}
		r.Time = r.Time.UTC().Truncate(time.Microsecond)
		r.Objects = append([]string(nil), r.Objects...)
		if len(r.Objects) == 0 {
			r.Objects = nil
		}
		headSeq++
		r.Seq, r.Prev = headSeq, headHash
		r.Hash = r.Sum()
		headHash = r.Hash
		out[i] = r
	}
	return out, nil
}

// jsonRecord is the export form of a record: the field names a reader of
// NDJSON expects, hashes in hex.
type jsonRecord struct {
	Seq        int64     `json:"seq"`
	Time       time.Time `json:"time"`
	Actor      string    `json:"actor"`
	Org        string    `json:"org,omitempty"`
	Action     string    `json:"action"`
	Path       string    `json:"path,omitempty"`
	Collection string    `json:"collection,omitempty"`
	Objects    []string  `json:"objects,omitempty"`
	Rule       string    `json:"rule,omitempty"`
	Status     int       `json:"status"`
	Prev       string    `json:"prev"`
	Hash       string    `json:"hash"`
}

// MarshalJSON writes the export form: lower-case field names, Time in
// RFC 3339 UTC, Prev and Hash as hex. Everything the hash covers is kept, so
// an exported record can be verified again.
func (r Record) MarshalJSON() ([]byte, error) {
	return json.Marshal(jsonRecord{
		Seq: r.Seq, Time: r.Time.UTC(), Actor: r.Actor, Org: r.Org, Action: r.Action, Path: r.Path,
		Collection: r.Collection, Objects: r.Objects, Rule: r.Rule, Status: r.Status,
		Prev: hex.EncodeToString(r.Prev[:]), Hash: hex.EncodeToString(r.Hash[:]),
	})
}

// UnmarshalJSON reads the export form.
func (r *Record) UnmarshalJSON(b []byte) error {
	var j jsonRecord
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	var prev, hash [32]byte
	for _, h := range []struct {
		name string
		s    string
		dst  *[32]byte
	}{{"prev", j.Prev, &prev}, {"hash", j.Hash, &hash}} {
		d, err := hex.DecodeString(h.s)
		if err != nil || len(d) != 32 {
			return fmt.Errorf("audit: record %d: %s is not 32 bytes of hex", j.Seq, h.name)
		}
		copy(h.dst[:], d)
	}
	*r = Record{Seq: j.Seq, Time: j.Time.UTC(), Actor: j.Actor, Org: j.Org, Action: j.Action, Path: j.Path,
		Collection: j.Collection, Objects: j.Objects, Rule: j.Rule, Status: j.Status, Prev: prev, Hash: hash}
	return nil
}

// Package store is Setu's storage contract: the small interfaces that the
// SQLite and PostgreSQL backends implement, the query and page types that the
// TAXII filters need, and the error kinds that storage owns.
//
// Model. An object version is stored once, keyed by its STIX id and its
// version time: `modified` for versioned objects, `created` for marking
// definitions, and for SCOs (which have neither) the content hash, with the
// date the content was first stored as its version time. Collection rows list
// a version in a collection; each row takes a sequence number and a
// date_added from one commit-ordered counter, so sequence and date_added are
// both strictly increasing in commit order and date_added is unique
// (microsecond precision). Paging is by that sequence, never by offset.
//
// Every write transaction appends change-log records in the same order.
//
// Implementations are safe for concurrent use by multiple goroutines.
package store

import (
	"context"
	"encoding/hex"
	"errors"
	"time"

	"github.com/setu-cti/setu/internal/audit"
)

// Errors owned by storage. Backends wrap them; callers test with errors.Is.
var (
	// ErrNotFound: the collection or object does not exist.
	ErrNotFound = errors.New("not found")
	// ErrExists: a collection with that id or alias already exists.
	ErrExists = errors.New("already exists")
	// ErrConflict: a version with the same id and version time but different
	// content is already stored.
	ErrConflict = errors.New("conflicting content for an existing version")
	// ErrRevoked: the object has been revoked; no later version is accepted.
	ErrRevoked = errors.New("object is revoked; no later version is accepted")
	// ErrNotOwner: a new version of an object was submitted by another
	// organisation than the one that first stored the object (its owner);
	// only the owner versions or revokes. An exact copy of a stored version
	// is a Duplicate whoever submits it.
	ErrNotOwner = errors.New("only the organisation that owns an object may publish new versions or revoke it")
	// ErrSchemaBehind: the database schema is older than this binary and
	// migration was not requested.
	ErrSchemaBehind = errors.New("database schema is behind; run `setu migrate` or pass --migrate")
	// ErrSchemaAhead: the database schema is newer than this binary.
	ErrSchemaAhead = errors.New("database schema is newer than this binary")
)

// Version is one stored version of a STIX object.
type Version struct {
	ID          string    // STIX id, "type--uuid"
	Type        string    // STIX type
	SpecVersion string    // "2.1" (empty for 2.0-era SCOs without one)
	Created     time.Time // zero when the object has no `created` (SCOs)
	Modified    time.Time // zero when the object has no `modified`
	Revoked     bool
	Hash        [32]byte // SHA-256 of Body
	Body        []byte   // canonical JSON (RFC 8785), served unchanged

	// Policy metadata, fixed by the write path when the version is first
	// stored and kept with it; the store does not interpret it.
	//
	// Submitter is the organisation that submitted the version (its owner).
	// Facts is the policy's encoded facts about the version (markings
	// resolved to TLP, distribution, recipients). Audience lists the keys of
	// readers who may possibly see it ("public", "node", "org:ID",
	// "group:ID", "user:NAME", "peer:NAME"): a superset of who may, so that a
	// reader's page can be found through an index of its own keys and the
	// exact decision applied to few rows. A version stored again keeps the
	// metadata of its first store.
	Submitter string
	Facts     []byte
	Audience  []string
	// Released, when not nil, is the body served to everyone but the
	// submitter's organisation: an anonymous submission's object with the
	// node's identity as its creator. Body stays the truth, as submitted,
	// and Hash is Body's. Like the rest of the metadata it is fixed when
	// the version is first stored.
	Released []byte

	// Set by the store on reads.
	VersionTime time.Time // Modified, else Created, else (SCO) first date stored
	// Ref is the store's reference of the stored version: assigned when it
	// is first stored, never reused, and increasing with each version
	// stored, so records kept per version (provenance) are written and
	// read in the order versions were stored rather than scattered by id.
	Ref       int64
	Seq       int64     // collection row sequence (collection reads)
	DateAdded time.Time // collection row date_added (collection reads)
	// IsFirst and IsLast (collection reads) say whether the version is the
	// oldest and the newest of its object in the collection.
	IsFirst, IsLast bool
}

// Key names the version in the audit log: its id, "@", and its version
// time as TAXII shows versions (FormatVersionTime of modified, else
// created), or for an SCO, whose version time is only known once stored,
// "@sha256:" and its content hash in hex.
func (v *Version) Key() string {
	switch {
	case !v.Modified.IsZero():
		return v.ID + "@" + FormatVersionTime(v.Modified)
	case !v.Created.IsZero():
		return v.ID + "@" + FormatVersionTime(v.Created)
	}
	return v.ID + "@sha256:" + hex.EncodeToString(v.Hash[:])
}

// FormatVersionTime formats a version time as TAXII's version fields carry
// it: UTC, with milliseconds, or as many more digits as it has.
func FormatVersionTime(t time.Time) string {
	t = t.UTC()
	switch {
	case t.Nanosecond()%1e6 == 0:
		return t.Format("2006-01-02T15:04:05.000Z")
	case t.Nanosecond()%1e3 == 0:
		return t.Format("2006-01-02T15:04:05.000000Z")
	}
	return t.Format("2006-01-02T15:04:05.000000000Z")
}

// Versioned reports whether the version is keyed by a timestamp
// (modified or created) rather than by its content hash.
func (v *Version) Versioned() bool { return !v.Modified.IsZero() || !v.Created.IsZero() }

// Outcome is what Put did with one version.
type Outcome int

const (
	// Added: the version was new to the collection (and stored if new to the node).
	Added Outcome = iota + 1
	// Duplicate: the exact version was already in the collection; nothing changed.
	Duplicate
	// Rejected: see Result.Err (ErrConflict, ErrRevoked, ...); nothing changed for it.
	Rejected
)

func (o Outcome) String() string {
	switch o {
	case Added:
		return "added"
	case Duplicate:
		return "duplicate"
	case Rejected:
		return "rejected"
	}
	return "unknown"
}

// Result is the outcome for the version at the same index in a Put call.
type Result struct {
	Outcome   Outcome
	Err       error     // set when Outcome is Rejected
	Seq       int64     // collection row sequence when Added
	DateAdded time.Time // when Added
	Ref       int64     // the stored version's Ref when Added or Duplicate
}

// Collection is a TAXII collection.
type Collection struct {
	ID          string // UUID, as TAXII requires
	Alias       string // short unique name used by the CLI; may be empty
	Title       string
	Description string
	MediaTypes  []string
	Created     time.Time
}

// VersionFilter selects among the versions of each object (TAXII match[version]).
// The zero value means Last. Several fields may be set; the result is their union.
type VersionFilter struct {
	Last  bool
	First bool
	All   bool
	At    []time.Time // exact version times
}

// IsZero reports whether no selector is set (which means Last).
func (f VersionFilter) IsZero() bool { return !f.Last && !f.First && !f.All && len(f.At) == 0 }

// Query selects collection rows. Different fields AND; values within a field OR.
type Query struct {
	Collection   string    // collection id (required)
	After        int64     // return rows with Seq > After (the paging cursor)
	AddedAfter   time.Time // return rows with DateAdded > AddedAfter (zero: no bound)
	IDs          []string
	Types        []string
	SpecVersions []string
	Versions     VersionFilter
	Limit        int  // maximum rows; must be > 0
	NoBody       bool // leave Version.Body nil (manifest)
	// ReaderKeys, when not nil, restricts the result to rows whose version
	// lists at least one of these audience keys. The cost of a page then
	// follows the rows with the reader's keys, not the collection's size. An
	// empty non-nil slice matches nothing. Only the policy gate sets it.
	ReaderKeys []string
}

// Page is one page of a Query, in sequence order.
type Page struct {
	Versions []Version
	More     bool  // more rows match after the last one returned
	Last     int64 // Seq of the last row returned (the next cursor); 0 if none
}

// Change is one change-log record.
type Change struct {
	Seq         int64
	Kind        string // "add": a version was added to a collection; "delete": a collection row was removed; "delete": removed from it
	Collection  string
	ID          string
	VersionTime time.Time
}

// Store is the storage contract both backends implement.
type Store interface {
	// CreateCollection creates a collection; ErrExists if the id or alias is taken.
	CreateCollection(ctx context.Context, c Collection) error
	// Collection finds a collection by id or alias; ErrNotFound if absent.
	Collection(ctx context.Context, idOrAlias string) (Collection, error)
	// Collections lists all collections ordered by creation.
	Collections(ctx context.Context) ([]Collection, error)

	// Put stores versions into a collection in one durable transaction and
	// reports an outcome for each, in order. A rejected version does not
	// abort the others. The error return is for failures of the whole call
	// (nothing was stored).
	Put(ctx context.Context, collection string, vs []Version) ([]Result, error)
	// PutAudited is Put that also appends, in the same transaction, the
	// audit records record returns for the outcomes, sealed under the
	// chain head as Audit.AppendAudit seals them: a batch and the record
	// of storing it are committed together or not at all. record sees each
	// Result's Outcome and Err (Seq, DateAdded and Ref may not be set yet)
	// and may return none; a record that fails audit.Record.Check fails
	// the whole call (nothing is stored). A nil record makes it Put.
	PutAudited(ctx context.Context, collection string, vs []Version, record func([]Result) []audit.Record) ([]Result, error)

	// Query returns one page of collection rows matching q.
	Query(ctx context.Context, q Query) (Page, error)

	// Current returns the current version of an object across the node:
	// the one with the latest version time. ErrNotFound if absent.
	Current(ctx context.Context, id string) (Version, error)

	// Changes returns change-log records with Seq > after, at most limit.
	Changes(ctx context.Context, after int64, limit int) ([]Change, error)

	// Stats reports counts for diagnostics and tests.
	Stats(ctx context.Context) (Stats, error)

	Close() error
}

// Stats are whole-store counts.
type Stats struct {
	Versions       int64 // stored object versions
	Objects        int64 // distinct object ids
	CollectionRows int64
	LastSeq        int64
}

// Options are common opening options.
type Options struct {
	// Migrate applies pending migrations. A database with no schema at all is
	// always initialised; one whose schema is behind is refused unless Migrate.
	Migrate bool
	// Now is the clock (default time.Now); injected by tests.
	Now func() time.Time
}

package store

import (
	"context"
	"crypto/sha256"
	"time"
)

// Directions of a sync cursor.
const (
	// SyncOut: this node's egress to a peer, following one local
	// collection; the position is the last collection sequence evaluated.
	SyncOut = "out"
	// SyncIn: this node's ingress from a peer, pulling one of the peer's
	// collections; the position is the peer's X-TAXII-Date-Added-Last of
	// the last page fully ingested.
	SyncIn = "in"
	// SyncPush: this node pushing its view to a peer's collection; the
	// position is the last sequence of the view sent.
	SyncPush = "push"
)

// SyncCursor is the durable progress of the sync engine for one peer, one
// direction and one collection. A restart resumes from it, so everything
// before it has been durably handled and everything after it will be.
type SyncCursor struct {
	Peer       string
	Direction  string // SyncOut, SyncIn or SyncPush
	Collection string // local collection id (out, push) or the peer's (in)
	// Seq is the position of an out or push cursor; Added, of an in cursor.
	Seq   int64
	Added time.Time
	// Agreement is the hash of the terms (the agreement, the peer's
	// sharing groups, the default TLP) an out or in cursor's position was
	// evaluated under: changed terms start egress over, and ingress too,
	// since what they withheld or refused before may now cross.
	Agreement [32]byte
	// Objects counts the objects moved under this cursor, in total.
	Objects int64
	// LastSuccess is when the cursor last caught up with everything
	// available; LastError is the error of the last failed attempt, empty
	// after a success.
	LastSuccess time.Time
	LastError   string
	Updated     time.Time // set by the store
}

// ProvenanceRecord is the provenance kept for one stored object version:
// the record it arrived with or its origin signature (Route empty), or the
// record as sent on to one peer (Route the peer's name), or the record of
// a later arrival by another path (Route "<-" and the sender's name).
//
// Records are kept by the version's Ref, so a batch of versions stored or
// released together has its records side by side: writing and reading them
// touches a few pages, not one page per version as a key made of random
// object ids would.
//
// The records of one batch may share a part (Shared: e.g. a signed Merkle
// root and the tree hashes their proofs are made of); the store keeps each
// distinct shared part once, however many records name it, and reading
// returns it with every record that names it. The store reads neither
// Record nor Shared.
type ProvenanceRecord struct {
	Version int64 // the stored version's Ref
	Route   string
	Record  []byte
	Shared  []byte // nil: Record is whole
}

// Sync keeps the federation sync engine's state: cursors, counters and
// provenance. Safe for concurrent use; every write is durable on return.
type Sync interface {
	// SyncCursor returns one cursor; ErrNotFound if never set.
	SyncCursor(ctx context.Context, peer, direction, collection string) (SyncCursor, error)
	// SetSyncCursor creates or replaces a cursor; Updated is set to the
	// store's clock.
	SetSyncCursor(ctx context.Context, c SyncCursor) error
	// SyncCursors lists the cursors of a peer (every peer when peer is
	// empty), ordered by peer, direction and collection.
	SyncCursors(ctx context.Context, peer string) ([]SyncCursor, error)
	// AddSyncCounts adds deltas to a peer's named counters (e.g.
	// "refused:agreement-tlp"); counters start at zero.
	AddSyncCounts(ctx context.Context, peer string, deltas map[string]int64) error
	// SyncCounts returns a peer's counters (every peer's, keyed by peer,
	// when peer is empty).
	SyncCounts(ctx context.Context, peer string) (map[string]map[string]int64, error)
	// PutProvenance stores records, with their shared parts, in one
	// transaction and reports, index for index, whether each was new; a
	// record whose (Version, Route) is already stored is left as it is, so
	// the first signature of a version is the one every later release
	// carries. A shared part is kept only if a new record names it. A
	// record of a version that is not stored fails the call with
	// ErrNotFound and stores nothing.
	PutProvenance(ctx context.Context, rs []ProvenanceRecord) ([]bool, error)
	// Provenance returns the stored records of the given versions (Refs),
	// for the given routes only when routes is not empty, each with its
	// shared part (records naming the same part share one slice: read
	// only).
	Provenance(ctx context.Context, versions []int64, routes []string) ([]ProvenanceRecord, error)
}

// SharedDigests returns, index for index, the SHA-256 of each record's
// shared part (nil when it has none) and the distinct parts by digest,
// for backends that keep shared parts by content. Records naming the same
// slice cost one hash between them.
func SharedDigests(rs []ProvenanceRecord) ([][]byte, map[[32]byte][]byte) {
	type ref struct {
		p *byte
		n int
	}
	digests := make([][]byte, len(rs))
	parts := map[[32]byte][]byte{}
	seen := map[ref][]byte{}
	for i, r := range rs {
		if r.Shared == nil {
			continue
		}
		k := ref{n: len(r.Shared)}
		if len(r.Shared) > 0 {
			k.p = &r.Shared[0]
		}
		d, ok := seen[k]
		if !ok {
			sum := sha256.Sum256(r.Shared)
			parts[sum] = r.Shared
			d = sum[:]
			seen[k] = d
		}
		digests[i] = d
	}
	return digests, parts
}

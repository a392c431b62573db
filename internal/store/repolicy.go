package store

import "context"

// UnresolvedMarker is what encoded policy facts (Version.Facts) hold when
// they name a marking the node could not interpret: the start of a
// non-empty "Unknown" list, as the policy package encodes it. The store
// finds such versions through an index on it and interprets facts no
// further.
const UnresolvedMarker = `"Unknown":["`

// PolicyUpdate replaces the policy metadata of one stored version.
type PolicyUpdate struct {
	Ref      int64 // Version.Ref of the stored version
	Facts    []byte
	Audience []string
}

// Repolicy is the part of a store that lets the write path finish the
// policy metadata of versions stored while a marking definition they name
// was unknown, once the definition arrives. It is the one exception to
// "metadata is fixed at first store", and it changes no body.
type Repolicy interface {
	// Unresolved returns up to limit stored versions whose facts hold
	// UnresolvedMarker, with their bodies, released bodies and policy
	// metadata, in Ref order after the Ref after. Its cost follows those
	// versions, not the store.
	Unresolved(ctx context.Context, after int64, limit int) ([]Version, error)
	// SetPolicy replaces, in one transaction, the facts and audience keys
	// of each version named by Ref, and the audience rows of every
	// collection row that lists it, and appends a change record of kind
	// "policy" per such row (seq from the counter, like Put's), so that
	// what follows the change log reads the version again. ErrNotFound if
	// a Ref names no stored version (nothing is changed).
	SetPolicy(ctx context.Context, us []PolicyUpdate) error
}

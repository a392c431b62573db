package store

import (
	"context"
	"time"
)

// Relation is one stored version of a STIX relationship, as the indexes
// that follow relationships need it: found by the objects it joins rather
// than by scanning every relationship.
type Relation struct {
	ID          string    // the relationship's id
	VersionTime time.Time // its modified
	Kind        string    // relationship_type
	Source      string    // source_ref
	Target      string    // target_ref
	Revoked     bool
}

// Relations records relationship versions by the objects they join. The
// write path records the kinds it indexes (see ingest); the detection
// engine reads them to load what it needs of the graph in time that
// follows the indicators, not the store.
type Relations interface {
	// PutRelations records relationship versions; recording one again
	// changes nothing.
	PutRelations(ctx context.Context, rs []Relation) error
	// RelationsOf returns every recorded version of the relationships
	// whose source or target is one of ids, in no particular order.
	RelationsOf(ctx context.Context, ids []string) ([]Relation, error)
}

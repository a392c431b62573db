package ingest

import (
	"context"
	"fmt"
	"slices"

	"github.com/go-json-experiment/json"

	"github.com/setu-cti/setu/internal/store"
)

// IndexedRelationships are the relationship types the write path records
// by the objects they join (store.Relations): those the detection engine
// follows from an indicator, so that it loads them without reading every
// relationship.
var IndexedRelationships = []string{"indicates", "mitigates"}

// recordRelations records the relationship versions of IndexedRelationships
// a batch added, after the batch is stored. The record is derived: a crash
// between the two leaves a relationship unrecorded until it is stored
// again, which costs a hit its context, not an object. A store without
// store.Relations records nothing.
func (in *Ingester) recordRelations(ctx context.Context, vs []store.Version, res []store.Result) error {
	rl, ok := in.st.(store.Relations)
	if !ok {
		return nil
	}
	var rs []store.Relation
	for i := range vs {
		v := &vs[i]
		if v.Type != "relationship" || res[i].Outcome != store.Added {
			continue
		}
		var b struct {
			Kind   string `json:"relationship_type"`
			Source string `json:"source_ref"`
			Target string `json:"target_ref"`
		}
		if err := json.Unmarshal(v.Body, &b); err != nil || !slices.Contains(IndexedRelationships, b.Kind) {
			continue
		}
		rs = append(rs, store.Relation{ID: v.ID, VersionTime: v.Modified, Kind: b.Kind, Source: b.Source, Target: b.Target, Revoked: v.Revoked})
	}
	if err := rl.PutRelations(ctx, rs); err != nil {
		return fmt.Errorf("recording relationships: %w", err)
	}
	return nil
}

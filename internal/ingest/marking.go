package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/setu-cti/setu/internal/audit"
	"github.com/setu-cti/setu/internal/policy"
	"github.com/setu-cti/setu/internal/stix"
	"github.com/setu-cti/setu/internal/store"
)

// Marking definitions may come after the objects they mark: MITRE's ATT&CK
// ICS bundle lists its copyright statement last, and a definition may reach
// the node in a later envelope or import than its objects. Three steps keep
// such objects from staying with their submitter for good:
//
//   - the resolver knows, besides stored definitions and those met earlier in
//     the same stream, the Setu distribution markings every node derives
//     alike (fixed scopes, residency) and those of the sharing groups in
//     the registry;
//   - before a batch is stored, objects whose markings did not resolve are
//     classified again against every definition met in the stream so far
//     (settle), so a definition later in the same batch counts;
//   - after a batch that stores (or meets again) a marking definition, the
//     versions stored earlier while it was unknown get their facts and
//     audience completed (resolveAwaiting) through store.Repolicy.
//
// A marking that still resolves to nothing, or to a definition type the
// node does not implement, is accepted with a warning saying that only the
// submitting organisation reads the object until it can be interpreted.

// classify computes the policy facts that o's markings give (Submitter
// and Via are the caller's).
func (in *Ingester) classify(ctx context.Context, o *stix.Object, local map[string][]byte) (policy.Facts, error) {
	resolve := func(id string) ([]byte, error) { return in.marking(ctx, id, local) }
	facts, err := policy.Classify(o.ObjectMarkingRefs, resolve)
	if err != nil {
		return facts, fmt.Errorf("%s: resolving markings: %w", o.ID, err)
	}
	if facts.Granular, err = in.granular(ctx, o, resolve); err != nil {
		return facts, fmt.Errorf("%s: resolving granular markings: %w", o.ID, err)
	}
	for _, g := range facts.Groups {
		if err := in.groupExists(ctx, g); err != nil {
			return facts, fmt.Errorf("%s: distribution marking names sharing group %q: %w", o.ID, g, err)
		}
	}
	return facts, nil
}

// unresolved reports whether facts name a marking the node could not
// interpret, on the object or on part of it.
func unresolved(f policy.Facts) bool {
	if len(f.Unknown) > 0 {
		return true
	}
	return slices.ContainsFunc(f.Granular, func(g policy.Facts) bool { return len(g.Unknown) > 0 })
}

// unknownIDs lists the markings facts could not interpret.
func unknownIDs(f policy.Facts) []string {
	ids := slices.Clone(f.Unknown)
	for _, g := range f.Granular {
		for _, id := range g.Unknown {
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
	}
	return ids
}

// withMarkings is old with the parts that markings decide taken from m:
// whatever else the write path fixed in old (submitter, the peer it came
// from, other metadata) stays.
func withMarkings(old, m policy.Facts) policy.Facts {
	old.TLP, old.Scopes, old.Groups, old.Recipients = m.TLP, m.Scopes, m.Groups, m.Recipients
	old.Resident, old.Unknown, old.Granular = m.Resident, m.Unknown, m.Granular
	if h := old.Assigned; h != nil {
		old.Assigned = nil
		old = old.Assign(*h)
	}
	return old
}

// settle classifies again, against the definitions met in the stream so
// far, the objects of a batch whose markings did not resolve when they were
// validated, and warns about those that still do not.
func (in *Ingester) settle(ctx context.Context, batch []pending, local map[string][]byte) {
	for i := range batch {
		p := &batch[i]
		o := p.retry
		if o == nil || !p.ok {
			continue
		}
		p.retry = nil
		old := policy.DecodeFacts(p.v.Facts, p.v.Submitter)
		facts := old
		if m, err := in.classify(ctx, o, local); err == nil {
			facts = withMarkings(old, m)
			p.v.Facts, p.v.Audience = facts.Encode(), in.policy.Audience(facts)
		}
		for _, id := range unknownIDs(facts) {
			p.item.Warnings = append(p.item.Warnings, in.unknownWarning(ctx, o.ID, id, local))
		}
	}
}

// unknownWarning says why a marking cannot be interpreted and what follows.
func (in *Ingester) unknownWarning(ctx context.Context, obj, id string, local map[string][]byte) string {
	why := "its definition is not known to this node"
	if b, err := in.marking(ctx, id, local); err == nil && b != nil {
		why = "its definition is of a type this node does not implement"
	}
	return fmt.Sprintf("%s: marking %s: %s; until it can be interpreted, only the submitting organisation may read the object", obj, id, why)
}

// resolveAwaiting completes, after a batch is stored, the policy metadata
// of stored versions that named a marking definition of the batch while it
// was unknown. A store without store.Repolicy is left as it is.
func (in *Ingester) resolveAwaiting(ctx context.Context, b []pending, res []store.Result) error {
	rp, ok := in.st.(store.Repolicy)
	if !ok {
		return nil
	}
	var defs []string
	j := 0
	for _, p := range b {
		if !p.ok || p.deny != nil {
			continue
		}
		r := res[j]
		j++
		if p.v.Type == "marking-definition" && (r.Outcome == store.Added || r.Outcome == store.Duplicate) {
			defs = append(defs, p.v.ID)
		}
	}
	if len(defs) == 0 {
		return nil
	}
	const page = 500
	for after := int64(0); ; {
		vs, err := rp.Unresolved(ctx, after, page)
		if err != nil {
			return fmt.Errorf("versions awaiting marking definitions: %w", err)
		}
		var us []store.PolicyUpdate
		for i := range vs {
			v := &vs[i]
			old := policy.DecodeFacts(v.Facts, v.Submitter)
			if !slices.ContainsFunc(unknownIDs(old), func(id string) bool { return slices.Contains(defs, id) }) {
				continue
			}
			o, err := stix.Parse(v.Body)
			if err != nil {
				continue // stored bodies are valid; nothing to do for one that is not
			}
			m, err := in.classify(ctx, o, nil)
			if err != nil {
				continue // e.g. a group marking whose group is gone: stays as it was
			}
			facts := withMarkings(old, m)
			us = append(us, store.PolicyUpdate{Ref: v.Ref, Facts: facts.Encode(), Audience: in.policy.Audience(facts)})
		}
		if err := rp.SetPolicy(ctx, us); err != nil {
			return fmt.Errorf("completing the markings of stored versions: %w", err)
		}
		if len(vs) < page {
			return nil
		}
		after = vs[len(vs)-1].Ref
	}
}

// granular classifies each granular marking of o that names a marking
// definition (language markings restrict no one).
func (in *Ingester) granular(ctx context.Context, o *stix.Object, resolve policy.Resolver) ([]policy.Facts, error) {
	if !bytes.Contains(o.Canonical, []byte(`"granular_markings"`)) {
		return nil, nil
	}
	var gm struct {
		GranularMarkings []struct {
			MarkingRef string `json:"marking_ref"`
		} `json:"granular_markings"`
	}
	if err := json.Unmarshal(o.Canonical, &gm); err != nil {
		return nil, err
	}
	var out []policy.Facts
	for _, g := range gm.GranularMarkings {
		if g.MarkingRef == "" {
			continue
		}
		f, err := policy.Classify([]string{g.MarkingRef}, resolve)
		if err != nil {
			return nil, err
		}
		for _, grp := range f.Groups {
			if err := in.groupExists(ctx, grp); err != nil {
				return nil, fmt.Errorf("granular marking names sharing group %q: %w", grp, err)
			}
		}
		out = append(out, f)
	}
	return out, nil
}

// marking returns the body of a marking definition the node knows: stored,
// met earlier in the stream (local, which may be nil), a distribution
// marking every node derives (policy.WellKnown), or that of a sharing group
// in the registry; nil if it knows none.
func (in *Ingester) marking(ctx context.Context, id string, local map[string][]byte) ([]byte, error) {
	if _, ok := stix.TLPOf(id); ok {
		return nil, nil // built in
	}
	if b := policy.WellKnown(id); b != nil {
		return b, nil
	}
	in.mu.Lock()
	b, ok := in.markings[id]
	in.mu.Unlock()
	if ok {
		return b, nil
	}
	v, err := in.st.Current(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		if b := local[id]; b != nil {
			return b, nil
		}
		return in.groupMarking(ctx, id)
	}
	if err != nil {
		return nil, err
	}
	// Only stored definitions are cached across calls: they are immutable,
	// while one seen in a stream may yet be refused by the store.
	in.mu.Lock()
	in.markings[id] = v.Body
	in.mu.Unlock()
	return v.Body, nil
}

// groupsTTL bounds how long the registry's group list is reused to derive
// group markings: an object naming a group created moments ago resolves
// within it.
const groupsTTL = 5 * time.Second

// groupMarking returns the distribution marking definition of a sharing
// group in the registry whose marking id is id, or nil.
func (in *Ingester) groupMarking(ctx context.Context, id string) ([]byte, error) {
	if in.groups == nil {
		return nil, nil
	}
	in.mu.Lock()
	ids, fresh := in.groupIDs, time.Since(in.groupsRead) < groupsTTL
	in.mu.Unlock()
	if !fresh {
		gs, err := in.groups.ListGroups(ctx)
		if err != nil {
			return nil, err
		}
		ids = map[string]string{}
		for _, g := range gs {
			ids[policy.Distribution{Scope: policy.ScopeGroup, Group: g.ID}.MarkingID()] = g.ID
		}
		in.mu.Lock()
		in.groupIDs, in.groupsRead = ids, time.Now()
		in.mu.Unlock()
	}
	g, ok := ids[id]
	if !ok {
		return nil, nil
	}
	return policy.Distribution{Scope: policy.ScopeGroup, Group: g}.MarkingDefinition()
}

// MarkingsAlias is the alias of the collection that lists every marking
// definition the node knows, readable by every organisation: each
// definition stored by any write path is listed there too, so that readers
// can resolve the markings of what they read.
const MarkingsAlias = "markings"

// listMarkings lists the marking definitions a batch added to collection
// in the markings collection as well, in a transaction of their own (with
// their own audit record). Nothing is done when the node has no markings
// collection, or the batch was stored into it.
func (in *Ingester) listMarkings(ctx context.Context, rec *audit.Record, collection string, vs []store.Version, res []store.Result) error {
	var defs []store.Version
	for i, v := range vs {
		if v.Type == "marking-definition" && res[i].Outcome == store.Added {
			defs = append(defs, v)
		}
	}
	if len(defs) == 0 {
		return nil
	}
	finder, ok := in.st.(interface {
		Collection(ctx context.Context, idOrAlias string) (store.Collection, error)
	})
	if !ok {
		return nil
	}
	c, err := finder.Collection(ctx, MarkingsAlias)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if c.ID == collection || c.Alias == collection {
		return nil
	}
	var record func([]store.Result) []audit.Record
	if rec != nil {
		record = func(rs []store.Result) []audit.Record {
			r := *rec
			r.Collection, r.Objects = c.ID, nil
			for i, o := range rs {
				if o.Outcome == store.Added {
					r.Objects = append(r.Objects, defs[i].Key())
				}
			}
			if len(r.Objects) == 0 {
				return nil
			}
			return []audit.Record{r}
		}
	}
	if _, err := in.st.PutAudited(ctx, c.ID, defs, record); err != nil {
		return fmt.Errorf("listing marking definitions in %s: %w", MarkingsAlias, err)
	}
	return nil
}

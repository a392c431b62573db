package policy

import (
	"context"
	"crypto/sha256"
	"errors"
	"slices"
	"time"

	"github.com/setu-cti/setu/internal/store"
)

// Gate is the one way readers reach stored objects: every read path asks the
// gate, which restricts the store query to the reader's audience keys (so a
// page reads about what the reader may see, not the whole collection) and
// then decides each row exactly. A denied row is indistinguishable from an
// absent one. Safe for concurrent use.
//
// Version selection happens after the decision: "last" and "first" mean the
// newest and the oldest version this reader may see, so a reader denied an
// object's newest version is served the newest one it may see, exactly as if
// the hidden one did not exist (otherwise its absence would tell that a
// newer version exists).
type Gate struct {
	st     store.Store
	groups store.Groups // nil: st keeps no group registry
	cfg    Config
}

// NewGate returns a gate over st. When st also keeps the group registry
// (store.Groups), a partner node that reads without naming its groups is
// given those the registry lists it in, at each query, so that every read
// path serves a peer what egress released to it under the same membership.
func NewGate(st store.Store, cfg Config) *Gate {
	gs, _ := st.(store.Groups)
	return &Gate{st: st, groups: gs, cfg: cfg}
}

// Config is the gate's policy configuration.
func (g *Gate) Config() Config { return g.cfg }

// Page is one page of what a reader may see, with the decision that allowed
// each version (for the audit log), index for index.
type Page struct {
	store.Page
	Decisions []Decision
}

// decisionKey groups versions that Decide cannot tell apart: objects of a
// collection share a few distinct facts, so each is decided once per call.
type decisionKey struct{ facts, submitter string }

// extent is the span of version times of one object that a reader may see.
type extent struct{ oldest, newest time.Time }

// Query returns the next page of q's rows that r may see. Pages are filled to
// q.Limit while more exists, More is exact (true only if at least one more
// allowed row follows), and Last is the seq of the last row returned, so
// denied rows never produce short or empty pages before the end.
func (g *Gate) Query(ctx context.Context, r Reader, q store.Query) (Page, error) {
	return g.query(ctx, r, q, true)
}

// QueryDense is Query for a reader who may see nearly every row of the
// collection, such as a partner node reading its own view (which holds
// only what was released to it): the store is read in plain sequence
// order rather than through the reader's audience keys, whose index
// ranges would then cover nearly every row anyway and cost a merge. Every
// row is still decided exactly, so the result is Query's; only the cost
// differs, and is Query's worst case for a reader who sees few rows.
func (g *Gate) QueryDense(ctx context.Context, r Reader, q store.Query) (Page, error) {
	return g.query(ctx, r, q, false)
}

func (g *Gate) query(ctx context.Context, r Reader, q store.Query, byKeys bool) (Page, error) {
	if q.Limit <= 0 {
		return Page{}, errors.New("policy: query limit must be positive")
	}
	limit := q.Limit
	if r.IsPeer() && r.Groups == nil && g.groups != nil {
		gs, err := g.groups.PeerGroups(ctx, r.Peer)
		if err != nil {
			return Page{}, err
		}
		r.Groups = gs
	}
	q.ReaderKeys = nil
	if byKeys {
		q.ReaderKeys = r.Keys()
	}
	sel := q.Versions
	if sel.IsZero() {
		sel.Last = true
	}
	// "last" and "first" are chosen among the versions r may see, so the
	// store is asked for every version and the gate selects.
	selecting := !sel.All && (sel.Last || sel.First)
	if selecting {
		q.Versions = store.VersionFilter{All: true}
	}
	// One row more than the page, so that when every row is allowed the
	// row that proves More is read by the same query.
	q.Limit = limit + 1
	decided := map[decisionKey]Decision{}
	decide := func(v *store.Version) Decision {
		k := decisionKey{string(v.Facts), v.Submitter}
		d, ok := decided[k]
		if !ok {
			d = g.cfg.Decide(r, DecodeFacts(v.Facts, v.Submitter))
			decided[k] = d
		}
		return d
	}
	extents := map[string]extent{}
	var out Page
	for {
		p, err := g.st.Query(ctx, q)
		if err != nil {
			return Page{}, err
		}
		ds := make([]Decision, len(p.Versions))
		for i := range p.Versions {
			ds[i] = decide(&p.Versions[i])
		}
		if selecting {
			if err := g.extents(ctx, q, p.Versions, ds, sel, decide, extents); err != nil {
				return Page{}, err
			}
		}
		for i, v := range p.Versions {
			if !ds[i].Allow || selecting && !selected(v, sel, extents) {
				continue
			}
			if len(out.Versions) == limit {
				// One more allowed row exists: the page is full and More is true.
				out.More = true
				return out, nil
			}
			out.Versions = append(out.Versions, released(r, v))
			out.Decisions = append(out.Decisions, ds[i])
			out.Last = v.Seq
		}
		if !p.More {
			return out, nil
		}
		q.After = p.Last
	}
}

// released is the version as r is served it: an anonymous submission's
// released body to everyone but its submitter's organisation, or, for an
// organisation anonymous towards partners only, to partner nodes.
func released(r Reader, v store.Version) store.Version {
	if v.Released != nil {
		if r.IsPeer() || r.Org != v.Submitter && !DecodeFacts(v.Facts, v.Submitter).PeersOnly {
			v.Body = v.Released
			v.Hash = sha256.Sum256(v.Body)
		}
		v.Released = nil
	}
	return v
}

// selected reports whether an allowed version is one the filter selects
// among the versions the reader may see.
func selected(v store.Version, sel store.VersionFilter, extents map[string]extent) bool {
	if slices.ContainsFunc(sel.At, v.VersionTime.Equal) {
		return true
	}
	if sel.Last && (v.IsLast || !extents[v.ID].newest.After(v.VersionTime)) {
		return true
	}
	return sel.First && (v.IsFirst || !extents[v.ID].oldest.Before(v.VersionTime))
}

// extents finds, for the objects of vs whose allowed version is not both
// the collection's newest and oldest, the span of the versions the reader
// may see: one query for the page's objects, since most objects have one
// version and need none.
func (g *Gate) extents(ctx context.Context, q store.Query, vs []store.Version, ds []Decision, sel store.VersionFilter, decide func(*store.Version) Decision, known map[string]extent) error {
	var ids []string
	for i, v := range vs {
		if !ds[i].Allow || (!sel.Last || v.IsLast) && (!sel.First || v.IsFirst) {
			continue
		}
		if _, ok := known[v.ID]; !ok && !slices.Contains(ids, v.ID) {
			ids = append(ids, v.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	eq := store.Query{
		Collection: q.Collection,
		IDs:        ids,
		Versions:   store.VersionFilter{All: true},
		Limit:      1000,
		NoBody:     true,
		ReaderKeys: q.ReaderKeys,
	}
	for {
		p, err := g.st.Query(ctx, eq)
		if err != nil {
			return err
		}
		for i := range p.Versions {
			v := &p.Versions[i]
			if !decide(v).Allow {
				continue
			}
			e, ok := known[v.ID]
			if !ok || v.VersionTime.Before(e.oldest) {
				e.oldest = v.VersionTime
			}
			if !ok || v.VersionTime.After(e.newest) {
				e.newest = v.VersionTime
			}
			known[v.ID] = e
		}
		if !p.More {
			return nil
		}
		eq.After = p.Last
	}
}

// Explain decides one version for a reader (for `setu policy explain`).
// The reader is taken as given: unlike Query, it does not look up a
// partner node's groups.
func (g *Gate) Explain(r Reader, v store.Version) Decision {
	return g.cfg.Decide(r, DecodeFacts(v.Facts, v.Submitter))
}

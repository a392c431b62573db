package policy

import (
	"context"
	"errors"

	"github.com/setu-cti/setu/internal/store"
)

// Gate is the one way readers reach stored objects: every read path asks the
// gate, which restricts the store query to the reader's audience keys (so a
// page reads about what the reader may see, not the whole collection) and
// then decides each row exactly. A denied row is indistinguishable from an
// absent one. Safe for concurrent use.
type Gate struct {
	st  store.Store
	cfg Config
}

// NewGate returns a gate over st.
func NewGate(st store.Store, cfg Config) *Gate { return &Gate{st: st, cfg: cfg} }

// Config is the gate's policy configuration.
func (g *Gate) Config() Config { return g.cfg }

// Page is one page of what a reader may see, with the decision that allowed
// each version (for the audit log), index for index.
type Page struct {
	store.Page
	Decisions []Decision
}

// Query returns the next page of q's rows that r may see. Pages are filled to
// q.Limit while more exists, More is exact (true only if at least one more
// allowed row follows), and Last is the seq of the last row returned, so
// denied rows never produce short or empty pages before the end.
func (g *Gate) Query(ctx context.Context, r Reader, q store.Query) (Page, error) {
	if q.Limit <= 0 {
		return Page{}, errors.New("policy: query limit must be positive")
	}
	limit := q.Limit
	q.ReaderKeys = r.Keys()
	// One row more than the page, so that when every row is allowed the
	// row that proves More is read by the same query.
	q.Limit = limit + 1
	// Objects of a collection share a few distinct facts; decide each
	// distinct (facts, submitter) once per call.
	type key struct{ facts, submitter string }
	decided := map[key]Decision{}
	var out Page
	for {
		p, err := g.st.Query(ctx, q)
		if err != nil {
			return Page{}, err
		}
		for _, v := range p.Versions {
			k := key{string(v.Facts), v.Submitter}
			d, ok := decided[k]
			if !ok {
				d = g.cfg.Decide(r, DecodeFacts(v.Facts, v.Submitter))
				decided[k] = d
			}
			if !d.Allow {
				continue
			}
			if len(out.Versions) == limit {
				// One more allowed row exists: the page is full and More is true.
				out.More = true
				return out, nil
			}
			out.Versions = append(out.Versions, v)
			out.Decisions = append(out.Decisions, d)
			out.Last = v.Seq
		}
		if !p.More {
			return out, nil
		}
		q.After = p.Last
	}
}

// Explain decides one version for a reader (for `setu policy explain`).
func (g *Gate) Explain(r Reader, v store.Version) Decision {
	return g.cfg.Decide(r, DecodeFacts(v.Facts, v.Submitter))
}

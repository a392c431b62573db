package match

import (
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Observe is Match for a stream of observations. Besides the hits Match
// reports for ob alone, it keeps, for each indicator whose pattern joins
// several observation expressions or is qualified (AND, OR or FOLLOWEDBY
// between brackets, REPEATS, WITHIN), the recent observations that could
// take part in a match: those that hit an anchor of any of its observation
// expressions, or hold an object of a type an unanchored one names. When ob
// is such an observation, the pattern is evaluated over that buffer with
// ob added, and a match is reported once: the observations it binds are
// then dropped from the buffer, so one set of events fires one hit.
//
// Buffers are bounded. With a WITHIN on the whole pattern, an observation
// that began more than that many seconds before the latest one seen is
// dropped, since no later match can include both; otherwise, and in any
// case, at most the WithHistory number of observations are kept, the oldest
// dropped first. So observations that arrive out of time order by more than
// the window, or matches that need more than that many relevant
// observations, can be missed. A buffer starts empty when its indicator is
// added, replaced or removed. Buffered observations are kept as given:
// callers must not change them afterwards.
//
// Without WithHistory, Observe is Match.
func (ix *Index) Observe(ob *Observation, at time.Time) []Hit {
	if ix.hist == nil {
		return ix.Match(ob, at)
	}
	if ob == nil {
		return nil
	}
	var pr prober
	st := matchState{s: ix.snap.Load(), ob: ob, now: nanos(at, math.MinInt64+1), rel: true, drops: &ix.warnDropped}
	st.walk(&pr)
	pr.flush(&st, nil)
	hits := st.hits(ix.cfg.wl)
	var fired []Hit
	for k := range st.cands {
		c := &st.cands[k]
		e := &c.t.entries[c.i]
		if e.flags&flagMulti == 0 || e.form != formEval && e.form != formUnanchored {
			continue
		}
		if hitIn(hits, e.id) {
			continue // satisfied by ob alone
		}
		r, ok := ix.hist.add(e, c.t.extra[c.i], st.single()[0], ix.cfg.wl)
		if !ok {
			continue
		}
		fired = append(fired, Hit{IndicatorID: e.id, Result: r})
	}
	if len(fired) > 0 {
		hits = append(hits, fired...)
		sortHits(hits)
	}
	return hits
}

func hitIn(hits []Hit, id string) bool {
	for i := range hits {
		if hits[i].IndicatorID == id {
			return true
		}
	}
	return false
}

// history holds Observe's buffers, by indicator id.
type history struct {
	cap  int
	mu   sync.Mutex
	bufs map[string]*obsBuffer
	n    atomic.Int64 // observations buffered
}

type obsBuffer struct {
	mu       sync.Mutex
	modified int64
	obs      []Observation
}

func newHistory(n int) *history {
	return &history{cap: n, bufs: map[string]*obsBuffer{}}
}

func (h *history) buffer(e *entry) *obsBuffer {
	h.mu.Lock()
	defer h.mu.Unlock()
	b, ok := h.bufs[e.id]
	if !ok || b.modified != e.modified {
		if ok {
			b.mu.Lock()
			h.n.Add(-int64(len(b.obs)))
			b.obs = nil
			b.mu.Unlock()
		}
		b = &obsBuffer{modified: e.modified}
		h.bufs[e.id] = b
	}
	return b
}

// drop forgets the buffer of an indicator that changed or went away.
func (h *history) drop(id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if b, ok := h.bufs[id]; ok {
		b.mu.Lock()
		h.n.Add(-int64(len(b.obs)))
		b.obs = nil
		b.mu.Unlock()
		delete(h.bufs, id)
	}
}

func (h *history) stats() (bufs, obs int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.bufs), int(h.n.Load())
}

// add puts ob in e's buffer and evaluates e's pattern over the buffer. A
// match whose bound objects are all on wl consumes its observations all
// the same, but is not reported.
func (h *history) add(e *entry, x *extra, ob Observation, wl *Warninglist) (Result, bool) {
	b := h.buffer(e)
	b.mu.Lock()
	defer b.mu.Unlock()
	before := len(b.obs)
	if w := x.within; w > 0 && w*float64(time.Second) < float64(math.MaxInt64) {
		d := time.Duration(w * float64(time.Second))
		latest := ob.FirstObserved
		for i := range b.obs {
			if b.obs[i].FirstObserved.After(latest) {
				latest = b.obs[i].FirstObserved
			}
		}
		keep := b.obs[:0]
		for _, o := range b.obs {
			if !o.FirstObserved.Before(latest.Add(-d)) {
				keep = append(keep, o)
			}
		}
		clear(b.obs[len(keep):])
		b.obs = keep
	}
	if len(b.obs) >= h.cap {
		n := len(b.obs) - h.cap + 1
		clear(b.obs[:n])
		b.obs = append(b.obs[:0], b.obs[n:]...)
	}
	b.obs = append(b.obs, ob)
	r, ok := x.m.match(b.obs)
	if ok {
		if wl != nil && warnedObjects(wl, b.obs, &r) {
			ok = false
		}
		used := map[string]bool{}
		for _, bd := range r.Bindings {
			used[bd.ObservedData] = true
		}
		keep := b.obs[:0]
		for _, o := range b.obs {
			if !used[o.ID] {
				keep = append(keep, o)
			}
		}
		clear(b.obs[len(keep):])
		b.obs = keep
	}
	h.n.Add(int64(len(b.obs) - before))
	return r, ok
}

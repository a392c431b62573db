package match

import (
	"math"
	"time"
)

// A Query is one observed value of one property, for LookupAll.
type Query struct {
	Property Property
	Value    string
}

// A Found is an indicator LookupAll found: the index of the query in the
// batch, and the indicator's id.
type Found struct {
	Query int
	ID    string
}

// lookupChunk is how many queries LookupAll keeps in flight: enough to
// overlap the memory accesses of many lookups, few enough that the
// chunk's state stays in registers and the first cache level.
const lookupChunk = 32

// LookupAll does what Lookup does for each query of qs, at one time, and
// appends what it finds to dst in query order (the ids of one query in no
// particular order). It is for batches of observables, such as a log
// event's fields or a request's list: the same answers as Lookup, found
// faster per value, because the lookups of a chunk of queries go through
// each step together, and the processor waits for their memory accesses
// side by side instead of one after the other. A query whose Property is
// of another index, or zero, finds nothing. LookupAll does not allocate
// unless dst must grow.
func (ix *Index) LookupAll(dst []Found, qs []Query, at time.Time) []Found {
	now := nanos(at, math.MinInt64+1)
	s := ix.snap.Load()
	var (
		b   batch
		ids [4]string
	)
	for lo := 0; lo < len(qs); lo += lookupChunk {
		part := qs[lo:min(lo+lookupChunk, len(qs))]
		for i := range part {
			q := &part[i]
			b.tabs[i], b.vals[i] = nil, q.Value
			if q.Property.ix == ix {
				b.tabs[i] = s.base.exactMap(q.Property.id, kString)
			}
		}
		b.get(len(part))
		for i := range part {
			q := &part[i]
			if q.Property.ix != ix {
				continue
			}
			found := ids[:0]
			if ps := b.out[i]; ps != nil {
				found = s.appendPosting(found, s.base, true, ps, now)
			}
			found = ix.lookupRest(found, 0, s, q.Property.id, q.Value, now)
			for _, id := range found {
				dst = append(dst, Found{Query: lo + i, ID: id})
			}
		}
	}
	return dst
}

// batch is a chunk of exact-value lookups done together: fill tabs and
// vals (a nil table looks nothing up), call get, read out.
type batch struct {
	tabs   [lookupChunk]*strTable
	vals   [lookupChunk]string
	out    [lookupChunk]*posting
	hashes [lookupChunk]uint64
	recs   [lookupChunk]*strRec
}

// get looks up the first n values, each in its table, setting out[i] to
// the posting found or nil. Each step is done for every value before the
// next step starts, and each step's loop is small, so the processor runs
// many values ahead and their cache misses overlap.
func (b *batch) get(n int) {
	// Step 1: hash each value (reading its bytes).
	for i := range n {
		if m := b.tabs[i]; m != nil {
			b.hashes[i] = m.hash(b.vals[i])
		}
	}
	// Step 2: each value's first slot, and for a slot whose tag agrees,
	// its record.
	for i := range n {
		b.recs[i] = nil
		if m := b.tabs[i]; m != nil {
			h := b.hashes[i]
			if w := m.slots[h>>m.shift]; w>>32 == tagOf(h) {
				b.recs[i] = &m.recs[uint32(w)-1]
			}
		}
	}
	// Step 3: touch each candidate record's key, so that its bytes are
	// on their way before step 4 compares them.
	var touched byte
	for i := range n {
		if r := b.recs[i]; r != nil && len(r.key) > 0 {
			touched |= r.key[0]
		}
	}
	keep(touched)
	// Step 4: compare; what the first slot did not settle takes the
	// whole probe sequence.
	for i := range n {
		b.out[i] = nil
		m := b.tabs[i]
		if m == nil {
			continue
		}
		if r := b.recs[i]; r != nil && r.key == b.vals[i] {
			b.out[i] = &r.posting
		} else if ps, ok := m.getHashed(b.vals[i], b.hashes[i]); ok {
			b.out[i] = ps
		}
	}
}

// sink keeps step 3's reads from being removed as unused.
var sink byte

//go:noinline
func keep(b byte) {
	if b == 0xff {
		sink = b
	}
}

// MatchAll does what Match does for each observation of obs, obs[i] at
// at[i], and returns the hits of obs[i] as its i-th element. The values of
// all the observations are looked up together, a chunk at a time, so that
// a batch of small observations (an API request of single observables, a
// buffer of log events) costs less per observation than Match one at a
// time. It panics when at and obs differ in length. obs is only read.
func (ix *Index) MatchAll(obs []Observation, at []time.Time) [][]Hit {
	if len(at) != len(obs) {
		panic("match: MatchAll needs one time per observation")
	}
	if len(obs) == 0 {
		return nil
	}
	s := ix.snap.Load()
	states := make([]matchState, len(obs))
	group := make([]*matchState, len(obs))
	for i := range obs {
		states[i] = matchState{s: s, ob: &obs[i], now: nanos(at[i], math.MinInt64+1), group: group, k: int32(i), drops: &ix.warnDropped}
		group[i] = &states[i]
	}
	var pr prober
	for i := range states {
		states[i].walk(&pr)
	}
	pr.flush(group[0], group)
	out := make([][]Hit, len(obs))
	for i := range states {
		out[i] = states[i].hits(ix.cfg.wl)
	}
	return out
}

package match

import (
	"math"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"github.com/setu-cti/setu/internal/stix/pattern"
)

// Match returns the indicators valid at `at` (ValidFrom <= at < ValidUntil)
// that ob satisfies on its own, ordered by indicator id, each with the
// Result Matcher.Match gives for ob alone (see Index for the one
// difference, hash algorithm names). With a warninglist set, a hit is
// dropped when every value that made it a candidate is on the list. ob is
// only read.
func (ix *Index) Match(ob *Observation, at time.Time) []Hit {
	if ob == nil {
		return nil
	}
	var pr prober
	st := matchState{s: ix.snap.Load(), ob: ob, now: nanos(at, math.MinInt64+1), drops: &ix.warnDropped}
	st.walk(&pr)
	pr.flush(&st, nil)
	return st.hits(ix.cfg.wl)
}

// cand is an indicator an observation may satisfy.
type cand struct {
	t    *table
	i    uint32
	rel  bool    // only relevant to Observe, not a candidate on its own
	objs []int32 // the objects whose anchors hit, in order
	vals []hitVal
}

// hitVal is an observed value that hit an anchor.
type hitVal struct {
	path int32
	kind anchorKind
	v    string
	pfx  netip.Prefix // the stored block, for prefix kinds
}

type matchState struct {
	s   *snapshot
	ob  *Observation
	now int64
	rel bool // also collect Observe's relevant entries
	// drops counts the hits the warninglist drops (nil: not counted).
	drops *atomic.Int64
	j     int32
	cands []cand
	// index finds a candidate once there are many.
	index map[candKey]int
	// one is ob as a one-element list with canonical hash names, made
	// when the first evaluation needs it.
	one []Observation
	// The walk's values are looked up a chunk at a time by a prober, for
	// this state alone or for group, the states of a MatchAll, where this
	// one is group[k]. The prober is passed along the walk rather than
	// kept here, so that it can live on the caller's stack.
	group []*matchState
	k     int32
}

// prober queues observed values and looks them up a chunk at a time (see
// batch).
type prober struct {
	queue [lookupChunk]queued
	n     int
	b     batch
}

// queued is an observed value waiting for its lookup: object j's value v
// of the property path, in the state k of a group.
type queued struct {
	path, j, k int32
	v          string
}

type candKey struct {
	t *table
	i uint32
}

// walk visits every object of the observation along the registered paths.
func (st *matchState) walk(pr *prober) {
	reg := st.s.reg
	var seen []string
	for j := range st.ob.Objects {
		o := &st.ob.Objects[j]
		st.j = int32(j)
		if root := reg.roots[o.Type]; root != nil {
			st.descend(pr, root, o.Props, "")
		}
		if len(st.s.base.typed) == 0 && (st.s.over == nil || len(st.s.over.typed) == 0) {
			continue
		}
		dup := false
		for _, t := range seen {
			if t == o.Type {
				dup = true
				break
			}
		}
		if dup {
			continue
		}
		seen = append(seen, o.Type)
		st.typed(st.s.base, true, o.Type)
		if st.s.over != nil {
			st.typed(st.s.over, false, o.Type)
		}
	}
}

func (st *matchState) typed(t *table, base bool, typ string) {
	for _, p := range t.typed[typ] {
		st.consider(t, base, p, nil)
	}
}

// descend applies n's children to v, a value n's own step reached (after
// following a reference when n has children), as resolve does step by
// step.
func (st *matchState) descend(pr *prober, n *pnode, v any, prevKey string) {
	if n.hashes {
		if m, ok := v.(map[string]any); ok {
			v, _ = canonHashes(m)
		}
	}
	switch v := v.(type) {
	case map[string]any:
		if len(n.keys) <= len(v) {
			for k, kid := range n.keys {
				if x, ok := v[k]; ok && x != nil {
					st.reached(pr, kid, x, k)
				}
			}
		} else {
			for k, x := range v {
				if kid, ok := n.keys[k]; ok && x != nil {
					st.reached(pr, kid, x, k)
				}
			}
		}
	case []any:
		for _, kid := range n.idx {
			if kid.step.Kind == pattern.IndexStep {
				if i := kid.step.Index; i >= 0 && i < int64(len(v)) && v[i] != nil {
					st.reached(pr, kid, v[i], prevKey)
				}
				continue
			}
			for _, x := range v {
				if x != nil {
					st.reached(pr, kid, x, prevKey)
				}
			}
		}
	}
}

// reached handles value x at node n; prevKey is the last key step so far.
func (st *matchState) reached(pr *prober, n *pnode, x any, prevKey string) {
	if n.path >= 0 {
		if s, ok := x.(string); ok {
			st.visit(pr, n.path, s)
		}
	}
	if len(n.keys) == 0 && len(n.idx) == 0 {
		return
	}
	// A reference is followed only when the path goes on past it.
	if n.step.Kind == pattern.KeyStep && strings.HasSuffix(n.step.Key, "_ref") ||
		n.step.Kind != pattern.KeyStep && strings.HasSuffix(prevKey, "_refs") {
		if x = deref(st.ob, x); x == nil {
			return
		}
	}
	st.descend(pr, n, x, prevKey)
}

// visit queues an observed value for its lookup in both tables; the
// caller of walk flushes the queue. Postponing the lookup changes nothing
// but speed: a candidate's record of the objects and values that hit it
// only needs them in walk order, which flush keeps.
func (st *matchState) visit(pr *prober, path int32, v string) {
	pr.queue[pr.n] = queued{path: path, j: st.j, k: st.k, v: v}
	if pr.n++; pr.n == lookupChunk {
		pr.flush(st, st.group)
	}
}

// flush looks up the queued values, each for its state: group[k], or st
// when group is nil. It leaves each state's j as it found it.
func (pr *prober) flush(st *matchState, group []*matchState) {
	n := pr.n
	if n == 0 {
		return
	}
	pr.n = 0
	base := st.s.base
	for i := range n {
		q := &pr.queue[i]
		pr.b.tabs[i], pr.b.vals[i] = base.exactMap(q.path, kString), q.v
	}
	pr.b.get(n)
	for i := range n {
		q := &pr.queue[i]
		t := st
		if group != nil {
			t = group[q.k]
		}
		j := t.j
		t.j = q.j
		if ps := pr.b.out[i]; ps != nil {
			t.postings(base, true, ps.p, hitVal{path: q.path, kind: kString, v: q.v})
		}
		t.probeOthers(base, true, q.path, q.v)
		if t.s.over != nil {
			t.probe(t.s.over, false, q.path, q.v)
		}
		t.j = j
	}
}

func (st *matchState) probe(t *table, base bool, path int32, v string) {
	if m := t.exactMap(path, kString); m != nil {
		if ps, ok := m.get(v); ok {
			st.postings(t, base, ps.p, hitVal{path: path, kind: kString, v: v})
		}
	}
	st.probeOthers(t, base, path, v)
}

// probeOthers looks v up in t's tables other than exact strings.
func (st *matchState) probeOthers(t *table, base bool, path int32, v string) {
	if t.hasBytes {
		st.probeBytes(t, base, path, v)
	}
	if t.hasNets {
		st.probeNets(t, base, path, v)
	}
}

func (st *matchState) probeBytes(t *table, base bool, path int32, v string) {
	for k := kHex; k <= kB64; k++ {
		if m := t.exactMap(path, k); m != nil {
			if b, ok := bytesOf(v, k == kHex); ok {
				if ps, ok := m.get(string(b)); ok {
					st.postings(t, base, ps.p, hitVal{path: path, kind: k, v: v})
				}
			}
		}
	}
}

func (st *matchState) probeNets(t *table, base bool, path int32, v string) {
	sub, super := t.netTable(path, kSub), t.netTable(path, kSuper)
	if sub == nil && super == nil {
		return
	}
	pfx, ok := parsePrefix(v)
	if !ok {
		return
	}
	if sub != nil && sub.Contains(pfx.Addr()) {
		for q, p := range sub.Supernets(pfx) {
			st.postings(t, base, p, hitVal{path: path, kind: kSub, v: v, pfx: q})
		}
	}
	if super != nil {
		for q, p := range super.Subnets(pfx) {
			st.postings(t, base, p, hitVal{path: path, kind: kSuper, v: v, pfx: q})
		}
	}
}

func (st *matchState) postings(t *table, base bool, p uint32, hv hitVal) {
	if p&multiBit == 0 {
		st.consider(t, base, p, &hv)
		return
	}
	for _, q := range t.multi[p&^multiBit] {
		st.consider(t, base, q, &hv)
	}
}

// consider records entry p of t as a candidate if it is live and valid.
func (st *matchState) consider(t *table, base bool, p uint32, hv *hitVal) {
	rel := p&relBit != 0
	if rel && !st.rel {
		return
	}
	i := p & idxMask
	if base && len(st.s.dead) > 0 {
		if _, d := st.s.dead[i]; d {
			return
		}
	}
	e := &t.entries[i]
	if !e.validAt(st.now) {
		return
	}
	c := st.cand(t, i)
	if !rel {
		c.rel = false
	}
	if hv == nil || rel {
		return
	}
	if n := len(c.objs); n == 0 || c.objs[n-1] != st.j {
		c.objs = append(c.objs, st.j)
	}
	c.vals = append(c.vals, *hv)
}

// cand finds or adds the candidate for entry i of t; a new one is
// relevance-only until a non-relevance posting says otherwise.
func (st *matchState) cand(t *table, i uint32) *cand {
	if st.index != nil {
		if k, ok := st.index[candKey{t, i}]; ok {
			return &st.cands[k]
		}
	} else {
		for k := range st.cands {
			if st.cands[k].t == t && st.cands[k].i == i {
				return &st.cands[k]
			}
		}
	}
	st.cands = append(st.cands, cand{t: t, i: i, rel: true})
	k := len(st.cands) - 1
	if st.index != nil {
		st.index[candKey{t, i}] = k
	} else if len(st.cands) > 16 {
		st.index = make(map[candKey]int, 64)
		for k := range st.cands {
			st.index[candKey{st.cands[k].t, st.cands[k].i}] = k
		}
	}
	return &st.cands[k]
}

// single returns the observation, hash names canonical, as a list.
func (st *matchState) single() []Observation {
	if st.one == nil {
		st.one = []Observation{*normalizeObservation(st.ob)}
	}
	return st.one
}

// hits turns the candidates into hits.
func (st *matchState) hits(wl *Warninglist) []Hit {
	var out []Hit
	for k := range st.cands {
		c := &st.cands[k]
		if c.rel {
			continue
		}
		h, ok := st.hit(c, wl)
		if ok {
			out = append(out, h)
		}
	}
	sortHits(out)
	return out
}

func (st *matchState) hit(c *cand, wl *Warninglist) (Hit, bool) {
	e := &c.t.entries[c.i]
	var r Result
	switch e.form {
	case formSimple, formDirect:
		if len(c.objs) == 0 {
			return Hit{}, false
		}
		refs := make([]string, len(c.objs))
		for k, j := range c.objs {
			refs[k] = st.ob.Objects[j].Ref
		}
		r.Bindings = []Binding{{Expr: 0, Text: st.text(e, c), ObservedData: st.ob.ID, Objects: refs, Count: 1}}
	case formEval, formUnanchored:
		var ok bool
		if r, ok = c.t.extra[c.i].m.match(st.single()); !ok {
			return Hit{}, false
		}
	default:
		return Hit{}, false
	}
	if wl != nil && st.warned(wl, c, &r) {
		if st.drops != nil {
			st.drops.Add(1)
		}
		return Hit{}, false
	}
	return Hit{IndicatorID: e.id, Result: r}, true
}

// text is the binding text of a directly answered entry.
func (st *matchState) text(e *entry, c *cand) string {
	if e.form == formDirect {
		return c.t.extra[c.i].text
	}
	return simpleText(st.s.reg, e, c.vals[0])
}

// simpleText rebuilds the canonical text of a formSimple pattern from the
// value that hit its one anchor.
func simpleText(reg *registry, e *entry, hv hitVal) string {
	p := reg.paths[e.path]
	var lit pattern.Value
	switch e.kind {
	case kString:
		lit = pattern.StringLit(hv.v)
	case kHex, kB64:
		b, _ := bytesOf(hv.v, e.kind == kHex)
		if e.kind == kHex {
			lit = pattern.HexLit(b)
		} else {
			lit = pattern.BinaryLit(b)
		}
	default:
		s := hv.pfx.String()
		if e.flags&flagBare != 0 {
			s = hv.pfx.Addr().String()
		}
		lit = pattern.StringLit(s)
	}
	return pattern.Format(&pattern.Pattern{Expr: &pattern.Observation{Expr: &pattern.Comparison{
		Path: pattern.ObjectPath{Type: p.typ, Steps: p.steps}, Op: pattern.Operator(e.op), Value: lit,
	}}})
}

// warned reports whether every value behind a hit is on the warninglist:
// the observed values that hit its anchors, or, for a hit found through
// its object types alone, the values of the objects it bound.
func (st *matchState) warned(wl *Warninglist, c *cand, r *Result) bool {
	if len(c.vals) == 0 {
		return warnedObjects(wl, st.single(), r)
	}
	for _, hv := range c.vals {
		p := st.s.reg.paths[hv.path]
		if _, ok := wl.containsAt(p.typ, p.steps, hv.v); !ok {
			return false
		}
	}
	return true
}

// warnedObjects reports whether the objects r binds, found in obs, all
// have values and all their values are on the warninglist.
func warnedObjects(wl *Warninglist, obs []Observation, r *Result) bool {
	found := false
	for _, b := range r.Bindings {
		var ob *Observation
		for i := range obs {
			if obs[i].ID == b.ObservedData {
				ob = &obs[i]
				break
			}
		}
		if ob == nil {
			return false
		}
		for _, ref := range b.Objects {
			i, ok := ob.refs[ref]
			if !ok {
				return false
			}
			o := &ob.Objects[i]
			vals := objectValues(o)
			if len(vals) == 0 {
				return false
			}
			for _, v := range vals {
				if _, ok := wl.Contains(o.Type, v); !ok {
					return false
				}
			}
			found = true
		}
	}
	return found
}

// objectValues are the values that identify an observable for a
// warninglist: its value property and its hashes.
func objectValues(o *Object) []string {
	var out []string
	if v, ok := o.Props["value"].(string); ok {
		out = append(out, v)
	}
	if h, ok := o.Props["hashes"].(map[string]any); ok {
		for _, v := range h {
			if s, ok := v.(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

// Lookup appends to dst the ids of the indicators valid at `at` that one
// observable satisfies on its own when property p has this value, and
// returns the extended slice; dst is not sorted. It is the fast path for a
// single observable, such as a field of a log event: resolve the property
// once with Property, then call Lookup per value.
//
// Only indicators answered without evaluation are reported: one bracketed
// observation expression of equality, IN, LIKE without wildcards,
// ISSUBSET or ISSUPERSET comparisons joined by OR, one of which is on this
// property. Indicators that need more of the observation than one value
// are found by Match. With a warninglist set, nothing is returned for a
// value on it. Lookup does not allocate unless dst must grow. A Property of
// another index, or the zero Property, finds nothing.
func (ix *Index) Lookup(dst []string, p Property, value string, at time.Time) []string {
	return ix.lookupAt(dst, p, value, nanos(at, math.MinInt64+1))
}

func (ix *Index) lookupAt(dst []string, p Property, value string, now int64) []string {
	if p.ix != ix {
		return dst
	}
	s := ix.snap.Load()
	start := len(dst)
	if m := s.base.exactMap(p.id, kString); m != nil {
		if ps, ok := m.get(value); ok {
			dst = s.appendPosting(dst, s.base, true, ps, now)
		}
	}
	return ix.lookupRest(dst, start, s, p.id, value, now)
}

// lookupRest completes a lookup whose exact string match in the base table
// is done (appended to dst from start): the base table's other kinds, the
// overlay, duplicates and the warninglist.
func (ix *Index) lookupRest(dst []string, start int, s *snapshot, path int32, value string, now int64) []string {
	// The rarer tables are probed out of line, keeping the callers
	// small: every instruction there delays the next lookup's memory
	// accesses.
	if s.base.hasBytes {
		dst = s.lookupBytes(dst, s.base, true, path, value, now)
	}
	if s.base.hasNets {
		dst = s.lookupNets(dst, s.base, true, path, value, now)
	}
	if s.over != nil {
		dst = s.lookup(dst, s.over, false, path, value, now)
	}
	if len(dst)-start > 1 {
		dst = dedupeTail(dst, start)
	}
	if len(dst) > start && ix.cfg.wl != nil {
		pp := s.reg.paths[path]
		if _, ok := ix.cfg.wl.containsAt(pp.typ, pp.steps, value); ok {
			return dst[:start]
		}
	}
	return dst
}

// dedupeTail removes repeats from dst[start:]: an OR on one property can
// hit one indicator twice.
func dedupeTail(dst []string, start int) []string {
	out := dst[:start]
	for i := start; i < len(dst); i++ {
		dup := false
		for _, id := range out[start:] {
			if id == dst[i] {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, dst[i])
		}
	}
	return out
}

func (s *snapshot) lookup(dst []string, t *table, base bool, path int32, v string, now int64) []string {
	if m := t.exactMap(path, kString); m != nil {
		if ps, ok := m.get(v); ok {
			dst = s.appendPosting(dst, t, base, ps, now)
		}
	}
	if t.hasBytes {
		dst = s.lookupBytes(dst, t, base, path, v, now)
	}
	if t.hasNets {
		dst = s.lookupNets(dst, t, base, path, v, now)
	}
	return dst
}

// appendPosting appends the ids of the live direct entries ps names.
func (s *snapshot) appendPosting(dst []string, t *table, base bool, ps *posting, now int64) []string {
	if ps.p&(multiBit|relBit) == 0 && (!base || len(s.dead) == 0) {
		// One live entry: the common case, answered from the record
		// alone (see posting).
		if ps.id != "" && ps.from <= now && now < ps.until {
			dst = append(dst, ps.id)
		}
		return dst
	}
	return s.appendDirect(dst, t, base, ps.p, now)
}

func (s *snapshot) lookupBytes(dst []string, t *table, base bool, path int32, v string, now int64) []string {
	for k := kHex; k <= kB64; k++ {
		if m := t.exactMap(path, k); m != nil {
			if b, ok := bytesOf(v, k == kHex); ok {
				if ps, ok := m.get(string(b)); ok {
					dst = s.appendDirect(dst, t, base, ps.p, now)
				}
			}
		}
	}
	return dst
}

func (s *snapshot) lookupNets(dst []string, t *table, base bool, path int32, v string, now int64) []string {
	sub, super := t.netTable(path, kSub), t.netTable(path, kSuper)
	if sub == nil && super == nil {
		return dst
	}
	pfx, ok := parsePrefix(v)
	if !ok {
		return dst
	}
	if sub != nil && sub.Contains(pfx.Addr()) {
		for _, p := range sub.Supernets(pfx) {
			dst = s.appendDirect(dst, t, base, p, now)
		}
	}
	if super != nil {
		for _, p := range super.Subnets(pfx) {
			dst = s.appendDirect(dst, t, base, p, now)
		}
	}
	return dst
}

func (s *snapshot) appendDirect(dst []string, t *table, base bool, p uint32, now int64) []string {
	if p&multiBit == 0 {
		return s.appendOne(dst, t, base, p, now)
	}
	for _, q := range t.multi[p&^multiBit] {
		dst = s.appendOne(dst, t, base, q, now)
	}
	return dst
}

func (s *snapshot) appendOne(dst []string, t *table, base bool, p uint32, now int64) []string {
	if p&relBit != 0 {
		return dst
	}
	if base && len(s.dead) > 0 {
		if _, d := s.dead[p]; d {
			return dst
		}
	}
	e := &t.entries[p]
	if e.form > formDirect || !e.validAt(now) {
		return dst
	}
	return append(dst, e.id)
}

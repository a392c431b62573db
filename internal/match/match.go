// Package match evaluates STIX 2.1 patterns against observed data, as
// STIX 2.1 part 9 (STIX Patterning) defines it.
//
// Compile prepares a parsed pattern once; Matcher.Match evaluates it
// against a set of observations (observed-data objects, built by
// Observations from either the STIX 2.1 or the STIX 2.0 form) and reports
// whether it matches and which observations satisfied which bracketed
// observation expression.
//
// Semantics, where the specification leaves room for reading:
//
//   - Inside brackets, every comparison is tested against one observable
//     (SCO) at a time: the sides of an AND must hold for the same object, so
//     AND across two object types never matches; the sides of an OR may be
//     satisfied by different objects of the same observed-data.
//   - A comparison whose object path does not exist is false, and stays
//     false under NOT; NOT negates the operator applied to values that
//     exist. A property value that cannot be compared with the literal (a
//     string against a number) is treated the same way.
//   - [*] matches when any element satisfies the comparison; a
//     property ending in _ref, or an element of a list ending in _refs,
//     is replaced by the object it names within the same observed-data when
//     the path continues past it.
//   - Integers and floats compare as numbers; t'…' compares with RFC 3339
//     strings as instants; b'…' and h'…' compare with a property's base64
//     or hex text as bytes. Strings order by byte value.
//   - LIKE is SQL LIKE (% any run, _ one character) over the whole value.
//     MATCHES uses Go's RE2 syntax, unanchored; the PCRE features RE2 lacks
//     (backreferences, lookaround) are rejected by Compile.
//   - ISSUBSET and ISSUPERSET compare IPv4 or IPv6 addresses and CIDR
//     blocks by containment; a bare address is a single-address block.
//   - Observation expressions joined by AND or FOLLOWEDBY, and the
//     repetitions of REPEATS, must be satisfied by distinct observations.
//     An observed-data with number_observed N counts as N observations.
//   - A FOLLOWEDBY B holds when every observation bound to A ended
//     (last_observed) no later than any observation bound to B began
//     (first_observed).
//   - WITHIN n SECONDS holds when all bound observations, from the
//     earliest first_observed to the latest last_observed, span at most n
//     seconds.
//   - START s STOP t holds when every bound observation's first_observed
//     lies in [s, t).
//
// Evaluation enumerates the distinct ways each sub-expression is satisfied
// (which observations it uses, how many times each), dropping at once those
// that break an enclosing WITHIN or START/STOP. To bound the work on
// adversarial input a join keeps at most maxCandidates of them, so a match
// can be missed when more than that many partial matches fit every
// constraint and the one needed was not kept. REPEATS over single
// observations that is not joined with anything else (the usual beaconing
// pattern) is decided exactly by counting, whatever the stream's length.
//
// A Matcher is immutable after Compile and safe for concurrent use.
package match

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/setu-cti/setu/internal/stix/pattern"
)

// maxCandidates bounds the distinct partial matches kept per
// sub-expression.
const maxCandidates = 1024

// Matcher is a compiled pattern.
type Matcher struct {
	p      *pattern.Pattern
	leaves map[*pattern.Observation]int
	obs    []*pattern.Observation
	comps  map[*pattern.Comparison]*comparison
}

// Compile prepares p for matching. It fails when a literal cannot be used
// for evaluation: a MATCHES expression outside Go's regular-expression
// syntax, or an ISSUBSET/ISSUPERSET operand that is not an address or CIDR.
func Compile(p *pattern.Pattern) (*Matcher, error) {
	if p == nil || p.Expr == nil {
		return nil, fmt.Errorf("match: empty pattern")
	}
	// Hash algorithm names are compared in one spelling ('SHA-256',
	// 'SHA256', sha256 and sha_256 meet), in paths and in observations.
	p = normalizePattern(p)
	m := &Matcher{p: p, leaves: map[*pattern.Observation]int{}, comps: map[*pattern.Comparison]*comparison{}}
	m.obs = p.Observations()
	for i, o := range m.obs {
		m.leaves[o] = i
		for _, c := range o.Comparisons() {
			cc, err := compileComparison(c)
			if err != nil {
				return nil, fmt.Errorf("match: %v", err)
			}
			m.comps[c] = cc
		}
	}
	return m, nil
}

// Result explains a match: one Binding per bracketed observation
// expression occurrence that was satisfied, in pattern order.
type Result struct {
	Bindings []Binding
}

// Binding says which observation satisfied one bracketed observation
// expression.
type Binding struct {
	// Expr is the index of the observation expression among
	// pattern.Pattern.Observations(), and Text its canonical text.
	Expr int    `json:"expr"`
	Text string `json:"text"`
	// ObservedData is the observed-data id.
	ObservedData string `json:"observed_data"`
	// Objects are the references (2.1 ids, 2.0 keys) of the observables
	// that satisfied the comparisons.
	Objects []string `json:"objects"`
	// Count is how many of the observed-data's number_observed
	// observations this expression used (more than one under REPEATS).
	Count int64 `json:"count"`
}

// Match evaluates the pattern against obs. When it matches it returns one
// way the pattern is satisfied and true; otherwise a zero Result and false.
// The keys of "hashes" dictionaries are read in their canonical spelling
// (see Index), as the pattern's paths are.
func (m *Matcher) Match(obs []Observation) (Result, bool) {
	var norm []Observation
	for i := range obs {
		if n := normalizeObservation(&obs[i]); n != &obs[i] {
			if norm == nil {
				norm = slices.Clone(obs)
			}
			norm[i] = *n
		}
	}
	if norm != nil {
		obs = norm
	}
	return m.match(obs)
}

// match is Match for observations whose hash names are already canonical.
func (m *Matcher) match(obs []Observation) (Result, bool) {
	e := &evaluator{m: m, obs: obs, leafHits: map[[2]int][]string{}}
	cands := e.eval(m.p.Expr, limits{}, true)
	if len(cands) == 0 {
		return Result{}, false
	}
	return e.result(cands[0]), true
}

type evaluator struct {
	m   *Matcher
	obs []Observation
	// leafHits remembers which objects satisfied leaf l in observation i.
	leafHits map[[2]int][]string
}

// use is how many observations a partial match takes from one
// observed-data.
type use struct {
	obs   int
	count int64
}

// hit is how many times leaf expression leaf was satisfied by obs.
type hit struct {
	leaf, obs int
	count     int64
}

// candidate is one way a sub-expression is satisfied. Its time span
// follows from uses, so uses alone identify it for deduplication.
type candidate struct {
	uses        []use // sorted by obs
	hits        []hit // sorted by leaf, obs
	first, last time.Time
}

// limits are the time constraints of enclosing WITHIN and START/STOP
// qualifiers, intersected. Both kinds are closed under taking part of a
// match (a sub-match of a match inside a window is inside it too), so
// candidates that fail them can be dropped as soon as they are built,
// which keeps candidate lists small on long streams. The zero value
// constrains nothing.
type limits struct {
	hasWithin   bool
	within      time.Duration // the tightest WITHIN
	hasWindow   bool
	start, stop time.Time // the intersection of START/STOP windows
}

// with adds qualifier q's constraint; REPEATS adds none.
func (l limits) with(q pattern.Qualifier) limits {
	switch q := q.(type) {
	case pattern.Within:
		ns := q.Seconds * float64(time.Second)
		if ns >= float64(1<<62) {
			return l // longer than any span time.Time can show
		}
		if d := time.Duration(ns); !l.hasWithin || d < l.within {
			l.hasWithin, l.within = true, d
		}
	case pattern.StartStop:
		if !l.hasWindow {
			l.hasWindow, l.start, l.stop = true, q.Start, q.Stop
		} else {
			if q.Start.After(l.start) {
				l.start = q.Start
			}
			if q.Stop.Before(l.stop) {
				l.stop = q.Stop
			}
		}
	}
	return l
}

// inWindow reports whether observation i may be used under the START/STOP
// window: its first_observed lies in [start, stop).
func (e *evaluator) inWindow(l limits, i int) bool {
	f := e.obs[i].FirstObserved
	return !l.hasWindow || (!f.Before(l.start) && f.Before(l.stop))
}

func (e *evaluator) ok(l limits, k *candidate) bool {
	if l.hasWithin && k.last.Sub(k.first) > l.within {
		return false
	}
	if l.hasWindow {
		for _, u := range k.uses {
			if !e.inWindow(l, u.obs) {
				return false
			}
		}
	}
	return true
}

// eval returns the ways x is satisfied under lim. alone says that x's
// candidates are not combined with anything else, so any one of them will
// do.
func (e *evaluator) eval(x pattern.ObservationExpr, lim limits, alone bool) []candidate {
	switch x := x.(type) {
	case *pattern.Observation:
		return e.leaf(x, lim)
	case *pattern.CompoundObservation:
		var acc []candidate
		for i, op := range x.Operands {
			c := e.eval(op, lim, alone && x.Op == pattern.Or)
			switch {
			case x.Op == pattern.Or:
				acc = dedupe(append(acc, c...))
			case i == 0:
				acc = c
			case x.Op == pattern.And:
				acc = e.join(acc, c, nil, lim)
			default: // FollowedBy
				acc = e.join(acc, c, func(a, b *candidate) bool { return !a.last.After(b.first) }, lim)
			}
			if len(acc) == 0 && x.Op != pattern.Or {
				return nil
			}
		}
		return acc
	case *pattern.Qualified:
		// A time constraint at any position can be pushed into the inner
		// expression: whether it applies to one repetition or to the
		// repeated whole, every part must satisfy it.
		inner := lim
		repeats := false
		for _, q := range x.Qualifiers {
			inner = inner.with(q)
			_, r := q.(pattern.Repeats)
			repeats = repeats || r
		}
		c := e.eval(x.Expr, inner, alone && !repeats)
		// Qualifiers apply innermost first: one before REPEATS restricts
		// each repetition, one after restricts the repeated whole, and
		// so also every partial join REPEATS builds.
		for i, q := range x.Qualifiers {
			r, ok := q.(pattern.Repeats)
			if !ok {
				c = filter(c, func(k *candidate) bool { return e.ok(limits{}.with(q), k) })
				continue
			}
			later, last := lim, true
			for _, q2 := range x.Qualifiers[i+1:] {
				later = later.with(q2)
				if _, r := q2.(pattern.Repeats); r {
					last = false
				}
			}
			c = e.repeat(c, r.Times, later, alone && last)
		}
		return c
	}
	return nil
}

// repeat joins c with itself n times, by squaring so that a large count
// costs a logarithmic number of joins; capacity checks in join keep the
// repetitions on distinct observations.
func (e *evaluator) repeat(c []candidate, n int64, lim limits, alone bool) []candidate {
	var total int64
	for i := range e.obs {
		if e.obs[i].Count >= n-total {
			total = n
			break
		}
		total += e.obs[i].Count
	}
	if total < n {
		return nil // not enough observations, however they are combined
	}
	if alone {
		if k, ok := e.repeatSingles(c, n, lim); ok {
			return k
		}
	}
	var acc []candidate
	have := false
	pow := c
	for n > 0 {
		if n&1 == 1 {
			if !have {
				acc, have = pow, true
			} else {
				acc = e.join(acc, pow, nil, lim)
			}
			if len(acc) == 0 {
				return nil
			}
		}
		n >>= 1
		if n > 0 {
			pow = e.join(pow, pow, nil, lim)
			if len(pow) == 0 {
				return nil
			}
		}
	}
	return acc
}

// repeatSingles decides REPEATS by counting, exactly, in the common case:
// every candidate is one observation of a distinct observed-data, and the
// result is combined with nothing else (a greedy choice could otherwise
// take an observation a sibling expression needs). Joining by squaring
// would enumerate the many ways of splitting n among the observations and
// could lose the one that fits to the candidate bound.
//
// Without WITHIN, n repetitions exist when the number_observed of the
// candidates add up to n. With WITHIN d, some valid set has an element
// that began first; every element then began no earlier and ended by its
// start plus d, and any set drawn from those is valid. So it suffices to
// try each candidate as that earliest one. START/STOP was already applied
// to each candidate. ok is false when the shortcut does not apply.
func (e *evaluator) repeatSingles(c []candidate, n int64, lim limits) (out []candidate, ok bool) {
	seen := map[int]bool{}
	for i := range c {
		if len(c[i].uses) != 1 || c[i].uses[0].count != 1 || len(c[i].hits) != 1 || seen[c[i].uses[0].obs] {
			return nil, false
		}
		seen[c[i].uses[0].obs] = true
	}
	if !lim.hasWithin {
		k, ok := e.gather(c, n)
		if !ok {
			return nil, true
		}
		return []candidate{k}, true
	}
	byFirst := slices.Clone(c)
	sort.SliceStable(byFirst, func(i, j int) bool { return byFirst[i].first.Before(byFirst[j].first) })
	for i := range byFirst {
		end := byFirst[i].first.Add(lim.within)
		var pool []candidate
		for j := i; j < len(byFirst) && !byFirst[j].first.After(end); j++ {
			if !byFirst[j].last.After(end) {
				pool = append(pool, byFirst[j])
			}
		}
		if k, ok := e.gather(pool, n); ok && e.ok(lim, &k) {
			return []candidate{k}, true
		}
	}
	return nil, true
}

// gather takes repetitions from single-observation candidates in order
// until n are found; ok is false if they run out first.
func (e *evaluator) gather(c []candidate, n int64) (k candidate, ok bool) {
	need := n
	for i := range c {
		if need == 0 {
			break
		}
		o := c[i].uses[0].obs
		take := min(need, e.obs[o].Count)
		need -= take
		h := c[i].hits[0]
		h.count = take
		k.hits = mergeHits(k.hits, []hit{h})
		k.uses = mergeSingle(k.uses, use{o, take})
		if len(k.uses) == 1 || c[i].first.Before(k.first) {
			k.first = c[i].first
		}
		if len(k.uses) == 1 || c[i].last.After(k.last) {
			k.last = c[i].last
		}
	}
	return k, need == 0
}

// mergeSingle inserts u, whose observation is not yet in us, keeping the
// order by observation.
func mergeSingle(us []use, u use) []use {
	i := sort.Search(len(us), func(i int) bool { return us[i].obs >= u.obs })
	return slices.Insert(us, i, u)
}

func filter(c []candidate, keep func(*candidate) bool) []candidate {
	var out []candidate
	for i := range c {
		if keep(&c[i]) {
			out = append(out, c[i])
		}
	}
	return out
}

// leaf evaluates one bracketed expression against every observation.
func (e *evaluator) leaf(x *pattern.Observation, lim limits) []candidate {
	l := e.m.leaves[x]
	var out []candidate
	for i := range e.obs {
		ob := &e.obs[i]
		var refs []string
		for j := range ob.Objects {
			if e.m.holds(x.Expr, ob, &ob.Objects[j]) {
				refs = append(refs, ob.Objects[j].Ref)
			}
		}
		if len(refs) == 0 {
			continue
		}
		e.leafHits[[2]int{l, i}] = refs
		c := candidate{
			uses:  []use{{i, 1}},
			hits:  []hit{{l, i, 1}},
			first: ob.FirstObserved, last: ob.LastObserved,
		}
		if e.ok(lim, &c) {
			out = append(out, c)
		}
	}
	return out
}

// holds evaluates a comparison expression against one object. OR is
// satisfied when any side holds for the object; the leaf then collects
// the objects for which the whole expression holds, so OR across types is
// satisfied by different objects of the same observed-data.
func (m *Matcher) holds(x pattern.ComparisonExpr, ob *Observation, o *Object) bool {
	switch x := x.(type) {
	case *pattern.Comparison:
		return m.comps[x].eval(ob, o)
	case *pattern.CompoundComparison:
		if x.Op == pattern.Or {
			for _, s := range x.Operands {
				if m.holds(s, ob, o) {
					return true
				}
			}
			return false
		}
		for _, s := range x.Operands {
			if !m.holds(s, ob, o) {
				return false
			}
		}
		return true
	}
	return false
}

// join combines every a with every b that can be satisfied together
// (within each observed-data's number_observed), passes ok, and stays
// within lim. Both inputs already satisfy lim's START/STOP window, which
// concerns each observation alone, so only WITHIN needs checking here, and
// it is checked first because it is the cheap test that rejects most
// pairs on a long stream.
func (e *evaluator) join(as, bs []candidate, ok func(a, b *candidate) bool, lim limits) []candidate {
	seen := map[string]bool{}
	var out []candidate
	for i := range as {
		for j := range bs {
			a, b := &as[i], &bs[j]
			first, last := a.first, a.last
			if b.first.Before(first) {
				first = b.first
			}
			if b.last.After(last) {
				last = b.last
			}
			if lim.hasWithin && last.Sub(first) > lim.within {
				continue
			}
			if ok != nil && !ok(a, b) {
				continue
			}
			u, fits := e.mergeUses(a.uses, b.uses)
			if !fits {
				continue
			}
			k := key(u)
			if seen[k] {
				continue
			}
			seen[k] = true
			out = append(out, candidate{uses: u, hits: mergeHits(a.hits, b.hits), first: first, last: last})
			if len(out) >= maxCandidates {
				return out
			}
		}
	}
	return out
}

func (e *evaluator) mergeUses(a, b []use) ([]use, bool) {
	out := make([]use, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		var u use
		switch {
		case j == len(b) || (i < len(a) && a[i].obs < b[j].obs):
			u = a[i]
			i++
		case i == len(a) || b[j].obs < a[i].obs:
			u = b[j]
			j++
		default:
			// Compared before adding, so huge counts cannot overflow.
			if a[i].count > e.obs[a[i].obs].Count-b[j].count {
				return nil, false
			}
			u = use{a[i].obs, a[i].count + b[j].count}
			i++
			j++
		}
		if u.count > e.obs[u.obs].Count {
			return nil, false
		}
		out = append(out, u)
	}
	return out, true
}

func mergeHits(a, b []hit) []hit {
	out := make([]hit, 0, len(a)+len(b))
	out = append(out, a...)
	for _, h := range b {
		found := false
		for k := range out {
			if out[k].leaf == h.leaf && out[k].obs == h.obs {
				out[k].count += h.count
				found = true
				break
			}
		}
		if !found {
			out = append(out, h)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].leaf != out[j].leaf {
			return out[i].leaf < out[j].leaf
		}
		return out[i].obs < out[j].obs
	})
	return out
}

func key(u []use) string {
	var b strings.Builder
	for _, x := range u {
		b.WriteString(strconv.Itoa(x.obs))
		b.WriteByte(':')
		b.WriteString(strconv.FormatInt(x.count, 10))
		b.WriteByte(',')
	}
	return b.String()
}

func dedupe(c []candidate) []candidate {
	seen := map[string]bool{}
	out := c[:0]
	for _, k := range c {
		s := key(k.uses)
		if seen[s] {
			continue
		}
		seen[s] = true
		out = append(out, k)
	}
	return out
}

func (e *evaluator) result(c candidate) Result {
	var r Result
	for _, h := range c.hits {
		r.Bindings = append(r.Bindings, Binding{
			Expr:         h.leaf,
			Text:         pattern.Format(&pattern.Pattern{Expr: e.m.obs[h.leaf]}),
			ObservedData: e.obs[h.obs].ID,
			Objects:      e.leafHits[[2]int{h.leaf, h.obs}],
			Count:        h.count,
		})
	}
	return r
}

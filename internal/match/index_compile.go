package match

import (
	"maps"
	"math"
	"net/netip"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/setu-cti/setu/internal/stix/pattern"
)

// form is how the index answers for an indicator.
type form uint8

const (
	// formSimple: one comparison with one anchor; the binding text is
	// rebuilt from the anchor, so nothing else is stored.
	formSimple form = iota
	// formDirect: one bracketed expression of exact comparisons joined by
	// OR; answered from the tables, with the text kept.
	formDirect
	// formEval: anchored; evaluated with its Matcher when an anchor hits.
	formEval
	// formUnanchored: evaluated whenever an object of a type it names is
	// observed.
	formUnanchored
	// formNever: no observation can satisfy it.
	formNever
	// formBroken: did not parse or compile.
	formBroken
	nForms
)

// anchorKind says how an anchor's key is compared with observed values.
type anchorKind uint8

const (
	kString anchorKind = iota // the value, as a string
	kHex                      // the value's bytes, read as hex first (h'…' literals)
	kB64                      // the value's bytes, read as base64 first (b'…' literals)
	kSub                      // an address block that contains the observed one (ISSUBSET)
	kSuper                    // an address block inside the observed one (ISSUPERSET)
)

// The exact kinds come first; the table slots of each kind group follow.
const (
	nExactKinds = kSub
	nNetKinds   = 2
)

// Entry flags.
const (
	flagMulti uint8 = 1 << iota // more than one observation expression, or a qualifier
	flagBare                    // formSimple prefix: the literal was a bare address
)

// entry is one indicator in a table. Entries are stored by value, so their
// size is most of the index's own memory; what only some need is in
// table.extra.
type entry struct {
	id          string
	modified    int64
	from, until int64 // valid_from <= t < valid_until, in Unix nanoseconds
	path        int32 // formSimple: the property of the one anchor
	form        form
	kind        anchorKind // formSimple: the kind of the one anchor
	op          uint8      // formSimple: the pattern.Operator
	flags       uint8
}

func (e *entry) validAt(t int64) bool { return e.from <= t && t < e.until }

// extra is what entries other than formSimple need.
type extra struct {
	m    *Matcher // formEval, formUnanchored
	text string   // formDirect: the canonical text of the pattern
	err  error    // formBroken
	// within bounds how far apart observations that satisfy the whole
	// pattern may be, for Observe; 0 when unbounded.
	within float64
}

// compiled is an indicator ready to enter a table: its entry and anchors.
type compiled struct {
	e     entry
	x     *extra
	vals  []anchor // exact and prefix anchors
	types []string // SCO types whose every observation is a candidate
	// rel are the anchors of every observation expression of a
	// multi-observation pattern, for Observe; relTypes likewise.
	rel      []anchor
	relTypes []string
}

// anchor is one key or block an indicator is found by.
type anchor struct {
	typ   string
	steps []pattern.Step
	path  int32 // registry id, set once the anchor is chosen
	kind  anchorKind
	key   string
	pfx   netip.Prefix
}

// anchorSet is a necessary condition: if the expression holds for an
// observation, one of vals hits it or it holds an object of one of types.
// Both empty means the expression can never hold.
type anchorSet struct {
	vals  []anchor
	types []string
}

// cost ranks sets by how many observations they let through.
func (a anchorSet) cost() int {
	if len(a.types) > 0 {
		return 1<<20 + len(a.types)
	}
	c := 0
	for _, v := range a.vals {
		if v.kind >= kSub {
			c += 2 // a block admits more than one value
		} else {
			c++
		}
	}
	return c
}

func union(a, b anchorSet) anchorSet {
	out := anchorSet{vals: append(slices.Clip(a.vals), b.vals...), types: slices.Clip(a.types)}
	for _, t := range b.types {
		if !slices.Contains(out.types, t) {
			out.types = append(out.types, t)
		}
	}
	return out
}

// compile prepares one indicator, under Index.mu (it registers properties).
// A pattern that cannot be evaluated still yields an entry, of formBroken,
// with the error.
func (ix *Index) compile(ind *Indicator) (*compiled, error) {
	c := &compiled{e: entry{
		id:       ind.ID,
		modified: nanos(ind.Modified, math.MinInt64),
		from:     nanos(ind.ValidFrom, math.MinInt64),
		until:    nanos(ind.ValidUntil, math.MaxInt64),
		path:     -1,
	}}
	broken := func(err error) (*compiled, error) {
		c.e.form = formBroken
		c.x = &extra{err: err}
		c.vals, c.types = nil, nil
		return c, &IndicatorError{ID: ind.ID, Err: err}
	}
	p, err := pattern.Parse(ind.Pattern)
	if err != nil {
		return broken(err)
	}
	p = normalizePattern(p)
	if !singleObservation(p) {
		c.e.flags |= flagMulti
	}
	if o, ok := p.Expr.(*pattern.Observation); ok {
		vals, exact, err := exactAnchors(o.Expr)
		if err != nil {
			return broken(err)
		}
		if exact {
			vals = dedupeAnchors(vals)
			switch {
			case len(vals) == 0:
				c.e.form = formNever
			case isSimple(o.Expr):
				c.e.form = formSimple
			default:
				c.e.form = formDirect
				c.x = &extra{text: pattern.Format(p)}
			}
			c.vals = ix.register(vals)
			if c.e.form == formSimple {
				cmp := o.Expr.(*pattern.Comparison)
				c.e.path, c.e.kind, c.e.op = c.vals[0].path, c.vals[0].kind, uint8(cmp.Op)
				if s, ok := cmp.Value.(pattern.StringLit); ok && c.e.kind >= kSub && string(s) != c.vals[0].pfx.String() {
					c.e.flags |= flagBare
				}
			}
			return c, nil
		}
	}
	m, err := Compile(p)
	if err != nil {
		return broken(err)
	}
	set := obsAnchors(p.Expr)
	x := &extra{m: m, within: within(p)}
	c.x = x
	switch {
	case len(set.types) > 0:
		c.e.form = formUnanchored
	case len(set.vals) == 0:
		c.e.form = formNever
		c.x = nil
	default:
		c.e.form = formEval
	}
	c.vals, c.types = ix.register(dedupeAnchors(set.vals)), set.types
	if c.e.flags&flagMulti != 0 && ix.hist != nil && c.e.form != formNever {
		rel := anchorSet{}
		for _, o := range p.Observations() {
			rel = union(rel, compAnchors(o.Expr))
		}
		c.rel, c.relTypes = ix.register(dedupeAnchors(rel.vals)), rel.types
	}
	return c, nil
}

// singleObservation reports whether p is one bracketed expression without
// qualifiers.
func singleObservation(p *pattern.Pattern) bool {
	_, ok := p.Expr.(*pattern.Observation)
	return ok
}

// within is the WITHIN bound of the whole pattern in seconds, or 0.
func within(p *pattern.Pattern) float64 {
	q, ok := p.Expr.(*pattern.Qualified)
	if !ok {
		return 0
	}
	w := 0.0
	for _, x := range q.Qualifiers {
		if x, ok := x.(pattern.Within); ok && (w == 0 || x.Seconds < w) {
			w = x.Seconds
		}
	}
	return w
}

// register gives each anchor the registry id of its property.
func (ix *Index) register(vals []anchor) []anchor {
	for i := range vals {
		vals[i].path = ix.regForWrite().add(vals[i].typ, vals[i].steps)
	}
	return vals
}

// regForWrite returns the registry, cloned first if a snapshot uses it.
func (ix *Index) regForWrite() *registry {
	w := &ix.w
	if !w.regOwned {
		w.reg = w.reg.clone()
		w.regOwned = true
	}
	return w.reg
}

func dedupeAnchors(vals []anchor) []anchor {
	if len(vals) < 2 {
		return vals
	}
	out := vals[:0:0]
	for _, v := range vals {
		dup := false
		for _, o := range out {
			if o.kind == v.kind && o.key == v.key && o.pfx == v.pfx && o.typ == v.typ && slices.Equal(o.steps, v.steps) {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, v)
		}
	}
	return out
}

// isSimple reports whether x is one comparison whose binding text can be
// rebuilt from its single anchor.
func isSimple(x pattern.ComparisonExpr) bool {
	c, ok := x.(*pattern.Comparison)
	if !ok || c.Negated {
		return false
	}
	switch c.Op {
	case pattern.Equal:
		switch c.Value.(type) {
		case pattern.StringLit, pattern.HexLit, pattern.BinaryLit:
			return true
		}
	case pattern.IsSubset, pattern.IsSuperset:
		s, _ := c.Value.(pattern.StringLit)
		p, ok := parsePrefix(string(s))
		return ok && (string(s) == p.String() || p.IsSingleIP() && string(s) == p.Addr().String())
	}
	return false
}

// exactAnchors returns the anchors of x when they decide it exactly: x
// holds for an object exactly when one of them hits the object. That is so
// for equality, IN and LIKE without wildcards on strings and binary
// literals, and ISSUBSET and ISSUPERSET, none negated, joined by OR. err is
// the error Compile would give.
func exactAnchors(x pattern.ComparisonExpr) (vals []anchor, exact bool, err error) {
	switch x := x.(type) {
	case *pattern.Comparison:
		if _, err := compileComparison(x); err != nil {
			return nil, false, err
		}
		a, ok := comparisonAnchors(x)
		if !ok {
			return nil, false, nil
		}
		return a, true, nil
	case *pattern.CompoundComparison:
		exact = x.Op == pattern.Or
		for _, o := range x.Operands {
			v, e, err := exactAnchors(o)
			if err != nil {
				return nil, false, err
			}
			exact = exact && e
			vals = append(vals, v...)
		}
		if !exact {
			vals = nil
		}
		return vals, exact, nil
	}
	return nil, false, nil
}

// comparisonAnchors returns the anchors that decide c exactly, or false.
func comparisonAnchors(c *pattern.Comparison) ([]anchor, bool) {
	if c.Negated {
		return nil, false
	}
	base := anchor{typ: c.Path.Type, steps: c.Path.Steps}
	switch c.Op {
	case pattern.Equal:
		a, ok := literalAnchor(base, c.Value)
		if !ok {
			return nil, false
		}
		return []anchor{a}, true
	case pattern.In:
		set, _ := c.Value.(pattern.SetLit)
		out := make([]anchor, 0, len(set))
		for _, v := range set {
			a, ok := literalAnchor(base, v)
			if !ok {
				return nil, false
			}
			out = append(out, a)
		}
		return out, true
	case pattern.Like:
		s, _ := c.Value.(pattern.StringLit)
		// Without wildcards LIKE is equality. U+FFFD is excluded because
		// the regular expression would also match an invalid byte there.
		if strings.ContainsAny(string(s), "%_") || !utf8.ValidString(string(s)) || strings.ContainsRune(string(s), utf8.RuneError) {
			return nil, false
		}
		base.kind, base.key = kString, strings.Clone(string(s))
		return []anchor{base}, true
	case pattern.IsSubset, pattern.IsSuperset:
		s, _ := c.Value.(pattern.StringLit)
		p, ok := parsePrefix(string(s))
		if !ok {
			return nil, false
		}
		base.kind, base.pfx = kSub, p
		if c.Op == pattern.IsSuperset {
			base.kind = kSuper
		}
		return []anchor{base}, true
	}
	return nil, false
}

// literalAnchor keys a literal compared for equality. Strings compare as
// strings; h'…' and b'…' as the bytes a property's text decodes to. Other
// literals (numbers, booleans, timestamps) have no single spelling in the
// observed data and are not anchored.
func literalAnchor(base anchor, v pattern.Value) (anchor, bool) {
	switch v := v.(type) {
	case pattern.StringLit:
		base.kind, base.key = kString, strings.Clone(string(v))
	case pattern.HexLit:
		base.kind, base.key = kHex, string(v)
	case pattern.BinaryLit:
		base.kind, base.key = kB64, string(v)
	default:
		return base, false
	}
	return base, true
}

// compAnchors returns a necessary condition for x: exact anchors where
// there are some, the object type otherwise.
func compAnchors(x pattern.ComparisonExpr) anchorSet {
	switch x := x.(type) {
	case *pattern.Comparison:
		if a, ok := comparisonAnchors(x); ok {
			return anchorSet{vals: a}
		}
		return anchorSet{types: []string{x.Path.Type}}
	case *pattern.CompoundComparison:
		return combine(x.Op, len(x.Operands), func(i int) anchorSet { return compAnchors(x.Operands[i]) })
	}
	return anchorSet{}
}

// obsAnchors returns a necessary condition for x to hold for one
// observation.
func obsAnchors(x pattern.ObservationExpr) anchorSet {
	switch x := x.(type) {
	case *pattern.Observation:
		return compAnchors(x.Expr)
	case *pattern.CompoundObservation:
		return combine(x.Op, len(x.Operands), func(i int) anchorSet { return obsAnchors(x.Operands[i]) })
	case *pattern.Qualified:
		return obsAnchors(x.Expr)
	}
	return anchorSet{}
}

// combine joins the sets of n operands: OR needs all of them, AND and
// FOLLOWEDBY need any one, so the cheapest is kept.
func combine(op pattern.Connective, n int, set func(int) anchorSet) anchorSet {
	var out anchorSet
	for i := range n {
		s := set(i)
		switch {
		case op == pattern.Or:
			out = union(out, s)
		case i == 0 || s.cost() < out.cost():
			out = s
		}
	}
	return out
}

// hashNames maps a hash algorithm name, upper-cased and without '-', '_'
// and spaces, to the spelling of the STIX hash-algorithm-ov vocabulary
// (plus the SHA-2 and SHA-3 lengths it omits).
var hashNames = map[string]string{
	"MD5": "MD5", "SHA1": "SHA-1", "SHA224": "SHA-224", "SHA256": "SHA-256", "SHA384": "SHA-384",
	"SHA512": "SHA-512", "SHA3224": "SHA3-224", "SHA3256": "SHA3-256", "SHA3384": "SHA3-384",
	"SHA3512": "SHA3-512", "SSDEEP": "SSDEEP", "TLSH": "TLSH",
}

// canonHashName returns the canonical spelling of a hash algorithm name, or
// k itself when it names no algorithm in hashNames.
func canonHashName(k string) string {
	var buf [12]byte
	n := 0
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case c == '-' || c == '_' || c == ' ':
			continue
		case 'a' <= c && c <= 'z':
			c -= 'a' - 'A'
		}
		if n == len(buf) {
			return k
		}
		buf[n] = c
		n++
	}
	if s, ok := hashNames[string(buf[:n])]; ok {
		return s
	}
	return k
}

// canonHashes returns m with its keys in canonical spelling, and whether
// that differs from m. When two keys become one, the key already canonical
// wins, else the one that sorts first, so the choice does not depend on
// map order.
func canonHashes(m map[string]any) (map[string]any, bool) {
	clean := true
	for k := range m {
		if canonHashName(k) != k {
			clean = false
			break
		}
	}
	if clean {
		return m, false
	}
	out := make(map[string]any, len(m))
	src := make(map[string]string, len(m))
	for k, v := range m {
		c := canonHashName(k)
		if s, dup := src[c]; dup && !(k == c || s != c && k < s) {
			continue
		}
		out[c], src[c] = v, k
	}
	return out, true
}

// normalizePattern returns p with the hash algorithm names of its paths in
// canonical spelling; p itself when they already are.
func normalizePattern(p *pattern.Pattern) *pattern.Pattern {
	changed := false
	for _, o := range p.Observations() {
		for _, c := range o.Comparisons() {
			if _, ok := canonSteps(c.Path.Steps); ok {
				changed = true
			}
		}
	}
	if !changed {
		return p
	}
	return &pattern.Pattern{Expr: normObs(p.Expr)}
}

func normObs(x pattern.ObservationExpr) pattern.ObservationExpr {
	switch x := x.(type) {
	case *pattern.Observation:
		return &pattern.Observation{Expr: normComp(x.Expr)}
	case *pattern.CompoundObservation:
		ops := make([]pattern.ObservationExpr, len(x.Operands))
		for i, o := range x.Operands {
			ops[i] = normObs(o)
		}
		return &pattern.CompoundObservation{Op: x.Op, Operands: ops}
	case *pattern.Qualified:
		return &pattern.Qualified{Expr: normObs(x.Expr), Qualifiers: x.Qualifiers}
	}
	return x
}

func normComp(x pattern.ComparisonExpr) pattern.ComparisonExpr {
	switch x := x.(type) {
	case *pattern.Comparison:
		steps, ok := canonSteps(x.Path.Steps)
		if !ok {
			return x
		}
		c := *x
		c.Path.Steps = steps
		return &c
	case *pattern.CompoundComparison:
		ops := make([]pattern.ComparisonExpr, len(x.Operands))
		for i, o := range x.Operands {
			ops[i] = normComp(o)
		}
		return &pattern.CompoundComparison{Op: x.Op, Operands: ops}
	}
	return x
}

// canonSteps returns steps with every key that follows the key "hashes"
// spelt canonically, and whether anything changed.
func canonSteps(steps []pattern.Step) ([]pattern.Step, bool) {
	var out []pattern.Step
	for i := 1; i < len(steps); i++ {
		if steps[i].Kind != pattern.KeyStep || steps[i-1].Kind != pattern.KeyStep || steps[i-1].Key != "hashes" {
			continue
		}
		if k := canonHashName(steps[i].Key); k != steps[i].Key {
			if out == nil {
				out = slices.Clone(steps)
			}
			out[i].Key = k
		}
	}
	return out, out != nil
}

// normalizeObservation returns ob with every "hashes" dictionary keyed
// canonically; ob itself when nothing changes. Changed maps and lists are
// copied, the rest shared.
func normalizeObservation(ob *Observation) *Observation {
	var objs []Object
	for j := range ob.Objects {
		v, changed := normalizeValue(ob.Objects[j].Props)
		if !changed {
			continue
		}
		if objs == nil {
			objs = slices.Clone(ob.Objects)
		}
		objs[j].Props = v.(map[string]any)
	}
	if objs == nil {
		return ob
	}
	n := *ob
	n.Objects = objs
	return &n
}

func normalizeValue(v any) (any, bool) {
	switch x := v.(type) {
	case map[string]any:
		var out map[string]any
		for k, e := range x {
			ne, changed := normalizeValue(e)
			if k == "hashes" {
				if hm, ok := ne.(map[string]any); ok {
					if c, ch := canonHashes(hm); ch {
						ne, changed = c, true
					}
				}
			}
			if changed {
				if out == nil {
					out = maps.Clone(x)
				}
				out[k] = ne
			}
		}
		if out != nil {
			return out, true
		}
	case []any:
		var out []any
		for i, e := range x {
			if ne, changed := normalizeValue(e); changed {
				if out == nil {
					out = slices.Clone(x)
				}
				out[i] = ne
			}
		}
		if out != nil {
			return out, true
		}
	}
	return v, false
}

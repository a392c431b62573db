package match

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/setu-cti/setu/internal/stix/pattern"
)

// comparison is a pattern comparison with its literal prepared once:
// regular expressions compiled, CIDR literals parsed.
type comparison struct {
	c      *pattern.Comparison
	re     *regexp.Regexp // Like, Matches
	prefix netip.Prefix   // IsSubset, IsSuperset
}

func compileComparison(c *pattern.Comparison) (*comparison, error) {
	cc := &comparison{c: c}
	switch c.Op {
	case pattern.Like:
		s, _ := c.Value.(pattern.StringLit)
		re, err := regexp.Compile(likeRegexp(string(s)))
		if err != nil {
			return nil, fmt.Errorf("LIKE %s: %v", c.Value, err)
		}
		cc.re = re
	case pattern.Matches:
		s, _ := c.Value.(pattern.StringLit)
		// The specification names PCRE; Go's RE2 syntax agrees on the
		// common subset but has no backreferences or lookaround, so a
		// pattern using them is rejected here rather than misread.
		re, err := regexp.Compile(string(s))
		if err != nil {
			return nil, fmt.Errorf("MATCHES %s: %v (Go RE2 syntax: no backreferences or lookaround)", c.Value, err)
		}
		cc.re = re
	case pattern.IsSubset, pattern.IsSuperset:
		s, _ := c.Value.(pattern.StringLit)
		p, ok := parsePrefix(string(s))
		if !ok {
			return nil, fmt.Errorf("%s %s: not an IP address or CIDR block", c.Op, c.Value)
		}
		cc.prefix = p
	}
	return cc, nil
}

// likeRegexp translates SQL LIKE: % is any run of characters, _ is one
// character, everything else is literal, and the whole value must match.
func likeRegexp(s string) string {
	var b strings.Builder
	b.WriteString(`(?s)\A`)
	for _, r := range s {
		switch r {
		case '%':
			b.WriteString(".*")
		case '_':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString(`\z`)
	return b.String()
}

// eval reports whether the comparison holds for object o of observation ob.
// A path that leads nowhere makes the comparison false whether or not it
// is negated: NOT negates the operator applied to a value, it does not
// turn absence into a match.
func (cc *comparison) eval(ob *Observation, o *Object) bool {
	if o.Type != cc.c.Path.Type {
		return false
	}
	vals := resolve(ob, o.Props, cc.c.Path.Steps)
	if cc.c.Op == pattern.Exists {
		return len(vals) > 0
	}
	for _, v := range vals {
		r, ok := cc.test(v)
		if !ok {
			continue // incomparable: neither true nor, under NOT, its negation
		}
		if r != cc.c.Negated {
			return true
		}
	}
	return false
}

// resolve follows steps from v and returns every value reached: a [*]
// fans out, a missing key or index ends that branch. A property named
// *_ref, or an element of a *_refs list, is replaced by the object it
// names within the observation when further steps follow it.
func resolve(ob *Observation, root map[string]any, steps []pattern.Step) []any {
	cur := []any{root}
	prevKey := ""
	for i, st := range steps {
		more := i+1 < len(steps)
		var next []any
		for _, v := range cur {
			switch st.Kind {
			case pattern.KeyStep:
				m, ok := v.(map[string]any)
				if !ok {
					continue
				}
				x, ok := m[st.Key]
				if !ok || x == nil {
					continue
				}
				if more && strings.HasSuffix(st.Key, "_ref") {
					if x = deref(ob, x); x == nil {
						continue
					}
				}
				next = append(next, x)
			case pattern.IndexStep, pattern.AnyIndexStep:
				l, ok := v.([]any)
				if !ok {
					continue
				}
				for j, x := range l {
					// A negative index names no element: the
					// specification gives it no meaning.
					if st.Kind == pattern.IndexStep && int64(j) != st.Index {
						continue
					}
					if x == nil {
						continue
					}
					if more && strings.HasSuffix(prevKey, "_refs") {
						if x = deref(ob, x); x == nil {
							continue
						}
					}
					next = append(next, x)
				}
			}
		}
		if st.Kind == pattern.KeyStep {
			prevKey = st.Key
		}
		cur = next
		if len(cur) == 0 {
			return nil
		}
	}
	return cur
}

func deref(ob *Observation, x any) any {
	s, ok := x.(string)
	if !ok {
		return nil
	}
	i, ok := ob.refs[s]
	if !ok {
		return nil
	}
	return ob.Objects[i].Props
}

// test applies the operator, ignoring NOT. ok is false when the property
// value and the literal cannot be compared (a string against a number, a
// list against a string).
func (cc *comparison) test(v any) (result, ok bool) {
	c := cc.c
	switch c.Op {
	case pattern.Equal, pattern.NotEqual:
		cmp, ok := compare(v, c.Value, true)
		if !ok {
			return false, false
		}
		return (cmp == 0) == (c.Op == pattern.Equal), true
	case pattern.Less, pattern.LessEqual, pattern.Greater, pattern.GreaterEqual:
		cmp, ok := compare(v, c.Value, false)
		if !ok {
			return false, false
		}
		switch c.Op {
		case pattern.Less:
			return cmp < 0, true
		case pattern.LessEqual:
			return cmp <= 0, true
		case pattern.Greater:
			return cmp > 0, true
		default:
			return cmp >= 0, true
		}
	case pattern.In:
		set, _ := c.Value.(pattern.SetLit)
		seen := false
		for _, e := range set {
			cmp, ok := compare(v, e, true)
			if !ok {
				continue
			}
			seen = true
			if cmp == 0 {
				return true, true
			}
		}
		return false, seen || len(set) == 0
	case pattern.Like, pattern.Matches:
		s, ok := v.(string)
		if !ok {
			return false, false
		}
		return cc.re.MatchString(s), true
	case pattern.IsSubset, pattern.IsSuperset:
		s, ok := v.(string)
		if !ok {
			return false, false
		}
		p, ok := parsePrefix(s)
		if !ok || p.Addr().Is4() != cc.prefix.Addr().Is4() {
			return false, false
		}
		if c.Op == pattern.IsSubset {
			return cc.prefix.Bits() <= p.Bits() && cc.prefix.Contains(p.Addr()), true
		}
		return p.Bits() <= cc.prefix.Bits() && p.Contains(cc.prefix.Addr()), true
	}
	return false, false
}

// parsePrefix reads an address or CIDR block; a bare address is its own
// single-address block. IPv4-mapped IPv6 addresses are read as IPv4 so
// that the two spellings of one address agree.
func parsePrefix(s string) (netip.Prefix, bool) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, false
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p.Masked(), true
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), true
}

// compare orders property value v against literal lit, with the coercions
// the specification allows: integers and floats compare as numbers, a
// timestamp literal compares with a property holding an RFC 3339 string,
// binary and hex literals compare with a property's base64 or hex text as
// bytes. eqOnly admits booleans, which have equality but no order.
func compare(v any, lit pattern.Value, eqOnly bool) (int, bool) {
	switch l := lit.(type) {
	case pattern.StringLit:
		s, ok := v.(string)
		if !ok {
			return 0, false
		}
		return strings.Compare(s, string(l)), true
	case pattern.IntLit:
		return compareNumber(v, float64(l), int64(l), true)
	case pattern.FloatLit:
		return compareNumber(v, float64(l), 0, false)
	case pattern.BoolLit:
		b, ok := v.(bool)
		if !ok || !eqOnly {
			return 0, false
		}
		if b == bool(l) {
			return 0, true
		}
		return 1, true
	case pattern.TimestampLit:
		s, ok := v.(string)
		if !ok {
			return 0, false
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return 0, false
		}
		return t.Compare(l.Time), true
	case pattern.BinaryLit:
		b, ok := bytesOf(v, false)
		if !ok {
			return 0, false
		}
		return bytes.Compare(b, l), true
	case pattern.HexLit:
		b, ok := bytesOf(v, true)
		if !ok {
			return 0, false
		}
		return bytes.Compare(b, l), true
	}
	return 0, false
}

// bytesOf decodes a property's text as binary. Binary properties are
// base64 in STIX, while hashes are hex; a hex literal tries hex first and a
// base64 literal base64 first, each falling back on the other.
func bytesOf(v any, hexFirst bool) ([]byte, bool) {
	s, ok := v.(string)
	if !ok {
		return nil, false
	}
	fromHex := func() ([]byte, bool) {
		b, err := hex.DecodeString(s)
		return b, err == nil
	}
	fromB64 := func() ([]byte, bool) {
		b, err := base64.StdEncoding.DecodeString(s)
		return b, err == nil
	}
	if hexFirst {
		if b, ok := fromHex(); ok {
			return b, true
		}
		return fromB64()
	}
	if b, ok := fromB64(); ok {
		return b, true
	}
	return fromHex()
}

func compareNumber(v any, f float64, i int64, litIsInt bool) (int, bool) {
	n, isInt, x, ok := number(v)
	if !ok {
		return 0, false
	}
	if isInt && litIsInt {
		switch {
		case n < i:
			return -1, true
		case n > i:
			return 1, true
		}
		return 0, true
	}
	if math.IsNaN(x) || math.IsNaN(f) {
		return 0, false
	}
	switch {
	case x < f:
		return -1, true
	case x > f:
		return 1, true
	}
	return 0, true
}

// number reads a decoded JSON number, exactly when it is an integer.
func number(v any) (i int64, isInt bool, f float64, ok bool) {
	switch n := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
			return i, true, float64(i), true
		}
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil {
			return 0, false, 0, false
		}
		if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
			return int64(f), true, f, true
		}
		return 0, false, f, true
	case float64:
		if n == math.Trunc(n) && math.Abs(n) < 1<<53 {
			return int64(n), true, n, true
		}
		return 0, false, n, true
	case int:
		return int64(n), true, float64(n), true
	case int64:
		return n, true, float64(n), true
	}
	return 0, false, 0, false
}

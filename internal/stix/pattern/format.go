package pattern

import (
	"encoding/base64"
	"encoding/hex"
	"math"
	"strconv"
	"strings"
	"time"
)

// Format returns the canonical text of p: single spaces around operators
// and keywords, none inside brackets and parentheses, parentheses only
// where precedence needs them, "=" and "!=" for equality, quotes only on
// path components that need them, integral WITHIN counts without a
// fraction, timestamps with the shortest exact fraction, lower-case hex.
// For every p returned by Parse, Parse(Format(p)) returns a tree equal to
// p. A nil p formats as "".
func Format(p *Pattern) string {
	if p == nil || p.Expr == nil {
		return ""
	}
	var b strings.Builder
	writeObservation(&b, p.Expr, 0, false)
	return b.String()
}

// String returns Format(p).
func (p *Pattern) String() string { return Format(p) }

// binding strength of observation expressions, for parenthesising.
func obsPrec(e ObservationExpr) int {
	switch e := e.(type) {
	case *CompoundObservation:
		if len(e.Operands) == 1 {
			return obsPrec(e.Operands[0])
		}
		return int(e.Op)
	case *Qualified:
		return 4
	}
	return 5
}

// writeObservation writes e; parent is the binding strength of the
// context, strict asks for parentheses also at equal strength (a later
// operand of FOLLOWEDBY, where regrouping would change the tree).
func writeObservation(b *strings.Builder, e ObservationExpr, parent int, strict bool) {
	if c, ok := e.(*CompoundObservation); ok && len(c.Operands) == 1 {
		writeObservation(b, c.Operands[0], parent, strict)
		return
	}
	prec := obsPrec(e)
	paren := prec < parent || strict && prec == parent
	if paren {
		b.WriteByte('(')
	}
	switch e := e.(type) {
	case *Observation:
		b.WriteByte('[')
		writeComparison(b, e.Expr, 0)
		b.WriteByte(']')
	case *CompoundObservation:
		for i, o := range e.Operands {
			if i > 0 {
				b.WriteString(" " + e.Op.String() + " ")
			}
			writeObservation(b, o, int(e.Op), e.Op == FollowedBy && i > 0)
		}
	case *Qualified:
		writeObservation(b, e.Expr, 4, false)
		for _, q := range e.Qualifiers {
			b.WriteByte(' ')
			b.WriteString(qualifierString(q))
		}
	}
	if paren {
		b.WriteByte(')')
	}
}

func qualifierString(q Qualifier) string {
	switch q := q.(type) {
	case Within:
		return "WITHIN " + secondsString(q.Seconds) + " SECONDS"
	case Repeats:
		return "REPEATS " + strconv.FormatInt(q.Times, 10) + " TIMES"
	case StartStop:
		return "START " + TimestampLit{q.Start}.String() + " STOP " + TimestampLit{q.Stop}.String()
	}
	return "?"
}

// secondsString writes whole seconds as an integer, the common spelling,
// when that is exact and reads back as the same value.
func secondsString(s float64) string {
	if s == math.Trunc(s) && math.Abs(s) < 1<<53 {
		return strconv.FormatInt(int64(s), 10)
	}
	return FloatLit(s).String()
}

func compPrec(e ComparisonExpr) int {
	if c, ok := e.(*CompoundComparison); ok {
		if len(c.Operands) == 1 {
			return compPrec(c.Operands[0])
		}
		return int(c.Op)
	}
	return 5
}

func writeComparison(b *strings.Builder, e ComparisonExpr, parent int) {
	if c, ok := e.(*CompoundComparison); ok && len(c.Operands) == 1 {
		writeComparison(b, c.Operands[0], parent)
		return
	}
	prec := compPrec(e)
	paren := prec < parent
	if paren {
		b.WriteByte('(')
	}
	switch e := e.(type) {
	case *Comparison:
		if e.Op == Exists {
			b.WriteString("EXISTS ")
			b.WriteString(e.Path.String())
			break
		}
		b.WriteString(e.Path.String())
		if e.Negated {
			b.WriteString(" NOT")
		}
		b.WriteByte(' ')
		b.WriteString(e.Op.String())
		if e.Value != nil {
			b.WriteByte(' ')
			b.WriteString(e.Value.String())
		}
	case *CompoundComparison:
		for i, o := range e.Operands {
			if i > 0 {
				b.WriteString(" " + e.Op.String() + " ")
			}
			writeComparison(b, o, int(e.Op))
		}
	}
	if paren {
		b.WriteByte(')')
	}
}

// String returns the path as a pattern writes it, quoting components that
// are not plain identifiers or that are keywords.
func (o ObjectPath) String() string {
	var b strings.Builder
	b.WriteString(o.Type)
	for i, s := range o.Steps {
		switch s.Kind {
		case KeyStep:
			if i == 0 {
				b.WriteByte(':')
			} else {
				b.WriteByte('.')
			}
			if plainKey(s.Key) {
				b.WriteString(s.Key)
			} else {
				b.WriteString(quoteString(s.Key))
			}
		case IndexStep:
			b.WriteString("[" + strconv.FormatInt(s.Index, 10) + "]")
		case AnyIndexStep:
			b.WriteString("[*]")
		}
	}
	return b.String()
}

// plainKey reports whether k can be written without quotes: the grammar's
// IdentifierWithoutHyphen, not a keyword.
func plainKey(k string) bool {
	if k == "" || !isLetter(k[0]) {
		return false
	}
	for i := 1; i < len(k); i++ {
		if !isLetter(k[i]) && !isDigit(k[i]) {
			return false
		}
	}
	_, kw := keywords[k]
	return !kw
}

// quoteString writes s as a pattern string literal.
func quoteString(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		if s[i] == '\'' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('\'')
	return b.String()
}

func (v StringLit) String() string { return quoteString(string(v)) }
func (v IntLit) String() string    { return strconv.FormatInt(int64(v), 10) }

// String always includes a fraction and never an exponent, since the
// grammar has no exponent and would read "5" as an integer.
func (v FloatLit) String() string {
	s := strconv.FormatFloat(float64(v), 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

func (v BoolLit) String() string   { return strconv.FormatBool(bool(v)) }
func (v BinaryLit) String() string { return "b'" + base64.StdEncoding.EncodeToString(v) + "'" }
func (v HexLit) String() string    { return "h'" + hex.EncodeToString(v) + "'" }
func (v TimestampLit) String() string {
	return "t'" + v.Time.UTC().Format(time.RFC3339Nano) + "'"
}

func (v SetLit) String() string {
	var b strings.Builder
	b.WriteByte('(')
	for i, e := range v {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(e.String())
	}
	b.WriteByte(')')
	return b.String()
}

// Dump returns an indented outline of p, one node per line, for people
// checking how a pattern was read: which connective binds what, and which
// expression each qualifier applies to.
func Dump(p *Pattern) string {
	var b strings.Builder
	b.WriteString("pattern\n")
	if p != nil && p.Expr != nil {
		dumpObservation(&b, p.Expr, 1)
	}
	return b.String()
}

func indent(b *strings.Builder, depth int) {
	for range depth {
		b.WriteString("  ")
	}
}

func dumpObservation(b *strings.Builder, e ObservationExpr, depth int) {
	indent(b, depth)
	switch e := e.(type) {
	case *Observation:
		b.WriteString("observation [ ]\n")
		dumpComparison(b, e.Expr, depth+1)
	case *CompoundObservation:
		b.WriteString(e.Op.String() + "\n")
		for _, o := range e.Operands {
			dumpObservation(b, o, depth+1)
		}
	case *Qualified:
		qs := make([]string, len(e.Qualifiers))
		for i, q := range e.Qualifiers {
			qs[i] = qualifierString(q)
		}
		b.WriteString("qualified " + strings.Join(qs, " ") + "\n")
		dumpObservation(b, e.Expr, depth+1)
	}
}

func dumpComparison(b *strings.Builder, e ComparisonExpr, depth int) {
	switch e := e.(type) {
	case *Comparison:
		indent(b, depth)
		writeComparison(b, e, 0)
		b.WriteByte('\n')
	case *CompoundComparison:
		indent(b, depth)
		b.WriteString(e.Op.String() + "\n")
		for _, o := range e.Operands {
			dumpComparison(b, o, depth+1)
		}
	}
}

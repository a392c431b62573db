package pattern

import (
	"strconv"
	"unicode/utf8"
)

// maxDepth bounds the nesting of parentheses and brackets so that a hostile
// pattern cannot exhaust the stack; real patterns nest a few levels.
const maxDepth = 500

// Parse parses a STIX 2.1 pattern. On success the tree is normalised as
// described in the package documentation. On failure the error is a
// *SyntaxError locating the first problem; Parse never panics.
func Parse(s string) (p *Pattern, err error) {
	if !utf8.ValidString(s) {
		off := 0
		for off < len(s) {
			r, n := utf8.DecodeRuneInString(s[off:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			off += n
		}
		return nil, newError(s, off, "invalid UTF-8", "", "invalid UTF-8")
	}
	ps := &parser{lex: lexer{src: s}}
	// The lexer and parser stop at the first error by panicking with a
	// *SyntaxError, which keeps every grammar rule free of error plumbing;
	// anything else is a bug and keeps panicking.
	defer func() {
		if r := recover(); r != nil {
			se, ok := r.(*SyntaxError)
			if !ok {
				panic(r)
			}
			p, err = nil, se
		}
	}()
	ps.advance()
	expr := ps.followedBy()
	if ps.tok.kind != tEOF {
		ps.unexpected(expectAfterObservation)
	}
	return &Pattern{Expr: expr}, nil
}

// MustParse is Parse for patterns known to be valid, such as constants in
// tests; it panics on error.
func MustParse(s string) *Pattern {
	p, err := Parse(s)
	if err != nil {
		panic("pattern: " + err.Error())
	}
	return p
}

const (
	expectObservation      = "'[' or '('"
	expectAfterObservation = "AND, OR, FOLLOWEDBY, a qualifier or end of pattern"
	expectComparison       = "an object path, EXISTS or '('"
	expectAfterComparison  = "AND, OR or ']'"
	expectOperator         = "a comparison operator"
)

type parser struct {
	lex   lexer
	tok   token
	depth int
}

func (p *parser) advance() { p.tok = p.lex.next() }

// found describes the current token for an error message.
func (p *parser) found() string {
	if p.tok.kind == tEOF {
		return "end of pattern"
	}
	return quoteFound(p.tok.text)
}

func (p *parser) unexpected(expected string) {
	panic(newError(p.lex.src, p.tok.off, p.found(), expected, ""))
}

func (p *parser) failAt(tok token, msg string) {
	panic(newError(p.lex.src, tok.off, quoteFound(tok.text), "", msg))
}

func (p *parser) expect(k tokenKind, what string) token {
	if p.tok.kind != k {
		p.unexpected(what)
	}
	t := p.tok
	p.advance()
	return t
}

func (p *parser) enter() {
	p.depth++
	if p.depth > maxDepth {
		p.failAt(p.tok, "expressions nested more than "+strconv.Itoa(maxDepth)+" deep")
	}
}

func (p *parser) leave() { p.depth-- }

// followedBy: or (FOLLOWEDBY or)*. The grammar makes FOLLOWEDBY left
// associative, so a parenthesised FOLLOWEDBY chain in first position is the
// same tree as the unparenthesised one and is spliced in; one in a later
// position changes the grouping and stays nested.
func (p *parser) followedBy() ObservationExpr {
	first := p.observationJunction(Or)
	if p.tok.kind != tFollowedBy {
		return first
	}
	c := &CompoundObservation{Op: FollowedBy}
	if f, ok := first.(*CompoundObservation); ok && f.Op == FollowedBy {
		c.Operands = append(c.Operands, f.Operands...)
	} else {
		c.Operands = append(c.Operands, first)
	}
	for p.tok.kind == tFollowedBy {
		p.advance()
		c.Operands = append(c.Operands, p.observationJunction(Or))
	}
	return c
}

// observationJunction parses an OR chain of AND chains of qualified
// observation expressions, flattening nested chains of the same connective.
func (p *parser) observationJunction(op Connective) ObservationExpr {
	operand := func() ObservationExpr {
		if op == Or {
			return p.observationJunction(And)
		}
		return p.qualified()
	}
	kind := tOr
	if op == And {
		kind = tAnd
	}
	first := operand()
	if p.tok.kind != kind {
		return first
	}
	c := &CompoundObservation{Op: op}
	add := func(e ObservationExpr) {
		if n, ok := e.(*CompoundObservation); ok && n.Op == op {
			c.Operands = append(c.Operands, n.Operands...)
			return
		}
		c.Operands = append(c.Operands, e)
	}
	add(first)
	for p.tok.kind == kind {
		p.advance()
		add(operand())
	}
	return c
}

// qualified: primary qualifier*. Qualifiers on a parenthesised expression
// that already has qualifiers are appended to its list: the grammar reads
// "([a] WITHIN 5 SECONDS) REPEATS 2 TIMES" and "[a] WITHIN 5 SECONDS
// REPEATS 2 TIMES" the same way.
func (p *parser) qualified() ObservationExpr {
	e := p.primaryObservation()
	var qs []Qualifier
	for {
		q, ok := p.qualifier()
		if !ok {
			break
		}
		qs = append(qs, q)
	}
	if len(qs) == 0 {
		return e
	}
	if inner, ok := e.(*Qualified); ok {
		return &Qualified{Expr: inner.Expr, Qualifiers: append(append([]Qualifier(nil), inner.Qualifiers...), qs...)}
	}
	return &Qualified{Expr: e, Qualifiers: qs}
}

func (p *parser) primaryObservation() ObservationExpr {
	switch p.tok.kind {
	case tLBrack:
		p.enter()
		p.advance()
		c := p.comparisonJunction(Or)
		p.expect(tRBrack, expectAfterComparison)
		p.leave()
		return &Observation{Expr: c}
	case tLParen:
		p.enter()
		p.advance()
		e := p.followedBy()
		p.expect(tRParen, "AND, OR, FOLLOWEDBY, a qualifier or ')'")
		p.leave()
		return e
	}
	p.unexpected(expectObservation)
	return nil
}

func (p *parser) qualifier() (Qualifier, bool) {
	switch p.tok.kind {
	case tWithin:
		p.advance()
		n := p.tok
		var secs float64
		switch n.kind {
		case tInt:
			secs = float64(n.i)
		case tFloat:
			secs = n.f
		default:
			p.unexpected("a number of seconds")
		}
		if n.text[0] == '-' {
			p.unexpected("a positive number of seconds")
		}
		if secs <= 0 {
			p.failAt(n, "WITHIN needs a positive number of seconds")
		}
		p.advance()
		p.expect(tSeconds, "SECONDS")
		return Within{Seconds: secs}, true
	case tRepeats:
		p.advance()
		n := p.tok
		if n.kind != tInt || n.text[0] == '-' {
			p.unexpected("a positive integer")
		}
		if n.i <= 0 {
			p.failAt(n, "REPEATS needs a positive count")
		}
		p.advance()
		p.expect(tTimes, "TIMES")
		return Repeats{Times: n.i}, true
	case tStart:
		p.advance()
		start := p.expect(tTimestamp, "a timestamp t'…'")
		p.expect(tStop, "STOP")
		stop := p.expect(tTimestamp, "a timestamp t'…'")
		if !stop.t.After(start.t) {
			p.failAt(stop, "STOP "+quoteFound(stop.text)+" is not later than START "+quoteFound(start.text))
		}
		return StartStop{Start: start.t, Stop: stop.t}, true
	}
	return nil, false
}

func (p *parser) comparisonJunction(op Connective) ComparisonExpr {
	operand := func() ComparisonExpr {
		if op == Or {
			return p.comparisonJunction(And)
		}
		return p.comparison()
	}
	kind := tOr
	if op == And {
		kind = tAnd
	}
	first := operand()
	if p.tok.kind != kind {
		return first
	}
	c := &CompoundComparison{Op: op}
	add := func(e ComparisonExpr) {
		if n, ok := e.(*CompoundComparison); ok && n.Op == op {
			c.Operands = append(c.Operands, n.Operands...)
			return
		}
		c.Operands = append(c.Operands, e)
	}
	add(first)
	for p.tok.kind == kind {
		p.advance()
		add(operand())
	}
	return c
}

func (p *parser) comparison() ComparisonExpr {
	switch p.tok.kind {
	case tLParen:
		p.enter()
		p.advance()
		c := p.comparisonJunction(Or)
		p.expect(tRParen, "AND, OR or ')'")
		p.leave()
		return c
	case tExists:
		p.advance()
		return &Comparison{Path: p.objectPath(), Op: Exists}
	case tIdent: // an object path: parsed below
	default:
		p.unexpected(expectComparison)
	}
	c := &Comparison{Path: p.objectPath()}
	if p.tok.kind == tNot {
		c.Negated = true
		p.advance()
	}
	opTok := p.tok
	switch opTok.kind {
	case tEq:
		c.Op = Equal
	case tNeq:
		c.Op = NotEqual
	case tLt:
		c.Op = Less
	case tLe:
		c.Op = LessEqual
	case tGt:
		c.Op = Greater
	case tGe:
		c.Op = GreaterEqual
	case tIn:
		c.Op = In
	case tLike:
		c.Op = Like
	case tMatches:
		c.Op = Matches
	case tIsSubset:
		c.Op = IsSubset
	case tIsSuperset:
		c.Op = IsSuperset
	case tExists:
		if c.Negated {
			p.failAt(opTok, "EXISTS comes before the object path and cannot be negated")
		}
		p.failAt(opTok, "EXISTS comes before the object path: EXISTS type:property")
	default:
		p.unexpected(expectOperator)
	}
	p.advance()
	switch c.Op {
	case Equal, NotEqual:
		c.Value = p.literal(true, "a literal")
	case Less, LessEqual, Greater, GreaterEqual:
		c.Value = p.literal(false, "a string, number, binary, hex or timestamp literal")
	case In:
		c.Value = p.set()
	default:
		c.Value = StringLit(p.expect(tString, "a string literal").str)
	}
	return c
}

// literal parses the grammar's primitiveLiteral (boolOK) or
// orderableLiteral.
func (p *parser) literal(boolOK bool, what string) Value {
	t := p.tok
	var v Value
	switch t.kind {
	case tString:
		v = StringLit(t.str)
	case tInt:
		v = IntLit(t.i)
	case tFloat:
		v = FloatLit(t.f)
	case tBinary:
		v = BinaryLit(t.bytes)
	case tHex:
		v = HexLit(t.bytes)
	case tTimestamp:
		v = TimestampLit{Time: t.t}
	case tBool:
		if !boolOK {
			p.failAt(t, "booleans have no order: "+quoteFound(t.text)+" cannot be compared with <, <=, > or >=")
		}
		v = BoolLit(t.b)
	default:
		p.unexpected(what)
	}
	p.advance()
	return v
}

func (p *parser) set() SetLit {
	p.expect(tLParen, "'(' and a list of literals")
	s := SetLit{}
	if p.tok.kind == tRParen {
		p.advance()
		return s
	}
	for {
		s = append(s, p.literal(true, "a literal"))
		if p.tok.kind == tRParen {
			p.advance()
			return s
		}
		p.expect(tComma, "',' or ')'")
	}
}

// objectPath: type ':' first ('.' key | '[' index ']')*. Object types may
// contain hyphens; property names may not unless quoted, which is what the
// grammar's two identifier tokens encode.
func (p *parser) objectPath() ObjectPath {
	typ := p.expect(tIdent, "an object type")
	p.expect(tColon, "':' after the object type")
	path := ObjectPath{Type: typ.text}
	path.Steps = append(path.Steps, Step{Kind: KeyStep, Key: p.propertyName()})
	for {
		switch p.tok.kind {
		case tDot:
			p.advance()
			path.Steps = append(path.Steps, Step{Kind: KeyStep, Key: p.propertyName()})
		case tLBrack:
			p.advance()
			switch p.tok.kind {
			case tStar:
				path.Steps = append(path.Steps, Step{Kind: AnyIndexStep})
			case tInt:
				path.Steps = append(path.Steps, Step{Kind: IndexStep, Index: p.tok.i})
			default:
				p.unexpected("a list index or '*'")
			}
			p.advance()
			p.expect(tRBrack, "']' after the list index")
		default:
			return path
		}
	}
}

func (p *parser) propertyName() string {
	t := p.tok
	switch {
	case t.kind == tString:
		p.advance()
		return t.str
	case t.kind == tIdent && !t.hyphen:
		p.advance()
		return t.text
	case t.kind == tIdent:
		p.failAt(t, "property name "+quoteFound(t.text)+" contains '-' and must be quoted: "+quoteString(t.text))
	}
	if _, ok := keywords[t.text]; ok && t.kind != tEOF {
		p.failAt(t, "property name "+quoteFound(t.text)+" is a keyword and must be quoted: "+quoteString(t.text))
	}
	p.unexpected("a property name")
	return ""
}

// Package pattern reads and writes the STIX 2.1 Patterning language
// (STIX 2.1 part 9): a lexer, a recursive-descent parser producing a typed
// syntax tree, a printer that writes the tree back in canonical form, and an
// indented tree dump for people. It does not evaluate patterns; a matcher
// walks the tree this package produces.
//
// Parse accepts exactly the language of the STIX 2.1 ANTLR grammar
// (STIXPattern.g4) plus the constraints the specification's prose adds and a
// grammar cannot express: literal values must be representable (an integer
// fits in 64 bits, a timestamp names a real instant, base64 and hex decode),
// WITHIN and REPEATS counts are positive, STOP is later than START. A
// rejected pattern yields a *SyntaxError carrying the position of the
// offending text.
//
// Precedence, from loosest to tightest, follows the grammar:
//
//	FOLLOWEDBY  <  OR  <  AND  <  qualifiers  <  [ ... ] and ( ... )
//
// and inside brackets OR is looser than AND. A qualifier applies to the
// single bracketed or parenthesised observation expression it follows, so
// "[a] AND [b] WITHIN 5 SECONDS" qualifies only [b].
//
// The tree is normalised so that equal patterns written differently compare
// equal: AND and OR chains are flattened into one n-ary node (both are
// associative), a FOLLOWEDBY chain is flattened as the grammar's
// left-associative reading implies, qualifiers stacked on one expression are
// gathered into one Qualified node, quoting of path components and
// literal spellings ("==", "<>", "+5", "5.0" in WITHIN) are not kept. Format
// writes the canonical text; Parse(Format(p)) yields a tree equal to p for
// every p that Parse returned.
//
// Trees are plain values: safe for concurrent reads, never mutated by this
// package after Parse returns.
package pattern

import "time"

// Pattern is a parsed STIX pattern: one observation expression, possibly
// compound.
type Pattern struct {
	Expr ObservationExpr
}

// ObservationExpr is one of *Observation, *CompoundObservation or
// *Qualified.
type ObservationExpr interface {
	observationExpr()
}

// Observation is a bracketed observation expression: "[ comparisons ]".
// All of its comparisons are evaluated against a single observed object
// graph.
type Observation struct {
	Expr ComparisonExpr
}

// Connective joins expressions. And and Or appear at both levels;
// FollowedBy only between observation expressions.
type Connective int

// The connectives, in order of increasing binding strength.
const (
	FollowedBy Connective = iota + 1
	Or
	And
)

func (c Connective) String() string {
	switch c {
	case FollowedBy:
		return "FOLLOWEDBY"
	case Or:
		return "OR"
	case And:
		return "AND"
	}
	return "Connective(?)"
}

// CompoundObservation joins two or more observation expressions. For
// FollowedBy the operands are in the required order of observation.
type CompoundObservation struct {
	Op       Connective
	Operands []ObservationExpr
}

// Qualified restricts an observation expression with one or more
// qualifiers, applied in order (the first is the innermost).
type Qualified struct {
	Expr       ObservationExpr
	Qualifiers []Qualifier
}

// Qualifier is one of Within, Repeats or StartStop.
type Qualifier interface {
	qualifier()
}

// Within is "WITHIN n SECONDS": every observation matching the expression
// must fall within a window of this many seconds. Seconds is positive.
type Within struct {
	Seconds float64
}

// Repeats is "REPEATS n TIMES": the expression must match n times. Times is
// positive.
type Repeats struct {
	Times int64
}

// StartStop is "START t'…' STOP t'…'": observations must fall in the
// window from Start to Stop. Both are UTC; Stop is after Start.
type StartStop struct {
	Start, Stop time.Time
}

// ComparisonExpr is one of *Comparison or *CompoundComparison.
type ComparisonExpr interface {
	comparisonExpr()
}

// CompoundComparison joins two or more comparison expressions with And or
// Or.
type CompoundComparison struct {
	Op       Connective
	Operands []ComparisonExpr
}

// Operator is a comparison operator.
type Operator int

// The comparison operators. "==" reads as Equal and "<>" as NotEqual.
const (
	Equal Operator = iota + 1
	NotEqual
	Less
	LessEqual
	Greater
	GreaterEqual
	In
	Like
	Matches
	IsSubset
	IsSuperset
	Exists
)

var operatorText = [...]string{
	Equal: "=", NotEqual: "!=", Less: "<", LessEqual: "<=", Greater: ">", GreaterEqual: ">=",
	In: "IN", Like: "LIKE", Matches: "MATCHES", IsSubset: "ISSUBSET", IsSuperset: "ISSUPERSET",
	Exists: "EXISTS",
}

func (o Operator) String() string {
	if o > 0 && int(o) < len(operatorText) {
		return operatorText[o]
	}
	return "Operator(?)"
}

// Comparison tests one object path against a literal.
//
// Value's type depends on Op: for Equal and NotEqual any literal except
// SetLit; for the four orderings any literal except BoolLit and SetLit; for
// In a SetLit; for Like, Matches, IsSubset and IsSuperset a StringLit; for
// Exists nil. Negated is the "NOT" before the operator; the grammar allows
// it on every operator except Exists.
type Comparison struct {
	Path    ObjectPath
	Op      Operator
	Negated bool
	Value   Value
}

// ObjectPath names a property of an observed object: Type is the object
// type ("file", "x-usb-device"), Steps lead from the object to the
// property. The first step is always a KeyStep.
type ObjectPath struct {
	Type  string
	Steps []Step
}

// StepKind tells how a Step descends.
type StepKind int

const (
	// KeyStep selects the property Key (".name" or ".'SHA-256'").
	KeyStep StepKind = iota + 1
	// IndexStep selects list element Index ("[0]"). The grammar allows a
	// negative index; its meaning is left to the matcher.
	IndexStep
	// AnyIndexStep selects every list element ("[*]"): the comparison is
	// true if it holds for any of them.
	AnyIndexStep
)

// Step is one component of an object path.
type Step struct {
	Kind  StepKind
	Key   string // KeyStep only
	Index int64  // IndexStep only
}

// Value is a literal: one of StringLit, IntLit, FloatLit, BoolLit,
// BinaryLit, HexLit, TimestampLit or SetLit. Its String method returns the
// canonical pattern spelling.
type Value interface {
	String() string
	value()
}

// StringLit is a quoted string, with its escapes resolved.
type StringLit string

// IntLit is an integer literal.
type IntLit int64

// FloatLit is a floating-point literal.
type FloatLit float64

// BoolLit is true or false.
type BoolLit bool

// BinaryLit is b'base64', decoded.
type BinaryLit []byte

// HexLit is h'hex', decoded.
type HexLit []byte

// TimestampLit is t'RFC 3339', in UTC. A leap second (":60") is folded
// into the following second, as time.Date does.
type TimestampLit struct {
	Time time.Time
}

// SetLit is the parenthesised list after IN; it may be empty. Elements are
// any literal except SetLit.
type SetLit []Value

func (*Observation) observationExpr()         {}
func (*CompoundObservation) observationExpr() {}
func (*Qualified) observationExpr()           {}

func (Within) qualifier()    {}
func (Repeats) qualifier()   {}
func (StartStop) qualifier() {}

func (*Comparison) comparisonExpr()         {}
func (*CompoundComparison) comparisonExpr() {}

func (StringLit) value()    {}
func (IntLit) value()       {}
func (FloatLit) value()     {}
func (BoolLit) value()      {}
func (BinaryLit) value()    {}
func (HexLit) value()       {}
func (TimestampLit) value() {}
func (SetLit) value()       {}

// Observations returns the bracketed observation expressions of p in the
// order they appear. A matcher uses it to see every object type and path a
// pattern touches.
func (p *Pattern) Observations() []*Observation {
	var out []*Observation
	var walk func(ObservationExpr)
	walk = func(e ObservationExpr) {
		switch e := e.(type) {
		case *Observation:
			out = append(out, e)
		case *CompoundObservation:
			for _, o := range e.Operands {
				walk(o)
			}
		case *Qualified:
			walk(e.Expr)
		}
	}
	walk(p.Expr)
	return out
}

// Comparisons returns the comparisons inside o in the order they appear.
func (o *Observation) Comparisons() []*Comparison {
	var out []*Comparison
	var walk func(ComparisonExpr)
	walk = func(e ComparisonExpr) {
		switch e := e.(type) {
		case *Comparison:
			out = append(out, e)
		case *CompoundComparison:
			for _, c := range e.Operands {
				walk(c)
			}
		}
	}
	walk(o.Expr)
	return out
}

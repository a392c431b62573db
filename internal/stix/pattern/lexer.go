package pattern

import (
	"encoding/base64"
	"encoding/hex"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

type tokenKind int

const (
	tEOF tokenKind = iota
	tIdent
	tString
	tInt
	tFloat
	tBool
	tBinary
	tHex
	tTimestamp
	// punctuation
	tLBrack
	tRBrack
	tLParen
	tRParen
	tColon
	tDot
	tComma
	tStar
	tEq
	tNeq
	tLt
	tLe
	tGt
	tGe
	// keywords
	tAnd
	tOr
	tNot
	tFollowedBy
	tLike
	tMatches
	tIsSuperset
	tIsSubset
	tExists
	tLast
	tIn
	tStart
	tStop
	tSeconds
	tWithin
	tRepeats
	tTimes
)

// keywords are case-sensitive in STIX 2.1 (they were not in 2.0), and
// reserved: a keyword is never an object type or a property name. LAST is
// reserved by the grammar though no rule uses it.
var keywords = map[string]tokenKind{
	"AND": tAnd, "OR": tOr, "NOT": tNot, "FOLLOWEDBY": tFollowedBy, "LIKE": tLike,
	"MATCHES": tMatches, "ISSUPERSET": tIsSuperset, "ISSUBSET": tIsSubset, "EXISTS": tExists,
	"LAST": tLast, "IN": tIn, "START": tStart, "STOP": tStop, "SECONDS": tSeconds,
	"WITHIN": tWithin, "REPEATS": tRepeats, "TIMES": tTimes,
	"true": tBool, "false": tBool,
}

// token is one lexeme. The literal kinds carry their decoded value so the
// parser need not look at the text again.
type token struct {
	kind   tokenKind
	off    int    // byte offset of the first character
	text   string // as written
	hyphen bool   // tIdent: contains '-', so it can only be an object type
	str    string // tString: unescaped
	i      int64
	f      float64
	b      bool
	bytes  []byte
	t      time.Time
}

// lexer turns the input into tokens on demand, so that a syntax error early
// in the input is reported before a lexical error later in it.
type lexer struct {
	src string
	pos int
}

func (l *lexer) fail(off int, found, msg string) {
	panic(newError(l.src, off, found, "", msg))
}

// isSpace reports the characters the grammar skips: ASCII blanks and the
// Unicode space separators it lists.
func isSpace(r rune) bool {
	switch r {
	case ' ', '\t', '\r', '\n', '\v', '\f', 0x85, 0xA0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
		return true
	}
	return r >= 0x2000 && r <= 0x200A
}

// skip passes over blanks and comments ("/* … */" and "// …" to the end of
// the line), which the grammar discards.
func (l *lexer) skip() {
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		if c == '/' && l.pos+1 < len(l.src) {
			switch l.src[l.pos+1] {
			case '*':
				end := strings.Index(l.src[l.pos+2:], "*/")
				if end < 0 {
					l.fail(l.pos, "'/*'", "unterminated comment")
				}
				l.pos += 2 + end + 2
				continue
			case '/':
				end := strings.IndexAny(l.src[l.pos:], "\r\n")
				if end < 0 {
					l.pos = len(l.src)
				} else {
					l.pos += end
				}
				continue
			}
		}
		r, n := utf8.DecodeRuneInString(l.src[l.pos:])
		if !isSpace(r) {
			return
		}
		l.pos += n
	}
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }

// next returns the next token; it panics with a *SyntaxError on text no
// token can start with or a malformed literal.
func (l *lexer) next() token {
	l.skip()
	start := l.pos
	if start >= len(l.src) {
		return token{kind: tEOF, off: start}
	}
	c := l.src[start]
	one := func(k tokenKind) token {
		l.pos++
		return token{kind: k, off: start, text: l.src[start:l.pos]}
	}
	two := func(k tokenKind) token {
		l.pos += 2
		return token{kind: k, off: start, text: l.src[start:l.pos]}
	}
	peek := func(i int) byte {
		if start+i < len(l.src) {
			return l.src[start+i]
		}
		return 0
	}
	switch {
	case c == '[':
		return one(tLBrack)
	case c == ']':
		return one(tRBrack)
	case c == '(':
		return one(tLParen)
	case c == ')':
		return one(tRParen)
	case c == ':':
		return one(tColon)
	case c == ',':
		return one(tComma)
	case c == '*':
		return one(tStar)
	case c == '=':
		if peek(1) == '=' {
			return two(tEq)
		}
		return one(tEq)
	case c == '!':
		if peek(1) == '=' {
			return two(tNeq)
		}
	case c == '<':
		switch peek(1) {
		case '=':
			return two(tLe)
		case '>':
			return two(tNeq)
		}
		return one(tLt)
	case c == '>':
		if peek(1) == '=' {
			return two(tGe)
		}
		return one(tGt)
	case c == '\'':
		return l.stringLit()
	case c == '.':
		if isDigit(peek(1)) {
			return l.number()
		}
		return one(tDot)
	case isDigit(c):
		return l.number()
	case c == '+' || c == '-':
		if isDigit(peek(1)) || peek(1) == '.' && isDigit(peek(2)) {
			return l.number()
		}
	case isLetter(c):
		if peek(1) == '\'' {
			switch c {
			case 'b', 'h', 't':
				return l.prefixedLit(c)
			}
		}
		return l.ident()
	}
	r, _ := utf8.DecodeRuneInString(l.src[start:])
	l.fail(start, quoteFound(string(r)), "unexpected character "+quoteFound(string(r)))
	panic("unreachable")
}

func (l *lexer) ident() token {
	start := l.pos
	hyphen := false
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		if c == '-' {
			hyphen = true
		} else if !isLetter(c) && !isDigit(c) {
			break
		}
		l.pos++
	}
	text := l.src[start:l.pos]
	if k, ok := keywords[text]; ok {
		return token{kind: k, off: start, text: text, b: text == "true"}
	}
	return token{kind: tIdent, off: start, text: text, hyphen: hyphen}
}

// number reads the grammar's IntPosLiteral, IntNegLiteral, FloatPosLiteral
// and FloatNegLiteral: an optional sign, digits, and an optional fraction
// with at least one digit. No exponent.
func (l *lexer) number() token {
	start := l.pos
	if c := l.src[l.pos]; c == '+' || c == '-' {
		l.pos++
	}
	digits := l.pos
	for l.pos < len(l.src) && isDigit(l.src[l.pos]) {
		l.pos++
	}
	intEnd := l.pos
	isFloat := false
	if l.pos+1 < len(l.src) && l.src[l.pos] == '.' && isDigit(l.src[l.pos+1]) {
		isFloat = true
		l.pos++
		for l.pos < len(l.src) && isDigit(l.src[l.pos]) {
			l.pos++
		}
	}
	text := l.src[start:l.pos]
	if isFloat {
		f, err := strconv.ParseFloat(text, 64)
		if err != nil || math.IsInf(f, 0) {
			l.fail(start, quoteFound(text), "float "+quoteFound(text)+" is out of range")
		}
		return token{kind: tFloat, off: start, text: text, f: f}
	}
	if intEnd-digits > 1 && l.src[digits] == '0' {
		l.fail(start, quoteFound(text), "integer "+quoteFound(text)+" has a leading zero")
	}
	i, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		l.fail(start, quoteFound(text), "integer "+quoteFound(text)+" is out of range")
	}
	return token{kind: tInt, off: start, text: text, i: i}
}

// stringLit reads a quoted string. The only escapes are \' and \\; any
// other backslash is an error, which catches regular expressions written
// with single backslashes ("\d" must be "\\d").
func (l *lexer) stringLit() token {
	start := l.pos
	var b strings.Builder
	l.pos++
	for {
		if l.pos >= len(l.src) {
			l.fail(start, quoteFound(l.src[start:]), "unterminated string")
		}
		c := l.src[l.pos]
		switch c {
		case '\'':
			l.pos++
			return token{kind: tString, off: start, text: l.src[start:l.pos], str: b.String()}
		case '\\':
			if l.pos+1 < len(l.src) && (l.src[l.pos+1] == '\'' || l.src[l.pos+1] == '\\') {
				b.WriteByte(l.src[l.pos+1])
				l.pos += 2
				continue
			}
			end := l.pos + 1
			if end < len(l.src) {
				_, n := utf8.DecodeRuneInString(l.src[end:])
				end += n
			}
			bad := l.src[l.pos:end]
			l.fail(l.pos, quoteFound(bad), "invalid escape "+quoteFound(bad)+" in string: only \\' and \\\\ are allowed")
		default:
			b.WriteByte(c)
			l.pos++
		}
	}
}

// prefixedLit reads b'…', h'…' and t'…'. Their contents cannot contain a
// quote, so the literal ends at the next one.
func (l *lexer) prefixedLit(prefix byte) token {
	start := l.pos
	end := strings.IndexByte(l.src[start+2:], '\'')
	if end < 0 {
		l.fail(start, quoteFound(l.src[start:]), "unterminated "+string(prefix)+"'…' literal")
	}
	body := l.src[start+2 : start+2+end]
	l.pos = start + 2 + end + 1
	text := l.src[start:l.pos]
	tok := token{off: start, text: text}
	switch prefix {
	case 'b':
		// The grammar admits only canonical padded base64: whole groups of
		// four, '=' only as padding, at least one group.
		ok := len(body) > 0 && len(body)%4 == 0
		for i := 0; ok && i < len(body); i++ {
			c := body[i]
			ok = isLetter(c) && c != '_' || isDigit(c) || c == '+' || c == '/' ||
				c == '=' && (i == len(body)-1 || i == len(body)-2 && body[i+1] == '=')
		}
		var err error
		if ok {
			tok.bytes, err = base64.StdEncoding.DecodeString(body)
		}
		if !ok || err != nil {
			l.fail(start, quoteFound(text), "invalid binary literal "+quoteFound(text)+": want padded base64")
		}
		tok.kind = tBinary
	case 'h':
		var err error
		tok.bytes, err = hex.DecodeString(body)
		if err != nil {
			l.fail(start, quoteFound(text), "invalid hex literal "+quoteFound(text)+": want pairs of hex digits")
		}
		tok.kind = tHex
	case 't':
		t, msg := parseTimestamp(body)
		if msg != "" {
			l.fail(start, quoteFound(text), "invalid timestamp "+quoteFound(text)+": "+msg)
		}
		tok.kind, tok.t = tTimestamp, t
	}
	return tok
}

// parseTimestamp reads the grammar's timestamp form, YYYY-MM-DDTHH:MM:SS
// with an optional fraction and a literal "Z" (no offsets, upper-case T
// and Z), and checks it names a real date. It returns a reason on failure.
func parseTimestamp(s string) (time.Time, string) {
	const want = "want YYYY-MM-DDTHH:MM:SS[.fraction]Z"
	if len(s) < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[len(s)-1] != 'Z' {
		return time.Time{}, want
	}
	num := func(a, b int) int {
		n := 0
		for i := a; i < b; i++ {
			if !isDigit(s[i]) {
				return -1
			}
			n = n*10 + int(s[i]-'0')
		}
		return n
	}
	year, month, day := num(0, 4), num(5, 7), num(8, 10)
	hour, minute, sec := num(11, 13), num(14, 16), num(17, 19)
	if year < 0 || month < 0 || day < 0 || hour < 0 || minute < 0 || sec < 0 {
		return time.Time{}, want
	}
	nsec := 0
	if frac := s[19 : len(s)-1]; frac != "" {
		if frac[0] != '.' || len(frac) == 1 {
			return time.Time{}, want
		}
		scale := 100000000
		for i := 1; i < len(frac); i++ {
			if !isDigit(frac[i]) {
				return time.Time{}, want
			}
			// Digits beyond nanoseconds are accepted and dropped.
			nsec += int(frac[i]-'0') * scale
			scale /= 10
		}
	}
	switch {
	case month < 1 || month > 12:
		return time.Time{}, "month out of range"
	case day < 1 || day > daysIn(month, year):
		return time.Time{}, "day out of range"
	case hour > 23:
		return time.Time{}, "hour out of range"
	case minute > 59:
		return time.Time{}, "minute out of range"
	case sec > 60:
		return time.Time{}, "second out of range"
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC), ""
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

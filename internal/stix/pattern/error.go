package pattern

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// SyntaxError reports why a pattern was rejected and where.
type SyntaxError struct {
	// Offset is the byte offset of the offending text in the input.
	Offset int
	// Line and Column locate Offset, both from 1; Column counts characters
	// (runes), not bytes, so that a caret can be placed under it.
	Line, Column int
	// Found is the offending text as written, shortened if long, or
	// "end of pattern".
	Found string
	// Expected is what the grammar allowed there, when the error is a
	// mismatch; empty when the text was well placed but invalid (a bad
	// timestamp, an integer out of range).
	Expected string
	// Msg is the whole explanation, without the position.
	Msg string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%d:%d: %s", e.Line, e.Column, e.Msg)
}

// newError builds a SyntaxError at byte offset off of src.
func newError(src string, off int, found, expected, msg string) *SyntaxError {
	line, col := position(src, off)
	if msg == "" {
		msg = "expected " + expected + " but found " + found
	}
	return &SyntaxError{Offset: off, Line: line, Column: col, Found: found, Expected: expected, Msg: msg}
}

// position converts a byte offset into a line and a rune column. \r\n, \n
// and a lone \r each end a line, as editors count them.
func position(src string, off int) (line, col int) {
	if off > len(src) {
		off = len(src)
	}
	line, start := 1, 0
	for i := 0; i < off; i++ {
		switch src[i] {
		case '\n':
			line, start = line+1, i+1
		case '\r':
			if i+1 < len(src) && src[i+1] == '\n' {
				continue
			}
			line, start = line+1, i+1
		}
	}
	return line, utf8.RuneCountInString(src[start:off]) + 1
}

// quoteFound renders offending text for a message: quoted, one line, and
// short enough to read.
func quoteFound(s string) string {
	const max = 32
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i] + "…"
	}
	if utf8.RuneCountInString(s) > max {
		r := []rune(s)
		s = string(r[:max]) + "…"
	}
	return "'" + s + "'"
}

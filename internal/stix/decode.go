package stix

import (
	"bytes"
	"errors"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"

	"github.com/go-json-experiment/json/jsontext"
)

// maxSafeInt is 2^53: JSON integers at or beyond it cannot round-trip through
// an IEEE 754 double, which is how RFC 8785 and most STIX tools read numbers.
const maxSafeInt = 1 << 53

// maxDepth bounds nesting so a hostile object cannot exhaust the stack.
const maxDepth = 100

// decoders are reused: a jsontext.Decoder holds buffers worth keeping.
var decoders = sync.Pool{New: func() any {
	pd := &pooledDecoder{}
	pd.d = jsontext.NewDecoder(&pd.r)
	return pd
}}

type pooledDecoder struct {
	d *jsontext.Decoder
	r bytes.Reader
}

type decodeError struct {
	path string
	msg  string
}

func (e *decodeError) Error() string { return e.path + ": " + e.msg }

// decodeStrict reads one JSON value into the generic tree (map[string]any,
// []any, string, float64, bool, nil). Default jsontext options are strict:
// duplicate names and invalid UTF-8 are errors.
func decodeStrict(raw []byte) (any, error) {
	pd := decoders.Get().(*pooledDecoder)
	pd.r.Reset(raw)
	d := pd.d
	d.Reset(&pd.r)
	defer func() {
		pd.r.Reset(nil)
		decoders.Put(pd)
	}()
	v, err := readValue(d)
	if err != nil {
		return nil, convertDecodeError(d, err)
	}
	if _, err := d.ReadToken(); err != io.EOF {
		if err == nil {
			return nil, &decodeError{path: "$", msg: "unexpected data after the top-level value"}
		}
		return nil, convertDecodeError(d, err)
	}
	return v, nil
}

func readValue(d *jsontext.Decoder) (any, error) {
	tok, err := d.ReadToken()
	if err != nil {
		return nil, err
	}
	switch tok.Kind() {
	case '{':
		if d.StackDepth() > maxDepth {
			return nil, errTooDeep
		}
		m := make(map[string]any, 8)
		for d.PeekKind() != '}' {
			name, err := d.ReadToken()
			if err != nil {
				return nil, err
			}
			k := name.String()
			v, err := readValue(d)
			if err != nil {
				return nil, err
			}
			m[k] = v
		}
		if _, err := d.ReadToken(); err != nil {
			return nil, err
		}
		return m, nil
	case '[':
		if d.StackDepth() > maxDepth {
			return nil, errTooDeep
		}
		var a []any
		for d.PeekKind() != ']' {
			v, err := readValue(d)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		}
		if _, err := d.ReadToken(); err != nil {
			return nil, err
		}
		if a == nil {
			a = []any{}
		}
		return a, nil
	case '"':
		return tok.String(), nil
	case '0':
		f, err := tok.Float()
		if err != nil || math.IsInf(f, 0) {
			return nil, errNumberRange
		}
		// An integer literal beyond the safe range is rejected, and so is a
		// fraction or exponent form of such an integral value below 1e21:
		// RFC 8785 would write it back as an integer literal that this
		// check then refuses, so Canonical would not re-parse.
		if a := math.Abs(f); a >= maxSafeInt && (a < 1e21 && a == math.Trunc(a) || !strings.ContainsAny(tok.String(), ".eE")) {
			return nil, errIntRange
		}
		return f, nil
	case 't', 'f':
		return tok.Bool(), nil
	case 'n':
		return nil, nil
	}
	return nil, errors.New("unexpected JSON token")
}

var (
	errIntRange    = errors.New("integer outside ±(2^53-1)")
	errNumberRange = errors.New("number outside the range of a double")
	errTooDeep     = errors.New("nesting deeper than 100 levels")
)

func convertDecodeError(d *jsontext.Decoder, err error) error {
	if err == errTooDeep {
		// Name the top-level property; the full path would be as deep as
		// the nesting it reports.
		p := d.StackPointer()
		for p.Parent() != "" && p.Parent().Parent() != "" {
			p = p.Parent()
		}
		if p.Parent() != "" {
			p = p.Parent()
		}
		return &decodeError{path: pointerToPath(p), msg: err.Error()}
	}
	if err == errIntRange || err == errNumberRange {
		return &decodeError{path: pointerToPath(d.StackPointer()), msg: err.Error()}
	}
	var se *jsontext.SyntacticError
	if errors.As(err, &se) {
		msg := se.Err.Error()
		switch {
		case errors.Is(se.Err, jsontext.ErrDuplicateName):
			msg = "duplicate member name"
		case strings.Contains(msg, "UTF-8"):
			msg = "invalid UTF-8"
		}
		return &decodeError{path: pointerToPath(se.JSONPointer), msg: "invalid JSON: " + msg}
	}
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return &decodeError{path: "$", msg: "invalid JSON: unexpected end of input"}
	}
	return &decodeError{path: "$", msg: "invalid JSON: " + err.Error()}
}

// pointerToPath turns an RFC 6901 pointer into the JSONPath form used in
// errors. Numeric tokens are shown as indices; STIX property names never are
// numeric, so the reading is unambiguous in practice.
func pointerToPath(p jsontext.Pointer) string {
	var b strings.Builder
	b.WriteString("$")
	for tok := range p.Tokens() {
		if _, err := strconv.Atoi(tok); err == nil && tok != "" {
			b.WriteString("[" + tok + "]")
		} else {
			b.WriteString("." + tok)
		}
	}
	return b.String()
}

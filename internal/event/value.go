package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json/jsontext"
)

// maxSafeInteger is 2^53, beyond which an integer has no exact JSON
// interchange form (RFC 7493).
const maxSafeInteger = 1 << 53

// jsonLine decodes one line holding one JSON object, strictly: duplicate
// names and invalid UTF-8 are errors (jsontext's defaults). It reuses its
// decoder, which reads the line in place.
type jsonLine struct {
	d  *jsontext.Decoder
	bb bytes.Buffer
}

func newJSONLine() *jsonLine {
	j := &jsonLine{}
	j.d = jsontext.NewDecoder(&j.bb)
	return j
}

// start points the decoder at line.
func (j *jsonLine) start(line []byte) {
	j.bb = *bytes.NewBuffer(line)
	j.d.Reset(&j.bb)
}

// end checks that nothing follows the value just read.
func (j *jsonLine) end() error {
	if _, err := j.d.ReadToken(); err != io.EOF {
		return errors.New("invalid JSON: data after the object")
	}
	return nil
}

// object decodes line into maps, slices, strings, json.Number, bools and
// nil.
func (j *jsonLine) object(line []byte) (map[string]any, error) {
	j.start(line)
	if j.d.PeekKind() != '{' {
		return nil, errors.New("not a JSON object")
	}
	v, err := decodeAny(j.d)
	if err != nil {
		return nil, jsonErr(err)
	}
	if err := j.end(); err != nil {
		return nil, err
	}
	return v.(map[string]any), nil
}

func jsonErr(err error) error {
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("invalid JSON: unexpected end of line")
	}
	return fmt.Errorf("invalid JSON: %v", strings.TrimPrefix(err.Error(), "jsontext: "))
}

// decodeAny reads one JSON value as maps, slices, strings, json.Number,
// bools and nil. It is not match's STIX decoder, which refuses integers
// beyond ±2^53 as STIX requires: log events may carry them (Suricata's
// flow_id is a 64-bit number), and such a line must still decode.
func decodeAny(d *jsontext.Decoder) (any, error) {
	switch d.PeekKind() {
	case '{':
		if _, err := d.ReadToken(); err != nil {
			return nil, err
		}
		m := make(map[string]any, 16)
		for d.PeekKind() != '}' {
			tok, err := d.ReadToken()
			if err != nil {
				return nil, err
			}
			name := tok.String()
			v, err := decodeAny(d)
			if err != nil {
				return nil, err
			}
			m[name] = v
		}
		_, err := d.ReadToken()
		return m, err
	case '[':
		if _, err := d.ReadToken(); err != nil {
			return nil, err
		}
		var l []any
		for d.PeekKind() != ']' {
			v, err := decodeAny(d)
			if err != nil {
				return nil, err
			}
			l = append(l, v)
		}
		_, err := d.ReadToken()
		if l == nil {
			l = []any{}
		}
		return l, err
	case '0':
		raw, err := d.ReadValue()
		if err != nil {
			return nil, err
		}
		return json.Number(raw), nil
	}
	tok, err := d.ReadToken()
	if err != nil {
		return nil, err
	}
	switch tok.Kind() {
	case '"':
		return tok.String(), nil
	case 't', 'f':
		return tok.Bool(), nil
	}
	return nil, nil
}

// unquote returns the text of a raw JSON string the decoder has checked.
func unquote(raw []byte) string {
	s := raw[1 : len(raw)-1]
	if bytes.IndexByte(s, '\\') < 0 {
		return string(s)
	}
	b, _ := jsontext.AppendUnquote(nil, raw)
	return string(b)
}

// text reads a decoded JSON scalar as text: strings as they are, numbers
// as written, bools as true or false. ok is false for anything else and
// for empty strings.
func text(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, v != ""
	case json.Number:
		return string(v), true
	case bool:
		return strconv.FormatBool(v), true
	}
	return "", false
}

// integer reads a decoded JSON value (a number, or a string holding one)
// as an integer within ±2^53; a float that is integral counts.
func integer(v any) (int64, bool) {
	var s string
	switch v := v.(type) {
	case json.Number:
		s = string(v)
	case string:
		s = strings.TrimSpace(v)
	case int64:
		return v, v <= maxSafeInteger && v >= -maxSafeInteger
	default:
		return 0, false
	}
	return parseInt(s)
}

func parseInt(s string) (int64, bool) {
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i, i <= maxSafeInteger && i >= -maxSafeInteger
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > maxSafeInteger {
		return 0, false
	}
	return int64(f), true
}

// get follows a path of keys through nested maps.
func get(m map[string]any, path ...string) any {
	var v any = m
	for _, k := range path {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[k]
	}
	return v
}

// str is get for a non-empty scalar read as text.
func str(m map[string]any, path ...string) string {
	s, _ := text(get(m, path...))
	return s
}

// timeLayouts are the timestamp spellings events use besides RFC 3339:
// Suricata's numeric zone offset, a space for the T, no zone at all (read
// as UTC).
var timeLayouts = []string{
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999Z0700",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
}

// parseTime reads a timestamp: RFC 3339 and the variants above, or a
// number of seconds since the Unix epoch with an optional fraction. A
// larger epoch number is read as milliseconds (beyond 10^11), microseconds
// (beyond 10^14) or nanoseconds (beyond 10^17), since no event of this
// era is that far from 1970 in seconds.
func parseTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, false
	}
	if c := s[0]; c >= '0' && c <= '9' && len(s) > 4 && s[4] == '-' {
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t.UTC(), true
		}
		for _, l := range timeLayouts {
			if t, err := time.Parse(l, s); err == nil {
				return t.UTC(), true
			}
		}
		return time.Time{}, false
	}
	return epochTime(s)
}

func epochTime(s string) (time.Time, bool) {
	intPart, frac, _ := strings.Cut(s, ".")
	sec, err := strconv.ParseInt(intPart, 10, 64)
	if err != nil || sec < 0 {
		return time.Time{}, false
	}
	// Keep the fraction exact: a float64 loses sub-microsecond digits.
	var nanos int64
	for i := 0; i < 9; i++ {
		nanos *= 10
		if i < len(frac) {
			c := frac[i]
			if c < '0' || c > '9' {
				return time.Time{}, false
			}
			nanos += int64(c - '0')
		}
	}
	for i := 9; i < len(frac); i++ {
		if frac[i] < '0' || frac[i] > '9' {
			return time.Time{}, false
		}
	}
	var t time.Time
	switch {
	case sec > 1e17:
		t = time.Unix(0, sec)
	case sec > 1e14:
		t = time.UnixMicro(sec).Add(time.Duration(nanos / 1e6))
	case sec > 1e11:
		t = time.UnixMilli(sec).Add(time.Duration(nanos / 1e3))
	default:
		t = time.Unix(sec, nanos)
	}
	return t.UTC(), true
}

// stixTime formats t as a STIX timestamp.
func stixTime(t time.Time) string {
	return t.UTC().Format(time.RFC3339Nano)
}

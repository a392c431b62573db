package event

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// csvReader reads RFC 4180 CSV: a header row naming the columns, then one
// record per line, a quoted field possibly spanning lines. A quote inside
// an unquoted field is kept as text, as logs often hold such fields.
// Fields are split here rather than by encoding/csv so that a malformed
// or overlong record is reported with its line and the stream resumes at
// the next line.
type csvReader struct {
	lr      *lineReader
	plan    *plan
	comma   byte
	commaOK bool
	header  bool
	ncols   int
	cols    [][]int // rule indexes per column
	rec     []byte
	fields  []string
	caps    [][]val
	b       builder
	err     error
}

func newCSVReader(lr *lineReader, m *Mapping, comma rune) (*csvReader, error) {
	r := &csvReader{lr: lr, plan: compile(m), caps: make([][]val, len(m.rules))}
	switch {
	case comma == 0:
	case comma < utf8.RuneSelf && comma != '"' && comma != '\n' && comma != '\r':
		r.comma, r.commaOK = byte(comma), true
	default:
		return nil, fmt.Errorf("%w: CSV separator %q: want an ASCII character other than a quote or line break", ErrFormat, comma)
	}
	return r, nil
}

var errOpenQuote = errors.New("quoted field not closed")

func (r *csvReader) Next() (Event, error) {
	if r.err != nil {
		return Event{}, r.err
	}
	for {
		line, err := r.lr.next()
		if err != nil {
			return Event{}, err
		}
		start := r.lr.line
		if !r.header && blank(line) {
			continue
		}
		if !r.commaOK {
			r.comma, r.commaOK = guessComma(line), true
		}
		r.rec = append(r.rec[:0], line...)
		for {
			r.fields, err = splitCSV(r.fields[:0], r.rec, r.comma)
			if err != errOpenQuote {
				break
			}
			more, lerr := r.lr.next()
			if lerr != nil {
				if errors.Is(lerr, ErrLineTooLong) {
					return Event{}, &LineError{Line: start, Err: fmt.Errorf("record: %v", ErrLineTooLong)}
				}
				if lerr == io.EOF {
					break
				}
				return Event{}, lerr
			}
			if len(r.rec)+1+len(more) > r.lr.max {
				return Event{}, &LineError{Line: start, Err: fmt.Errorf("record: %v", ErrLineTooLong)}
			}
			r.rec = append(append(r.rec, '\n'), more...)
		}
		if err != nil {
			return Event{}, &LineError{Line: start, Err: err}
		}
		if !utf8.Valid(r.rec) {
			return Event{}, &LineError{Line: start, Err: errors.New("invalid UTF-8")}
		}
		if !r.header {
			if err := r.readHeader(); err != nil {
				r.err = err
				return Event{}, err
			}
			continue
		}
		if len(r.fields) == 1 && r.fields[0] == "" {
			continue // a blank line
		}
		if len(r.fields) != r.ncols {
			return Event{}, lineErr(start, "record has %d fields, the header %d", len(r.fields), r.ncols)
		}
		for i := range r.caps {
			r.caps[i] = r.caps[i][:0]
		}
		for c, rules := range r.cols {
			f := strings.TrimSpace(r.fields[c])
			if f == "" || len(rules) == 0 {
				continue
			}
			for _, i := range rules {
				r.caps[i] = append(r.caps[i], val{s: f})
			}
		}
		ob, err := r.plan.observation(&r.b, r.caps, r.rec)
		if err != nil {
			return Event{}, &LineError{Line: start, Err: err}
		}
		return Event{Observation: ob, Raw: r.rec, Line: start}, nil
	}
}

func (r *csvReader) readHeader() error {
	r.header = true
	r.ncols = len(r.fields)
	r.cols = make([][]int, r.ncols)
	mapped := false
	for c, name := range r.fields {
		name = strings.TrimSpace(name)
		for i, rule := range r.plan.rules {
			if rule.field == name {
				r.cols[c] = append(r.cols[c], i)
				mapped = true
			}
		}
	}
	if !mapped {
		return fmt.Errorf("%w: line %d: no CSV column is named in the mapping (columns: %s)",
			ErrFormat, r.lr.line, strings.Join(r.fields, ", "))
	}
	return nil
}

// splitCSV appends the fields of rec to fields. It returns errOpenQuote
// when rec ends inside a quoted field, so that the caller can add the
// next line.
func splitCSV(fields []string, rec []byte, comma byte) ([]string, error) {
	i := 0
	for {
		if i < len(rec) && rec[i] == '"' {
			var b strings.Builder
			j := i + 1
			for {
				k := indexByte(rec, j, '"')
				if k < 0 {
					return fields, errOpenQuote
				}
				b.Write(rec[j:k])
				if k+1 < len(rec) && rec[k+1] == '"' {
					b.WriteByte('"')
					j = k + 2
					continue
				}
				i = k + 1
				break
			}
			fields = append(fields, b.String())
			if i == len(rec) {
				return fields, nil
			}
			if rec[i] != comma {
				return fields, fmt.Errorf("column %d: text after a quoted field", len(fields))
			}
			i++
			continue
		}
		k := indexByte(rec, i, comma)
		if k < 0 {
			return append(fields, string(rec[i:])), nil
		}
		fields = append(fields, string(rec[i:k]))
		i = k + 1
	}
}

func indexByte(b []byte, from int, c byte) int {
	for i := from; i < len(b); i++ {
		if b[i] == c {
			return i
		}
	}
	return -1
}

// guessComma picks the separator of a header line: the most frequent of
// comma, semicolon and tab outside quotes, comma on a tie.
func guessComma(header []byte) byte {
	var n [3]int
	quoted := false
	for _, c := range header {
		switch c {
		case '"':
			quoted = !quoted
		case ',':
			if !quoted {
				n[0]++
			}
		case ';':
			if !quoted {
				n[1]++
			}
		case '\t':
			if !quoted {
				n[2]++
			}
		}
	}
	switch {
	case n[1] > n[0] && n[1] >= n[2]:
		return ';'
	case n[2] > n[0] && n[2] > n[1]:
		return '\t'
	}
	return ','
}

package event

import (
	"bytes"
	"errors"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
)

// fieldNode is one level of the mapping's field paths: the rules that end
// here and the keys that lead further.
type fieldNode struct {
	next  map[string]*fieldNode
	rules []int
}

func fieldTrie(rules []rule) *fieldNode {
	root := &fieldNode{}
	for i, r := range rules {
		n := root
		for _, seg := range strings.Split(r.field, ".") {
			c := n.next[seg]
			if c == nil {
				if n.next == nil {
					n.next = map[string]*fieldNode{}
				}
				c = &fieldNode{}
				n.next[seg] = c
			}
			n = c
		}
		n.rules = append(n.rules, i)
	}
	return root
}

// child finds where the member named by the raw JSON string name leads:
// the name as one key, or, when it holds dots, as a path of keys.
func (n *fieldNode) child(name []byte) *fieldNode {
	key := name[1 : len(name)-1]
	if bytes.IndexByte(key, '\\') >= 0 {
		key, _ = jsontext.AppendUnquote(nil, name)
	}
	if c := n.next[string(key)]; c != nil {
		return c
	}
	if bytes.IndexByte(key, '.') < 0 {
		return nil
	}
	for len(key) > 0 && n != nil {
		seg := key
		if i := bytes.IndexByte(key, '.'); i >= 0 {
			seg, key = key[:i], key[i+1:]
		} else {
			key = nil
		}
		n = n.next[string(seg)]
	}
	return n
}

// ndjsonReader reads one JSON object per line. It walks each line's
// tokens once, descending only into members the mapping names and
// skipping the rest without building them, which is what keeps it cheaper
// than decoding the event into maps.
type ndjsonReader struct {
	lr   *lineReader
	plan *plan
	root *fieldNode
	j    *jsonLine
	caps [][]val
	b    builder
}

func newNDJSONReader(lr *lineReader, m *Mapping) *ndjsonReader {
	p := compile(m)
	return &ndjsonReader{lr: lr, plan: p, root: fieldTrie(m.rules), j: newJSONLine(), caps: make([][]val, len(m.rules))}
}

func (r *ndjsonReader) Next() (Event, error) {
	line, err := r.lr.filled()
	if err != nil {
		return Event{}, err
	}
	ev, err := r.event(line)
	if err != nil {
		return Event{}, &LineError{Line: r.lr.line, Err: err}
	}
	return ev, nil
}

func (r *ndjsonReader) event(line []byte) (Event, error) {
	for i := range r.caps {
		r.caps[i] = r.caps[i][:0]
	}
	r.j.start(line)
	if r.j.d.PeekKind() != '{' {
		if err := r.j.d.SkipValue(); err != nil {
			return Event{}, jsonErr(err)
		}
		return Event{}, errors.New("not a JSON object")
	}
	if err := r.walk(r.root); err != nil {
		return Event{}, jsonErr(err)
	}
	if err := r.j.end(); err != nil {
		return Event{}, err
	}
	ob, err := r.plan.observation(&r.b, r.caps, line)
	if err != nil {
		return Event{}, err
	}
	return Event{Observation: ob, Raw: line, Line: r.lr.line}, nil
}

// walk reads the next value at trie node n, recording the scalars that
// end a mapped path. Arrays are entered at the same node, so a path
// reaches every element.
func (r *ndjsonReader) walk(n *fieldNode) error {
	d := r.j.d
	switch k := d.PeekKind(); k {
	case '{':
		if _, err := d.ReadToken(); err != nil {
			return err
		}
		for d.PeekKind() != '}' {
			name, err := d.ReadValue()
			if err != nil {
				return err
			}
			c := n.child(name)
			if c == nil {
				err = d.SkipValue()
			} else {
				err = r.walk(c)
			}
			if err != nil {
				return err
			}
		}
		_, err := d.ReadToken()
		return err
	case '[':
		if _, err := d.ReadToken(); err != nil {
			return err
		}
		for d.PeekKind() != ']' {
			if err := r.walk(n); err != nil {
				return err
			}
		}
		_, err := d.ReadToken()
		return err
	default:
		if len(n.rules) == 0 {
			return d.SkipValue()
		}
		raw, err := d.ReadValue()
		if err != nil {
			return err
		}
		var v val
		switch k {
		case 'n':
			return nil
		case '"':
			v.s = unquote(raw)
		default:
			v.s = string(raw)
		}
		for _, i := range n.rules {
			r.caps[i] = append(r.caps[i], v)
		}
		return nil
	}
}

func blank(line []byte) bool {
	for _, c := range line {
		if c != ' ' && c != '\t' && c != '\r' {
			return false
		}
	}
	return true
}

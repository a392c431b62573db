package event

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/setu-cti/setu/internal/match"
)

// stixSource feeds the STIX decoder: it counts lines, so that an object's
// byte offset can be turned into the line it starts on, and it refuses to
// read further than limit, which bounds the memory one object can take.
type stixSource struct {
	r        io.Reader
	off      int64   // bytes handed to the decoder
	newlines []int64 // offsets of newlines not yet passed by lineAt
	passed   int     // newlines before the first in newlines
	limit    int64
	started  bool
}

var errObjectTooLong = errors.New("object too long")

func (s *stixSource) Read(p []byte) (int, error) {
	if s.off >= s.limit {
		return 0, errObjectTooLong
	}
	if int64(len(p)) > s.limit-s.off {
		p = p[:s.limit-s.off]
	}
	n, err := s.r.Read(p)
	if !s.started && n > 0 {
		s.started = true
		if bytes.HasPrefix(p[:n], []byte("\xef\xbb\xbf")) {
			n = copy(p, p[3:n])
		}
	}
	for i := 0; i < n; {
		j := bytes.IndexByte(p[i:n], '\n')
		if j < 0 {
			break
		}
		s.newlines = append(s.newlines, s.off+int64(i+j))
		i += j + 1
	}
	s.off += int64(n)
	return n, err
}

// lineAt returns the 1-based line of byte offset off; offsets must not
// decrease from one call to the next.
func (s *stixSource) lineAt(off int64) int {
	i := 0
	for i < len(s.newlines) && s.newlines[i] < off {
		i++
	}
	s.passed += i
	s.newlines = append(s.newlines[:0], s.newlines[i:]...)
	return s.passed + 1
}

type stixState uint8

const (
	stixTop    stixState = iota // between top-level values
	stixArray                   // inside a top-level array of objects
	stixBundle                  // inside a bundle's objects array
	stixTail                    // the members after a bundle's objects array
)

// stixReader reads observed-data from bundles, JSON arrays, single
// objects, and any sequence of those (NDJSON of STIX objects included),
// one object at a time, without holding the stream. Framing is lenient
// (duplicate names, invalid UTF-8) so that such an object is rejected on
// its own, by match.DecodeObjects, and the stream goes on; a stream that
// is not well-formed JSON ends with a fatal error.
//
// An observed-data in the 2.1 form waits until every object its
// object_refs name has been read, in whichever order the stream has them;
// those still waiting at the end are reported then. Every object with an
// id is held until the end for that purpose, so memory grows with the
// objects in the stream, not with its bytes.
type stixReader struct {
	src     *stixSource
	d       *jsontext.Decoder
	max     int
	state   stixState
	held    map[string]map[string]any
	waiting map[string][]*pendingObs
	pending []*pendingObs
	queue   []result
	err     error
	eof     bool
	rebuilt []byte
}

type pendingObs struct {
	od      map[string]any
	refs    []string
	raw     []byte
	line    int
	missing int
	done    bool
}

type result struct {
	ev  Event
	err error
}

func newSTIXReader(lr *lineReader, max int) *stixReader {
	src := &stixSource{r: lr}
	return &stixReader{
		src: src, max: max,
		d:       jsontext.NewDecoder(src, jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)),
		held:    map[string]map[string]any{},
		waiting: map[string][]*pendingObs{},
	}
}

func (r *stixReader) Next() (Event, error) {
	for {
		if len(r.queue) > 0 {
			res := r.queue[0]
			r.queue = r.queue[1:]
			return res.ev, res.err
		}
		if r.err != nil {
			return Event{}, r.err
		}
		if r.eof {
			r.flush()
			if len(r.queue) == 0 {
				r.err = io.EOF
			}
			continue
		}
		if err := r.step(); err != nil {
			r.fail(err)
		}
	}
}

// allow lets the decoder read one more object of at most max bytes.
func (r *stixReader) allow() {
	r.src.limit = r.src.off + int64(r.max) + 1
}

func (r *stixReader) fail(err error) {
	var se *jsontext.SyntacticError
	switch {
	case errors.Is(err, errObjectTooLong):
		r.err = fmt.Errorf("event: line %d: STIX object: %w (the limit is %d bytes)", r.src.lineAt(r.d.InputOffset()), ErrLineTooLong, r.max)
	case errors.Is(err, io.ErrUnexpectedEOF):
		r.err = errors.New("event: STIX input ends inside a JSON value")
	case errors.As(err, &se):
		r.err = fmt.Errorf("event: STIX input is not well-formed JSON: line %d: %v", r.src.lineAt(se.ByteOffset), jsonErr(err))
	default:
		r.err = fmt.Errorf("event: reading STIX input: %w", err)
	}
}

// step reads one object, or the structure around objects.
func (r *stixReader) step() error {
	r.allow()
	d := r.d
	switch r.state {
	case stixTop:
		switch d.PeekKind() {
		case '[':
			_, err := d.ReadToken()
			r.state = stixArray
			return err
		case '{':
			return r.topObject()
		}
		_, err := d.ReadToken()
		if err == io.EOF {
			r.eof = true
			return nil
		}
		if err == nil {
			return errors.New("a STIX stream holds bundles, lists or objects")
		}
		return err
	case stixArray, stixBundle:
		if d.PeekKind() == ']' {
			_, err := d.ReadToken()
			if r.state == stixArray {
				r.state = stixTop
			} else {
				r.state = stixTail
			}
			return err
		}
		v, err := d.ReadValue()
		if err != nil {
			return err
		}
		line := r.src.lineAt(d.InputOffset() - int64(len(v)))
		r.handle(bytes.Clone(v), line)
		return nil
	case stixTail:
		for d.PeekKind() == '"' {
			if _, err := d.ReadToken(); err != nil {
				return err
			}
			r.allow()
			if err := d.SkipValue(); err != nil {
				return err
			}
		}
		_, err := d.ReadToken()
		r.state = stixTop
		return err
	}
	return nil
}

// topObject reads a top-level object member by member: a bundle's
// objects are then streamed, and any other object is put back together
// from its members and handled as one.
func (r *stixReader) topObject() error {
	d := r.d
	if _, err := d.ReadToken(); err != nil {
		return err
	}
	line := r.src.lineAt(d.InputOffset() - 1)
	typ := ""
	r.rebuilt = append(r.rebuilt[:0], '{')
	for d.PeekKind() == '"' {
		r.allow()
		raw, err := d.ReadValue()
		if err != nil {
			return err
		}
		// Copied: the decoder may reuse its buffer on the next call.
		name := string(raw)
		if name == `"objects"` && d.PeekKind() == '[' && (typ == "" || typ == "bundle") {
			if _, err := d.ReadToken(); err != nil {
				return err
			}
			r.state = stixBundle
			return nil
		}
		if len(r.rebuilt) > 1 {
			r.rebuilt = append(r.rebuilt, ',')
		}
		r.rebuilt = append(append(r.rebuilt, name...), ':')
		r.allow()
		v, err := d.ReadValue()
		if err != nil {
			return err
		}
		if name == `"type"` && len(v) > 0 && v[0] == '"' {
			typ = unquote(v)
		}
		r.rebuilt = append(r.rebuilt, v...)
		if len(r.rebuilt) > r.max {
			return errObjectTooLong
		}
	}
	if _, err := d.ReadToken(); err != nil {
		return err
	}
	if typ == "bundle" {
		return nil // a bundle without objects
	}
	r.rebuilt = append(r.rebuilt, '}')
	r.handle(bytes.Clone(r.rebuilt), line)
	return nil
}

// handle takes one framed object: observed-data becomes an event when its
// references are all read; any other object with an id is held for the
// observed-data that refer to it.
func (r *stixReader) handle(raw []byte, line int) {
	objs, err := match.DecodeObjects(raw)
	if err != nil {
		r.queue = append(r.queue, result{err: &LineError{Line: line, Err: err}})
		return
	}
	for _, o := range objs {
		if o["type"] != "observed-data" {
			if id, ok := o["id"].(string); ok {
				r.held[id] = o
				r.wake(id)
			}
			continue
		}
		p := &pendingObs{od: o, raw: raw, line: line}
		refs, _ := o["object_refs"].([]any)
		for _, ref := range refs {
			id, ok := ref.(string)
			if !ok {
				continue // match.Observations reports it
			}
			p.refs = append(p.refs, id)
			if _, ok := r.held[id]; !ok {
				if len(r.waiting[id]) == 0 || r.waiting[id][len(r.waiting[id])-1] != p {
					r.waiting[id] = append(r.waiting[id], p)
					p.missing++
				}
			}
		}
		if p.missing == 0 {
			r.ready(p)
		} else {
			r.pending = append(r.pending, p)
		}
	}
}

func (r *stixReader) wake(id string) {
	for _, p := range r.waiting[id] {
		if p.missing--; p.missing == 0 {
			r.ready(p)
		}
	}
	delete(r.waiting, id)
}

func (r *stixReader) ready(p *pendingObs) {
	p.done = true
	objs := make([]map[string]any, 0, 1+len(p.refs))
	objs = append(objs, p.od)
	for _, id := range p.refs {
		if o, ok := r.held[id]; ok {
			objs = append(objs, o)
		}
	}
	obs, err := match.Observations(objs)
	if err != nil {
		r.queue = append(r.queue, result{err: &LineError{Line: p.line, Err: err}})
		return
	}
	r.queue = append(r.queue, result{ev: Event{Observation: obs[0], Raw: p.raw, Line: p.line}})
}

// flush reports the observed-data still waiting at the end of the stream.
func (r *stixReader) flush() {
	for _, p := range r.pending {
		if !p.done {
			r.ready(p)
		}
	}
	r.pending = nil
}

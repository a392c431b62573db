package stix

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/go-json-experiment/json/jsontext"
)

// FrameError reports a stream that is not well-formed JSON at Offset (bytes
// from the start of the stream), where the object with the given 0-based
// Index was expected. Only NDJSON can be resumed: the reader then continues
// with the next line, and Recoverable is true. Otherwise the Reader is done
// and keeps returning the same error.
type FrameError struct {
	Offset      int64
	Line        int // 1-based line of Offset
	Index       int
	Recoverable bool
	Err         error
}

func (e *FrameError) Error() string {
	return fmt.Sprintf("malformed JSON at line %d (byte %d, object %d): %v", e.Line, e.Offset, e.Index+1, e.Err)
}

func (e *FrameError) Unwrap() error { return e.Err }

type readerState uint8

const (
	stStart      readerState = iota // before the first top-level value
	stArray                         // inside a top-level array of objects
	stBundle                        // inside the objects array of a bundle
	stBundleTail                    // after a bundle's objects array
	stAfterFirst                    // the first top-level value is done
	stLines                         // NDJSON, line by line
	stDone
)

// Reader frames a stream into raw JSON object values without loading it
// whole. It accepts a bundle (streamed object by object, whatever the order
// of its properties), a JSON array of objects, NDJSON (one object per line)
// or a single object. Anything after the first top-level value is read as
// NDJSON lines, which is what a stream of one object per line looks like.
//
// Framing is lenient: duplicate member names and invalid UTF-8 are left for
// Parse to reject per object, so one bad object does not stop the stream.
// A Reader is not safe for concurrent use.
type Reader struct {
	src   *recorder
	d     *jsontext.Decoder
	lines *bufio.Reader
	state readerState
	index int
	err   error // sticky, once framing cannot continue

	lineOff int64 // stream offset of the next NDJSON line

	lc     *lineCounter
	line   int // 1-based line where the last object returned starts
	lineNo int // NDJSON: the line number of the next line

	tailType   string // the bundle's type, when it came after objects
	typeBefore string // type seen before the objects array
}

// recorder keeps the bytes of the stream while the reader cannot yet tell a
// single object from a bundle, so the single object's exact bytes can be
// returned. It stops as soon as the stream turns out to be a bundle.
type recorder struct {
	r   io.Reader
	rec bool
	buf []byte
}

func (r *recorder) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if r.rec {
		r.buf = append(r.buf, p[:n]...)
	}
	return n, err
}

var lenient = []jsontext.Options{jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)}

// NewReader returns a Reader of r. It buffers r itself.
func NewReader(r io.Reader) *Reader {
	lc := &lineCounter{r: r}
	src := &recorder{r: lc, rec: true}
	return &Reader{src: src, lc: lc, d: jsontext.NewDecoder(src, lenient...)}
}

// Line is the 1-based line of the stream on which the object (or the bad
// NDJSON line) Next last returned starts.
func (r *Reader) Line() int { return r.line }

// lineCounter counts the lines of what is read through it, keeping only the
// positions of newlines not yet asked about: the positions asked about
// only grow, so memory stays within what the decoder buffers.
type lineCounter struct {
	r    io.Reader
	off  int64   // bytes read so far
	nl   []int64 // offsets of newlines at or after the last position asked
	base int     // newlines before them
}

func (c *lineCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	for i, b := range p[:n] {
		if b == '\n' {
			c.nl = append(c.nl, c.off+int64(i))
		}
	}
	c.off += int64(n)
	return n, err
}

// lineAt returns the 1-based line of the byte at offset pos, which must
// not be before a position asked about earlier.
func (c *lineCounter) lineAt(pos int64) int {
	k := 0
	for k < len(c.nl) && c.nl[k] < pos {
		k++
	}
	c.base += k
	c.nl = c.nl[:copy(c.nl, c.nl[k:])]
	return c.base + 1
}

// Next returns the next object's raw bytes (a copy the caller may keep) and
// its 0-based index in the stream; io.EOF at the end; a *FrameError when the
// stream is not well-formed JSON. A recoverable FrameError (a bad NDJSON
// line) uses up the index of the line it reports, so indexes keep matching
// positions in the stream.
func (r *Reader) Next() (raw []byte, index int, err error) {
	if r.err != nil {
		return nil, r.index, r.err
	}
	for {
		switch r.state {
		case stStart:
			done, err := r.start()
			if err == io.EOF && r.state == stDone {
				return nil, r.index, io.EOF
			}
			if err != nil {
				return nil, r.index, r.fatal(err)
			}
			if done != nil {
				r.state = stAfterFirst
				return r.yield(done)
			}
		case stArray, stBundle:
			k := r.d.PeekKind()
			if k == ']' {
				if _, err := r.d.ReadToken(); err != nil {
					return nil, r.index, r.fatal(err)
				}
				if r.state == stArray {
					r.state = stAfterFirst
				} else {
					r.state = stBundleTail
				}
				continue
			}
			v, err := r.d.ReadValue()
			if err != nil {
				return nil, r.index, r.fatal(err)
			}
			r.line = r.lc.lineAt(r.d.InputOffset() - int64(len(v)))
			return r.yield(v)
		case stBundleTail:
			for r.d.PeekKind() == '"' {
				name, err := r.d.ReadToken()
				if err != nil {
					return nil, r.index, r.fatal(err)
				}
				isType := name.String() == "type"
				v, err := r.d.ReadValue()
				if err != nil {
					return nil, r.index, r.fatal(err)
				}
				if isType {
					r.tailType = string(v)
				}
			}
			if _, err := r.d.ReadToken(); err != nil {
				return nil, r.index, r.fatal(err)
			}
			if r.tailType != "" && r.tailType != `"bundle"` {
				return nil, r.index, r.fatal(errors.New("an object with an objects array whose type is not bundle"))
			}
			r.state = stAfterFirst
		case stAfterFirst:
			if r.d.PeekKind() == 0 {
				_, err := r.d.ReadToken()
				if err == io.EOF {
					r.state = stDone
					return nil, r.index, io.EOF
				}
				if err != nil {
					return nil, r.index, r.fatal(err)
				}
			}
			// More follows the first value: the rest is NDJSON.
			r.lineOff = r.d.InputOffset()
			r.lineNo = r.lc.lineAt(r.lineOff)
			rest := bytes.Clone(r.d.UnreadBuffer())
			r.lines = bufio.NewReaderSize(io.MultiReader(bytes.NewReader(rest), r.src.r), 64<<10)
			r.state = stLines
		case stLines:
			return r.nextLine()
		case stDone:
			return nil, r.index, io.EOF
		}
	}
}

func (r *Reader) yield(v []byte) ([]byte, int, error) {
	i := r.index
	r.index++
	return bytes.Clone(v), i, nil
}

func (r *Reader) fatal(err error) error {
	off := r.d.InputOffset()
	var se *jsontext.SyntacticError
	if errors.As(err, &se) {
		off = se.ByteOffset
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	r.line = r.lc.lineAt(max(off, 0))
	r.err = &FrameError{Offset: off, Line: r.line, Index: r.index, Err: err}
	r.state = stDone
	return r.err
}

// start reads the beginning of the first top-level value. It returns the
// bytes of a single object, or nil after entering array or bundle mode.
func (r *Reader) start() ([]byte, error) {
	switch r.d.PeekKind() {
	case '[':
		r.src.rec, r.src.buf = false, nil
		if _, err := r.d.ReadToken(); err != nil {
			return nil, err
		}
		r.state = stArray
		return nil, nil
	case '{':
	case 0:
		_, err := r.d.ReadToken()
		if err == io.EOF {
			r.state = stDone
			return nil, io.EOF
		}
		return nil, err
	default:
		return nil, errors.New("the stream is neither an object, an array nor NDJSON")
	}
	if _, err := r.d.ReadToken(); err != nil {
		return nil, err
	}
	start := r.d.InputOffset() - 1
	for r.d.PeekKind() == '"' {
		name, err := r.d.ReadToken()
		if err != nil {
			return nil, err
		}
		n := name.String()
		if n == "objects" && r.d.PeekKind() == '[' && (r.typeBefore == "" || r.typeBefore == `"bundle"`) {
			if _, err := r.d.ReadToken(); err != nil {
				return nil, err
			}
			r.src.rec, r.src.buf = false, nil
			if r.typeBefore != "" {
				r.tailType = r.typeBefore
			}
			r.state = stBundle
			return nil, nil
		}
		v, err := r.d.ReadValue()
		if err != nil {
			return nil, err
		}
		if n == "type" {
			r.typeBefore = string(v)
		}
	}
	if _, err := r.d.ReadToken(); err != nil {
		return nil, err
	}
	end := r.d.InputOffset()
	if r.typeBefore == `"bundle"` {
		// A bundle without objects.
		r.src.rec, r.src.buf = false, nil
		r.state = stAfterFirst
		return nil, nil
	}
	obj := r.src.buf[start:end]
	r.src.rec, r.src.buf = false, nil
	r.line = r.lc.lineAt(start)
	return obj, nil
}

func (r *Reader) nextLine() ([]byte, int, error) {
	for {
		line, err := r.lines.ReadBytes('\n')
		off := r.lineOff
		r.lineOff += int64(len(line))
		no := r.lineNo
		if len(line) > 0 {
			r.lineNo++
		}
		if err != nil && err != io.EOF {
			return nil, r.index, r.fatalLine(off, err)
		}
		v := bytes.TrimSpace(line)
		if len(v) == 0 {
			if err == io.EOF {
				r.state = stDone
				return nil, r.index, io.EOF
			}
			continue
		}
		i := r.index
		r.index++
		r.line = no
		check := jsontext.Value(bytes.Clone(v))
		if cerr := check.Compact(); cerr != nil {
			off += int64(bytes.Index(line, v[:1]))
			var se *jsontext.SyntacticError
			if errors.As(cerr, &se) {
				off += se.ByteOffset
			}
			return nil, i, &FrameError{Offset: off, Line: no, Index: i, Recoverable: true, Err: cerr}
		}
		return v, i, nil
	}
}

func (r *Reader) fatalLine(off int64, err error) error {
	r.err = &FrameError{Offset: off, Line: r.lineNo, Index: r.index, Err: err}
	r.state = stDone
	return r.err
}

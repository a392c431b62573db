package event

import (
	"bytes"
	"io"
)

// lineReader splits a stream into lines without holding more than about
// max bytes of one, however long the line is: a line beyond max is
// skipped up to its end and reported once, so one enormous record costs
// neither memory nor the rest of the stream.
type lineReader struct {
	r          io.Reader
	buf        []byte
	start, end int // the unread bytes are buf[start:end]
	max        int
	line       int   // number of the last line returned
	err        error // from r; io.EOF once it is drained
	bomChecked bool
}

func newLineReader(r io.Reader, max int) *lineReader {
	return &lineReader{r: r, max: max}
}

// fill reads more input, first making room: the unread part moves to the
// front, and the buffer grows (up to max plus one read) when it is full.
func (l *lineReader) fill() {
	if l.err != nil {
		return
	}
	if l.start > 0 {
		l.end = copy(l.buf, l.buf[l.start:l.end])
		l.start = 0
	}
	if l.end == len(l.buf) {
		n := 2 * len(l.buf)
		if n == 0 {
			n = 64 << 10
		}
		if limit := l.max + 4096; n > limit && len(l.buf) < limit {
			n = limit
		}
		if n > len(l.buf) {
			nb := make([]byte, n)
			copy(nb, l.buf[:l.end])
			l.buf = nb
		}
	}
	for tries := 0; tries < 100; tries++ {
		n, err := l.r.Read(l.buf[l.end:])
		l.end += n
		if err != nil {
			l.err = err
			return
		}
		if n > 0 {
			return
		}
	}
	l.err = io.ErrNoProgress
}

// peek returns up to n bytes from the start of the unread input without
// consuming them, reading until a line ends, n bytes are buffered or the
// input ends. A read error other than io.EOF is returned.
func (l *lineReader) peek(n int) ([]byte, error) {
	for l.err == nil && l.end-l.start < n && bytes.IndexByte(l.buf[l.start:l.end], '\n') < 0 {
		l.fill()
	}
	if l.err != nil && l.err != io.EOF && l.end == l.start {
		return nil, l.err
	}
	return l.buf[l.start:min(l.end, l.start+n)], nil
}

// filled returns the next line that is not blank (see blank), as next
// does; blank lines are counted and skipped.
func (l *lineReader) filled() ([]byte, error) {
	for {
		line, err := l.next()
		if err != nil || !blank(line) {
			return line, err
		}
	}
}

// next returns the next line without its terminator (\n or \r\n) and
// counts it. The line is valid until the next call. A line longer than
// max is consumed and reported as a *LineError wrapping ErrLineTooLong. At
// the end it returns io.EOF, or the error that ended the input.
func (l *lineReader) next() ([]byte, error) {
	for {
		if i := bytes.IndexByte(l.buf[l.start:l.end], '\n'); i >= 0 {
			line := l.buf[l.start : l.start+i]
			l.start += i + 1
			l.line++
			if len(line) > l.max {
				return nil, &LineError{Line: l.line, Err: ErrLineTooLong}
			}
			return l.trim(line), nil
		}
		if l.end-l.start > l.max {
			return nil, l.skipLong()
		}
		if l.err != nil {
			if l.start == l.end {
				return nil, l.err
			}
			line := l.buf[l.start:l.end]
			l.start = l.end
			l.line++
			return l.trim(line), nil
		}
		l.fill()
	}
}

// skipLong discards the current line, which is already longer than max,
// through its terminator.
func (l *lineReader) skipLong() error {
	l.line++
	e := &LineError{Line: l.line, Err: ErrLineTooLong}
	for {
		if i := bytes.IndexByte(l.buf[l.start:l.end], '\n'); i >= 0 {
			l.start += i + 1
			return e
		}
		l.start = l.end
		if l.err != nil {
			return e
		}
		l.fill()
	}
}

func (l *lineReader) trim(line []byte) []byte {
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	if !l.bomChecked {
		l.bomChecked = true
		line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
	}
	return line
}

// Read lets a decoder take the rest of the input as one stream (STIX
// bundles are not line-framed); line counting is then the caller's.
func (l *lineReader) Read(p []byte) (int, error) {
	if l.start == l.end {
		if l.err != nil {
			return 0, l.err
		}
		if len(p) >= 4096 {
			// Large reads go straight through rather than via buf.
			n, err := l.r.Read(p)
			if err != nil {
				l.err = err
			}
			if n > 0 || err != nil {
				return n, err
			}
		}
		l.fill()
		if l.start == l.end {
			return 0, l.err
		}
	}
	n := copy(p, l.buf[l.start:l.end])
	l.start += n
	return n, nil
}

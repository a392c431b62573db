// Package event reads the security events a constituent's sensors produce
// and turns each into a match.Observation, so that shared STIX indicators
// can be matched against them.
//
// Formats:
//
//   - NDJSON: one JSON object per line; a Mapping says which fields become
//     which observable properties (DefaultMapping reads ECS-style names).
//   - CSV: a header row, then records; the same Mapping names columns.
//   - STIX: observed-data in bundles, JSON arrays or single objects, in
//     the STIX 2.1 form (object_refs to SCOs elsewhere in the stream) or
//     the 2.0 form (an embedded objects map).
//   - Zeek logs conn, dns, http, files, ssl and x509, in the TSV form with
//     its # headers or the JSON form (one object per line).
//   - Suricata eve.json: alert, dns, http, tls, fileinfo, flow, smtp.
//
// One event gives one Observation. Its observables are STIX 2.1 SCOs as
// the specification shapes them: network-traffic with src_ref and dst_ref
// to ipv4-addr or ipv6-addr objects, domain-name with resolves_to_refs,
// file and x509-certificate with hashes keyed 'MD5', 'SHA-1', 'SHA-256',
// url, email-addr, and http-request-ext under network-traffic's
// extensions. Each SCO carries its deterministic STIX 2.1 id, and
// references name those ids, so equal observables share an id across
// events and formats. An event's observation id is a UUIDv5 of its raw
// bytes, so reading a file twice gives the same ids. Property values are
// strings, int64 (ports, counts, sizes), bools, lists and maps.
//
// Observed-data in the STIX 2.1 form become events once every object they
// reference has been read, so events may come in another order than the
// observed-data in the stream.
//
// Errors: Next returns a *LineError for an event that cannot be read (bad
// JSON, a line longer than Options.MaxLine, a malformed record or
// timestamp); that event is skipped and Next may be called again. Any
// other error (the underlying reader failed, a STIX stream is not
// well-formed JSON) ends the stream, and Next keeps returning it.
//
// A Reader is not safe for concurrent use.
package event

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/setu-cti/setu/internal/match"
)

// Format names an input format.
type Format string

// The formats NewReader reads. Auto asks NewReader to Detect the format.
const (
	Auto     Format = ""
	NDJSON   Format = "ndjson"
	CSV      Format = "csv"
	STIX     Format = "stix"
	ZeekTSV  Format = "zeek"
	ZeekJSON Format = "zeek-json"
	Eve      Format = "eve"
)

// Formats lists the formats by name, for usage messages.
var Formats = []Format{NDJSON, CSV, STIX, ZeekTSV, ZeekJSON, Eve}

// ParseFormat reads a format name; "" and "auto" mean Auto.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(strings.TrimSpace(s))); f {
	case "", "auto":
		return Auto, nil
	case NDJSON, CSV, STIX, ZeekTSV, ZeekJSON, Eve:
		return f, nil
	case "json", "jsonl":
		return NDJSON, nil
	case "zeek-tsv":
		return ZeekTSV, nil
	case "suricata":
		return Eve, nil
	}
	return Auto, fmt.Errorf("%w: unknown format %q (want one of %s)", ErrFormat, s, formatNames())
}

func formatNames() string {
	s := make([]string, len(Formats))
	for i, f := range Formats {
		s[i] = string(f)
	}
	return strings.Join(s, ", ")
}

// Event is one event read from a stream.
type Event struct {
	// Observation holds the event's observables.
	Observation match.Observation
	// Raw is the event as read: its line (NDJSON, Zeek, eve), its record
	// (CSV) or its observed-data object (STIX), without the line
	// terminator. It is valid until the next call to Next; copy it to
	// keep it.
	Raw []byte
	// Line is the 1-based line on which the event starts.
	Line int
	// Kind says what the event is within its format: the Zeek log (conn,
	// dns, http, files, ssl, x509) or the eve event_type. It is empty for
	// NDJSON, CSV and STIX.
	Kind string
}

// Reader reads events one at a time.
type Reader interface {
	// Next returns the next event, or io.EOF after the last. A
	// *LineError means that the event on that line was skipped and the
	// stream goes on; any other error ends the stream.
	Next() (Event, error)
}

// DefaultMaxLine is the longest line (or CSV record, or STIX object)
// read when Options.MaxLine is zero.
const DefaultMaxLine = 1 << 20

// Options tune a Reader. The zero value reads with DefaultMapping,
// DefaultMaxLine, a CSV separator guessed from the header, and the Zeek
// log kind read from each JSON line.
type Options struct {
	// Mapping maps NDJSON fields and CSV columns to observables; nil
	// means DefaultMapping(). Other formats have fixed mappings.
	Mapping *Mapping
	// MaxLine bounds the bytes of one line, CSV record or STIX object;
	// longer ones are skipped with ErrLineTooLong (fatal for a STIX
	// bundle, which cannot be resumed). Zero means DefaultMaxLine.
	MaxLine int
	// Comma is the CSV separator; zero means the most frequent of ',',
	// ';' and tab in the header row (',' on a tie).
	Comma rune
	// ZeekLog names the Zeek log (conn, dns, http, files, ssl, x509) when
	// JSON lines carry no _path field; empty means guessing it from each
	// line's fields. For TSV the #path header decides.
	ZeekLog string
}

func (o *Options) maxLine() int {
	if o.MaxLine > 0 {
		return o.MaxLine
	}
	return DefaultMaxLine
}

var (
	// ErrFormat reports an unknown format name or input whose format
	// cannot be detected.
	ErrFormat = errors.New("event: unknown input format")
	// ErrLineTooLong reports a line, record or object beyond
	// Options.MaxLine.
	ErrLineTooLong = errors.New("line too long")
)

// LineError reports an event that could not be read. The event was
// skipped; the stream goes on with the next one.
type LineError struct {
	Line int
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }

func (e *LineError) Unwrap() error { return e.Err }

func lineErr(line int, format string, args ...any) *LineError {
	return &LineError{Line: line, Err: fmt.Errorf(format, args...)}
}

// detectWindow is how much of the stream Auto looks at.
const detectWindow = 64 << 10

// NewReader returns a Reader of r in format f. With Auto it looks at the
// start of the stream (without consuming it) and fails with ErrFormat when
// the format cannot be told. A CSV header that no rule of the Mapping
// names fails the first Next with ErrFormat, for good.
func NewReader(r io.Reader, f Format, opts Options) (Reader, error) {
	lr := newLineReader(r, opts.maxLine())
	if f == Auto {
		prefix, err := lr.peek(detectWindow)
		if err != nil {
			return nil, err
		}
		if f = Detect(prefix); f == Auto {
			return nil, fmt.Errorf("%w: cannot tell the format from the start of the input", ErrFormat)
		}
	}
	m := opts.Mapping
	if m == nil {
		m = DefaultMapping()
	}
	switch f {
	case NDJSON:
		return newNDJSONReader(lr, m), nil
	case CSV:
		return newCSVReader(lr, m, opts.Comma)
	case STIX:
		return newSTIXReader(lr, opts.maxLine()), nil
	case ZeekTSV:
		return newZeekTSVReader(lr), nil
	case ZeekJSON:
		kind := strings.ToLower(opts.ZeekLog)
		if kind != "" && zeekLogs[kind] == nil {
			return nil, fmt.Errorf("%w: unknown Zeek log %q", ErrFormat, opts.ZeekLog)
		}
		return newZeekJSONReader(lr, kind), nil
	case Eve:
		return newEveReader(lr), nil
	}
	return nil, fmt.Errorf("%w: %q", ErrFormat, f)
}

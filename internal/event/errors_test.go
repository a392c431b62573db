package event_test

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/setu-cti/setu/internal/event"
)

// outcome is one Next call, shortened: the line and either the first
// observable's value or the error.
type outcome struct {
	Line  int
	Value string
	Err   string
}

func outcomes(t *testing.T, in string, f event.Format, opts event.Options) []outcome {
	t.Helper()
	r, err := event.NewReader(strings.NewReader(in), f, opts)
	if err != nil {
		t.Fatal(err)
	}
	var out []outcome
	for i := 0; i < 1000; i++ {
		ev, err := r.Next()
		if err == io.EOF {
			return out
		}
		var le *event.LineError
		switch {
		case errors.As(err, &le):
			out = append(out, outcome{Line: le.Line, Err: le.Err.Error()})
		case err != nil:
			return append(out, outcome{Err: "fatal: " + err.Error()})
		default:
			v := ""
			for _, o := range ev.Observation.Objects {
				if s, ok := o.Props["value"].(string); ok {
					v = s
					break
				}
			}
			out = append(out, outcome{Line: ev.Line, Value: v})
		}
	}
	t.Fatal("reader does not end")
	return nil
}

// TestLineErrors feeds each line-based format a bad event between good
// ones: the bad one is reported with its line, and the stream goes on.
func TestLineErrors(t *testing.T) {
	zeekHeader := "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tdns\n" +
		"#fields\tts\tuid\tquery\tanswers\n#types\ttime\tstring\tstring\tvector[string]\n"
	tests := []struct {
		name   string
		format event.Format
		in     string
		want   []outcome
	}{
		{"ndjson", event.NDJSON,
			`{"url":"http://a.example/"}` + "\n" +
				`{"url":` + "\n" +
				"\n" +
				`{"url":"http://b.example/","url":"x"}` + "\r\n" +
				`"just a string"` + "\n" +
				`{"url":"http://c.example/"} trailing` + "\n" +
				"{\"url\":\"\xff\"}\n" +
				`{"@timestamp":"2024-05-01T12:00:00Z","event":{"end":"2024-05-01T11:00:00Z"},"url":"http://d.example/"}` + "\n" +
				`{"event":{"count":0},"url":"http://e.example/"}` + "\n" +
				`{"url":"http://f.example/"}`,
			[]outcome{
				{Line: 1, Value: "http://a.example/"},
				{Line: 2, Err: "invalid JSON: unexpected end of line"},
				{Line: 4, Err: `invalid JSON: duplicate object member name "url"`},
				{Line: 5, Err: "not a JSON object"},
				{Line: 6, Err: "invalid JSON: data after the object"},
				{Line: 7, Err: `invalid JSON: invalid UTF-8 within "/url" after offset 8`},
				{Line: 8, Err: "last observed 2024-05-01T11:00:00Z is before first observed 2024-05-01T12:00:00Z"},
				{Line: 9, Err: `event.count: "0" is not a positive integer`},
				{Line: 10, Value: "http://f.example/"},
			}},
		{"csv", event.CSV,
			"url.full,note\n" +
				"http://a.example/,x\n" +
				"http://b.example/\n" +
				"\"http://c.example/\"x,y\n" +
				"http://d.example/,\"two\nlines\"\n" +
				"http://e.example/,\xff\n" +
				"http://f.example/,\"never closed\n",
			[]outcome{
				{Line: 2, Value: "http://a.example/"},
				{Line: 3, Err: "record has 1 fields, the header 2"},
				{Line: 4, Err: "column 1: text after a quoted field"},
				{Line: 5, Value: "http://d.example/"},
				{Line: 7, Err: "invalid UTF-8"},
				{Line: 8, Err: "quoted field not closed"},
			}},
		{"zeek", event.ZeekTSV,
			"1714564800.0\tC1\tbefore.example\t-\n" + zeekHeader +
				"1714564800.0\tC1\ta.example\t192.0.2.1\n" +
				"1714564800.0\tC2\tb.example\n" +
				"yesterday\tC3\tc.example\t-\n" +
				"1714564800.0\tC4\td.example\t(empty)\n",
			[]outcome{
				{Line: 1, Err: "record before the #fields header"},
				{Line: 9, Value: "192.0.2.1"},
				{Line: 10, Err: "record has 3 fields, #fields names 4"},
				{Line: 11, Err: `ts: "yesterday" is not a timestamp`},
				{Line: 12, Value: "d.example"},
			}},
		{"zeek-json", event.ZeekJSON,
			`{"ts":1714564800.0,"query":"a.example","qtype_name":"A"}` + "\n" +
				`{"ts":true,"query":"b.example","qtype_name":"A"}` + "\n" +
				`{"ts":"x"}` + "\n" +
				`[]` + "\n" +
				`{"ts":1714564800.0,"query":"c.example","qtype_name":"A"}` + "\n",
			[]outcome{
				{Line: 1, Value: "a.example"},
				{Line: 2, Err: `ts: "true" is not a timestamp`},
				{Line: 3, Err: `ts: "x" is not a timestamp`},
				{Line: 4, Err: "not a JSON object"},
				{Line: 5, Value: "c.example"},
			}},
		{"eve", event.Eve,
			`{"timestamp":"2024-05-01T12:00:00+0000","event_type":"dns","dns":{"rrname":"a.example"}}` + "\n" +
				`{"timestamp":"2024-05-01T12:00:00+0000","event_type":"dns","dns":{"rrname":"b.example"}` + "\n" +
				`{"timestamp":"noon","event_type":"dns"}` + "\n" +
				`{"timestamp":"2024-05-01T12:00:00+0000","event_type":"dns","dns":{"rrname":"c.example"}}` + "\n",
			[]outcome{
				{Line: 1, Value: "a.example"},
				{Line: 2, Err: "invalid JSON: unexpected end of line"},
				{Line: 3, Err: `timestamp: "noon" is not a timestamp`},
				{Line: 4, Value: "c.example"},
			}},
		{"stix", event.STIX,
			`{"type":"observed-data","id":"observed-data--1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e","first_observed":"2024-05-01T12:00:00Z","objects":{"0":{"type":"domain-name","value":"a.example"}}}` + "\n" +
				`{"type":"observed-data","id":"observed-data--2b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e","first_observed":"2024-05-01T12:00:00Z","number_observed":0,"objects":{}}` + "\n" +
				`[{"type":"observed-data","id":"observed-data--3b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e","number_observed":9007199254740993,"objects":{}},` + "\n" +
				` {"type":"observed-data","id":"observed-data--4b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e","object_refs":["domain-name--5b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e"]},` + "\n" +
				` {"type":"domain-name","id":"domain-name--5b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e","value":"b.example"}]` + "\n" +
				`{"type":"observed-data","id":"observed-data--6b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e","object_refs":["url--7b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e"]}` + "\n" +
				`{"type":"observed-data",` + "\n",
			[]outcome{
				{Line: 1, Value: "a.example"},
				{Line: 2, Err: "match: invalid observation input: observed-data--2b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e: number_observed must be a positive integer"},
				{Line: 3, Err: "match: invalid observation input: integer 9007199254740993 is beyond ±2^53"},
				{Line: 4, Value: "b.example"},
				{Err: "fatal: event: STIX input ends inside a JSON value"},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := outcomes(t, tt.in, tt.format, event.Options{})
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

// TestSTIXPendingAtEnd checks that an observed-data whose references never
// arrive is reported, with its line, once the stream ends.
func TestSTIXPendingAtEnd(t *testing.T) {
	in := `{"type":"observed-data","id":"observed-data--6b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e","object_refs":["url--7b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e"]}` + "\n" +
		`{"type":"url","id":"url--8b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e","value":"http://x.example/"}` + "\n"
	got := outcomes(t, in, event.STIX, event.Options{})
	want := []outcome{{Line: 1, Err: "match: invalid observation input: observed-data--6b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e refers to url--7b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e, which is not in the input"}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

// TestMaxLine checks that a line beyond the limit is skipped whole,
// reported once with its line, and costs the stream nothing else.
func TestMaxLine(t *testing.T) {
	long := `{"url":"http://long.example/` + strings.Repeat("a", 300000) + `"}`
	for _, max := range []int{100, 1000, 200000} {
		in := `{"url":"http://a.example/"}` + "\n" + long + "\n" + long + "\n" + `{"url":"http://b.example/"}` + "\n" + long
		got := outcomes(t, in, event.NDJSON, event.Options{MaxLine: max})
		want := []outcome{
			{Line: 1, Value: "http://a.example/"},
			{Line: 2, Err: "line too long"},
			{Line: 3, Err: "line too long"},
			{Line: 4, Value: "http://b.example/"},
			{Line: 5, Err: "line too long"},
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("max %d (-want +got):\n%s", max, d)
		}
	}
	// The default limit reads a long line that is within it.
	got := outcomes(t, long+"\n", event.NDJSON, event.Options{})
	if len(got) != 1 || got[0].Err != "" {
		t.Errorf("default limit: %+v", got)
	}
	// A CSV record growing past the limit over several lines.
	in := "url.full,note\n" + `http://a.example/,"` + strings.Repeat("x\n", 100) + "\"\nhttp://b.example/,y\n"
	got = outcomes(t, in, event.CSV, event.Options{MaxLine: 50})
	if len(got) == 0 || got[0].Line != 2 || got[0].Err != "record: line too long" {
		t.Errorf("csv: %+v", got)
	}
	// A STIX object beyond the limit ends the stream: a bundle cannot be
	// resumed in the middle.
	stixIn := `{"type":"bundle","id":"bundle--1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e","objects":[` +
		`{"type":"domain-name","id":"domain-name--5b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e","value":"` + strings.Repeat("a", 5000) + `"}]}`
	got = outcomes(t, stixIn, event.STIX, event.Options{MaxLine: 1000})
	if len(got) != 1 || !strings.Contains(got[0].Err, "fatal") || !strings.Contains(got[0].Err, "line too long") {
		t.Errorf("stix: %+v", got)
	}
	r, _ := event.NewReader(strings.NewReader(stixIn), event.STIX, event.Options{MaxLine: 1000})
	_, err1 := r.Next()
	_, err2 := r.Next()
	if !errors.Is(err1, event.ErrLineTooLong) || err1 != err2 {
		t.Errorf("stix errors %v then %v: want ErrLineTooLong, sticky", err1, err2)
	}
}

// TestLongLineMemory checks that a line of many megabytes is skipped
// without being held.
func TestLongLineMemory(t *testing.T) {
	const size = 64 << 20
	src := io.MultiReader(strings.NewReader(`{"url":"`), &repeatReader{c: 'a', n: size}, strings.NewReader("\"}\n{\"url\":\"http://a.example/\"}\n"))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	r, err := event.NewReader(src, event.NDJSON, event.Options{MaxLine: 4096})
	if err != nil {
		t.Fatal(err)
	}
	var le *event.LineError
	if _, err := r.Next(); !errors.As(err, &le) || !errors.Is(err, event.ErrLineTooLong) {
		t.Fatalf("first: %v", err)
	}
	ev, err := r.Next()
	if err != nil || ev.Line != 2 {
		t.Fatalf("second: %v line %d", err, ev.Line)
	}
	runtime.ReadMemStats(&after)
	if d := after.TotalAlloc - before.TotalAlloc; d > 4<<20 {
		t.Errorf("skipping a %d MiB line allocated %d bytes", size>>20, d)
	}
}

type repeatReader struct {
	c byte
	n int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.EOF
	}
	n := min(len(p), r.n)
	for i := range p[:n] {
		p[i] = r.c
	}
	r.n -= n
	return n, nil
}

// TestReadError checks that a failing input ends the stream with its
// error, after the events before it.
func TestReadError(t *testing.T) {
	boom := errors.New("disk on fire")
	for _, f := range []event.Format{event.NDJSON, event.CSV, event.ZeekTSV, event.ZeekJSON, event.Eve, event.STIX} {
		in := `{"url":"http://a.example/"}` + "\n"
		if f == event.CSV {
			in = "url.full\nhttp://a.example/\n"
		}
		r, err := event.NewReader(io.MultiReader(strings.NewReader(in), &failReader{boom}), f, event.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var last error
		for i := 0; i < 10; i++ {
			if _, last = r.Next(); last != nil && !isLineError(last) {
				break
			}
		}
		if !errors.Is(last, boom) {
			t.Errorf("%s: last error %v, want %v", f, last, boom)
		}
	}
}

func isLineError(err error) bool {
	var le *event.LineError
	return errors.As(err, &le)
}

type failReader struct{ err error }

func (f *failReader) Read([]byte) (int, error) { return 0, f.err }

// TestRawValidity documents that Raw is reused: a caller that keeps it
// copies it.
func TestRawValidity(t *testing.T) {
	r, err := event.NewReader(strings.NewReader("{\"url\":\"http://a.example/\"}\n{\"url\":\"http://b.example/\"}\n"), event.NDJSON, event.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ev, _ := r.Next()
	kept := bytes.Clone(ev.Raw)
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	if string(kept) != `{"url":"http://a.example/"}` {
		t.Errorf("kept %q", kept)
	}
}

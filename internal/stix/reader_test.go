package stix

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const (
	objA = `{"type":"ipv4-addr","spec_version":"2.1","id":"ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4","value":"198.51.100.3"}`
	objB = `{"type":"mutex","id":"mutex--eba44954-d4e4-5d3b-814c-2b17dd8de300","name":"m"}`
	objC = `{"type":"url","id":"url--c1477287-23ac-5971-a010-5c287877fa60","value":"https://example.com/"}`
)

type item struct {
	Raw         string
	Index       int
	Err         bool
	Recoverable bool
}

// drain reads r to the end or the first fatal error.
func drain(t *testing.T, r *Reader) []item {
	t.Helper()
	var out []item
	for n := 0; n < 100; n++ {
		raw, i, err := r.Next()
		if err == io.EOF {
			return out
		}
		var fe *FrameError
		if err != nil {
			if !errors.As(err, &fe) {
				t.Fatalf("error %T %v is not a *FrameError", err, err)
			}
			out = append(out, item{Index: i, Err: true, Recoverable: fe.Recoverable})
			if !fe.Recoverable {
				// A fatal error is sticky.
				if _, _, again := r.Next(); again != err {
					t.Errorf("after fatal error, Next returned %v", again)
				}
				return out
			}
			continue
		}
		out = append(out, item{Raw: string(raw), Index: i})
	}
	t.Fatal("reader did not end")
	return nil
}

func TestReader(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want []item
	}{
		{"bundle", `{"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d","objects":[` + objA + `,` + objB + `]}`,
			[]item{{Raw: objA, Index: 0}, {Raw: objB, Index: 1}}},
		{"bundle objects first", `{"objects":[` + objA + ",\n  " + objB + `],"id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d","type":"bundle","spec_version":"2.1"}`,
			[]item{{Raw: objA, Index: 0}, {Raw: objB, Index: 1}}},
		{"empty bundle", `{"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d"}`, nil},
		{"array", "[\n" + objA + ",\n" + objB + "\n]\n", []item{{Raw: objA, Index: 0}, {Raw: objB, Index: 1}}},
		{"ndjson", objA + "\n" + objB + "\n\n" + objC + "\n", []item{{Raw: objA, Index: 0}, {Raw: objB, Index: 1}, {Raw: objC, Index: 2}}},
		{"ndjson without final newline", objA + "\r\n" + objB, []item{{Raw: objA, Index: 0}, {Raw: objB, Index: 1}}},
		{"ndjson bad line in the middle", objA + "\n" + `{"type":"mutex","name":` + "\n" + objC + "\n",
			[]item{{Raw: objA, Index: 0}, {Index: 1, Err: true, Recoverable: true}, {Raw: objC, Index: 2}}},
		{"single object", "  \n" + objA + "\n", []item{{Raw: objA, Index: 0}}},
		{"single object pretty", "{\n  \"type\": \"mutex\",\n  \"id\": \"mutex--eba44954-d4e4-5d3b-814c-2b17dd8de300\",\n  \"name\": \"m\"\n}",
			[]item{{Raw: "{\n  \"type\": \"mutex\",\n  \"id\": \"mutex--eba44954-d4e4-5d3b-814c-2b17dd8de300\",\n  \"name\": \"m\"\n}", Index: 0}}},
		{"observed-data objects dict is not a bundle", `{"type":"observed-data","objects":{"0":{"type":"file"}}}`,
			[]item{{Raw: `{"type":"observed-data","objects":{"0":{"type":"file"}}}`, Index: 0}}},
		{"object with objects array after its type", `{"type":"x-thing","objects":[1,2]}`,
			[]item{{Raw: `{"type":"x-thing","objects":[1,2]}`, Index: 0}}},
		{"truncated bundle", `{"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d","objects":[` + objA + `,{"type":"mutex","na`,
			[]item{{Raw: objA, Index: 0}, {Index: 1, Err: true}}},
		{"truncated array", `[` + objA, []item{{Raw: objA, Index: 0}, {Index: 1, Err: true}}},
		{"scalar stream", `42`, []item{{Index: 0, Err: true}}},
		{"empty stream", "  \n", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := drain(t, NewReader(strings.NewReader(tc.in)))
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestReaderFrameErrorOffset(t *testing.T) {
	prefix := `{"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d","objects":[` + objA + `,`
	in := prefix + `{"type":"mutex","name":}]}`
	r := NewReader(strings.NewReader(in))
	if _, _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	_, i, err := r.Next()
	var fe *FrameError
	if !errors.As(err, &fe) {
		t.Fatalf("got %v, want *FrameError", err)
	}
	wantOff := int64(len(prefix) + len(`{"type":"mutex","name":`))
	if fe.Offset != wantOff || fe.Index != 1 || i != 1 || fe.Recoverable {
		t.Errorf("got %+v (index %d), want offset %d index 1 not recoverable", fe, i, wantOff)
	}
	if !strings.Contains(fe.Error(), "byte") {
		t.Errorf("Error() = %s", fe.Error())
	}

	// NDJSON: the offset is where the bad line goes wrong.
	line2 := `{"type":"mutex",,}`
	r = NewReader(strings.NewReader(objA + "\n" + line2 + "\n" + objB + "\n"))
	r.Next()
	_, _, err = r.Next()
	if !errors.As(err, &fe) || !fe.Recoverable || fe.Index != 1 || fe.Offset != int64(len(objA)+1+len(`{"type":"mutex",`)) {
		t.Errorf("got %+v", err)
	}
}

// TestReaderLenient: the stream goes on past objects that Parse rejects.
func TestReaderLenient(t *testing.T) {
	dup := `{"type":"mutex","id":"mutex--eba44954-d4e4-5d3b-814c-2b17dd8de300","name":"m","name":"n"}`
	badUTF8 := "{\"type\":\"mutex\",\"id\":\"mutex--eba44954-d4e4-5d3b-814c-2b17dd8de300\",\"name\":\"\xff\"}"
	invalid := `{"type":"indicator","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"}`
	objs := []string{objA, dup, objB, badUTF8, objC, invalid, objA}
	in := `{"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d","objects":[` + strings.Join(objs, ",") + `]}`
	r := NewReader(bytes.NewReader([]byte(in)))
	var rejected []int
	n := 0
	for {
		raw, i, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if string(raw) != objs[i] {
			t.Errorf("object %d = %s", i, raw)
		}
		n++
		if _, err := Parse(raw); err != nil {
			rejected = append(rejected, i)
		}
	}
	if n != len(objs) {
		t.Errorf("framed %d objects, want %d", n, len(objs))
	}
	if d := cmp.Diff([]int{1, 3, 5}, rejected); d != "" {
		t.Errorf("rejected (-want +got):\n%s", d)
	}
}

// TestReaderCopies: returned bytes stay valid after later reads.
func TestReaderCopies(t *testing.T) {
	in := "[" + strings.Repeat(objA+",", 2000) + objB + "]"
	r := NewReader(strings.NewReader(in))
	first, _, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, _, err := r.Next(); err != nil {
			break
		}
	}
	if string(first) != objA {
		t.Errorf("first object changed: %s", first)
	}
}

// TestReaderLargeSingleObject: a single object larger than any read buffer
// comes back whole and unchanged.
func TestReaderLargeSingleObject(t *testing.T) {
	big := `{"type":"note","spec_version":"2.1","id":"note--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061",` +
		`"created":"2016-05-12T08:17:27.000Z","modified":"2016-05-12T08:17:27.000Z",` +
		`"content":"` + strings.Repeat("a", 300<<10) + `","object_refs":["malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b"]}`
	got := drain(t, NewReader(strings.NewReader("\n"+big+"\n")))
	if len(got) != 1 || got[0].Raw != big {
		t.Fatalf("got %d items", len(got))
	}
	if _, err := Parse([]byte(got[0].Raw)); err != nil {
		t.Fatal(err)
	}
}

// TestReaderLines: each object's line is where it starts, in every framing,
// and a bad NDJSON line is reported at its own line.
func TestReaderLines(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		lines []int // per object (or bad line)
	}{
		{"pretty bundle", "{\n  \"type\": \"bundle\",\n  \"id\": \"bundle--1\",\n  \"objects\": [\n    {\"id\": \"a\"},\n\n    {\n      \"id\": \"b\"\n    },\n    {\"id\": \"c\"}\n  ]\n}\n", []int{5, 7, 10}},
		{"array", "[{\"id\":\"a\"},\n{\"id\":\"b\"}]", []int{1, 2}},
		{"single object", "\n\n{\"id\":\"a\"}\n", []int{3}},
		{"ndjson", "{\"id\":\"a\"}\n\n{\"id\":\"b\"}\n{bad\n{\"id\":\"d\"}\n", []int{1, 3, 4, 5}},
		{"ndjson crlf", "{\"id\":\"a\"}\r\n{\"id\":\"b\"}\r\n", []int{1, 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := NewReader(strings.NewReader(tc.in))
			var got []int
			for {
				_, _, err := r.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				var fe *FrameError
				if err != nil && !(errors.As(err, &fe) && fe.Recoverable) {
					t.Fatalf("Next: %v", err)
				}
				if fe != nil && fe.Line != r.Line() {
					t.Errorf("frame error at line %d, Line() %d", fe.Line, r.Line())
				}
				got = append(got, r.Line())
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.lines) {
				t.Errorf("lines %v, want %v", got, tc.lines)
			}
		})
	}
}

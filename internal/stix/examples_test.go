package stix

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/go-json-experiment/json"
	"github.com/google/go-cmp/cmp"
)

// readAll frames every object of a stream, failing the test on a frame error.
func readAll(t testing.TB, data []byte) [][]byte {
	t.Helper()
	r := NewReader(bytes.NewReader(data))
	var out [][]byte
	for {
		raw, i, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("object %d: %v", i, err)
		}
		if i != len(out) {
			t.Fatalf("index %d, want %d", i, len(out))
		}
		out = append(out, raw)
	}
}

// checkRoundTrip requires Canonical to be the same JSON value as the input,
// byte for byte what the JSON library's RFC 8785 implementation produces.
func checkRoundTrip(t testing.TB, raw []byte, o *Object) {
	t.Helper()
	if want := canonicalReference(t, raw); string(o.Canonical) != want {
		t.Fatalf("%s: canonical\n got %s\nwant %s", o.ID, o.Canonical, want)
	}
	var want, got any
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatalf("input: %v", err)
	}
	if err := json.Unmarshal(o.Canonical, &got); err != nil {
		t.Fatalf("canonical: %v", err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("%s: canonical differs from input (-want +got):\n%s", o.ID, d)
	}
}

// exampleRejects are published example objects that break a MUST, with
// the path of the fault: the OASIS SCO bundle elides three artifacts'
// payloads ("VBORw0KGgo... ..."), which are then not base64.
var exampleRejects = map[string]string{
	"artifact--ca17bcf8-9846-5ab4-8662-75c1bf6e63ee": "$.payload_bin",
	"artifact--6f437177-6e48-5cf8-9d9e-872a2bddd641": "$.payload_bin",
	"artifact--4cce66f8-6eaa-53cb-85d5-3a85fca3a6c5": "$.payload_bin",
}

func TestExamples(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "examples", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			objs := readAll(t, data)
			if len(objs) == 0 {
				t.Fatal("no objects framed")
			}
			for _, raw := range objs {
				o, err := Parse(raw)
				if want, ok := exampleRejects[peekID(raw)]; ok {
					var ve *ValidationError
					if !errors.As(err, &ve) || ve.Path != want {
						t.Errorf("Parse %s: %v, want a fault at %s", peekID(raw), err, want)
					}
					continue
				}
				if err != nil {
					t.Errorf("Parse: %v", err)
					continue
				}
				checkRoundTrip(t, raw, o)
				for _, w := range o.Warnings {
					t.Logf("warning: %s", w)
				}
			}
		})
	}
}

// TestParseConcurrent: Parse shares pooled decoders and the type tables
// between goroutines; run with -race.
func TestParseConcurrent(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "examples", "poisonivy.json"))
	if err != nil {
		t.Fatal(err)
	}
	objs := readAll(t, data)
	want := make([]string, len(objs))
	for i, raw := range objs {
		o, err := Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = string(o.Canonical)
	}
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			for i, raw := range objs {
				o, err := Parse(raw)
				if err != nil {
					errs <- err
					return
				}
				if string(o.Canonical) != want[i] {
					errs <- errors.New("canonical differs under concurrency")
					return
				}
			}
			errs <- nil
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

package stix

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// seedObjects returns every object of the example bundles plus the bases of
// the table tests.
func seedObjects(f *testing.F) [][]byte {
	files, _ := filepath.Glob(filepath.Join("testdata", "examples", "*.json"))
	var out [][]byte
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, readAll(f, data)...)
	}
	for _, b := range bases {
		out = append(out, []byte(b))
	}
	return out
}

// FuzzParse: Parse never panics, and what it accepts re-parses from its
// Canonical bytes to the same Canonical bytes.
func FuzzParse(f *testing.F) {
	for _, o := range seedObjects(f) {
		f.Add(o)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		o, err := Parse(raw)
		if err != nil {
			return
		}
		o2, err := Parse(o.Canonical)
		if err != nil {
			t.Fatalf("canonical %s does not re-parse: %v", o.Canonical, err)
		}
		if !bytes.Equal(o.Canonical, o2.Canonical) {
			t.Fatalf("canonical not stable:\n%s\n%s", o.Canonical, o2.Canonical)
		}
		if o.ID != o2.ID || o.Type != o2.Type || !o.Created.Equal(o2.Created) || !o.Modified.Equal(o2.Modified) {
			t.Fatalf("fields differ after re-parse: %+v vs %+v", o, o2)
		}
	})
}

// FuzzReader: the Reader never panics or loops, and ends in io.EOF or a
// fatal FrameError.
func FuzzReader(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "examples", "*.json"))
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		// Large seeds make each mutation slow to run without adding
		// framing cases the small bundles lack.
		if len(data) <= 8<<10 {
			f.Add(data)
		}
	}
	f.Add([]byte(objA + "\n" + `{"type":` + "\n" + objB + "\n"))
	f.Add([]byte("[" + objA + "," + objB + "]"))
	f.Add([]byte(`{"objects":[` + objA + `],"type":"bundle"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(bytes.NewReader(data))
		for n := 0; ; n++ {
			if n > len(data)+2 {
				t.Fatalf("more items (%d) than input bytes", n)
			}
			raw, _, err := r.Next()
			if err == io.EOF {
				return
			}
			if fe, ok := err.(*FrameError); ok {
				if !fe.Recoverable {
					return
				}
				continue
			}
			if err != nil {
				t.Fatalf("error %T: %v", err, err)
			}
			Parse(raw)
		}
	})
}

package event_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/setu-cti/setu/internal/event"
	"github.com/setu-cti/setu/internal/match"
)

// fuzzReader reads data in format f and checks what any input must give:
// the reader ends, line numbers are sane, per-event errors leave the
// stream going, and every observation built from a log is well formed
// (deterministic ids, references that resolve).
func fuzzReader(t *testing.T, data []byte, f event.Format, opts event.Options) {
	r, err := event.NewReader(bytes.NewReader(data), f, opts)
	if err != nil {
		if f == event.Auto && errors.Is(err, event.ErrFormat) {
			return
		}
		t.Fatal(err)
	}
	lines := bytes.Count(data, []byte("\n")) + 1
	var obs []match.Observation
	for i := 0; ; i++ {
		if i > len(data)+10 {
			t.Fatal("reader does not end")
		}
		ev, err := r.Next()
		if err == io.EOF {
			break
		}
		var le *event.LineError
		if errors.As(err, &le) {
			if le.Line < 1 || le.Line > lines {
				t.Fatalf("line error at line %d of %d: %v", le.Line, lines, err)
			}
			continue
		}
		if err != nil {
			if _, err2 := r.Next(); err2 != err {
				t.Fatalf("error %v is not sticky: then %v", err, err2)
			}
			break
		}
		if ev.Line < 1 || ev.Line > lines {
			t.Fatalf("event at line %d of %d", ev.Line, lines)
		}
		obs = append(obs, ev.Observation)
	}
	if f != event.STIX && f != event.Auto {
		checkObservations(t, obs)
	}
}

func addFixtures(f *testing.F, format event.Format) {
	for _, fx := range fixtures {
		if fx.format != format {
			continue
		}
		data, err := os.ReadFile(filepath.Join("testdata", fx.file))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
}

func FuzzNDJSON(f *testing.F) {
	addFixtures(f, event.NDJSON)
	f.Add([]byte(`{"source":[{"ip":"192.0.2.1"},{"ip":["2001:db8::1",null,7]}],"dns.resolved_ip":"x"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzReader(t, data, event.NDJSON, event.Options{MaxLine: 4096})
	})
}

func FuzzCSV(f *testing.F) {
	addFixtures(f, event.CSV)
	f.Add([]byte("url.full;source.ip\n\"a\"\"b\";192.0.2.1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzReader(t, data, event.CSV, event.Options{MaxLine: 4096})
	})
}

func FuzzSTIX(f *testing.F) {
	addFixtures(f, event.STIX)
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzReader(t, data, event.STIX, event.Options{MaxLine: 4096})
	})
}

func FuzzZeekTSV(f *testing.F) {
	addFixtures(f, event.ZeekTSV)
	f.Add([]byte("#separator ,\n#fields,ts,query,answers\n#types,time,string,vector[string]\n1,a\\x2cb,c\\x2c1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzReader(t, data, event.ZeekTSV, event.Options{MaxLine: 4096})
	})
}

func FuzzZeekJSON(f *testing.F) {
	addFixtures(f, event.ZeekJSON)
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzReader(t, data, event.ZeekJSON, event.Options{MaxLine: 4096})
	})
}

func FuzzEve(f *testing.F) {
	addFixtures(f, event.Eve)
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzReader(t, data, event.Eve, event.Options{MaxLine: 4096})
	})
}

// FuzzDetect reads any input with the format Detect picks.
func FuzzDetect(f *testing.F) {
	for _, fx := range fixtures {
		data, err := os.ReadFile(filepath.Join("testdata", fx.file))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzReader(t, data, event.Auto, event.Options{MaxLine: 4096})
	})
}

// FuzzMapping parses mappings and uses those that parse on an event.
func FuzzMapping(f *testing.F) {
	f.Add([]byte(event.DefaultMapping().String()), []byte(`{"source":{"ip":"192.0.2.1","port":1},"url":{"full":"http://a.example/"}}`))
	f.Add([]byte(`{"a":["email-message:to_refs[*].value","email-message:from_ref.belongs_to_ref.account_login"]}`), []byte(`{"a":["x@example.com"]}`))
	f.Add([]byte("a = network-traffic:src_ref.resolves_to_refs[*].value\nb = process:image_ref.parent_directory_ref.path"), []byte(`{"a":"192.0.2.1","b":"/tmp"}`))
	f.Fuzz(func(t *testing.T, mapping, data []byte) {
		m, err := event.ParseMapping(mapping)
		if err != nil {
			return
		}
		if _, err := event.ParseMapping([]byte(m.String())); err != nil {
			t.Fatalf("String form %q does not parse: %v", m, err)
		}
		fuzzReader(t, data, event.NDJSON, event.Options{Mapping: m, MaxLine: 4096})
	})
}

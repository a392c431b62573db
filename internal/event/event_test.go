package event_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/setu-cti/setu/internal/event"
	"github.com/setu-cti/setu/internal/match"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// fixtures are the sample inputs in testdata, one per format and log.
var fixtures = []struct {
	file   string
	format event.Format
}{
	{"ecs.ndjson", event.NDJSON},
	{"events.csv", event.CSV},
	{"bundle21.json", event.STIX},
	{"bundle20.json", event.STIX},
	{"stix.ndjson", event.STIX},
	{"zeek/conn.log", event.ZeekTSV},
	{"zeek/dns.log", event.ZeekTSV},
	{"zeek/http.log", event.ZeekTSV},
	{"zeek/files.log", event.ZeekTSV},
	{"zeek/ssl.log", event.ZeekTSV},
	{"zeek/x509.log", event.ZeekTSV},
	{"zeek/zeek.json", event.ZeekJSON},
	{"eve.json", event.Eve},
}

// result is how an event or an error shows in a golden file.
type result struct {
	Line           int              `json:"line"`
	Kind           string           `json:"kind,omitempty"`
	Error          string           `json:"error,omitempty"`
	Fatal          bool             `json:"fatal,omitempty"`
	ID             string           `json:"id,omitempty"`
	FirstObserved  string           `json:"first_observed,omitempty"`
	LastObserved   string           `json:"last_observed,omitempty"`
	NumberObserved int64            `json:"number_observed,omitempty"`
	Objects        []map[string]any `json:"objects,omitempty"`
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.RFC3339Nano)
}

// readAll reads r to the end, going on after per-event errors, and
// returns the events and errors in order with the observations.
func readAll(t testing.TB, r event.Reader) ([]result, []match.Observation) {
	t.Helper()
	var out []result
	var obs []match.Observation
	for i := 0; ; i++ {
		if i > 100000 {
			t.Fatal("reader does not end")
		}
		ev, err := r.Next()
		if err == io.EOF {
			return out, obs
		}
		var le *event.LineError
		if errors.As(err, &le) {
			out = append(out, result{Line: le.Line, Error: le.Error()})
			continue
		}
		if err != nil {
			out = append(out, result{Error: err.Error(), Fatal: true})
			return out, obs
		}
		o := ev.Observation
		res := result{Line: ev.Line, Kind: ev.Kind, ID: o.ID, FirstObserved: stamp(o.FirstObserved),
			LastObserved: stamp(o.LastObserved), NumberObserved: o.Count}
		for _, x := range o.Objects {
			res.Objects = append(res.Objects, x.Props)
		}
		out = append(out, res)
		obs = append(obs, o)
	}
}

func readFile(t testing.TB, name string, f event.Format, opts event.Options) ([]result, []match.Observation) {
	t.Helper()
	fh, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	r, err := event.NewReader(fh, f, opts)
	if err != nil {
		t.Fatal(err)
	}
	return readAll(t, r)
}

func goldenPath(name string) string {
	return filepath.Join("testdata", "golden", strings.ReplaceAll(name, "/", "_")+".json")
}

func TestGolden(t *testing.T) {
	for _, fx := range fixtures {
		t.Run(fx.file, func(t *testing.T) {
			got, _ := readFile(t, fx.file, fx.format, event.Options{})
			b, err := json.MarshalIndent(got, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			b = append(b, '\n')
			path := goldenPath(fx.file)
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, b, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if d := cmp.Diff(string(want), string(b)); d != "" {
				t.Errorf("%s differs from %s (-want +got):\n%s", fx.file, path, d)
			}
			// Detection agrees with the format the fixture is in.
			autoGot, _ := readFile(t, fx.file, event.Auto, event.Options{})
			if d := cmp.Diff(got, autoGot); d != "" {
				t.Errorf("read with Auto (-explicit +auto):\n%s", d)
			}
		})
	}
}

// TestRawAndLines checks that Raw is the event's own line, for the
// line-based formats.
func TestRawAndLines(t *testing.T) {
	for _, fx := range fixtures {
		if fx.format == event.STIX || fx.format == event.CSV {
			continue
		}
		t.Run(fx.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", fx.file))
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(string(data), "\n")
			r, err := event.NewReader(bytes.NewReader(data), fx.format, event.Options{})
			if err != nil {
				t.Fatal(err)
			}
			for {
				ev, err := r.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					continue
				}
				if ev.Line < 1 || ev.Line > len(lines) || lines[ev.Line-1] != string(ev.Raw) {
					t.Errorf("line %d: raw %q is not the line", ev.Line, ev.Raw)
				}
			}
		})
	}
}

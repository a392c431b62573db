package httpserver_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/setu-cti/setu/internal/httpserver"
	"github.com/setu-cti/setu/internal/store"
	"github.com/setu-cti/setu/internal/store/sqlite"
)

const (
	collID = "91a7b528-80eb-42ed-a74d-c6fbd5a26000"
	objID  = "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"
	statID = "2d086da7-4bdc-4f91-900e-d77486753710"
)

func TestEndpoint(t *testing.T) {
	for _, tc := range []struct{ path, want string }{
		{"/healthz", "healthz"},
		{"/metrics", "metrics"},
		{"/taxii2/", "discovery"},
		{"/taxii2", "other"},
		{"/taxii2/extra/", "other"},
		{"/manage/v1/users", "manage"},
		{"/manage/v1/users/alice/tokens/" + statID, "manage"},
		{"/api/", "api_root"},
		{"/api/status/" + statID + "/", "status"},
		{"/api/collections/", "collections"},
		{"/api/collections/" + collID + "/", "collection"},
		{"/api/collections/" + collID + "/objects/", "objects"},
		{"/api/collections/" + collID + "/manifest/", "manifest"},
		{"/api/collections/" + collID + "/objects/" + objID + "/", "object"},
		{"/api/collections/" + collID + "/objects/" + objID + "/versions/", "versions"},
		{"/api/collections/" + collID + "/objects/" + objID + "/history/", "other"},
		{"/api/collections/" + collID + "/manifest/" + objID + "/", "other"},
		{"/api/collections/" + collID + "/objects", "other"},
		{"/api/status/" + statID + "/extra/", "other"},
		{"/favicon.ico", "other"},
		{"/", "other"},
		{"", "other"},
		{"//", "other"},
		{"/" + strings.Repeat("x/", 50), "other"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			got := httpserver.Endpoint(tc.path)
			if got != tc.want {
				t.Errorf("Endpoint(%q) = %q, want %q", tc.path, got, tc.want)
			}
			for _, id := range []string{collID, objID, statID, "alice"} {
				if strings.Contains(got, id) {
					t.Errorf("label %q carries an id", got)
				}
			}
		})
	}
}

func TestIsLoopback(t *testing.T) {
	for _, tc := range []struct {
		addr string
		want bool
	}{
		{"127.0.0.1:8080", true},
		{"127.0.0.1:0", true},
		{"127.10.20.30:443", true}, // all of 127/8 is loopback
		{"[::1]:8080", true},
		{"localhost:8080", true},
		{"[::ffff:127.0.0.1]:80", true},
		{"0.0.0.0:8080", false},
		{":8080", false}, // every interface
		{"[::]:8080", false},
		{"192.0.2.10:8080", false},
		{"[2001:db8::1]:443", false},
		{"example.org:443", false},
		{"localhost.example.org:443", false},
		{"127.0.0.1", false}, // no port: not a listen address
		{"", false},
	} {
		t.Run(tc.addr, func(t *testing.T) {
			if got := httpserver.IsLoopback(tc.addr); got != tc.want {
				t.Errorf("IsLoopback(%q) = %v, want %v", tc.addr, got, tc.want)
			}
		})
	}
}

// family is one metric family of a parsed exposition.
type family struct {
	help, typ string
	samples   []sample
}

type sample struct {
	name   string // with its _bucket/_sum/_count suffix
	labels map[string]string
	value  float64
}

// parseExposition parses the Prometheus text format strictly enough to
// catch what a scraper would reject: every sample belongs to a family
// declared by HELP and TYPE lines before it, label values are quoted with
// the format's escapes, values are numbers.
func parseExposition(t *testing.T, text string) map[string]*family {
	t.Helper()
	fams := map[string]*family{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		fail := func(why string) { t.Fatalf("line %d %q: %s", n, line, why) }
		switch {
		case line == "":
			fail("empty line")
		case strings.HasPrefix(line, "# HELP "):
			name, help, ok := strings.Cut(strings.TrimPrefix(line, "# HELP "), " ")
			if !ok || help == "" {
				fail("HELP without text")
			}
			if fams[name] != nil {
				fail("family declared twice")
			}
			fams[name] = &family{help: help}
		case strings.HasPrefix(line, "# TYPE "):
			name, typ, _ := strings.Cut(strings.TrimPrefix(line, "# TYPE "), " ")
			f := fams[name]
			if f == nil || f.typ != "" || len(f.samples) > 0 {
				fail("TYPE must follow HELP and precede the samples")
			}
			if !slices.Contains([]string{"counter", "gauge", "histogram", "summary", "untyped"}, typ) {
				fail("unknown type")
			}
			f.typ = typ
		case strings.HasPrefix(line, "#"):
			fail("unexpected comment")
		default:
			s := parseSample(t, line)
			base := s.name
			for _, suf := range []string{"_bucket", "_sum", "_count"} {
				if b, ok := strings.CutSuffix(s.name, suf); ok && fams[b] != nil && fams[b].typ == "histogram" {
					base = b
				}
			}
			f := fams[base]
			if f == nil || f.typ == "" {
				fail("sample of an undeclared family")
			}
			f.samples = append(f.samples, s)
		}
	}
	return fams
}

func parseSample(t *testing.T, line string) sample {
	t.Helper()
	s := sample{labels: map[string]string{}}
	i := strings.IndexAny(line, "{ ")
	if i <= 0 {
		t.Fatalf("%q: no metric name", line)
	}
	s.name, line = line[:i], line[i:]
	if line[0] == '{' {
		line = line[1:]
		for line[0] != '}' {
			eq := strings.IndexByte(line, '=')
			if eq <= 0 || len(line) < eq+2 || line[eq+1] != '"' {
				t.Fatalf("malformed label in %q", line)
			}
			name := line[:eq]
			line = line[eq+2:]
			var v strings.Builder
			for {
				if line == "" {
					t.Fatalf("unterminated label value")
				}
				c := line[0]
				line = line[1:]
				if c == '"' {
					break
				}
				if c == '\\' {
					switch line[0] {
					case '\\', '"':
						v.WriteByte(line[0])
					case 'n':
						v.WriteByte('\n')
					default:
						t.Fatalf("invalid escape \\%c", line[0])
					}
					line = line[1:]
					continue
				}
				v.WriteByte(c)
			}
			if _, dup := s.labels[name]; dup {
				t.Fatalf("label %s repeated", name)
			}
			s.labels[name] = v.String()
			if line[0] == ',' {
				line = line[1:]
			}
		}
		line = line[1:]
	}
	val, ok := strings.CutPrefix(line, " ")
	if !ok {
		t.Fatalf("no value separator in %q", line)
	}
	f, err := strconv.ParseFloat(val, 64)
	if err != nil {
		t.Fatalf("value %q: %v", val, err)
	}
	s.value = f
	return s
}

// find returns the value of the sample with the given name and labels.
func (f *family) find(name string, labels map[string]string) (float64, bool) {
	for _, s := range f.samples {
		if s.name == name && cmp.Equal(s.labels, labels) {
			return s.value, true
		}
	}
	return 0, false
}

// checkHistograms requires, for every histogram series, buckets in
// increasing le order with non-decreasing counts, a +Inf bucket equal to
// _count, and a _sum.
func checkHistograms(t *testing.T, fams map[string]*family) {
	t.Helper()
	for name, f := range fams {
		if f.typ != "histogram" {
			continue
		}
		series := map[string][]sample{} // by labels other than le
		for _, s := range f.samples {
			rest := map[string]string{}
			for k, v := range s.labels {
				if k != "le" {
					rest[k] = v
				}
			}
			key := fmt.Sprint(rest)
			series[key] = append(series[key], s)
		}
		for key, ss := range series {
			var prevLE, prevCount float64 = -1, 0
			var inf, count float64
			var haveInf, haveCount, haveSum bool
			for _, s := range ss {
				switch s.name {
				case name + "_bucket":
					le := s.labels["le"]
					if le == "+Inf" {
						inf, haveInf = s.value, true
						continue
					}
					if haveInf {
						t.Errorf("%s%s: bucket le=%s after +Inf", name, key, le)
					}
					b, err := strconv.ParseFloat(le, 64)
					if err != nil || b <= prevLE {
						t.Errorf("%s%s: bucket le=%q out of order", name, key, le)
					}
					if s.value < prevCount {
						t.Errorf("%s%s: bucket le=%s holds %v < %v: not cumulative", name, key, le, s.value, prevCount)
					}
					prevLE, prevCount = b, s.value
				case name + "_count":
					count, haveCount = s.value, true
				case name + "_sum":
					haveSum = true
				}
			}
			if !haveInf || !haveCount || !haveSum {
				t.Errorf("%s%s: +Inf %v, _count %v, _sum %v", name, key, haveInf, haveCount, haveSum)
			}
			if inf != count || prevCount > inf {
				t.Errorf("%s%s: +Inf %v, _count %v, last finite bucket %v", name, key, inf, count, prevCount)
			}
		}
	}
}

func scrape(t *testing.T, h http.Handler) (string, map[string]*family) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: %d", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("Content-Type %q", ct)
	}
	body := rec.Body.String()
	return body, parseExposition(t, body)
}

func TestMetricsExposition(t *testing.T) {
	m := httpserver.NewMetrics()
	_, fams := scrape(t, m)
	for name, typ := range map[string]string{
		"setu_http_requests_total":           "counter",
		"setu_http_request_duration_seconds": "histogram",
		"setu_objects_ingested_total":        "counter",
		"setu_ingest_duration_seconds":       "histogram",
	} {
		if f := fams[name]; f == nil || f.typ != typ {
			t.Errorf("family %s missing or not a %s", name, typ)
		}
	}
	checkHistograms(t, fams)

	// Durations straddling the bucket bounds, one beyond the last bound,
	// which only +Inf holds.
	for _, d := range []time.Duration{0, 400 * time.Microsecond, time.Millisecond, 7 * time.Millisecond, 3 * time.Second, time.Minute} {
		m.Request("objects", "GET", 200, d)
	}
	m.Request("objects", "POST", 202, time.Millisecond)
	m.Request("manage", "DELETE", 404, time.Millisecond)
	m.Ingested(3, 1, 2, 20*time.Millisecond)
	m.Ingested(1, 0, 0, 45*time.Second)

	before, fams := scrape(t, m)
	checkHistograms(t, fams)
	want := map[string]float64{}
	for _, tc := range []struct {
		fam, name string
		labels    map[string]string
		want      float64
	}{
		{"setu_http_requests_total", "setu_http_requests_total", map[string]string{"endpoint": "objects", "method": "GET", "status": "200"}, 6},
		{"setu_http_requests_total", "setu_http_requests_total", map[string]string{"endpoint": "objects", "method": "POST", "status": "202"}, 1},
		{"setu_http_requests_total", "setu_http_requests_total", map[string]string{"endpoint": "manage", "method": "DELETE", "status": "404"}, 1},
		{"setu_http_request_duration_seconds", "setu_http_request_duration_seconds_count", map[string]string{"endpoint": "objects"}, 7},
		{"setu_http_request_duration_seconds", "setu_http_request_duration_seconds_bucket", map[string]string{"endpoint": "objects", "le": "0.0005"}, 2},
		{"setu_http_request_duration_seconds", "setu_http_request_duration_seconds_bucket", map[string]string{"endpoint": "objects", "le": "0.001"}, 4},
		{"setu_http_request_duration_seconds", "setu_http_request_duration_seconds_bucket", map[string]string{"endpoint": "objects", "le": "30"}, 6},
		{"setu_http_request_duration_seconds", "setu_http_request_duration_seconds_bucket", map[string]string{"endpoint": "objects", "le": "+Inf"}, 7},
		{"setu_objects_ingested_total", "setu_objects_ingested_total", map[string]string{"outcome": "added"}, 4},
		{"setu_objects_ingested_total", "setu_objects_ingested_total", map[string]string{"outcome": "duplicate"}, 1},
		{"setu_objects_ingested_total", "setu_objects_ingested_total", map[string]string{"outcome": "rejected"}, 2},
		{"setu_ingest_duration_seconds", "setu_ingest_duration_seconds_count", map[string]string{}, 2},
		{"setu_ingest_duration_seconds", "setu_ingest_duration_seconds_bucket", map[string]string{"le": "0.025"}, 1},
		{"setu_ingest_duration_seconds", "setu_ingest_duration_seconds_bucket", map[string]string{"le": "+Inf"}, 2},
	} {
		got, ok := fams[tc.fam].find(tc.name, tc.labels)
		if !ok || got != tc.want {
			t.Errorf("%s%v = %v (found %v), want %v\n%s", tc.name, tc.labels, got, ok, tc.want, before)
		}
		want[tc.name+fmt.Sprint(tc.labels)] = got
	}
	if got, _ := fams["setu_ingest_duration_seconds"].find("setu_ingest_duration_seconds_sum", map[string]string{}); got != 45.02 {
		t.Errorf("ingest _sum = %v, want 45.02", got)
	}

	// Counters only grow.
	m.Request("objects", "GET", 200, time.Millisecond)
	m.Ingested(0, 5, 0, time.Millisecond)
	_, fams = scrape(t, m)
	checkHistograms(t, fams)
	for _, c := range []struct {
		fam, name string
		labels    map[string]string
		delta     float64
	}{
		{"setu_http_requests_total", "setu_http_requests_total", map[string]string{"endpoint": "objects", "method": "GET", "status": "200"}, 1},
		{"setu_http_requests_total", "setu_http_requests_total", map[string]string{"endpoint": "manage", "method": "DELETE", "status": "404"}, 0},
		{"setu_objects_ingested_total", "setu_objects_ingested_total", map[string]string{"outcome": "duplicate"}, 5},
		{"setu_objects_ingested_total", "setu_objects_ingested_total", map[string]string{"outcome": "added"}, 0},
		{"setu_ingest_duration_seconds", "setu_ingest_duration_seconds_count", map[string]string{}, 1},
	} {
		got, _ := fams[c.fam].find(c.name, c.labels)
		if prev := want[c.name+fmt.Sprint(c.labels)]; got != prev+c.delta {
			t.Errorf("%s%v went from %v to %v, want +%v", c.name, c.labels, prev, got, c.delta)
		}
	}
}

// TestMetricsMethods checks that client-chosen methods cannot add series.
func TestMetricsMethods(t *testing.T) {
	m := httpserver.NewMetrics()
	for i := range 50 {
		m.Request("objects", fmt.Sprintf("X-METHOD-%d", i), 405, time.Millisecond)
	}
	m.Request("objects", "GET", 200, time.Millisecond)
	_, fams := scrape(t, m)
	var methods []string
	for _, s := range fams["setu_http_requests_total"].samples {
		methods = append(methods, s.labels["method"])
	}
	if diff := cmp.Diff([]string{"GET", "other"}, methods); diff != "" {
		t.Errorf("method labels (-want +got):\n%s", diff)
	}
	if got, _ := fams["setu_http_requests_total"].find("setu_http_requests_total",
		map[string]string{"endpoint": "objects", "method": "other", "status": "405"}); got != 50 {
		t.Errorf("other methods counted %v, want 50", got)
	}
}

// TestServerCountsRequests runs requests through the composed handler and
// checks they are counted by endpoint label, with no id in any label.
func TestServerCountsRequests(t *testing.T) {
	db := openStore(t)
	m := httpserver.NewMetrics()
	taxii := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNotFound) })
	manage := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "{}") })
	srv := httptest.NewServer(httpserver.New(httpserver.Config{Store: db, TAXII: taxii, Manage: manage, Metrics: m}))
	defer srv.Close()
	for _, p := range []string{
		"/healthz",
		"/api/collections/" + collID + "/objects/",
		"/api/collections/" + collID + "/objects/" + objID + "/versions/",
		"/manage/v1/users/alice/tokens",
	} {
		resp, err := srv.Client().Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	text, fams := scrape(t, m)
	for _, id := range []string{collID, objID, "alice"} {
		if strings.Contains(text, id) {
			t.Errorf("exposition carries %q:\n%s", id, text)
		}
	}
	var got []string
	for _, s := range fams["setu_http_requests_total"].samples {
		got = append(got, s.labels["endpoint"]+" "+s.labels["status"])
	}
	if diff := cmp.Diff([]string{"healthz 200", "manage 200", "objects 404", "versions 404"}, got); diff != "" {
		t.Errorf("counted requests (-want +got):\n%s", diff)
	}
	checkHistograms(t, fams)
}

func openStore(t *testing.T) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "setu.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

package match_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/setu-cti/setu/internal/match"
	"github.com/setu-cti/setu/internal/stix/pattern"
)

const bundle21 = `{"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d","objects":[
 {"type":"domain-name","spec_version":"2.1","id":"domain-name--3c10e93f-798e-5a26-a0c1-08156efab7f5","value":"example.com"},
 {"type":"ipv4-addr","spec_version":"2.1","id":"ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd","value":"198.51.100.3"},
 {"type":"network-traffic","spec_version":"2.1","id":"network-traffic--2568d22a-8998-58eb-99ec-3c8ca74f527d","dst_ref":"domain-name--3c10e93f-798e-5a26-a0c1-08156efab7f5","src_ref":"ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd","protocols":["tcp"]},
 {"type":"observed-data","spec_version":"2.1","id":"observed-data--b67d30ff-02ac-498a-92f9-32f845f448cf","created":"2016-04-06T19:58:16.000Z","modified":"2016-04-06T19:58:16.000Z","first_observed":"2015-12-21T19:00:00Z","last_observed":"2015-12-21T19:00:10Z","number_observed":4,
  "object_refs":["ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd","domain-name--3c10e93f-798e-5a26-a0c1-08156efab7f5","network-traffic--2568d22a-8998-58eb-99ec-3c8ca74f527d"]},
 {"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2016-04-06T19:58:16.000Z","modified":"2016-04-06T19:58:16.000Z","pattern":"[x:y = 1]","pattern_type":"stix","valid_from":"2016-01-01T00:00:00Z"}
]}`

func observations(t testing.TB, data string) []match.Observation {
	t.Helper()
	objs, err := match.DecodeObjects([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	obs, err := match.Observations(objs)
	if err != nil {
		t.Fatal(err)
	}
	return obs
}

func TestObservations21(t *testing.T) {
	obs := observations(t, bundle21)
	if len(obs) != 1 {
		t.Fatalf("%d observations, want 1", len(obs))
	}
	o := obs[0]
	if o.ID != "observed-data--b67d30ff-02ac-498a-92f9-32f845f448cf" || o.Count != 4 || len(o.Objects) != 3 ||
		!o.FirstObserved.Equal(time.Date(2015, 12, 21, 19, 0, 0, 0, time.UTC)) ||
		!o.LastObserved.Equal(time.Date(2015, 12, 21, 19, 0, 10, 0, time.UTC)) {
		t.Errorf("observation = %+v", o)
	}
}

func TestResult(t *testing.T) {
	obs := observations(t, bundle21)
	m, err := match.Compile(pattern.MustParse(
		"[network-traffic:dst_ref.value = 'example.com' AND network-traffic:src_ref.value ISSUBSET '198.51.100.0/24'] REPEATS 3 TIMES OR [ipv4-addr:value = '1.2.3.4']"))
	if err != nil {
		t.Fatal(err)
	}
	r, ok := m.Match(obs)
	if !ok {
		t.Fatal("no match")
	}
	want := match.Result{Bindings: []match.Binding{{
		Expr:         0,
		Text:         "[network-traffic:dst_ref.value = 'example.com' AND network-traffic:src_ref.value ISSUBSET '198.51.100.0/24']",
		ObservedData: "observed-data--b67d30ff-02ac-498a-92f9-32f845f448cf",
		Objects:      []string{"network-traffic--2568d22a-8998-58eb-99ec-3c8ca74f527d"},
		Count:        3,
	}}}
	if d := cmp.Diff(want, r); d != "" {
		t.Errorf("result (-want +got):\n%s", d)
	}
	if _, ok := m.Match(nil); ok {
		t.Error("matched no observations")
	}
}

func TestDecodeObjects(t *testing.T) {
	for _, tt := range []struct {
		name, in string
		n        int
		bad      bool
	}{
		{"bundle", bundle21, 5, false},
		{"list", `[{"type":"file","id":"file--1"},{"type":"file","id":"file--2"}]`, 2, false},
		{"one object", `{"type":"observed-data","id":"observed-data--1","objects":{}}`, 1, false},
		{"empty bundle", `{"type":"bundle","id":"bundle--1"}`, 0, false},
		{"not JSON", `[{`, 0, true},
		{"scalar", `42`, 0, true},
		{"list of scalars", `[1]`, 0, true},
		{"trailing data", `{} {}`, 0, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := match.DecodeObjects([]byte(tt.in))
			if (err != nil) != tt.bad || len(objs) != tt.n {
				t.Errorf("got %d objects, err %v", len(objs), err)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	for _, src := range []string{
		"[a:b MATCHES '(?<=x)y']",
		"[a:b ISSUPERSET '10.0.0.0/33']",
		"[a:b = 1] AND [a:c NOT ISSUBSET 'fe80::/1x']",
	} {
		if _, err := match.Compile(pattern.MustParse(src)); err == nil {
			t.Errorf("Compile(%s): no error", src)
		}
	}
	if _, err := match.Compile(nil); err == nil {
		t.Error("Compile(nil): no error")
	}
}

// TestConcurrent checks that one Matcher serves many goroutines; run with
// -race to see it.
func TestConcurrent(t *testing.T) {
	obs := observations(t, bundle21)
	m, err := match.Compile(pattern.MustParse("[domain-name:value LIKE '%.com'] REPEATS 2 TIMES WITHIN 60 SECONDS"))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, ok := m.Match(obs); !ok {
				t.Error("no match")
			}
		})
	}
	wg.Wait()
}

// scriptPatterns returns the patterns of testdata/*.txt, as fuzzing seeds.
func scriptPatterns(tb testing.TB) []string {
	files, _ := filepath.Glob("testdata/*.txt")
	var out []string
	for _, file := range files {
		f, err := os.Open(file)
		if err != nil {
			tb.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			if p, ok := strings.CutPrefix(sc.Text(), "pattern "); ok {
				out = append(out, p)
			}
		}
		f.Close()
	}
	return out
}

// FuzzMatch checks that no pattern and no input, however odd, makes the
// matcher panic, and that a match always explains itself with bindings.
func FuzzMatch(f *testing.F) {
	inputs := []string{
		bundle21,
		`[{"type":"observed-data","id":"o1","first_observed":"2020-01-01T00:00:00Z","number_observed":3,"objects":{"0":{"type":"file","name":"a","size":5,"hashes":{"MD5":"00"}},"1":{"type":"network-traffic","dst_ref":"2","src_ref":"0"},"2":{"type":"ipv4-addr","value":"10.0.0.1"}}},
		  {"type":"observed-data","id":"o2","first_observed":"2020-01-01T00:00:05Z","last_observed":"2020-01-01T00:01:00Z","objects":{"0":{"type":"a","n":1,"l":[1,"x",{"y":[true]}],"x_refs":["0","1"]}}}]`,
		`{"type":"observed-data","id":"o1","number_observed":9007199254740991,"objects":{"0":{"type":"a","n":1.5e300}}}`,
	}
	pats := append(scriptPatterns(f),
		"[a:n = 1] REPEATS 9223372036854775807 TIMES",
		"([a:n > 0] OR [file:name != 'b']) AND [a:l[*].y[0] = true] FOLLOWEDBY [a:x_refs[*].n IN (1, 2)] WITHIN 1.5 SECONDS",
		"[a:n = 1] WITHIN 99999999999999999999 SECONDS",
	)
	for i, p := range pats {
		f.Add(p, inputs[i%len(inputs)])
	}
	f.Fuzz(func(t *testing.T, src, input string) {
		p, err := pattern.Parse(src)
		if err != nil {
			return
		}
		m, err := match.Compile(p)
		if err != nil {
			return
		}
		objs, err := match.DecodeObjects([]byte(input))
		if err != nil {
			return
		}
		obs, err := match.Observations(objs)
		if err != nil {
			return
		}
		r, ok := m.Match(obs)
		if ok && len(r.Bindings) == 0 {
			t.Errorf("match without bindings")
		}
		if !ok && len(r.Bindings) != 0 {
			t.Errorf("no match, with bindings")
		}
	})
}

// stream returns n observed-data, one a minute, each seeing domain-name
// value, plus the extra observations given as seconds after the last.
func stream(n int, value string, extra ...int) []map[string]any {
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var objs []map[string]any
	add := func(i int, at time.Time) {
		ts := at.Format(time.RFC3339Nano)
		objs = append(objs, map[string]any{
			"type": "observed-data", "id": "observed-data--" + strconv.Itoa(i),
			"first_observed": ts, "last_observed": ts, "number_observed": 1,
			"objects": map[string]any{"0": map[string]any{"type": "domain-name", "value": value}},
		})
	}
	for i := range n {
		add(i, base.Add(time.Duration(i)*time.Minute))
	}
	end := base.Add(time.Duration(n-1) * time.Minute)
	for j, s := range extra {
		add(n+j, end.Add(time.Duration(s)*time.Second))
	}
	return objs
}

// TestLongStreams checks that matches hidden late in long streams are
// found: the candidate bound must not cut them off.
func TestLongStreams(t *testing.T) {
	for _, tt := range []struct {
		name, pattern string
		objs          []map[string]any
		want          bool
		bound         []string
	}{
		{
			name:    "beacon burst at the end",
			pattern: "[domain-name:value = 'c2.example'] REPEATS 5 TIMES WITHIN 60 SECONDS",
			objs:    stream(3000, "c2.example", 10, 20, 30, 40),
			want:    true,
			bound:   []string{"observed-data--2999", "observed-data--3000", "observed-data--3001", "observed-data--3002", "observed-data--3003"},
		},
		{
			name:    "no burst",
			pattern: "[domain-name:value = 'c2.example'] REPEATS 5 TIMES WITHIN 60 SECONDS",
			objs:    stream(3000, "c2.example"),
		},
		{
			name:    "pair at the end, joined under WITHIN",
			pattern: "([domain-name:value = 'c2.example'] AND [domain-name:value = 'c2.example']) WITHIN 5 SECONDS",
			objs:    stream(3000, "c2.example", 3),
			want:    true,
			bound:   []string{"observed-data--2999", "observed-data--3000"},
		},
		{
			name:    "pair inside a START/STOP window",
			pattern: "[domain-name:value = 'c2.example'] REPEATS 2 TIMES START t'2024-01-03T01:00:00Z' STOP t'2024-01-03T01:01:30Z'",
			objs:    stream(3000, "c2.example"),
			want:    true,
			bound:   []string{"observed-data--2940", "observed-data--2941"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			obs, err := match.Observations(tt.objs)
			if err != nil {
				t.Fatal(err)
			}
			m, err := match.Compile(pattern.MustParse(tt.pattern))
			if err != nil {
				t.Fatal(err)
			}
			r, ok := m.Match(obs)
			if ok != tt.want {
				t.Fatalf("match = %v, want %v", ok, tt.want)
			}
			var got []string
			for _, b := range r.Bindings {
				got = append(got, b.ObservedData)
			}
			slices.Sort(got)
			if d := cmp.Diff(tt.bound, got); d != "" {
				t.Errorf("bound (-want +got):\n%s", d)
			}
		})
	}
}

func BenchmarkMatch(b *testing.B) {
	objs := stream(1000, "c2.example", 10, 20, 30, 40)
	obs, err := match.Observations(objs)
	if err != nil {
		b.Fatal(err)
	}
	m, err := match.Compile(pattern.MustParse("[domain-name:value = 'c2.example'] REPEATS 5 TIMES WITHIN 60 SECONDS"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := m.Match(obs); !ok {
			b.Fatal("no match")
		}
	}
}

func TestDecodeObjectsStrict(t *testing.T) {
	for _, in := range []string{
		`{"type":"file","name":"a","name":"b"}`,
		"{\"type\":\"file\",\"name\":\"\xff\"}",
		`{"type":"file","size":9007199254740993}`,
		`{"type":"file","size":-9007199254740993}`,
	} {
		if _, err := match.DecodeObjects([]byte(in)); !errors.Is(err, match.ErrInput) {
			t.Errorf("DecodeObjects(%q) = %v, want ErrInput", in, err)
		}
	}
	objs, err := match.DecodeObjects([]byte(`{"type":"file","size":9007199254740992,"x":null,"y":[true,false,1.5e3]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"type": "file", "size": json.Number("9007199254740992"), "x": nil, "y": []any{true, false, json.Number("1.5e3")}}
	if d := cmp.Diff(want, objs[0]); d != "" {
		t.Errorf("decoded (-want +got):\n%s", d)
	}
}

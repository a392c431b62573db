package match_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/setu-cti/setu/internal/match"
	"github.com/setu-cti/setu/internal/stix/pattern"
)

// TestScripts runs testdata/*.txt. Each file is a list of lines:
//
//	# comment
//	pattern PATTERN          the pattern for the cases that follow
//	obs ID TIME[/TIME] [xN] JSON
//	                         a STIX 2.0 observed-data with id ID, first and
//	                         last observed TIME, number_observed N (default
//	                         1), embedding JSON: one object (key "0") or a
//	                         map of key to object
//	{...}                    any STIX object, as one line of JSON
//	expect true [ID...]      the pattern matches the objects given since the
//	                         last expect, binding exactly these observed-data
//	                         ids (when any are listed)
//	expect false             it does not match
//	expect error             compiling or reading the observations fails
func TestScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) { runScript(t, file) })
	}
}

func runScript(t *testing.T, file string) {
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		src     string
		objects []map[string]any
	)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		where := fmt.Sprintf("%s:%d", filepath.Base(file), n)
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "pattern "):
			src = strings.TrimPrefix(line, "pattern ")
			objects = nil
		case strings.HasPrefix(line, "obs "):
			objects = append(objects, obsLine(t, where, line))
		case strings.HasPrefix(line, "{"):
			objects = append(objects, decode(t, where, line))
		case strings.HasPrefix(line, "expect "):
			check(t, where, src, objects, strings.Fields(strings.TrimPrefix(line, "expect ")))
			objects = nil
		default:
			t.Fatalf("%s: unknown line %q", where, line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
}

func decode(t *testing.T, where, s string) map[string]any {
	t.Helper()
	objs, err := match.DecodeObjects([]byte(s))
	if err != nil || len(objs) != 1 {
		t.Fatalf("%s: bad JSON object: %v", where, err)
	}
	return objs[0]
}

func obsLine(t *testing.T, where, line string) map[string]any {
	t.Helper()
	f := strings.SplitN(line, " ", 4)
	if len(f) < 4 {
		t.Fatalf("%s: obs needs ID TIME and JSON", where)
	}
	id, times, rest := f[1], f[2], f[3]
	count := "1"
	if strings.HasPrefix(rest, "x") {
		c, r, _ := strings.Cut(rest, " ")
		count, rest = c[1:], r
		if _, err := strconv.Atoi(count); err != nil {
			t.Fatalf("%s: bad count %q", where, c)
		}
	}
	first, last, ok := strings.Cut(times, "/")
	if !ok {
		last = first
	}
	embedded := decode(t, where, rest)
	if _, isObject := embedded["type"]; isObject {
		embedded = map[string]any{"0": embedded}
	}
	od := map[string]any{
		"type": "observed-data", "id": id,
		"first_observed": first, "last_observed": last,
		"number_observed": json.Number(count), "objects": embedded,
	}
	return od
}

func check(t *testing.T, where, src string, objects []map[string]any, want []string) {
	t.Helper()
	if len(want) == 0 {
		t.Fatalf("%s: expect what?", where)
	}
	p, err := pattern.Parse(src)
	if err != nil {
		t.Fatalf("%s: pattern %q: %v", where, src, err)
	}
	m, err := match.Compile(p)
	var obs []match.Observation
	if err == nil {
		obs, err = match.Observations(objects)
	}
	if want[0] == "error" {
		if err == nil {
			t.Errorf("%s: %s: no error", where, src)
		}
		return
	}
	if err != nil {
		t.Fatalf("%s: %s: %v", where, src, err)
	}
	r, ok := m.Match(obs)
	switch want[0] {
	case "true":
		if !ok {
			t.Errorf("%s: %s: no match, want a match", where, src)
			return
		}
		if len(want) > 1 {
			var got []string
			for _, b := range r.Bindings {
				if !slices.Contains(got, b.ObservedData) {
					got = append(got, b.ObservedData)
				}
			}
			slices.Sort(got)
			exp := slices.Clone(want[1:])
			slices.Sort(exp)
			if !slices.Equal(got, exp) {
				t.Errorf("%s: %s: bound %v, want %v", where, src, got, exp)
			}
		}
	case "false":
		if ok {
			t.Errorf("%s: %s: matched %+v, want no match", where, src, r.Bindings)
		}
	default:
		t.Fatalf("%s: expect true, false or error", where)
	}
}

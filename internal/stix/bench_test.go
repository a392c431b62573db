package stix

import (
	"bytes"
	stdjson "encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// benchIndicator is a typical indicator as feeds send it.
var benchIndicator = []byte(`{
  "type": "indicator",
  "spec_version": "2.1",
  "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
  "created_by_ref": "identity--f431f809-377b-45e0-aa1c-6a4751cae5ff",
  "created": "2016-04-06T20:03:48.000Z",
  "modified": "2016-04-06T20:03:48.000Z",
  "indicator_types": ["malicious-activity"],
  "name": "Poison Ivy Malware",
  "description": "This file is part of Poison Ivy",
  "pattern": "[ file:hashes.'SHA-256' = '4bac27393bdd9777ce02453256c5577cd02275510b2227f473d03f533924f877' ]",
  "pattern_type": "stix",
  "valid_from": "2016-01-01T00:00:00Z",
  "kill_chain_phases": [{"kill_chain_name": "lockheed-martin-cyber-kill-chain", "phase_name": "delivery"}],
  "external_references": [{"source_name": "example", "url": "https://example.com/poison-ivy", "external_id": "PI-1"}],
  "object_marking_refs": ["marking-definition--34098fce-860f-48ae-8e50-ebd3cc5055f8"],
  "labels": ["malware", "rat"],
  "confidence": 85
}`)

// BenchmarkParseIndicator measures Parse on one indicator; compare with
// BenchmarkBaselineStdlibDecode, the bare decode of the same bytes:
//
//	go test -run '^$' -bench 'ParseIndicator|BaselineStdlibDecode' ./internal/stix/
func BenchmarkParseIndicator(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchIndicator)))
	for b.Loop() {
		if _, err := Parse(benchIndicator); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBaselineStdlibDecode is the baseline: encoding/json into
// map[string]any, with no strictness, validation or canonicalization.
func BenchmarkBaselineStdlibDecode(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchIndicator)))
	for b.Loop() {
		var m map[string]any
		if err := stdjson.Unmarshal(benchIndicator, &m); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkImportBundle frames and parses every object of a real bundle;
// BenchmarkBaselineStdlibBundle decodes the same file with encoding/json.
func BenchmarkImportBundle(b *testing.B) {
	data := benchBundle(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		r := NewReader(bytes.NewReader(data))
		for {
			raw, _, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if _, err := Parse(raw); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkBaselineStdlibBundle(b *testing.B) {
	data := benchBundle(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		var m map[string]any
		if err := stdjson.Unmarshal(data, &m); err != nil {
			b.Fatal(err)
		}
	}
}

func benchBundle(b *testing.B) []byte {
	data, err := os.ReadFile(filepath.Join("testdata", "examples", "poisonivy.json"))
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// BenchmarkVsBaseline interleaves Parse (and a whole-bundle import) with the
// encoding/json baseline in one run, so that load on the machine affects
// both alike, and reports the ratios:
//
//	go test -run '^$' -bench VsBaseline ./internal/stix/
//
// parse/baseline-stdlib-decode is Parse of one indicator over
// encoding/json.Unmarshal of it into map[string]any; import/baseline-stdlib-bundle
// is Reader+Parse of every object of a bundle over encoding/json.Unmarshal
// of the whole bundle. Lower is better; 1 means as fast as the baseline.
func BenchmarkVsBaseline(b *testing.B) {
	bundle := benchBundle(b)
	var parse, base, imp, baseBundle time.Duration
	const rounds = 20
	for b.Loop() {
		t0 := time.Now()
		for range rounds {
			if _, err := Parse(benchIndicator); err != nil {
				b.Fatal(err)
			}
		}
		t1 := time.Now()
		for range rounds {
			var m map[string]any
			if err := stdjson.Unmarshal(benchIndicator, &m); err != nil {
				b.Fatal(err)
			}
		}
		t2 := time.Now()
		r := NewReader(bytes.NewReader(bundle))
		for {
			raw, _, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if _, err := Parse(raw); err != nil {
				b.Fatal(err)
			}
		}
		t3 := time.Now()
		var m map[string]any
		if err := stdjson.Unmarshal(bundle, &m); err != nil {
			b.Fatal(err)
		}
		t4 := time.Now()
		parse += t1.Sub(t0)
		base += t2.Sub(t1)
		imp += t3.Sub(t2)
		baseBundle += t4.Sub(t3)
	}
	b.ReportMetric(float64(parse)/float64(base), "parse/baseline-stdlib-decode")
	b.ReportMetric(float64(imp)/float64(baseBundle), "import/baseline-stdlib-bundle")
	b.ReportMetric(float64(parse.Nanoseconds())/float64(b.N*rounds), "parse-ns/op")
	b.ReportMetric(float64(base.Nanoseconds())/float64(b.N*rounds), "baseline-stdlib-decode-ns/op")
}

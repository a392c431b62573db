package cli

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func matchObjects() string {
	objs := []string{
		`{"type":"indicator","spec_version":"2.1","id":"indicator--00000001-0000-4000-8000-000000000000","created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:00.000Z","name":"C2 domain","pattern":"[domain-name:value = 'c2.bad-actor.net']","pattern_type":"stix","valid_from":"2024-01-01T00:00:00Z"}`,
		`{"type":"indicator","spec_version":"2.1","id":"indicator--00000002-0000-4000-8000-000000000000","created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:00.000Z","pattern":"[ipv4-addr:value ISSUBSET '45.33.0.0/16']","pattern_type":"stix","valid_from":"2024-01-01T00:00:00Z"}`,
		`{"type":"indicator","spec_version":"2.1","id":"indicator--00000003-0000-4000-8000-000000000000","created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:00.000Z","pattern":"[ipv4-addr:value = '10.1.2.3']","pattern_type":"stix","valid_from":"2024-01-01T00:00:00Z"}`,
		`{"type":"malware","spec_version":"2.1","id":"malware--00000001-0000-4000-8000-000000000000","created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:00.000Z","name":"PoisonIvy","is_family":true}`,
		`{"type":"course-of-action","spec_version":"2.1","id":"course-of-action--00000001-0000-4000-8000-000000000000","created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:00.000Z","name":"Sinkhole the domain"}`,
		`{"type":"relationship","spec_version":"2.1","id":"relationship--00000001-0000-4000-8000-000000000000","created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:00.000Z","relationship_type":"indicates","source_ref":"indicator--00000001-0000-4000-8000-000000000000","target_ref":"malware--00000001-0000-4000-8000-000000000000"}`,
		`{"type":"relationship","spec_version":"2.1","id":"relationship--00000002-0000-4000-8000-000000000000","created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:00.000Z","relationship_type":"mitigates","source_ref":"course-of-action--00000001-0000-4000-8000-000000000000","target_ref":"malware--00000001-0000-4000-8000-000000000000"}`,
	}
	return strings.Join(objs, "\n")
}

// events: NDJSON in ECS field names; line 3 is not JSON; line 4 names a
// private address an indicator lists (the warninglist silences it).
const matchEvents = `{"@timestamp":"2025-03-01T10:00:00Z","dns":{"question":{"name":"c2.bad-actor.net"}},"source":{"ip":"192.168.1.20"}}
{"@timestamp":"2025-03-01T10:05:00Z","destination":{"ip":"45.33.32.156","port":443},"source":{"ip":"192.168.1.20"}}
{"@timestamp": not json
{"@timestamp":"2025-03-01T10:07:00Z","destination":{"ip":"10.1.2.3","port":22}}
{"@timestamp":"2025-03-01T11:00:00Z","dns":{"question":{"name":"c2.bad-actor.net"}}}
{"@timestamp":"2025-03-01T11:00:00Z","dns":{"question":{"name":"good.example.org"}}}
`

func TestMatch(t *testing.T) {
	dir := t.TempDir()
	if code, out, errs := run(t, matchObjects(), "import", "--data", dir, "-"); code != 0 {
		t.Fatalf("import: %s %s", out, errs)
	}
	code, out, errs := run(t, matchEvents, "match", "--data", dir, "-q", "-")
	if code != 0 {
		t.Fatalf("match: %d %s", code, errs)
	}
	var lines []matchLine
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var m matchLine
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("output line %q: %v", l, err)
		}
		lines = append(lines, m)
	}
	var got []string
	for _, m := range lines {
		s := fmt.Sprintf("%d %s", m.Line, m.Indicator.ID[:19])
		for _, r := range m.Indicates {
			s += " indicates " + r.Name
		}
		for _, r := range m.MitigatedBy {
			s += " mitigated-by " + r.Name
		}
		got = append(got, s)
	}
	want := []string{
		"1 indicator--00000001 indicates PoisonIvy mitigated-by Sinkhole the domain",
		"2 indicator--00000002",
		"5 indicator--00000001 indicates PoisonIvy mitigated-by Sinkhole the domain",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("matches:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(errs, "<stdin>:line 3:") || !strings.Contains(errs, "5 events, 3 matches, 1 matches on warninglisted values not reported, 1 unreadable") {
		t.Errorf("stderr: %s", errs)
	}
	if len(lines) > 0 && !strings.Contains(string(lines[0].Event), "c2.bad-actor.net") {
		t.Errorf("event not echoed: %s", lines[0].Event)
	}
	// Without the warninglist, the private address matches too.
	if _, out, _ := run(t, matchEvents, "match", "--data", dir, "-q", "--no-warninglist", "-"); strings.Count(out, "\n") != 4 {
		t.Errorf("--no-warninglist: %s", out)
	}
}

// TestMatchReport: --report records one sighting per indicator per window,
// aggregated, and a second report of the same window adds to it.
func TestMatchReport(t *testing.T) {
	dir := t.TempDir()
	run(t, "", "org", "add", "grid", "--name", "Grid", "--country", "IN", "--kind", "critical-infrastructure-operator", "--data", dir)
	if code, out, errs := run(t, matchObjects(), "import", "--data", dir, "-"); code != 0 {
		t.Fatalf("import: %s %s", out, errs)
	}
	if code, _, errs := run(t, matchEvents, "match", "--data", dir, "-q", "--report", "-"); code != 2 || !strings.Contains(errs, "--org") {
		t.Errorf("--report without --org: %d %s", code, errs)
	}
	for round := 1; round <= 2; round++ {
		code, _, errs := run(t, matchEvents, "match", "--data", dir, "-q", "--report", "--org", "grid", "--window", "24h", "-")
		if code != 0 || !strings.Contains(errs, "recorded 2 sightings") {
			t.Fatalf("round %d: %d %s", round, code, errs)
		}
		_, out, _ := run(t, "", "export", "--data", dir, "--format", "ndjson")
		var sightings []map[string]any
		for _, o := range objectsOf(t, out) {
			if m := o.(map[string]any); m["type"] == "sighting" {
				sightings = append(sightings, m)
			}
		}
		if len(sightings) != 2 {
			t.Fatalf("round %d: %d sightings, want 2", round, len(sightings))
		}
		counts := map[string]float64{}
		for _, s := range sightings {
			counts[s["sighting_of_ref"].(string)[:19]] = s["count"].(float64)
			if s["where_sighted_refs"].([]any)[0] != s["created_by_ref"] || s["observed_data_refs"] == nil {
				t.Errorf("sighting %v", s)
			}
		}
		if counts["indicator--00000001"] != float64(2*round) || counts["indicator--00000002"] != float64(round) {
			t.Errorf("round %d: counts %v", round, counts)
		}
	}
}

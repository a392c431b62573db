package event_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/setu-cti/setu/internal/event"
	"github.com/setu-cti/setu/internal/match"
	"github.com/setu-cti/setu/internal/stix"
	"github.com/setu-cti/setu/internal/stix/pattern"
)

const (
	stage2SHA256 = "4f1c39d5a1b7e2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b"
	certSHA256   = "e3b98a4da31a127d4bde6e43033f66ba274cab0eb7eb1c70ec41402bf6273dd8"
)

// TestMatchIndicators checks that the observations read from each format
// satisfy the patterns an indicator for the same activity would carry,
// with the existing evaluator, and do not satisfy near misses.
func TestMatchIndicators(t *testing.T) {
	tests := []struct {
		file    string
		pattern string
		want    bool
	}{
		{"ecs.ndjson", "[domain-name:value = 'evil.example']", true},
		{"ecs.ndjson", "[network-traffic:dst_ref.value = '198.51.100.7' AND network-traffic:dst_port = 443]", true},
		{"ecs.ndjson", "[network-traffic:dst_ref.value = '198.51.100.7' AND network-traffic:dst_port = 444]", false},
		{"ecs.ndjson", "[file:hashes.'SHA-256' = '" + stage2SHA256 + "']", true},
		{"ecs.ndjson", "[domain-name:value = 'evil.example' AND domain-name:resolves_to_refs[*].value = '2001:db8::7']", true},
		{"ecs.ndjson", "[network-traffic:dst_ref.value ISSUBSET '2001:db8:ffff::/48']", true},
		{"ecs.ndjson", "[network-traffic:extensions.'http-request-ext'.request_header.'User-Agent' LIKE 'Mozilla/5.0%']", true},
		{"ecs.ndjson", "[email-message:from_ref.value = 'billing@phish.example']", true},
		{"ecs.ndjson", "[email-message:to_refs[*].value = 'bob@example.org']", true},
		{"ecs.ndjson", "[x509-certificate:hashes.'SHA-256' = '" + certSHA256 + "']", true},
		{"ecs.ndjson", "[process:image_ref.hashes.'SHA-256' = '" + stage2SHA256 + "']", true},
		{"ecs.ndjson", "[mac-addr:value = '00:1a:2b:3c:4d:5e']", true},
		{"ecs.ndjson", "[network-traffic:protocols[*] = 'ipv6']", true},
		{"events.csv", "[url:value = 'http://evil.example/payload/stage2.bin?id=42,43']", true},
		{"events.csv", "[network-traffic:dst_ref.value = '198.51.100.7' AND network-traffic:dst_port = 443]", true},
		{"events.csv", "[file:hashes.'SHA-256' = '" + stage2SHA256 + "']", true},
		{"bundle21.json", "[domain-name:value = 'evil.example'] AND [file:name = 'stage2.bin']", true},
		{"bundle21.json", "[network-traffic:dst_ref.value = '198.51.100.7' AND network-traffic:dst_port = 443]", true},
		{"bundle20.json", "[network-traffic:src_ref.value = '192.0.2.10' AND network-traffic:dst_port = 443]", true},
		{"stix.ndjson", "[url:value = 'http://evil.example/'] REPEATS 2 TIMES", true},
		{"zeek/conn.log", "[network-traffic:dst_ref.value = '198.51.100.7' AND network-traffic:dst_port = 443]", true},
		{"zeek/conn.log", "[network-traffic:src_ref.value = '2001:db8::10' AND network-traffic:protocols[*] = 'http']", true},
		{"zeek/conn.log", "[network-traffic:dst_port = 22] WITHIN 5 SECONDS", true},
		{"zeek/dns.log", "[domain-name:value = 'evil.example']", true},
		{"zeek/dns.log", "[domain-name:value = 'evil.example' AND domain-name:resolves_to_refs[*].value = '198.51.100.8']", true},
		{"zeek/dns.log", "[domain-name:value = 'host7.example.com' AND domain-name:resolves_to_refs[*].value = '198.51.100.7']", false},
		{"zeek/http.log", "[url:value = 'http://evil.example/payload/stage2.bin?id=42']", true},
		{"zeek/http.log", "[url:value = 'http://203.0.113.80:8080/gate.php']", true},
		{"zeek/http.log", "[network-traffic:extensions.'http-request-ext'.request_method = 'post']", true},
		{"zeek/http.log", "[domain-name:value = '203.0.113.80']", false},
		{"zeek/files.log", "[file:hashes.'SHA-256' = '" + stage2SHA256 + "']", true},
		{"zeek/files.log", "[file:hashes.MD5 = '3b0c5f3b7e1c1e0e5b1f2d3c4a5b6c7d' AND file:mime_type = 'application/octet-stream']", true},
		{"zeek/ssl.log", "[x509-certificate:hashes.'SHA-256' = '" + certSHA256 + "']", true},
		{"zeek/ssl.log", "[domain-name:value = 'evil.example'] AND [network-traffic:dst_port = 8443]", true},
		{"zeek/x509.log", "[x509-certificate:subject = 'CN=evil.example' AND x509-certificate:serial_number = '04A1B2C3D4E5F60718']", true},
		{"zeek/zeek.json", "[file:hashes.'SHA-256' = '" + stage2SHA256 + "'] FOLLOWEDBY [domain-name:value = 'beacon.evil.example']", true},
		{"zeek/zeek.json", "[domain-name:value = 'evil.example' AND domain-name:resolves_to_refs[*].value = '198.51.100.7']", true},
		{"eve.json", "[domain-name:value = 'evil.example' AND domain-name:resolves_to_refs[*].value = '198.51.100.8']", true},
		{"eve.json", "[url:value = 'http://evil.example/payload/stage2.bin?id=42']", true},
		{"eve.json", "[x509-certificate:hashes.'SHA-1' = 'a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4']", true},
		{"eve.json", "[file:hashes.'SHA-256' = '" + stage2SHA256 + "']", true},
		{"eve.json", "[network-traffic:dst_ref.value = '198.51.100.8' AND network-traffic:dst_port = 22 AND network-traffic:src_byte_count > 1000]", true},
		{"eve.json", "[email-message:from_ref.value = 'billing@phish.example']", true},
		{"eve.json", "[network-traffic:extensions.'icmp-ext'.icmp_type_hex = '08']", true},
		{"eve.json", "[network-traffic:protocols[*] = 'dns' AND network-traffic:dst_port = 53]", true},
	}
	formats := map[string]event.Format{}
	for _, fx := range fixtures {
		formats[fx.file] = fx.format
	}
	for _, tt := range tests {
		t.Run(tt.file+" "+tt.pattern, func(t *testing.T) {
			m, err := match.Compile(pattern.MustParse(tt.pattern))
			if err != nil {
				t.Fatal(err)
			}
			_, obs := readFile(t, tt.file, formats[tt.file], event.Options{})
			if _, got := m.Match(obs); got != tt.want {
				t.Errorf("match = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestIdentifiers checks every SCO the readers build: its id is the
// deterministic STIX 2.1 id (as internal/stix computes it from the
// object's JSON form), and every reference names an object of the same
// observation.
func TestIdentifiers(t *testing.T) {
	for _, fx := range fixtures {
		if fx.format == event.STIX {
			continue // those ids come from the producer
		}
		t.Run(fx.file, func(t *testing.T) {
			_, obs := readFile(t, fx.file, fx.format, event.Options{})
			checkObservations(t, obs)
		})
	}
}

func checkObservations(t testing.TB, obs []match.Observation) {
	t.Helper()
	for _, o := range obs {
		if !strings.HasPrefix(o.ID, "observed-data--") {
			t.Errorf("observation id %q", o.ID)
		}
		refs := map[string]bool{}
		for _, x := range o.Objects {
			refs[x.Ref] = true
		}
		for _, x := range o.Objects {
			if x.Props["id"] != x.Ref || x.Props["type"] != x.Type || !strings.HasPrefix(x.Ref, x.Type+"--") {
				t.Errorf("%s: object %v does not carry its ref and type", o.ID, x.Props)
			}
			if _, _, err := stix.ParseID(x.Ref); err != nil {
				t.Errorf("%s: %v", x.Ref, err)
			}
			b, err := json.Marshal(x.Props)
			if err != nil {
				t.Fatal(err)
			}
			var decoded map[string]any
			if err := json.Unmarshal(b, &decoded); err != nil {
				t.Fatal(err)
			}
			if want, ok := stix.SCOID(x.Type, decoded); ok && want != x.Ref {
				t.Errorf("%s: id is not the deterministic %s for %s", x.Ref, want, b)
			}
			for k, v := range x.Props {
				switch {
				case strings.HasSuffix(k, "_ref"):
					if s, _ := v.(string); !refs[s] {
						t.Errorf("%s: %s %v names no object of the observation", x.Ref, k, v)
					}
				case strings.HasSuffix(k, "_refs"):
					l, _ := v.([]any)
					if len(l) == 0 {
						t.Errorf("%s: %s is empty", x.Ref, k)
					}
					for _, e := range l {
						if s, _ := e.(string); !refs[s] {
							t.Errorf("%s: %s holds %v, which names no object of the observation", x.Ref, k, e)
						}
					}
				}
			}
		}
	}
}

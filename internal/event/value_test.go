package event

import (
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/setu-cti/setu/internal/stix"
)

func TestParseTime(t *testing.T) {
	tests := []struct {
		in   string
		want string // RFC 3339 in UTC, "" for rejected
	}{
		{"2024-05-01T12:00:00Z", "2024-05-01T12:00:00Z"},
		{"2024-05-01T12:00:00.123456789+05:30", "2024-05-01T06:30:00.123456789Z"},
		{"2024-05-01T12:00:00.123456+0000", "2024-05-01T12:00:00.123456Z"},
		{"2024-05-01 12:00:00.5", "2024-05-01T12:00:00.5Z"},
		{"2024-05-01T12:00:00", "2024-05-01T12:00:00Z"},
		{" 1714564800 ", "2024-05-01T12:00:00Z"},
		{"1714564800.000001", "2024-05-01T12:00:00.000001Z"},
		{"1714564800.123456789123", "2024-05-01T12:00:00.123456789Z"},
		{"1714564800123", "2024-05-01T12:00:00.123Z"},
		{"1714564800123.5", "2024-05-01T12:00:00.1235Z"},
		{"1714564800123456", "2024-05-01T12:00:00.123456Z"},
		{"1714564800123456789", "2024-05-01T12:00:00.123456789Z"},
		{"", ""},
		{"-1", ""},
		{"1714564800.x", ""},
		{"1714564800.1x", ""},
		{"2024-13-01T00:00:00Z", ""},
		{"yesterday", ""},
		{"1e9", ""},
	}
	for _, tt := range tests {
		got, ok := parseTime(tt.in)
		s := ""
		if ok {
			s = got.Format(time.RFC3339Nano)
		}
		if s != tt.want {
			t.Errorf("parseTime(%q) = %q, want %q", tt.in, s, tt.want)
		}
	}
}

func TestAppendID(t *testing.T) {
	for _, name := range []string{`{"value":"198.51.100.7"}`, "", "é"} {
		got, _ := appendID(nil, "ipv4-addr", &scoNamespace, []byte(name), nil)
		want := "ipv4-addr--" + uuid.NewSHA1(uuid.UUID(scoNamespace), []byte(name)).String()
		if string(got) != want {
			t.Errorf("appendID(%q) = %s, want %s", name, got, want)
		}
	}
}

func TestCanon(t *testing.T) {
	v := map[string]any{
		"b": []any{"x\"y\\z\n\t\x01\u2028", int64(-3), true},
		"a": map[string]any{"\U0001F600": "emoji", "\uff61": "halfwidth"},
		"c": "bad \xff byte",
	}
	want := `{"a":{"😀":"emoji","｡":"halfwidth"},"b":["x\"y\\z\n\t\u0001` + "\u2028" + `",-3,true],"c":"bad ` + "\ufffd" + ` byte"}`
	if got := string(stix.AppendCanonical(nil, v)); got != want {
		t.Errorf("stix.AppendCanonical:\n got %s\nwant %s", got, want)
	}
}

func TestZeekUnescape(t *testing.T) {
	for in, want := range map[string]string{
		`plain`:             "plain",
		`a\x09b`:            "a\tb",
		`\x2d`:              "-",
		`end\x`:             `end\x`,
		`bad\xzz`:           `bad\xzz`,
		`\xe2\x82\xac`:      "€",
		`not\xffutf8`:       `not\xffutf8`,
		`C:\\share\x2cname`: `C:\\share,name`,
	} {
		if got := zeekUnescape([]byte(in)); got != want {
			t.Errorf("zeekUnescape(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHTTPURL(t *testing.T) {
	tests := []struct {
		host, uri string
		port      int64
		want      string
	}{
		{"evil.example", "/a?b=c", 80, "http://evil.example/a?b=c"},
		{"evil.example", "/a", 8080, "http://evil.example:8080/a"},
		{"evil.example:8080", "/a", 8080, "http://evil.example:8080/a"},
		{"2001:db8::1", "/", 8080, "http://[2001:db8::1]:8080/"},
		{"[2001:db8::1]:8080", "/", 8080, "http://[2001:db8::1]:8080/"},
		{"evil.example", "", 0, "http://evil.example/"},
		{"evil.example", "a", 0, "http://evil.example/a"},
		{"", "/a", 80, ""},
		{"", "http://proxied.example/x", 3128, "http://proxied.example/x"},
	}
	for _, tt := range tests {
		if got := httpURL(tt.host, tt.uri, tt.port); got != tt.want {
			t.Errorf("httpURL(%q, %q, %d) = %q, want %q", tt.host, tt.uri, tt.port, got, tt.want)
		}
	}
}

func TestHostObject(t *testing.T) {
	for in, want := range map[string]string{
		"evil.example":       "domain-name:evil.example",
		"evil.example.":      "domain-name:evil.example",
		"evil.example:8080":  "domain-name:evil.example",
		"203.0.113.80:8080":  "ipv4-addr:203.0.113.80",
		"[2001:db8::1]:8443": "ipv6-addr:2001:db8::1",
		"2001:db8::1":        "ipv6-addr:2001:db8::1",
		"":                   "",
	} {
		var b builder
		b.reset()
		got := ""
		if hostObject(&b, in) != "" {
			o := b.objs[0]
			got = o.Type + ":" + o.Props["value"].(string)
		}
		if got != want {
			t.Errorf("hostObject(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEmailAddr(t *testing.T) {
	for in, want := range map[string]string{
		"<a@example.org>":                  "a@example.org",
		`"Billing, Dept" <b@example.org>`:  "b@example.org",
		"c@example.org":                    "c@example.org",
		"no address":                       "",
		"<>":                               "",
		"@example.org":                     "",
		"two@example.org, three@example.o": "",
	} {
		if got := emailAddr(in); got != want {
			t.Errorf("emailAddr(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestProtocols(t *testing.T) {
	got := protocols("ipv4", "TCP", "", "-", "http", " SSL ", "tcp")
	if want := []any{"ipv4", "tcp", "http", "ssl"}; !slices.Equal(got, want) {
		t.Errorf("protocols = %v, want %v", got, want)
	}
}

package event_test

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/setu-cti/setu/internal/event"
)

func TestDetect(t *testing.T) {
	tests := []struct {
		in   string
		want event.Format
	}{
		{"", event.Auto},
		{"   \n\n", event.Auto},
		{"hello world\n", event.Auto},
		{"#separator \\x09\n#set_separator\t,\n", event.ZeekTSV},
		{"#fields\tts\tuid\n", event.ZeekTSV},
		{"# a comment\n", event.Auto},
		{"[\n {\"type\":\"indicator\"}\n]", event.STIX},
		{`{"type":"bundle","id":"bundle--1","objects":[]}`, event.STIX},
		{`{"type":"observed-data","id":"observed-data--1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e"}` + "\n", event.STIX},
		{"{\n  \"type\": \"bundle\",\n  \"id\": \"bundle--1\",\n", event.STIX},
		{"\xef\xbb\xbf{\"type\":\"bundle\"}", event.STIX},
		{`{"timestamp":"2024-05-01T12:00:00+0000","event_type":"alert","src_ip":"192.0.2.1"}` + "\n", event.Eve},
		{`{"timestamp":"2024-05-01T12:00:00+0000","event_type":"alert","src_ip":"192.0.2.1"`, event.Eve},
		{`{"_path":"conn","ts":1}`, event.ZeekJSON},
		{`{"ts":1714564800.1,"uid":"C1","id.orig_h":"192.0.2.1"}`, event.ZeekJSON},
		{`{"ts":1714564800.1,"fuid":"F1"}`, event.ZeekJSON},
		{`{"@timestamp":"2024-05-01T12:00:00Z","source":{"ip":"192.0.2.1"}}` + "\n", event.NDJSON},
		{`{"type":"connection","id":"42"}`, event.NDJSON},
		{`{"src_ip":"192.0.2.1", broken`, event.NDJSON},
		{"timestamp,source.ip,destination.ip\n2024-05-01T12:00:00Z,192.0.2.1,198.51.100.1\n", event.CSV},
		{"a;b;c\n", event.CSV},
	}
	for _, tt := range tests {
		if got := event.Detect([]byte(tt.in)); got != tt.want {
			t.Errorf("Detect(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if _, err := event.NewReader(strings.NewReader("hello\n"), event.Auto, event.Options{}); !errors.Is(err, event.ErrFormat) {
		t.Errorf("NewReader of undetectable input: %v", err)
	}
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]event.Format{
		"": event.Auto, "auto": event.Auto, "NDJSON": event.NDJSON, "jsonl": event.NDJSON, "csv": event.CSV,
		"stix": event.STIX, "zeek": event.ZeekTSV, "zeek-tsv": event.ZeekTSV, "zeek-json": event.ZeekJSON,
		"eve": event.Eve, "suricata": event.Eve,
	} {
		if got, err := event.ParseFormat(in); err != nil || got != want {
			t.Errorf("ParseFormat(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := event.ParseFormat("xml"); !errors.Is(err, event.ErrFormat) {
		t.Errorf("ParseFormat(xml): %v", err)
	}
}

func TestParseMappingErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "mapping: no rules"},
		{"# only a comment\n", "mapping: no rules"},
		{"src_ip ipv4-addr:value", "mapping line 1: want FIELD = TARGET, or default"},
		{" = ipv4-addr:value", "mapping line 1: empty field"},
		{"a..b = ipv4-addr:value", `mapping line 1: field "a..b" has an empty segment`},
		{"x = nowhere", `mapping line 1: target "nowhere": want TYPE:PATH, first_observed, last_observed or number_observed`},
		{"x = ipv4-addr:", `mapping line 1: target "ipv4-addr:": want TYPE:PATH, first_observed, last_observed or number_observed`},
		{"x = file:hashes.SHA-256", `mapping line 1: target "file:hashes.SHA-256": not an object path: property name 'SHA-256' contains '-' and must be quoted: 'SHA-256'`},
		{"x = file#a b:name", `mapping line 1: target "file#a b:name": a label may hold letters, digits, _ and -`},
		{"x = file:id", `mapping line 1: target "file:id": id is set by the reader`},
		{"x = network-traffic:protocols[0]", `mapping line 1: target "network-traffic:protocols[0]": a list index cannot be set; use [*] to add to a list`},
		{"x = network-traffic:src_ref", `mapping line 1: target "network-traffic:src_ref": follow src_ref with a property of the object it names, e.g. src_ref.value`},
		{"x = domain-name:resolves_to_refs.value", `mapping line 1: target "domain-name:resolves_to_refs.value": write resolves_to_refs[*].PROPERTY to make the objects resolves_to_refs lists`},
		{"x = file:foo_ref.name", `mapping line 1: target "file:foo_ref.name": file:foo_ref is not a reference this reader can follow`},
		{"x = network-traffic:extensions.'x'.y_ref.value", `mapping line 1: target "network-traffic:extensions.'x'.y_ref.value": references are followed only on top-level properties`},
		{"x = file:names[*].first", `mapping line 1: target "file:names[*].first": [*] must end the path or follow a *_refs property`},
		{`{"x": 1}`, `mapping: "x": want a target or a list of targets`},
		{`{"x": [1]}`, `mapping: "x": a target is not a string`},
		{`{"x": "nowhere"}`, `mapping: "x": target "nowhere": want TYPE:PATH, first_observed, last_observed or number_observed`},
		{`{"x": "url:value",}`, "mapping: invalid JSON: invalid character ',' at start of value after offset 17"},
		{`{"x": "url:value", "x": "url:value"}`, `mapping: invalid JSON: duplicate object member name "x"`},
	}
	for _, tt := range tests {
		_, err := event.ParseMapping([]byte(tt.in))
		if err == nil || err.Error() != tt.want {
			t.Errorf("ParseMapping(%q):\n got %v\nwant %s", tt.in, err, tt.want)
		}
	}
}

// TestMappingForms checks that the text and JSON forms mean the same and
// that String gives back the text form.
func TestMappingForms(t *testing.T) {
	text := `
# sensor export
src = network-traffic:src_ref.value
dst = network-traffic:dst_ref.value
when = first_observed
when = last_observed
hits = number_observed
q = domain-name#dns:value
ans = domain-name#dns:resolves_to_refs[*].value
sha = file:hashes.'SHA-256'
`
	js := `{"src": "network-traffic:src_ref.value", "dst": "network-traffic:dst_ref.value",
		"when": ["first_observed", "last_observed"], "hits": "number_observed",
		"q": "domain-name#dns:value", "ans": "domain-name#dns:resolves_to_refs[*].value",
		"sha": "file:hashes.'SHA-256'"}`
	mt, err := event.ParseMapping([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	mj, err := event.ParseMapping([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	if mt.String() != mj.String() {
		t.Errorf("text and JSON forms differ:\n%s\n%s", mt, mj)
	}
	again, err := event.ParseMapping([]byte(mt.String()))
	if err != nil || again.String() != mt.String() {
		t.Errorf("String does not round-trip: %v\n%s", err, again)
	}
	in := `{"src":"192.0.2.1","dst":"2001:db8::1","when":1714564800,"hits":3,"q":"evil.example","ans":["198.51.100.7","cdn.evil.example"],"sha":"abc"}` + "\n"
	r, err := event.NewReader(strings.NewReader(in), event.NDJSON, event.Options{Mapping: mj})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	o := ev.Observation
	if o.Count != 3 || o.FirstObserved.Unix() != 1714564800 || !o.LastObserved.Equal(o.FirstObserved) {
		t.Errorf("window %v %v count %d", o.FirstObserved, o.LastObserved, o.Count)
	}
	var got []string
	for _, x := range o.Objects {
		got = append(got, x.Type)
	}
	want := []string{"ipv4-addr", "ipv6-addr", "network-traffic", "ipv4-addr", "domain-name", "domain-name", "file"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("object types (-want +got):\n%s", d)
	}
	if dn := o.Objects[5].Props; dn["value"] != "evil.example" || len(dn["resolves_to_refs"].([]any)) != 2 {
		t.Errorf("domain-name %v", dn)
	}
}

// TestMappingDefaultLine checks that "default" brings in the default
// rules where it stands, so earlier rules win.
func TestMappingDefaultLine(t *testing.T) {
	m, err := event.ParseMapping([]byte("host = domain-name:value\nsource.ip = ipv4-addr#mine:value\ndefault\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(m.String(), "host = domain-name:value\nsource.ip = ipv4-addr#mine:value\nevent.start = first_observed\n") {
		t.Errorf("mapping:\n%s", m)
	}
	def := event.DefaultMapping().String()
	if !strings.Contains(m.String(), def) {
		t.Error("default rules missing")
	}
}

// TestCSVMapping reads CSV with a custom mapping, a semicolon separator
// found from the header, labels that keep two objects of one type apart,
// and several rules for one property.
func TestCSVMapping(t *testing.T) {
	m, err := event.ParseMapping([]byte(`
time = first_observed
client = ipv4-addr#client:value
client_mac = ipv4-addr#client:resolves_to_refs[*].value
server = ipv4-addr#server:value
name = file:name
alt_name = file:name
md5 = file:hashes.MD5
`))
	if err != nil {
		t.Fatal(err)
	}
	in := "time;client;client_mac;server;alt_name;name;md5\n" +
		"1714564800123;192.0.2.1;00-1A-2B-3C-4D-5E;198.51.100.1;second;first;0123456789abcdef0123456789abcdef\n" +
		"1714564800123;192.0.2.1;;not-an-address;second;;\n"
	r, err := event.NewReader(strings.NewReader(in), event.CSV, event.Options{Mapping: m})
	if err != nil {
		t.Fatal(err)
	}
	var all [][]map[string]any
	for {
		ev, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if got := ev.Observation.FirstObserved.UnixMilli(); got != 1714564800123 {
			t.Errorf("first observed %d ms", got)
		}
		var objs []map[string]any
		for _, x := range ev.Observation.Objects {
			p := map[string]any{}
			for k, v := range x.Props {
				if k != "id" && !strings.HasSuffix(k, "_refs") {
					p[k] = v
				}
			}
			objs = append(objs, p)
		}
		all = append(all, objs)
	}
	want := [][]map[string]any{
		{
			{"type": "mac-addr", "value": "00:1a:2b:3c:4d:5e"},
			{"type": "ipv4-addr", "value": "192.0.2.1"},
			{"type": "ipv4-addr", "value": "198.51.100.1"},
			{"type": "file", "name": "first", "hashes": map[string]any{"MD5": "0123456789abcdef0123456789abcdef"}},
		},
		{
			{"type": "ipv4-addr", "value": "192.0.2.1"},
			{"type": "file", "name": "second"},
		},
	}
	if d := cmp.Diff(want, all); d != "" {
		t.Errorf("objects (-want +got):\n%s", d)
	}
}

func TestCSVErrors(t *testing.T) {
	m, _ := event.ParseMapping([]byte("a = url:value"))
	r, _ := event.NewReader(strings.NewReader("x,y\n1,2\n"), event.CSV, event.Options{Mapping: m})
	_, err1 := r.Next()
	_, err2 := r.Next()
	if !errors.Is(err1, event.ErrFormat) || err1 != err2 || isLineError(err1) {
		t.Errorf("unmapped header: %v, then %v", err1, err2)
	}
	if _, err := event.NewReader(strings.NewReader("a\n1\n"), event.CSV, event.Options{Comma: '"'}); !errors.Is(err, event.ErrFormat) {
		t.Errorf("quote as separator: %v", err)
	}
	r, _ = event.NewReader(strings.NewReader("url.full|note\nhttp://a.example/|x\n"), event.CSV, event.Options{Comma: '|'})
	if ev, err := r.Next(); err != nil || len(ev.Observation.Objects) != 1 {
		t.Errorf("pipe separator: %v %v", err, ev.Observation.Objects)
	}
}

// TestZeekJSONLogOption checks that Options.ZeekLog names the log of lines
// that neither say nor show it.
func TestZeekJSONLogOption(t *testing.T) {
	in := `{"ts":1714564800,"id.orig_h":"192.0.2.1","id.resp_h":"198.51.100.1","query":"evil.example"}` + "\n"
	for _, tt := range []struct {
		log  string
		want string
	}{{"", ""}, {"dns", "dns"}} {
		r, err := event.NewReader(strings.NewReader(in), event.ZeekJSON, event.Options{ZeekLog: tt.log})
		if err != nil {
			t.Fatal(err)
		}
		ev, err := r.Next()
		if err != nil || ev.Kind != tt.want {
			t.Errorf("ZeekLog %q: kind %q, %v", tt.log, ev.Kind, err)
		}
	}
	if _, err := event.NewReader(strings.NewReader(in), event.ZeekJSON, event.Options{ZeekLog: "smb"}); !errors.Is(err, event.ErrFormat) {
		t.Errorf("unknown log: %v", err)
	}
}

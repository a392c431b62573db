package event

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/setu-cti/setu/internal/stix/pattern"
)

// Mapping says which fields of an NDJSON event, or which columns of a CSV
// file, become which observable properties. It is a list of rules
// FIELD = TARGET, in priority order.
//
// FIELD is a dotted path into nested objects (destination.ip); a key that
// itself contains dots ("id.orig_h") is found the same way. Arrays met
// along the path are entered and every element is used. For CSV, FIELD is
// a column name from the header row, compared exactly once spaces
// around it are trimmed.
//
// TARGET is one of:
//
//   - first_observed, last_observed: the event's time window. The value is
//     an RFC 3339 timestamp (also with a "+0000" zone, a space for the T,
//     or no zone, read as UTC) or a number of seconds since 1970, with a
//     fraction (milliseconds, microseconds or nanoseconds when larger than
//     10^11, 10^14, 10^17). When only one is given it is used for both.
//   - number_observed: how many times the event was seen.
//   - TYPE:PATH, a STIX object path as in a pattern, to set an
//     observable's property: ipv4-addr:value, file:hashes.'SHA-256',
//     network-traffic:extensions.'http-request-ext'.request_method. A
//     list property takes values with [*]: network-traffic:protocols[*].
//   - TYPE#LABEL:PATH, the same for a distinct object of the type: all
//     rules naming one TYPE#LABEL (or one TYPE without a label) build one
//     object, except rules to the bare value of an address, domain-name,
//     url or email-addr without a label, each of which builds objects of
//     its own (source.ip and destination.ip are two ipv4-addr objects).
//     Give a label to combine such a value with other properties
//     (domain-name#dns:value and domain-name#dns:resolves_to_refs[*].value);
//     an object of these types without a value is left out.
//
// A reference property followed by a path creates the object it refers
// to: network-traffic:src_ref.value makes an address object (ipv4-addr,
// ipv6-addr, mac-addr or, failing those, domain-name, chosen by the
// value) and sets src_ref to its id; domain-name:resolves_to_refs[*].value
// makes one object per value and lists their ids. Supported references
// are those of the STIX 2.1 SCOs whose targets are fixed by the
// specification (network-traffic, domain-name, ipv4-addr, ipv6-addr,
// email-addr, email-message, file, process, windows-registry-key).
//
// Values are converted to their property's type: ports, counts and sizes
// to integers, protocols, request_method and request_version to lower
// case, timestamps (start, end, validity_not_before...) to RFC 3339.
// A network-traffic object's protocols start with the IP version of its
// address references (ipv4, ipv6) unless a rule gave one, since STIX
// requires protocols and indicators test them. A value that does not
// convert (a port beyond 65535), an address that does not parse, empty
// strings, nulls and JSON objects are left out. When several rules set
// one property, the earliest that has a value wins; several values for
// one scalar property (a field holding an array) make a list.
//
// The text form has one rule per line, FIELD = TARGET; blank lines and
// lines starting with # are ignored, and a line reading "default" inserts
// the rules of DefaultMapping at that point. The JSON form is an object
// whose members map a FIELD to a TARGET or a list of TARGETs, in order.
type Mapping struct {
	rules []rule
}

type targetKind uint8

const (
	toObject targetKind = iota
	toFirst
	toLast
	toCount
)

type rule struct {
	field, target string
	kind          targetKind
	typ, label    string
	steps         []pattern.Step
}

// ParseMapping reads a mapping in the text or the JSON form (the JSON
// form starts with "{").
func ParseMapping(data []byte) (*Mapping, error) {
	if t := bytes.TrimSpace(data); len(t) > 0 && t[0] == '{' {
		return parseJSONMapping(t)
	}
	m := &Mapping{}
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		if line == "default" {
			m.rules = append(m.rules, DefaultMapping().rules...)
			continue
		}
		field, target, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("mapping line %d: want FIELD = TARGET, or default", i+1)
		}
		if err := m.add(field, target); err != nil {
			return nil, fmt.Errorf("mapping line %d: %v", i+1, err)
		}
	}
	if len(m.rules) == 0 {
		return nil, errors.New("mapping: no rules")
	}
	return m, nil
}

func parseJSONMapping(data []byte) (*Mapping, error) {
	d := jsontext.NewDecoder(bytes.NewReader(data))
	v, err := decodeOrdered(d)
	if err != nil {
		return nil, fmt.Errorf("mapping: %v", jsonErr(err))
	}
	members, ok := v.([][2]any)
	if !ok {
		return nil, errors.New("mapping: want a JSON object")
	}
	m := &Mapping{}
	for _, kv := range members {
		field := kv[0].(string)
		var targets []any
		switch t := kv[1].(type) {
		case string:
			targets = []any{t}
		case []any:
			targets = t
		default:
			return nil, fmt.Errorf("mapping: %q: want a target or a list of targets", field)
		}
		for _, t := range targets {
			s, ok := t.(string)
			if !ok {
				return nil, fmt.Errorf("mapping: %q: a target is not a string", field)
			}
			if err := m.add(field, s); err != nil {
				return nil, fmt.Errorf("mapping: %q: %v", field, err)
			}
		}
	}
	if len(m.rules) == 0 {
		return nil, errors.New("mapping: no rules")
	}
	return m, nil
}

// decodeOrdered reads a JSON value keeping the order of object members,
// which are the mapping's priority order.
func decodeOrdered(d *jsontext.Decoder) (any, error) {
	if d.PeekKind() != '{' {
		v, err := decodeAny(d)
		if err != nil {
			return nil, err
		}
		_, err = d.ReadToken()
		if err == nil {
			return nil, errors.New("data after the JSON value")
		}
		return v, nil
	}
	if _, err := d.ReadToken(); err != nil {
		return nil, err
	}
	var members [][2]any
	for d.PeekKind() != '}' {
		tok, err := d.ReadToken()
		if err != nil {
			return nil, err
		}
		name := tok.String()
		v, err := decodeAny(d)
		if err != nil {
			return nil, err
		}
		members = append(members, [2]any{name, v})
	}
	if _, err := d.ReadToken(); err != nil {
		return nil, err
	}
	if _, err := d.ReadToken(); err == nil {
		return nil, errors.New("data after the JSON value")
	}
	return members, nil
}

// String returns the mapping in the text form.
func (m *Mapping) String() string {
	var b strings.Builder
	for _, r := range m.rules {
		fmt.Fprintf(&b, "%s = %s\n", r.field, r.target)
	}
	return b.String()
}

func (m *Mapping) add(field, target string) error {
	field, target = strings.TrimSpace(field), strings.TrimSpace(target)
	if field == "" {
		return errors.New("empty field")
	}
	for _, seg := range strings.Split(field, ".") {
		if seg == "" {
			return fmt.Errorf("field %q has an empty segment", field)
		}
	}
	r := rule{field: field, target: target}
	switch target {
	case "first_observed":
		r.kind = toFirst
	case "last_observed":
		r.kind = toLast
	case "number_observed":
		r.kind = toCount
	default:
		if err := parseTarget(&r); err != nil {
			return err
		}
	}
	m.rules = append(m.rules, r)
	return nil
}

// parseTarget reads TYPE[#LABEL]:PATH. The path is parsed by the pattern
// parser, so a mapping spells paths exactly as indicators do.
func parseTarget(r *rule) error {
	head, path, ok := strings.Cut(r.target, ":")
	if !ok || path == "" {
		return fmt.Errorf("target %q: want TYPE:PATH, first_observed, last_observed or number_observed", r.target)
	}
	typ, label, _ := strings.Cut(head, "#")
	for _, c := range label {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return fmt.Errorf("target %q: a label may hold letters, digits, _ and -", r.target)
		}
	}
	p, err := pattern.Parse("[" + typ + ":" + path + " = 0]")
	if err != nil {
		// The position would point into the pattern built here, not
		// into the target as written.
		var se *pattern.SyntaxError
		if errors.As(err, &se) {
			return fmt.Errorf("target %q: not an object path: %s", r.target, se.Msg)
		}
		return fmt.Errorf("target %q: not an object path", r.target)
	}
	obs := p.Observations()
	cs := obs[0].Comparisons()
	if len(obs) != 1 || len(cs) != 1 {
		return fmt.Errorf("target %q: not an object path", r.target)
	}
	r.typ, r.label, r.steps = cs[0].Path.Type, label, cs[0].Path.Steps
	if k := r.steps[0].Key; k == "type" || k == "id" || k == "spec_version" {
		return fmt.Errorf("target %q: %s is set by the reader", r.target, k)
	}
	return checkSteps(r.typ, r.steps, r.target)
}

// checkSteps accepts the paths the builder can fill: keys, [*] at the end
// or after a *_refs property, and references on top-level properties of
// the types in refTypes.
func checkSteps(typ string, steps []pattern.Step, target string) error {
	for i, st := range steps {
		switch st.Kind {
		case pattern.IndexStep:
			return fmt.Errorf("target %q: a list index cannot be set; use [*] to add to a list", target)
		case pattern.AnyIndexStep:
			if i == len(steps)-1 {
				continue
			}
			if i == 0 || !strings.HasSuffix(steps[i-1].Key, "_refs") {
				return fmt.Errorf("target %q: [*] must end the path or follow a *_refs property", target)
			}
		case pattern.KeyStep:
			isRef := strings.HasSuffix(st.Key, "_ref")
			isRefs := strings.HasSuffix(st.Key, "_refs")
			if !isRef && !isRefs {
				continue
			}
			if i > 0 {
				return fmt.Errorf("target %q: references are followed only on top-level properties", target)
			}
			if refTypes[typ+":"+st.Key] == nil {
				return fmt.Errorf("target %q: %s:%s is not a reference this reader can follow", target, typ, st.Key)
			}
			rest := steps[i+1:]
			if isRefs {
				if len(rest) < 2 || rest[0].Kind != pattern.AnyIndexStep {
					return fmt.Errorf("target %q: write %s[*].PROPERTY to make the objects %s lists", target, st.Key, st.Key)
				}
				rest = rest[1:]
			} else if len(rest) == 0 {
				return fmt.Errorf("target %q: follow %s with a property of the object it names, e.g. %s.value", target, st.Key, st.Key)
			}
			refTyp := refTypes[typ+":"+st.Key][0]
			if isRefs {
				for _, s := range rest {
					if s.Kind == pattern.KeyStep && (strings.HasSuffix(s.Key, "_ref") || strings.HasSuffix(s.Key, "_refs")) {
						return fmt.Errorf("target %q: references inside a *_refs list are not followed", target)
					}
				}
			}
			return checkSteps(refTyp, rest, target)
		}
	}
	return nil
}

// refTypes gives, for each reference property that mappings can follow,
// the types it may point to; with several, the value chooses (see
// classify).
var refTypes = map[string][]string{
	"network-traffic:src_ref":               {"ipv4-addr", "ipv6-addr", "mac-addr", "domain-name"},
	"network-traffic:dst_ref":               {"ipv4-addr", "ipv6-addr", "mac-addr", "domain-name"},
	"network-traffic:src_payload_ref":       {"artifact"},
	"network-traffic:dst_payload_ref":       {"artifact"},
	"network-traffic:encapsulated_by_ref":   {"network-traffic"},
	"network-traffic:encapsulates_refs":     {"network-traffic"},
	"domain-name:resolves_to_refs":          {"ipv4-addr", "ipv6-addr", "domain-name"},
	"ipv4-addr:resolves_to_refs":            {"mac-addr"},
	"ipv4-addr:belongs_to_refs":             {"autonomous-system"},
	"ipv6-addr:resolves_to_refs":            {"mac-addr"},
	"ipv6-addr:belongs_to_refs":             {"autonomous-system"},
	"email-addr:belongs_to_ref":             {"user-account"},
	"email-message:from_ref":                {"email-addr"},
	"email-message:sender_ref":              {"email-addr"},
	"email-message:to_refs":                 {"email-addr"},
	"email-message:cc_refs":                 {"email-addr"},
	"email-message:bcc_refs":                {"email-addr"},
	"email-message:raw_email_ref":           {"artifact"},
	"file:parent_directory_ref":             {"directory"},
	"file:content_ref":                      {"artifact"},
	"process:image_ref":                     {"file"},
	"process:parent_ref":                    {"process"},
	"process:child_refs":                    {"process"},
	"process:creator_user_ref":              {"user-account"},
	"process:opened_connection_refs":        {"network-traffic"},
	"windows-registry-key:creator_user_ref": {"user-account"},
}

// valueTypes are the SCO types whose identity is their value: a rule to
// their bare value without a label builds one object per value.
var valueTypes = map[string]bool{
	"ipv4-addr": true, "ipv6-addr": true, "domain-name": true, "url": true,
	"email-addr": true, "mac-addr": true,
}

// DefaultMapping returns the rules used when none are given: Elastic
// Common Schema names (source.ip, destination.port, url.full,
// dns.question.name, file.hash.sha256, user.email...) and a few common
// flat names (src_ip, dst_ip, domain, sha256...). ParseMapping's
// "default" line inserts them.
func DefaultMapping() *Mapping {
	m := &Mapping{}
	for _, l := range defaultRules {
		if err := m.add(l[0], l[1]); err != nil {
			panic("event: default mapping: " + err.Error())
		}
	}
	return m
}

const httpExt = "network-traffic:extensions.'http-request-ext'."

var defaultRules = [][2]string{
	{"event.start", "first_observed"},
	{"@timestamp", "first_observed"},
	{"timestamp", "first_observed"},
	{"event.end", "last_observed"},
	{"event.count", "number_observed"},

	{"source.ip", "network-traffic:src_ref.value"},
	{"src_ip", "network-traffic:src_ref.value"},
	{"source.port", "network-traffic:src_port"},
	{"src_port", "network-traffic:src_port"},
	{"destination.ip", "network-traffic:dst_ref.value"},
	{"dst_ip", "network-traffic:dst_ref.value"},
	{"dest_ip", "network-traffic:dst_ref.value"},
	{"destination.port", "network-traffic:dst_port"},
	{"dst_port", "network-traffic:dst_port"},
	{"dest_port", "network-traffic:dst_port"},
	{"network.type", "network-traffic:protocols[*]"},
	{"network.transport", "network-traffic:protocols[*]"},
	{"network.protocol", "network-traffic:protocols[*]"},
	{"source.bytes", "network-traffic:src_byte_count"},
	{"destination.bytes", "network-traffic:dst_byte_count"},
	{"source.packets", "network-traffic:src_packets"},
	{"destination.packets", "network-traffic:dst_packets"},
	{"http.request.method", httpExt + "request_method"},
	{"url.path", httpExt + "request_value"},
	{"user_agent.original", httpExt + "request_header.'User-Agent'"},
	{"source.mac", "mac-addr:value"},
	{"destination.mac", "mac-addr:value"},

	{"source.domain", "domain-name:value"},
	{"destination.domain", "domain-name:value"},
	{"url.domain", "domain-name:value"},
	{"domain", "domain-name:value"},
	{"tls.client.server_name", "domain-name:value"},
	{"dns.question.name", "domain-name#dns:value"},
	{"dns.resolved_ip", "domain-name#dns:resolves_to_refs[*].value"},

	{"url.full", "url:value"},
	{"url.original", "url:value"},
	{"url", "url:value"},

	{"file.hash.md5", "file:hashes.MD5"},
	{"file.hash.sha1", "file:hashes.'SHA-1'"},
	{"file.hash.sha256", "file:hashes.'SHA-256'"},
	{"file.hash.sha512", "file:hashes.'SHA-512'"},
	{"md5", "file:hashes.MD5"},
	{"sha1", "file:hashes.'SHA-1'"},
	{"sha256", "file:hashes.'SHA-256'"},
	{"file.name", "file:name"},
	{"file.size", "file:size"},
	{"file.mime_type", "file:mime_type"},
	{"file.directory", "file:parent_directory_ref.path"},

	{"process.name", "process:image_ref.name"},
	{"process.hash.md5", "process:image_ref.hashes.MD5"},
	{"process.hash.sha1", "process:image_ref.hashes.'SHA-1'"},
	{"process.hash.sha256", "process:image_ref.hashes.'SHA-256'"},
	{"process.pid", "process:pid"},
	{"process.command_line", "process:command_line"},

	{"tls.server.hash.md5", "x509-certificate:hashes.MD5"},
	{"tls.server.hash.sha1", "x509-certificate:hashes.'SHA-1'"},
	{"tls.server.hash.sha256", "x509-certificate:hashes.'SHA-256'"},
	{"tls.server.subject", "x509-certificate:subject"},
	{"tls.server.issuer", "x509-certificate:issuer"},
	{"tls.server.x509.serial_number", "x509-certificate:serial_number"},
	{"tls.server.not_before", "x509-certificate:validity_not_before"},
	{"tls.server.not_after", "x509-certificate:validity_not_after"},

	{"user.email", "email-addr:value"},
	{"email.from.address", "email-message:from_ref.value"},
	{"email.sender.address", "email-message:sender_ref.value"},
	{"email.to.address", "email-message:to_refs[*].value"},
	{"email.cc.address", "email-message:cc_refs[*].value"},
	{"email.subject", "email-message:subject"},
	{"email.message_id", "email-message:message_id"},
	{"user.name", "user-account:account_login"},
	{"registry.path", "windows-registry-key:key"},
}

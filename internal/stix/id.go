package stix

import (
	"crypto/sha1"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/google/uuid"
)

// SCOIDNamespace is the UUIDv5 namespace the specification fixes for
// deterministic SCO identifiers.
var SCOIDNamespace = uuid.MustParse("00abedb4-aa42-466c-9c01-fed23315a9b7")

// ParseID splits a STIX identifier `TYPE--UUID`. It fails when the type is
// not a valid STIX type name or the UUID is not an RFC 4122 variant UUID in
// its 36-character form; the nil UUID is rejected.
func ParseID(id string) (typ string, u uuid.UUID, err error) {
	i := strings.Index(id, "--")
	if i < 0 {
		return "", uuid.Nil, errors.New("identifier is not of the form TYPE--UUID")
	}
	typ, rest := id[:i], id[i+2:]
	if msg := checkTypeName(typ); msg != "" {
		return "", uuid.Nil, errors.New("identifier type " + msg)
	}
	// uuid.Parse also accepts braces, urn: prefixes and undashed forms;
	// STIX allows only the dashed 36-character form.
	if len(rest) != 36 {
		return "", uuid.Nil, errors.New("identifier UUID is not a 36-character UUID")
	}
	u, err = uuid.Parse(rest)
	if err != nil {
		return "", uuid.Nil, errors.New("identifier UUID is malformed")
	}
	if u == uuid.Nil {
		return "", uuid.Nil, errors.New("identifier UUID is the nil UUID")
	}
	if u.Variant() != uuid.RFC4122 {
		return "", uuid.Nil, errors.New("identifier UUID is not an RFC 4122 variant")
	}
	return typ, u, nil
}

// checkTypeName returns "" when s is a valid STIX type name, else why not.
func checkTypeName(s string) string {
	if len(s) < 3 || len(s) > 250 {
		return "must be 3 to 250 characters"
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return "may contain only a-z, 0-9 and hyphen"
		}
	}
	if s[0] == '-' || s[len(s)-1] == '-' || strings.Contains(s, "--") {
		return "must not start or end with a hyphen or contain a double hyphen"
	}
	return ""
}

// scoIDProps lists, per SCO type, the properties from which the
// specification derives the deterministic identifier. Types absent here
// (process, custom SCOs) use UUIDv4.
var scoIDProps = map[string][]string{
	"artifact":             {"hashes", "payload_bin"},
	"autonomous-system":    {"number"},
	"directory":            {"path"},
	"domain-name":          {"value"},
	"email-addr":           {"value"},
	"email-message":        {"from_ref", "subject", "body"},
	"file":                 {"hashes", "name", "extensions", "parent_directory_ref"},
	"ipv4-addr":            {"value"},
	"ipv6-addr":            {"value"},
	"mac-addr":             {"value"},
	"mutex":                {"name"},
	"network-traffic":      {"start", "end", "src_ref", "dst_ref", "src_port", "dst_port", "protocols", "extensions"},
	"software":             {"name", "cpe", "swid", "vendor", "version"},
	"url":                  {"value"},
	"user-account":         {"account_type", "user_id", "account_login"},
	"windows-registry-key": {"key", "values"},
	"x509-certificate":     {"hashes", "serial_number"},
}

// hashPreference is the order in which one hash is chosen when hashes
// contribute to an identifier, so that two producers holding different sets
// of hashes of one file still agree on its id when they share the strongest
// common choice.
var hashPreference = []string{"MD5", "SHA-1", "SHA-256", "SHA-512"}

// SCOID computes the deterministic identifier of an SCO of type typ from its
// properties, as decoded JSON or as any Go values that marshal to JSON. ok is false when the type
// has no identifier-contributing properties or none of them is present, in
// which case the specification lets the producer use a UUIDv4.
func SCOID(typ string, props map[string]any) (id string, ok bool) {
	names, known := scoIDProps[typ]
	if !known {
		return "", false
	}
	contrib := make(map[string]any, len(names))
	for _, n := range names {
		v, present := props[n]
		if !present {
			continue
		}
		if n == "hashes" {
			h, isMap := v.(map[string]any)
			if !isMap || len(h) == 0 {
				continue
			}
			v = chooseHash(h)
		}
		contrib[n] = v
	}
	if len(contrib) == 0 {
		return "", false
	}
	var tree any = contrib
	if !isTree(contrib) {
		// Values from elsewhere than Parse (ints, structs): bring them to
		// the decoded form so they serialize as JSON would carry them.
		b, err := json.Marshal(contrib)
		if err != nil {
			return "", false
		}
		if tree, err = decodeStrict(b); err != nil {
			return "", false
		}
	}
	name := appendCanonical(nil, tree)
	return typ + "--" + uuid.NewHash(sha1.New(), SCOIDNamespace, name, 5).String(), true
}

// scoIDPropsCanonical lists scoIDProps' names in the order of the
// canonical form (byte order: they are ASCII).
var scoIDPropsCanonical = func() map[string][]string {
	m := make(map[string][]string, len(scoIDProps))
	for t, names := range scoIDProps {
		m[t] = slices.Sorted(slices.Values(names))
	}
	return m
}()

// AppendSCOIDName appends the canonical JSON (RFC 8785) of the properties
// of an SCO of type typ that contribute to its deterministic identifier:
// the UUIDv5 name, in SCOIDNamespace, of the id SCOID gives. It is for
// producers of many SCOs that cannot afford SCOID's allocations; props
// holds the values AppendCanonical accepts. ok is false, and dst is
// returned unchanged, when the type has no identifier-contributing
// properties or none is present.
func AppendSCOIDName(dst []byte, typ string, props map[string]any) (out []byte, ok bool) {
	start := len(dst)
	dst = append(dst, '{')
	n := 0
	for _, name := range scoIDPropsCanonical[typ] {
		v, present := props[name]
		if !present {
			continue
		}
		if name == "hashes" {
			h, isMap := v.(map[string]any)
			if !isMap || len(h) == 0 {
				continue
			}
			v = chooseHash(h)
		}
		if n > 0 {
			dst = append(dst, ',')
		}
		n++
		dst = appendCanonicalString(dst, name)
		dst = append(dst, ':')
		dst = appendCanonical(dst, v)
	}
	if n == 0 {
		return dst[:start], false
	}
	return append(dst, '}'), true
}

func chooseHash(h map[string]any) map[string]any {
	for _, k := range hashPreference {
		if v, ok := h[k]; ok {
			return map[string]any{k: v}
		}
	}
	// No preferred algorithm: take the smallest key so the choice does not
	// depend on map order.
	first := ""
	for k := range h {
		if first == "" || k < first {
			first = k
		}
	}
	return map[string]any{first: h[first]}
}

func scoIDWarning(id, typ string, m map[string]any) string {
	want, ok := SCOID(typ, m)
	if !ok || want == id {
		return ""
	}
	return fmt.Sprintf("%s: $.id: not the deterministic identifier %s", id, want)
}

// isTree reports whether v holds only the types the strict decoder produces.
func isTree(v any) bool {
	switch v := v.(type) {
	case nil, bool, string:
		return true
	case float64:
		return !math.IsNaN(v) && !math.IsInf(v, 0)
	case []any:
		for _, e := range v {
			if !isTree(e) {
				return false
			}
		}
		return true
	case map[string]any:
		for _, e := range v {
			if !isTree(e) {
				return false
			}
		}
		return true
	}
	return false
}

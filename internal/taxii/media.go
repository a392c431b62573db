package taxii

import (
	"strings"
)

// Media types of TAXII 2.1 resources and of STIX 2.1 content.
const (
	MediaTAXII = "application/taxii+json;version=2.1"
	MediaSTIX  = "application/stix+json;version=2.1"
)

// mediaType is a parsed media type or media range. Type, subtype and
// parameter names are lower-cased (they are case-insensitive); parameter
// values are unquoted and kept as sent.
type mediaType struct {
	typ, sub string
	params   []param
	q        int // weight in thousandths; only for Accept members
}

type param struct{ name, value string }

func (m mediaType) param(name string) (string, bool) {
	for _, p := range m.params {
		if p.name == name {
			return p.value, true
		}
	}
	return "", false
}

// Negotiate chooses, from the media types the server offers (in its order of
// preference), the one the Accept header value rates highest, following
// RFC 9110 §12.5.1: members are a comma-separated list of media ranges with
// optional parameters and a q weight; the most specific matching range
// decides the weight of an offered type; q=0 means "not acceptable"; ties go
// to the earlier offered type.
//
// An empty header accepts anything (RFC 9110: no Accept field means any
// media type). Members that do not parse are skipped; if nothing acceptable
// remains, Negotiate reports false and the caller answers 406.
//
// A range without a version parameter (application/taxii+json) matches the
// offered version, so it means TAXII 2.1 here; a range naming another
// version (version=2.0) does not match. Range parameters the offered type
// does not carry (such as charset=utf-8, which JSON has no use for) are
// disregarded rather than making the range fail, because clients add them
// without meaning a different representation.
func Negotiate(accept string, offered ...string) (string, bool) {
	if len(offered) == 0 {
		return "", false
	}
	if strings.Trim(accept, " \t") == "" {
		return offered[0], true
	}
	var ranges []mediaType
	for _, member := range splitList(accept) {
		if r, ok := parseAcceptMember(member); ok {
			ranges = append(ranges, r)
		}
	}
	best, bestQ := -1, 0
	for i, o := range offered {
		om, err := parseMediaType(o)
		if err != nil || om.typ == "*" || om.sub == "*" {
			continue
		}
		q, spec := 0, -1
		for _, r := range ranges {
			if s, ok := matchRange(r, om); ok && s > spec {
				spec, q = s, r.q
			}
		}
		if spec >= 0 && q > bestQ {
			best, bestQ = i, q
		}
	}
	if best < 0 {
		return "", false
	}
	return offered[best], true
}

// matchRange reports whether range r matches the concrete type o, and how
// specifically: 0 for */*, 1 for type/*, 2 for type/subtype, 3 when at least
// one parameter matched as well.
func matchRange(r, o mediaType) (int, bool) {
	switch {
	case r.typ == "*":
		return 0, true
	case r.typ != o.typ:
		return 0, false
	case r.sub == "*":
		return 1, true
	case r.sub != o.sub:
		return 0, false
	}
	spec := 2
	for _, p := range r.params {
		v, ok := o.param(p.name)
		if !ok {
			continue
		}
		if !strings.EqualFold(v, p.value) {
			return 0, false
		}
		spec = 3
	}
	return spec, true
}

// ContentTypeOK reports whether a request's Content-Type value ct denotes
// the media type want. Type, subtype and parameter names compare without
// regard to case, parameters in any order and with optional whitespace
// around the separators. A parameter that both carry must have the same
// value, so application/taxii+json;version=2.0 is refused where
// MediaTAXII is wanted, while application/taxii+json (no version) and extra
// parameters such as charset are accepted.
func ContentTypeOK(ct string, want string) bool {
	c, err := parseMediaType(ct)
	if err != nil || c.typ == "*" || c.sub == "*" {
		return false
	}
	w, err := parseMediaType(want)
	if err != nil {
		return false
	}
	if c.typ != w.typ || c.sub != w.sub {
		return false
	}
	for _, p := range w.params {
		if v, ok := c.param(p.name); ok && !strings.EqualFold(v, p.value) {
			return false
		}
	}
	return true
}

// parseAcceptMember parses one Accept list member. The first "q" parameter
// ends the media-range parameters; any after it are accept extensions and
// are dropped.
func parseAcceptMember(s string) (mediaType, bool) {
	m, err := parseMediaType(s)
	if err != nil {
		return mediaType{}, false
	}
	if m.typ == "*" && m.sub != "*" {
		return mediaType{}, false
	}
	m.q = 1000
	for i, p := range m.params {
		if p.name != "q" {
			continue
		}
		q, ok := parseQ(p.value)
		if !ok {
			return mediaType{}, false
		}
		m.q = q
		m.params = m.params[:i]
		break
	}
	return m, true
}

// parseQ parses an RFC 9110 qvalue into thousandths.
func parseQ(s string) (int, bool) {
	if s == "" || len(s) > 5 || (s[0] != '0' && s[0] != '1') {
		return 0, false
	}
	whole := int(s[0] - '0')
	frac := 0
	if len(s) > 1 {
		if s[1] != '.' {
			return 0, false
		}
		digits := s[2:]
		for i := 0; i < 3; i++ {
			frac *= 10
			if i < len(digits) {
				c := digits[i]
				if c < '0' || c > '9' {
					return 0, false
				}
				frac += int(c - '0')
			}
		}
	}
	q := whole*1000 + frac
	if q > 1000 {
		return 0, false
	}
	return q, true
}

type syntaxError string

func (e syntaxError) Error() string { return "malformed media type: " + string(e) }

// parseMediaType parses `type "/" subtype *( OWS ";" OWS [ parameter ] )`
// (RFC 9110 §8.3.1), where a parameter is `token "=" ( token /
// quoted-string )`. Duplicate parameter names are refused: with two
// versions, which one was meant cannot be known.
func parseMediaType(s string) (mediaType, error) {
	s = strings.Trim(s, " \t")
	var m mediaType
	i := tokenEnd(s, 0)
	if i == 0 || i >= len(s) || s[i] != '/' {
		return m, syntaxError("type")
	}
	m.typ = strings.ToLower(s[:i])
	j := tokenEnd(s, i+1)
	if j == i+1 {
		return m, syntaxError("subtype")
	}
	m.sub = strings.ToLower(s[i+1 : j])
	k := j
	for {
		k = skipOWS(s, k)
		if k == len(s) {
			return m, nil
		}
		if s[k] != ';' {
			return m, syntaxError("parameter separator")
		}
		k = skipOWS(s, k+1)
		if k == len(s) || s[k] == ';' {
			continue // RFC 9110 allows empty parameters
		}
		n := tokenEnd(s, k)
		if n == k || n >= len(s) || s[n] != '=' {
			return m, syntaxError("parameter name")
		}
		name := strings.ToLower(s[k:n])
		var value string
		k = n + 1
		if k < len(s) && s[k] == '"' {
			v, end, ok := quotedString(s, k)
			if !ok {
				return m, syntaxError("quoted string")
			}
			value, k = v, end
		} else {
			e := tokenEnd(s, k)
			if e == k {
				return m, syntaxError("parameter value")
			}
			value, k = s[k:e], e
		}
		if _, dup := m.param(name); dup {
			return m, syntaxError("repeated parameter " + name)
		}
		m.params = append(m.params, param{name, value})
	}
}

func skipOWS(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}

// tokenEnd returns the end of the RFC 9110 token starting at i.
func tokenEnd(s string, i int) int {
	for i < len(s) && isTchar(s[i]) {
		i++
	}
	return i
}

func isTchar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// quotedString reads the quoted-string starting at s[i] == '"' and returns
// its unescaped content and the index after the closing quote.
func quotedString(s string, i int) (string, int, bool) {
	var b strings.Builder
	for i++; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			return b.String(), i + 1, true
		case c == '\\':
			i++
			if i == len(s) {
				return "", 0, false
			}
			b.WriteByte(s[i])
		case c == '\t' || (c >= 0x20 && c != 0x7f):
			b.WriteByte(c)
		default:
			return "", 0, false
		}
	}
	return "", 0, false
}

// splitList splits a comma-separated header value into members, keeping
// commas inside quoted strings, and drops empty members (RFC 9110 §5.6.1).
func splitList(s string) []string {
	var out []string
	start, inQuote := 0, false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if inQuote {
				i++
			}
		case '"':
			inQuote = !inQuote
		case ',':
			if !inQuote {
				if m := strings.Trim(s[start:i], " \t"); m != "" {
					out = append(out, m)
				}
				start = i + 1
			}
		}
	}
	if m := strings.Trim(s[start:], " \t"); m != "" {
		out = append(out, m)
	}
	return out
}

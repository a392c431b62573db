package taxii

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Endpoint names a TAXII endpoint that takes filter parameters.
type Endpoint int

// Endpoints that take URL parameters, with the parameters each accepts
// (TAXII 2.1 §5):
//
//	EndpointObjects       GET  …/objects/                 added_after limit next match[id] match[type] match[version] match[spec_version]
//	EndpointManifest      GET  …/manifest/                added_after limit next match[id] match[type] match[version] match[spec_version]
//	EndpointObject        GET  …/objects/{id}/            added_after limit next match[version] match[spec_version]
//	EndpointVersions      GET  …/objects/{id}/versions/   added_after limit next match[spec_version]
//	EndpointDeleteObject  DELETE …/objects/{id}/          match[version] match[spec_version]
const (
	EndpointObjects Endpoint = iota + 1
	EndpointManifest
	EndpointObject
	EndpointVersions
	EndpointDeleteObject
)

func (e Endpoint) String() string {
	switch e {
	case EndpointObjects:
		return "objects"
	case EndpointManifest:
		return "manifest"
	case EndpointObject:
		return "object"
	case EndpointVersions:
		return "versions"
	case EndpointDeleteObject:
		return "delete object"
	}
	return "Endpoint(" + strconv.Itoa(int(e)) + ")"
}

// Parameter names.
const (
	ParamAddedAfter  = "added_after"
	ParamLimit       = "limit"
	ParamNext        = "next"
	ParamID          = "match[id]"
	ParamType        = "match[type]"
	ParamVersion     = "match[version]"
	ParamSpecVersion = "match[spec_version]"
)

var knownParams = []string{ParamAddedAfter, ParamLimit, ParamNext, ParamID, ParamType, ParamVersion, ParamSpecVersion}

var endpointParams = map[Endpoint][]string{
	EndpointObjects:      {ParamAddedAfter, ParamLimit, ParamNext, ParamID, ParamType, ParamVersion, ParamSpecVersion},
	EndpointManifest:     {ParamAddedAfter, ParamLimit, ParamNext, ParamID, ParamType, ParamVersion, ParamSpecVersion},
	EndpointObject:       {ParamAddedAfter, ParamLimit, ParamNext, ParamVersion, ParamSpecVersion},
	EndpointVersions:     {ParamAddedAfter, ParamLimit, ParamNext, ParamSpecVersion},
	EndpointDeleteObject: {ParamVersion, ParamSpecVersion},
}

// Accepts reports whether endpoint e defines URL parameter name.
func (e Endpoint) Accepts(name string) bool {
	return slices.Contains(endpointParams[e], name)
}

// Limits that keep one request's filter work bounded. A request over them is
// malformed, not truncated, so a client never silently gets a subset.
const (
	maxMatchValues = 1000
	maxNextLen     = 2048
)

// Filter is the parsed URL parameters of one request. Within a field the
// values are alternatives (OR); different fields all apply (AND). The zero
// Filter selects everything and, sent by the client, adds no parameters.
type Filter struct {
	AddedAfter   time.Time // zero: no lower bound
	Limit        int       // 0: the server's default page size
	Next         string    // opaque token from a previous page
	IDs          []string  // match[id]
	Types        []string  // match[type]
	SpecVersions []string  // match[spec_version]; empty: the newest spec version of each object
	Versions     VersionMatch
	// Ignored lists, sorted, the parameter names ParseFilter did not know,
	// for the caller to log and count.
	Ignored []string
}

// VersionMatch is match[version]. ParseFilter sets Last when the endpoint
// takes match[version] and the request leaves it out, as the specification
// defines, except on EndpointDeleteObject where an absent match[version]
// leaves VersionMatch zero: deleting "an object" removes every version,
// unless the request narrows it.
type VersionMatch struct {
	Last, First, All bool
	At               []time.Time // versions whose modified equals one of these
}

// IsZero reports whether no version selection is set.
func (v VersionMatch) IsZero() bool {
	return !v.Last && !v.First && !v.All && len(v.At) == 0
}

// FilterError is a malformed or misplaced URL parameter; servers answer it
// with 400 Bad Request.
type FilterError struct {
	Param  string // parameter name, e.g. "match[type]"
	Value  string // offending value, possibly truncated; for logs only
	Reason string
}

func (e *FilterError) Error() string {
	return "taxii: invalid URL parameter " + e.Param + ": " + e.Reason
}

func filterErr(name, value, reason string) *FilterError {
	if len(value) > 100 {
		value = value[:100] + "…"
	}
	return &FilterError{Param: name, Value: value, Reason: reason}
}

// ParseFilter reads the URL parameters q of a request to endpoint e.
//
// It fails with a *FilterError when a known parameter is repeated, has a
// malformed value (an empty value or list item, a limit that is not a
// positive integer, a timestamp not in TAXII form, a STIX type or id that is
// not valid, a spec version not of the form 2.1), or is one the endpoint
// does not define: silently ignoring, say, match[type] on the object
// endpoint or added_after on a delete would return or delete more than the
// client asked for. Parameters that are not TAXII filters are ignored and
// listed in Filter.Ignored. Parameters are checked in name order, so the
// error reported for a request is always the same.
func ParseFilter(q url.Values, e Endpoint) (Filter, error) {
	var f Filter
	if _, ok := endpointParams[e]; !ok {
		return f, fmt.Errorf("taxii: ParseFilter: unknown endpoint %v", e)
	}
	names := make([]string, 0, len(q))
	for name := range q {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		vals := q[name]
		if !slices.Contains(knownParams, name) {
			f.Ignored = append(f.Ignored, name)
			continue
		}
		if !e.Accepts(name) {
			return Filter{}, filterErr(name, strings.Join(vals, ","), "not accepted by the "+e.String()+" endpoint")
		}
		if len(vals) > 1 {
			return Filter{}, filterErr(name, strings.Join(vals, ","), "given more than once")
		}
		v := ""
		if len(vals) == 1 {
			v = vals[0]
		}
		if err := f.set(name, v); err != nil {
			return Filter{}, err
		}
	}
	if f.Versions.IsZero() && e.Accepts(ParamVersion) && e != EndpointDeleteObject {
		f.Versions.Last = true
	}
	return f, nil
}

func (f *Filter) set(name, v string) error {
	if v == "" {
		return filterErr(name, v, "empty value")
	}
	switch name {
	case ParamAddedAfter:
		t, err := ParseTimestamp(v)
		if err != nil {
			return filterErr(name, v, err.Error())
		}
		f.AddedAfter = t
	case ParamLimit:
		n, ok := positiveInt(v)
		if !ok {
			return filterErr(name, v, "not a positive integer")
		}
		f.Limit = n
	case ParamNext:
		if len(v) > maxNextLen {
			return filterErr(name, v, "token too long")
		}
		f.Next = v
	case ParamID:
		items, err := listItems(name, v, func(s string) string { return checkID(s) })
		if err != nil {
			return err
		}
		f.IDs = items
	case ParamType:
		items, err := listItems(name, v, checkType)
		if err != nil {
			return err
		}
		f.Types = items
	case ParamSpecVersion:
		items, err := listItems(name, v, checkSpecVersion)
		if err != nil {
			return err
		}
		f.SpecVersions = items
	case ParamVersion:
		items, err := listItems(name, v, func(s string) string {
			switch s {
			case "last", "first", "all":
				return ""
			}
			if _, err := ParseTimestamp(s); err != nil {
				return "not last, first, all or a timestamp"
			}
			return ""
		})
		if err != nil {
			return err
		}
		for _, s := range items {
			switch s {
			case "last":
				f.Versions.Last = true
			case "first":
				f.Versions.First = true
			case "all":
				f.Versions.All = true
			default:
				t, _ := ParseTimestamp(s)
				if !slices.ContainsFunc(f.Versions.At, t.Equal) {
					f.Versions.At = append(f.Versions.At, t)
				}
			}
		}
	}
	return nil
}

// positiveInt parses a decimal integer > 0 written with digits only (no
// sign, no spaces), as a "single integer value" is.
func positiveInt(s string) (int, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return 0, false
	}
	return n, true
}

// listItems splits a comma-separated value, trims blanks around items (no
// valid item holds them), checks each with check (which returns why an item
// is invalid, or ""), and drops repeats while keeping first-seen order.
func listItems(name, v string, check func(string) string) ([]string, error) {
	parts := strings.Split(v, ",")
	if len(parts) > maxMatchValues {
		return nil, filterErr(name, v, "more than "+strconv.Itoa(maxMatchValues)+" values")
	}
	out := make([]string, 0, len(parts))
	for _, p := range parts {
		p = strings.Trim(p, " \t")
		if p == "" {
			return nil, filterErr(name, v, "empty item in list")
		}
		if why := check(p); why != "" {
			return nil, filterErr(name, p, why)
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out, nil
}

// checkType applies the STIX 2.1 rules for a type name: 3 to 250
// characters of a-z, 0-9 and hyphen, not starting or ending with a hyphen
// and without a double hyphen (which separates type and UUID in an id).
func checkType(s string) string {
	if len(s) < 3 || len(s) > 250 {
		return "STIX type must be 3 to 250 characters"
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return "STIX type may contain only a-z, 0-9 and hyphen"
		}
	}
	if s[0] == '-' || s[len(s)-1] == '-' || strings.Contains(s, "--") {
		return "STIX type must not start or end with a hyphen or contain a double hyphen"
	}
	return ""
}

// checkID applies the STIX 2.1 identifier rules: TYPE--UUID with a valid
// type and an RFC 4122 UUID in its 36-character dashed form.
func checkID(s string) string {
	i := strings.Index(s, "--")
	if i < 0 {
		return "STIX id must be TYPE--UUID"
	}
	if why := checkType(s[:i]); why != "" {
		return why
	}
	u := s[i+2:]
	if len(u) != 36 {
		return "STIX id must end in a 36-character UUID"
	}
	id, err := uuid.Parse(u)
	if err != nil || id == uuid.Nil || id.Variant() != uuid.RFC4122 {
		return "STIX id must end in an RFC 4122 UUID"
	}
	return ""
}

// checkSpecVersion accepts MAJOR.MINOR, e.g. 2.0 or 2.1.
func checkSpecVersion(s string) string {
	dot := strings.IndexByte(s, '.')
	if dot <= 0 || dot == len(s)-1 || len(s) > 16 {
		return "spec version must be MAJOR.MINOR"
	}
	for i := 0; i < len(s); i++ {
		if i != dot && (s[i] < '0' || s[i] > '9') {
			return "spec version must be MAJOR.MINOR"
		}
	}
	return ""
}

// Hash returns a stable digest of the selection the filter makes: the
// match[*] fields and added_after. It leaves out limit (clients change it
// between pages) and next (the token being bound), and orders each list, so
// "a,b" and "b,a" agree. An unset match[version] counts as last, its default.
// A pagination token carries the hash so that it is refused with other
// filters.
func (f Filter) Hash() string {
	var b strings.Builder
	b.WriteString("taxii-filter-v1\n")
	if !f.AddedAfter.IsZero() {
		b.WriteString(formatExact(f.AddedAfter))
	}
	b.WriteByte('\n')
	for _, list := range [][]string{f.IDs, f.Types, f.SpecVersions} {
		s := slices.Clone(list)
		slices.Sort(s)
		s = slices.Compact(s)
		b.WriteString(strings.Join(s, ","))
		b.WriteByte('\n')
	}
	v := f.Versions
	if v.IsZero() {
		v.Last = true
	}
	fmt.Fprintf(&b, "%t,%t,%t", v.Last, v.First, v.All)
	at := make([]string, 0, len(v.At))
	for _, t := range v.At {
		at = append(at, formatExact(t))
	}
	slices.Sort(at)
	at = slices.Compact(at)
	b.WriteString(":" + strings.Join(at, ",") + "\n")
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:])
}

// Query encodes f as the URL parameters of a request to endpoint e. It
// fails with a *FilterError when f sets something e does not accept, or a
// negative limit, so a client finds the mistake before the server does.
func (f Filter) Query(e Endpoint) (url.Values, error) {
	q := url.Values{}
	add := func(name, value string) error {
		if !e.Accepts(name) {
			return filterErr(name, value, "not accepted by the "+e.String()+" endpoint")
		}
		q.Set(name, value)
		return nil
	}
	var err error
	try := func(name, value string) {
		if err == nil {
			err = add(name, value)
		}
	}
	if !f.AddedAfter.IsZero() {
		try(ParamAddedAfter, formatExact(f.AddedAfter))
	}
	if f.Limit < 0 {
		return nil, filterErr(ParamLimit, strconv.Itoa(f.Limit), "negative")
	}
	if f.Limit > 0 {
		try(ParamLimit, strconv.Itoa(f.Limit))
	}
	if f.Next != "" {
		try(ParamNext, f.Next)
	}
	if len(f.IDs) > 0 {
		try(ParamID, strings.Join(f.IDs, ","))
	}
	if len(f.Types) > 0 {
		try(ParamType, strings.Join(f.Types, ","))
	}
	if len(f.SpecVersions) > 0 {
		try(ParamSpecVersion, strings.Join(f.SpecVersions, ","))
	}
	if !f.Versions.IsZero() {
		var vs []string
		if f.Versions.Last {
			vs = append(vs, "last")
		}
		if f.Versions.First {
			vs = append(vs, "first")
		}
		if f.Versions.All {
			vs = append(vs, "all")
		}
		for _, t := range f.Versions.At {
			vs = append(vs, formatExact(t))
		}
		try(ParamVersion, strings.Join(vs, ","))
	}
	if err != nil {
		return nil, err
	}
	return q, nil
}

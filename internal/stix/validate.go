package stix

import (
	"bytes"
	"encoding/base64"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
)

// class is the kind of STIX object a type denotes.
type class uint8

const (
	classUnknown class = iota
	classSDO
	classSRO
	classSCO
	classMeta // marking-definition, language-content, extension-definition
)

// path is the location of a value, built on the stack while walking and
// only rendered when a fault is reported.
type path struct {
	parent *path
	key    string
	idx    int // >= 0 for a list element, else key applies
}

func (p *path) String() string {
	if p == nil {
		return "$"
	}
	var segs []*path
	for q := p; q != nil; q = q.parent {
		segs = append(segs, q)
	}
	var b strings.Builder
	b.WriteByte('$')
	for i := len(segs) - 1; i >= 0; i-- {
		q := segs[i]
		if q.idx >= 0 {
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(q.idx))
			b.WriteByte(']')
		} else {
			b.WriteByte('.')
			b.WriteString(q.key)
		}
	}
	return b.String()
}

func key(parent *path, k string) path { return path{parent: parent, key: k, idx: -1} }
func index(parent *path, i int) path  { return path{parent: parent, idx: i} }

type validator struct {
	id    string
	errs  ValidationErrors
	warns []string
}

func (v *validator) warn(p *path, msg string) {
	v.warns = append(v.warns, v.id+": "+p.String()+": "+msg)
}

func (v *validator) fail(p *path, msg string) {
	v.errs = append(v.errs, &ValidationError{ID: v.id, Path: p.String(), Msg: msg})
}

// Parse decodes and validates one STIX 2.1 object from its JSON bytes.
// On failure it returns a *ValidationError or ValidationErrors (all faults
// found), each naming the object's id (if it could be read) and the JSON path
// of the fault. raw is not retained.
func Parse(raw []byte) (*Object, error) {
	tree, err := decodeStrict(raw)
	if err != nil {
		de := err.(*decodeError)
		return nil, &ValidationError{ID: peekID(raw), Path: de.path, Msg: de.msg}
	}
	m, isObj := tree.(map[string]any)
	if !isObj {
		return nil, &ValidationError{Path: "$", Msg: "top-level value must be a JSON object"}
	}
	obj, verrs := validateObject(m)
	if len(verrs) > 0 {
		sort.SliceStable(verrs, func(i, j int) bool { return verrs[i].Path < verrs[j].Path })
		if len(verrs) == 1 {
			return nil, verrs[0]
		}
		return nil, verrs
	}
	obj.Canonical = appendCanonical(make([]byte, 0, len(raw)), m)
	return obj, nil
}

// peekID recovers the id of an object that is not valid JSON, so that even a
// decode failure can be attributed. It is best effort and lenient.
func peekID(raw []byte) string {
	d := jsontext.NewDecoder(bytes.NewReader(raw), jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	if tok, err := d.ReadToken(); err != nil || tok.Kind() != '{' {
		return ""
	}
	for d.PeekKind() == '"' {
		name, err := d.ReadToken()
		if err != nil {
			return ""
		}
		if name.String() == "id" && d.PeekKind() == '"' {
			tok, err := d.ReadToken()
			if err != nil {
				return ""
			}
			if _, _, err := ParseID(tok.String()); err == nil {
				return tok.String()
			}
			return ""
		}
		if err := d.SkipValue(); err != nil {
			return ""
		}
	}
	return ""
}

func validateObject(m map[string]any) (*Object, ValidationErrors) {
	v := &validator{}
	o := &Object{}
	// Read the id first so that every fault can name it.
	if idv, ok := m["id"].(string); ok {
		if _, _, err := ParseID(idv); err == nil {
			v.id = idv
		}
	}
	typ, _ := m["type"].(string)
	tp := key(nil, "type")
	switch tv := m["type"].(type) {
	case nil:
		if _, present := m["type"]; present {
			v.fail(&tp, "must be a string")
		} else {
			v.fail(&tp, "required property missing")
		}
	case string:
		if msg := checkTypeName(tv); msg != "" {
			v.fail(&tp, msg)
			typ = ""
		}
	default:
		v.fail(&tp, "must be a string")
	}
	if typ == "bundle" {
		v.fail(&tp, "a bundle is not a STIX object; frame it with Reader")
		return nil, v.errs
	}
	idp := key(nil, "id")
	switch idv := m["id"].(type) {
	case string:
		if t, _, err := ParseID(idv); err != nil {
			v.fail(&idp, err.Error())
		} else if typ != "" && t != typ {
			v.fail(&idp, "identifier type "+strconv.Quote(t)+" does not match the object type "+strconv.Quote(typ))
		}
	case nil:
		if _, present := m["id"]; present {
			v.fail(&idp, "must be a string")
		} else {
			v.fail(&idp, "required property missing")
		}
	default:
		v.fail(&idp, "must be a string")
	}

	spec := types[typ]
	cls := classUnknown
	if spec != nil {
		cls = spec.class
	} else {
		cls = customClass(m)
		spec = customSpecs[cls]
	}
	o.class = cls

	for k, val := range m {
		if k == "type" || k == "id" {
			continue // checked above
		}
		p := key(nil, k)
		pr := spec.props[k]
		if pr == nil {
			if msg := checkPropertyName(k); msg != "" {
				v.fail(&p, msg)
			}
			v.checkCustom(&p, k, val)
			continue
		}
		v.check(&p, val, pr)
	}
	for _, k := range spec.required {
		if k == "type" || k == "id" {
			continue // checked above
		}
		if _, ok := m[k]; !ok {
			p := key(nil, k)
			v.fail(&p, "required property missing")
		}
	}
	if spec.extra != nil {
		spec.extra(v, m)
	}
	if gm, ok := m["granular_markings"].([]any); ok {
		v.checkSelectors(m, gm)
	}
	if typ == "marking-definition" {
		v.checkBuiltinMarking(m)
	}
	if len(v.errs) > 0 {
		return nil, v.errs
	}

	o.ID = v.id
	o.Type = typ
	o.Warnings = v.warns
	o.SpecVersion, _ = m["spec_version"].(string)
	if s, ok := m["created"].(string); ok {
		o.Created, _, _ = parseTimestamp(s)
	}
	if s, ok := m["modified"].(string); ok {
		o.Modified, _, _ = parseTimestamp(s)
	}
	o.Revoked, _ = m["revoked"].(bool)
	o.CreatedByRef, _ = m["created_by_ref"].(string)
	if refs, ok := m["object_marking_refs"].([]any); ok {
		o.ObjectMarkingRefs = make([]string, len(refs))
		for i, r := range refs {
			o.ObjectMarkingRefs[i] = r.(string)
		}
	}
	if cls == classSCO {
		if w := scoIDWarning(o.ID, typ, m); w != "" {
			o.Warnings = append(o.Warnings, w)
		}
	}
	return o, nil
}

// customClass classifies an object of a type this package does not define:
// by the extension that declares it if any, else by its shape.
func customClass(m map[string]any) class {
	if exts, ok := m["extensions"].(map[string]any); ok {
		for _, e := range exts {
			if em, ok := e.(map[string]any); ok {
				switch em["extension_type"] {
				case "new-sdo":
					return classSDO
				case "new-sro":
					return classSRO
				case "new-sco":
					return classSCO
				}
			}
		}
	}
	_, hasCreated := m["created"]
	_, hasModified := m["modified"]
	if hasCreated || hasModified {
		return classSDO
	}
	return classSCO
}

// checkPropertyName applies the custom property name rule. Names the
// specification defines never reach here.
func checkPropertyName(k string) string {
	if len(k) < 3 || len(k) > 250 {
		return "property name must be 3 to 250 characters"
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return "property name may contain only a-z, A-Z, 0-9 and underscore"
		}
	}
	return ""
}

// checkCustom applies the one rule the specification makes for every
// property by name: *_ref holds an identifier and *_refs a list of them.
// Custom values are otherwise kept as they are: an empty string or list
// (ATT&CK data components carry x_mitre_data_source_ref "") is left alone,
// as the empty-list rule is left alone for custom properties.
func (v *validator) checkCustom(p *path, k string, val any) {
	switch {
	case strings.HasSuffix(k, "_ref"):
		if val == "" {
			return
		}
		v.check(p, val, &prop{kind: kRef})
	case strings.HasSuffix(k, "_refs"):
		if l, ok := val.([]any); ok && len(l) == 0 {
			return
		}
		v.check(p, val, &prop{kind: kRefList})
	}
}

func (v *validator) check(p *path, val any, pr *prop) {
	switch pr.kind {
	case kAny:
	case kString:
		if _, ok := val.(string); !ok {
			v.fail(p, "must be a string")
		}
	case kEnum:
		s, ok := val.(string)
		if !ok {
			v.fail(p, "must be a string")
		} else if !contains(pr.enum, s) {
			v.fail(p, strconv.Quote(s)+" is not one of "+strings.Join(pr.enum, ", "))
		}
	case kTimestamp, kTimestampMs:
		s, ok := val.(string)
		if !ok {
			v.fail(p, "must be a timestamp string")
			return
		}
		_, frac, ok := parseTimestamp(s)
		if !ok {
			v.fail(p, "must be an RFC 3339 UTC timestamp (YYYY-MM-DDTHH:MM:SS[.s+]Z)")
		} else if pr.kind == kTimestampMs && frac < 3 {
			v.fail(p, "must have at least millisecond precision")
		}
	case kBool:
		if _, ok := val.(bool); !ok {
			v.fail(p, "must be a boolean")
		}
	case kInt:
		f, ok := val.(float64)
		if !ok || f != float64(int64(f)) {
			v.fail(p, "must be an integer")
			return
		}
		if pr.hasRange && (f < pr.min || f > pr.max) {
			v.fail(p, "must be between "+fmtNum(pr.min)+" and "+fmtNum(pr.max))
		}
	case kFloat:
		f, ok := val.(float64)
		if !ok {
			v.fail(p, "must be a number")
			return
		}
		if pr.hasRange && (f < pr.min || f > pr.max) {
			v.fail(p, "must be between "+fmtNum(pr.min)+" and "+fmtNum(pr.max))
		}
	case kHex:
		s, ok := val.(string)
		if !ok || !isHex(s) {
			v.fail(p, "must be a hexadecimal string")
		}
	case kBinary:
		s, ok := val.(string)
		if !ok {
			v.fail(p, "must be a base64 string")
		} else if _, err := base64.StdEncoding.DecodeString(s); err != nil {
			// The binary type MUST be base64 (RFC 4648, section 4). Published
			// examples with elided payloads ("VBOR... ...") are refused, as
			// the OASIS validator refuses them: their bytes are not the
			// object's content.
			v.fail(p, "must be base64 (RFC 4648 section 4, with padding)")
		}
	case kURL:
		s, ok := val.(string)
		if !ok {
			v.fail(p, "must be a URL string")
			return
		}
		v.checkURL(p, s, pr.absolute)
	case kRef:
		s, ok := val.(string)
		if !ok {
			v.fail(p, "must be an identifier string")
			return
		}
		v.checkRef(p, s, pr.refs)
	case kStringList, kEnumList, kRefList, kObjectList, kExtRefs, kKillChain, kGranular:
		l, ok := val.([]any)
		if !ok {
			v.fail(p, "must be a list")
			return
		}
		if len(l) == 0 {
			v.fail(p, "list must not be empty")
			return
		}
		for i, e := range l {
			ip := index(p, i)
			v.checkElem(&ip, e, pr)
		}
	case kHashes:
		v.checkHashes(p, val)
	case kDict:
		d, ok := val.(map[string]any)
		if !ok {
			v.fail(p, "must be an object")
		} else if len(d) == 0 {
			v.fail(p, "dictionary must not be empty")
		}
		for k := range d {
			if msg := checkDictKey(k); msg != "" {
				kp := key(p, k)
				v.fail(&kp, msg)
			}
		}
	case kObject:
		d, ok := val.(map[string]any)
		if !ok {
			v.fail(p, "must be an object")
			return
		}
		v.checkSub(p, d, pr.sub)
	case kExtensions:
		v.checkExtensions(p, val, pr.exts)
	}
}

// checkURL checks a URL (RFC 3986). Leading or trailing white space, which
// published data holds (two CAPEC references), is flagged and kept: the
// URL it surrounds is sound, and the object is stored as sent.
func (v *validator) checkURL(p *path, s string, absolute bool) {
	t := strings.TrimSpace(s)
	if t != s {
		v.warn(p, "URL has leading or trailing white space")
	}
	u, err := url.Parse(t)
	switch {
	case t == "":
		v.fail(p, "must be a URL, not empty")
	case err != nil || strings.ContainsAny(t, " \t\r\n"):
		v.fail(p, "must be a URL (RFC 3986)")
	case absolute && u.Scheme == "":
		v.fail(p, "must be an absolute URL with a scheme (RFC 3986)")
	}
}

func (v *validator) checkElem(p *path, e any, pr *prop) {
	switch pr.kind {
	case kStringList:
		if _, ok := e.(string); !ok {
			v.fail(p, "must be a string")
		}
	case kEnumList:
		v.check(p, e, &prop{kind: kEnum, enum: pr.enum})
	case kRefList:
		s, ok := e.(string)
		if !ok {
			v.fail(p, "must be an identifier string")
			return
		}
		v.checkRef(p, s, pr.refs)
	case kObjectList:
		d, ok := e.(map[string]any)
		if !ok {
			v.fail(p, "must be an object")
			return
		}
		v.checkSub(p, d, pr.sub)
	case kExtRefs:
		d, ok := e.(map[string]any)
		if !ok {
			v.fail(p, "must be an object")
			return
		}
		v.checkSub(p, d, externalReference)
	case kKillChain:
		d, ok := e.(map[string]any)
		if !ok {
			v.fail(p, "must be an object")
			return
		}
		v.checkSub(p, d, killChainPhase)
	case kGranular:
		d, ok := e.(map[string]any)
		if !ok {
			v.fail(p, "must be an object")
			return
		}
		v.checkSub(p, d, granularMarking)
	}
}

// checkSub validates a nested object against its spec. Unknown members of
// nested objects are kept without the top-level name rule, since the
// specification states that rule for object properties only.
func (v *validator) checkSub(p *path, d map[string]any, s *objSpec) {
	for k, val := range d {
		if pr := s.props[k]; pr != nil {
			kp := key(p, k)
			v.check(&kp, val, pr)
		}
	}
	for _, k := range s.required {
		if _, ok := d[k]; !ok {
			kp := key(p, k)
			v.fail(&kp, "required property missing")
		}
	}
	if s.extraSub != nil {
		s.extraSub(v, p, d)
	}
}

func (v *validator) checkRef(p *path, s string, r *refRule) {
	t, _, err := ParseID(s)
	if err != nil {
		v.fail(p, err.Error())
		return
	}
	if r == nil || r.allows(t) {
		return
	}
	v.fail(p, "must reference "+r.describe()+", not "+strconv.Quote(t))
}

// hashLengths gives the hex length of the fixed-size algorithms of the
// hash-algorithm vocabulary; other keys are kept as open-vocabulary values.
var hashLengths = map[string]int{
	"MD5": 32, "SHA-1": 40, "SHA-256": 64, "SHA-512": 128, "SHA3-256": 64, "SHA3-512": 128,
}

func (v *validator) checkHashes(p *path, val any) {
	d, ok := val.(map[string]any)
	if !ok {
		v.fail(p, "must be an object")
		return
	}
	if len(d) == 0 {
		v.fail(p, "dictionary must not be empty")
		return
	}
	for k, hv := range d {
		kp := key(p, k)
		if msg := checkDictKey(k); msg != "" {
			v.fail(&kp, msg)
		}
		s, ok := hv.(string)
		if !ok {
			v.fail(&kp, "must be a string")
			continue
		}
		if n, known := hashLengths[k]; known && (len(s) != n || !isHex(s)) {
			v.fail(&kp, "must be "+strconv.Itoa(n)+" hexadecimal characters")
		}
	}
}

func (v *validator) checkExtensions(p *path, val any, known map[string]*objSpec) {
	d, ok := val.(map[string]any)
	if !ok {
		v.fail(p, "must be an object")
		return
	}
	if len(d) == 0 {
		v.fail(p, "dictionary must not be empty")
		return
	}
	for k, ev := range d {
		kp := key(p, k)
		em, ok := ev.(map[string]any)
		if !ok {
			v.fail(&kp, "extension must be an object")
			continue
		}
		if strings.HasPrefix(k, "extension-definition--") {
			if _, _, err := ParseID(k); err != nil {
				v.fail(&kp, "extension key: "+err.Error())
			}
			if et, present := em["extension_type"]; present {
				tp := key(&kp, "extension_type")
				v.check(&tp, et, &prop{kind: kEnum, enum: extensionTypes})
			}
			continue
		}
		if s := known[k]; s != nil {
			v.checkSub(&kp, em, s)
			if len(em) == 0 {
				v.fail(&kp, "extension must not be empty")
			}
			continue
		}
		// A predefined-style name the object type does not define: kept,
		// but the name must still be a valid dictionary key.
		if len(k) > 250 {
			v.fail(&kp, "extension name longer than 250 characters")
		}
	}
}

// checkDictKey applies the specification's rule for the keys of the
// dictionaries it defines: ASCII letters, digits, hyphen and underscore, at
// most 250 characters.
func checkDictKey(k string) string {
	if len(k) == 0 || len(k) > 250 {
		return "dictionary key must be 1 to 250 characters"
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return "dictionary key may contain only a-z, A-Z, 0-9, hyphen and underscore"
		}
	}
	return ""
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

func fmtNum(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

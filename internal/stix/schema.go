package stix

import (
	"strings"
)

// kind is the value shape of a property the specification defines.
type kind uint8

const (
	kAny kind = iota
	kString
	kEnum // closed vocabulary
	kTimestamp
	kTimestampMs // created/modified: millisecond precision required
	kBool
	kInt
	kFloat
	kHex
	kBinary
	kURL // a URL (RFC 3986); absolute when prop.absolute
	kRef
	kStringList
	kEnumList
	kRefList
	kObjectList
	kExtRefs
	kKillChain
	kGranular
	kHashes
	kDict
	kObject
	kExtensions
)

type prop struct {
	kind     kind
	required bool
	enum     []string
	refs     *refRule
	hasRange bool
	min, max float64
	sub      *objSpec
	exts     map[string]*objSpec // kExtensions: predefined extensions of the type
	// absolute: a kURL value must name its scheme.
	absolute bool
}

// objSpec describes an object type or a nested object.
type objSpec struct {
	class    class
	props    map[string]*prop
	required []string
	extra    func(v *validator, m map[string]any)          // cross-property rules of a top-level object
	extraSub func(v *validator, p *path, m map[string]any) // cross-property rules of a nested object
}

// refRule restricts the target type of a reference.
type refRule struct {
	types  []string
	sdo    bool // any SDO type, custom types included
	sco    bool // any SCO type, custom types included
	custom bool // custom (unknown) types allowed even if neither sdo nor sco
}

func (r *refRule) allows(t string) bool {
	if contains(r.types, t) {
		return true
	}
	spec := types[t]
	if spec == nil {
		// A custom type's class cannot be known from its id alone.
		return r.sdo || r.sco || r.custom
	}
	return r.sdo && spec.class == classSDO || r.sco && spec.class == classSCO
}

func (r *refRule) describe() string {
	var parts []string
	if r.sdo {
		parts = append(parts, "an SDO")
	}
	if r.sco {
		parts = append(parts, "an SCO")
	}
	parts = append(parts, r.types...)
	return strings.Join(parts, " or ")
}

func refTo(types ...string) *refRule { return &refRule{types: types} }

var (
	refSDO      = &refRule{sdo: true}
	refSCO      = &refRule{sco: true}
	refSDOorSCO = &refRule{sdo: true, sco: true}
)

// Constructors keep the tables below readable.
func str() *prop                    { return &prop{kind: kString} }
func reqStr() *prop                 { return &prop{kind: kString, required: true} }
func ts() *prop                     { return &prop{kind: kTimestamp} }
func boolean() *prop                { return &prop{kind: kBool} }
func integer() *prop                { return &prop{kind: kInt} }
func intRange(lo, hi float64) *prop { return &prop{kind: kInt, hasRange: true, min: lo, max: hi} }
func strList() *prop                { return &prop{kind: kStringList} }
func ref(r *refRule) *prop          { return &prop{kind: kRef, refs: r} }
func refs(r *refRule) *prop         { return &prop{kind: kRefList, refs: r} }
func enum(vals ...string) *prop     { return &prop{kind: kEnum, enum: vals} }
func dict() *prop                   { return &prop{kind: kDict} }
func hashes() *prop                 { return &prop{kind: kHashes} }
func hex() *prop                    { return &prop{kind: kHex} }
func absURL() *prop                 { return &prop{kind: kURL, absolute: true} }
func required(p *prop) *prop        { q := *p; q.required = true; return &q }
func objList(s *objSpec) *prop      { return &prop{kind: kObjectList, sub: s} }
func object(s *objSpec) *prop       { return &prop{kind: kObject, sub: s} }
func killChain() *prop              { return &prop{kind: kKillChain} }

const maxCount = 999999999

// spec builds an objSpec from the common properties of its class plus its
// own, and precomputes the required list.
func spec(c class, common map[string]*prop, own map[string]*prop) *objSpec {
	s := &objSpec{class: c, props: make(map[string]*prop, len(common)+len(own))}
	for k, p := range common {
		s.props[k] = p
	}
	for k, p := range own {
		s.props[k] = p
	}
	for k, p := range s.props {
		if p.required {
			s.required = append(s.required, k)
		}
	}
	return s
}

func sub(own map[string]*prop) *objSpec { return spec(classUnknown, nil, own) }

var extensionTypes = []string{"new-sdo", "new-sco", "new-sro", "property-extension", "toplevel-property-extension"}

var externalReference = withSub(sub(map[string]*prop{
	"source_name": reqStr(),
	"description": str(),
	"url":         absURL(),
	"hashes":      hashes(),
	"external_id": str(),
}), func(v *validator, p *path, m map[string]any) {
	_, d := m["description"]
	_, u := m["url"]
	_, e := m["external_id"]
	if !d && !u && !e {
		v.fail(p, "external reference needs at least one of description, url, external_id")
	}
})

var killChainPhase = sub(map[string]*prop{
	"kill_chain_name": reqStr(),
	"phase_name":      reqStr(),
})

var granularMarking = withSub(sub(map[string]*prop{
	"lang":        str(),
	"marking_ref": ref(refTo("marking-definition")),
	"selectors":   required(strList()),
}), func(v *validator, p *path, m map[string]any) {
	_, l := m["lang"]
	_, r := m["marking_ref"]
	if l == r {
		v.fail(p, "granular marking needs exactly one of marking_ref and lang")
	}
})

func withSub(s *objSpec, f func(v *validator, p *path, m map[string]any)) *objSpec {
	s.extraSub = f
	return s
}

func withExtra(s *objSpec, f func(v *validator, m map[string]any)) *objSpec {
	s.extra = f
	return s
}

var commonSDO = map[string]*prop{
	"type":                reqStr(),
	"spec_version":        {kind: kEnum, enum: []string{"2.1"}, required: true},
	"id":                  reqStr(),
	"created_by_ref":      ref(refTo("identity")),
	"created":             {kind: kTimestampMs, required: true},
	"modified":            {kind: kTimestampMs, required: true},
	"revoked":             boolean(),
	"labels":              strList(),
	"confidence":          intRange(0, 100),
	"lang":                str(),
	"external_references": {kind: kExtRefs},
	"object_marking_refs": refs(refTo("marking-definition")),
	"granular_markings":   {kind: kGranular},
	"extensions":          {kind: kExtensions},
}

var commonSCO = map[string]*prop{
	"type":                reqStr(),
	"spec_version":        enum("2.1"),
	"id":                  reqStr(),
	"object_marking_refs": refs(refTo("marking-definition")),
	"granular_markings":   {kind: kGranular},
	"defanged":            boolean(),
	"extensions":          {kind: kExtensions},
}

// customSpecs validate objects of unknown types on the common properties
// of the class they appear to belong to.
var customSpecs = map[class]*objSpec{
	classSDO: spec(classSDO, commonSDO, nil),
	classSRO: spec(classSRO, commonSDO, nil),
	classSCO: spec(classSCO, commonSCO, nil),
}

func sdo(own map[string]*prop) *objSpec { return spec(classSDO, commonSDO, own) }
func sco(own map[string]*prop) *objSpec { return spec(classSCO, commonSCO, own) }

// scoExt attaches the predefined extensions of an SCO type.
func scoExt(s *objSpec, exts map[string]*objSpec) *objSpec {
	p := *s.props["extensions"]
	p.exts = exts
	s.props["extensions"] = &p
	return s
}

// lastNotBefore reports last < first for two timestamp properties.
func lastNotBefore(first, last string, strict bool) func(v *validator, m map[string]any) {
	return func(v *validator, m map[string]any) {
		fs, ok1 := m[first].(string)
		ls, ok2 := m[last].(string)
		if !ok1 || !ok2 {
			return
		}
		f, _, ok1 := parseTimestamp(fs)
		l, _, ok2 := parseTimestamp(ls)
		if !ok1 || !ok2 {
			return
		}
		if l.Before(f) || strict && l.Equal(f) {
			p := key(nil, last)
			if strict {
				v.fail(&p, "must be later than "+first)
			} else {
				v.fail(&p, "must not be earlier than "+first)
			}
		}
	}
}

func all(fs ...func(v *validator, m map[string]any)) func(v *validator, m map[string]any) {
	return func(v *validator, m map[string]any) {
		for _, f := range fs {
			f(v, m)
		}
	}
}

func atLeastOne(names ...string) func(v *validator, m map[string]any) {
	return func(v *validator, m map[string]any) {
		for _, n := range names {
			if _, ok := m[n]; ok {
				return
			}
		}
		v.fail(nil, "at least one of "+strings.Join(names, ", ")+" is required")
	}
}

func notBoth(a, b string) func(v *validator, m map[string]any) {
	return func(v *validator, m map[string]any) {
		_, x := m[a]
		_, y := m[b]
		if x && y {
			p := key(nil, b)
			v.fail(&p, "must not be present together with "+a)
		}
	}
}

// atLeastOneOther requires some property beyond the common ones: the
// specification forbids SCOs of these types that carry nothing.
func atLeastOneOther(v *validator, m map[string]any) {
	for k := range m {
		if commonSCO[k] == nil || k == "extensions" {
			return
		}
	}
	v.fail(nil, "at least one property besides the common ones is required")
}

// modifiedNotBeforeCreated holds for every versioned object.
var modifiedNotBeforeCreated = lastNotBefore("created", "modified", false)

var types map[string]*objSpec

func init() {
	seen := lastNotBefore("first_seen", "last_seen", false)
	types = map[string]*objSpec{
		// SDOs
		"attack-pattern": sdo(map[string]*prop{
			"name": reqStr(), "description": str(), "aliases": strList(), "kill_chain_phases": killChain(),
		}),
		"campaign": withExtra(sdo(map[string]*prop{
			"name": reqStr(), "description": str(), "aliases": strList(),
			"first_seen": ts(), "last_seen": ts(), "objective": str(),
		}), seen),
		"course-of-action": sdo(map[string]*prop{
			"name": reqStr(), "description": str(),
		}),
		"grouping": sdo(map[string]*prop{
			"name": str(), "description": str(), "context": reqStr(), "object_refs": required(refs(nil)),
		}),
		"identity": sdo(map[string]*prop{
			"name": reqStr(), "description": str(), "roles": strList(), "identity_class": str(),
			"sectors": strList(), "contact_information": str(),
		}),
		"incident": sdo(map[string]*prop{
			"name": reqStr(), "description": str(), "kill_chain_phases": killChain(),
		}),
		"indicator": withExtra(sdo(map[string]*prop{
			"name": str(), "description": str(), "indicator_types": strList(),
			"pattern": reqStr(), "pattern_type": reqStr(), "pattern_version": str(),
			"valid_from": required(ts()), "valid_until": ts(), "kill_chain_phases": killChain(),
		}), lastNotBefore("valid_from", "valid_until", true)),
		"infrastructure": withExtra(sdo(map[string]*prop{
			"name": reqStr(), "description": str(), "infrastructure_types": strList(), "aliases": strList(),
			"kill_chain_phases": killChain(), "first_seen": ts(), "last_seen": ts(),
		}), seen),
		"intrusion-set": withExtra(sdo(map[string]*prop{
			"name": reqStr(), "description": str(), "aliases": strList(), "first_seen": ts(), "last_seen": ts(),
			"goals": strList(), "resource_level": str(), "primary_motivation": str(), "secondary_motivations": strList(),
		}), seen),
		"location": withExtra(sdo(map[string]*prop{
			"name": str(), "description": str(),
			"latitude":  {kind: kFloat, hasRange: true, min: -90, max: 90},
			"longitude": {kind: kFloat, hasRange: true, min: -180, max: 180},
			"precision": {kind: kFloat, hasRange: true, min: 0, max: 1.7976931348623157e308},
			"region":    str(), "country": str(), "administrative_area": str(), "city": str(),
			"street_address": str(), "postal_code": str(),
		}), checkLocation),
		"malware": withExtra(sdo(map[string]*prop{
			"name": str(), "description": str(), "malware_types": strList(), "is_family": {kind: kBool, required: true},
			"aliases": strList(), "kill_chain_phases": killChain(), "first_seen": ts(), "last_seen": ts(),
			"operating_system_refs": refs(refTo("software")), "architecture_execution_envs": strList(),
			"implementation_languages": strList(), "capabilities": strList(),
			"sample_refs": refs(refTo("file", "artifact")),
		}), all(seen, func(v *validator, m map[string]any) {
			if m["is_family"] == true {
				if _, ok := m["name"]; !ok {
					p := key(nil, "name")
					v.fail(&p, "required when is_family is true")
				}
			}
		})),
		"malware-analysis": withExtra(sdo(map[string]*prop{
			"product": reqStr(), "version": str(), "host_vm_ref": ref(refTo("software")),
			"operating_system_ref": ref(refTo("software")), "installed_software_refs": refs(refTo("software")),
			"configuration_version": str(), "modules": strList(), "analysis_engine_version": str(),
			"analysis_definition_version": str(), "submitted": ts(), "analysis_started": ts(), "analysis_ended": ts(),
			"result_name": str(), "result": str(), "analysis_sco_refs": refs(refSCO),
			"sample_ref": ref(refTo("file", "artifact", "network-traffic")),
		}), all(atLeastOne("result", "analysis_sco_refs"), lastNotBefore("analysis_started", "analysis_ended", false))),
		"note": sdo(map[string]*prop{
			"abstract": str(), "content": reqStr(), "authors": strList(), "object_refs": required(refs(nil)),
		}),
		"observed-data": withExtra(sdo(map[string]*prop{
			"first_observed": required(ts()), "last_observed": required(ts()),
			"number_observed": {kind: kInt, required: true, hasRange: true, min: 1, max: maxCount},
			"objects":         dict(),
			"object_refs":     refs(&refRule{sco: true, types: []string{"relationship"}}),
		}), all(lastNotBefore("first_observed", "last_observed", false), exactlyOne("objects", "object_refs"), observedSCO)),
		"opinion": sdo(map[string]*prop{
			"explanation": str(), "authors": strList(),
			"opinion":     required(enum("strongly-disagree", "disagree", "neutral", "agree", "strongly-agree")),
			"object_refs": required(refs(nil)),
		}),
		"report": sdo(map[string]*prop{
			"name": reqStr(), "description": str(), "report_types": strList(), "published": required(ts()),
			"object_refs": required(refs(nil)),
		}),
		"threat-actor": withExtra(sdo(map[string]*prop{
			"name": reqStr(), "description": str(), "threat_actor_types": strList(), "aliases": strList(),
			"first_seen": ts(), "last_seen": ts(), "roles": strList(), "goals": strList(), "sophistication": str(),
			"resource_level": str(), "primary_motivation": str(), "secondary_motivations": strList(),
			"personal_motivations": strList(),
		}), seen),
		"tool": sdo(map[string]*prop{
			"name": reqStr(), "description": str(), "tool_types": strList(), "aliases": strList(),
			"kill_chain_phases": killChain(), "tool_version": str(),
		}),
		"vulnerability": sdo(map[string]*prop{
			"name": reqStr(), "description": str(),
		}),

		// SROs
		"relationship": withExtra(spec(classSRO, commonSDO, map[string]*prop{
			"relationship_type": reqStr(), "description": str(),
			"source_ref": required(ref(refSDOorSCO)), "target_ref": required(ref(refSDOorSCO)),
			"start_time": ts(), "stop_time": ts(),
		}), all(lastNotBefore("start_time", "stop_time", true), checkRelationshipType)),
		"sighting": withExtra(spec(classSRO, commonSDO, map[string]*prop{
			"description": str(), "first_seen": ts(), "last_seen": ts(),
			"count":              intRange(0, maxCount),
			"sighting_of_ref":    required(ref(refSDO)),
			"observed_data_refs": refs(refTo("observed-data")),
			"where_sighted_refs": refs(refTo("identity", "location")),
			"summary":            boolean(),
		}), seen),

		// Meta objects
		"marking-definition": withExtra(spec(classMeta, map[string]*prop{
			"type":                reqStr(),
			"spec_version":        {kind: kEnum, enum: []string{"2.1"}, required: true},
			"id":                  reqStr(),
			"created_by_ref":      ref(refTo("identity")),
			"created":             {kind: kTimestampMs, required: true},
			"external_references": {kind: kExtRefs},
			"object_marking_refs": refs(refTo("marking-definition")),
			"granular_markings":   {kind: kGranular},
			"extensions":          {kind: kExtensions},
			"name":                str(),
			"definition_type":     str(),
			"definition":          {kind: kObject, sub: sub(nil)},
		}, nil), checkMarkingDefinition),
		"language-content": spec(classMeta, commonSDO, map[string]*prop{
			"object_ref":      required(ref(nil)),
			"object_modified": ts(),
			"contents":        {kind: kObject, required: true, sub: withSub(sub(nil), checkContents)},
		}),
		"extension-definition": spec(classMeta, commonSDO, map[string]*prop{
			"created_by_ref":       required(ref(refTo("identity"))),
			"name":                 reqStr(),
			"description":          str(),
			"schema":               reqStr(),
			"version":              reqStr(),
			"extension_types":      {kind: kEnumList, required: true, enum: extensionTypes},
			"extension_properties": strList(),
		}),
	}
	initSCOs()
	for name, s := range types {
		if s.props["modified"] != nil {
			prev := s.extra
			s.extra = func(v *validator, m map[string]any) {
				modifiedNotBeforeCreated(v, m)
				if prev != nil {
					prev(v, m)
				}
			}
		}
		_ = name
	}
	for _, s := range customSpecs {
		if s.props["modified"] != nil {
			s.extra = modifiedNotBeforeCreated
		}
	}
}

func exactlyOne(a, b string) func(v *validator, m map[string]any) {
	return func(v *validator, m map[string]any) {
		_, x := m[a]
		_, y := m[b]
		if x == y {
			v.fail(nil, "exactly one of "+a+" and "+b+" is required")
		}
	}
}

func checkLocation(v *validator, m map[string]any) {
	_, lat := m["latitude"]
	_, long := m["longitude"]
	if lat != long {
		p := key(nil, "latitude")
		if lat {
			p = key(nil, "longitude")
		}
		v.fail(&p, "latitude and longitude must be given together")
	}
	if _, ok := m["precision"]; ok && !lat {
		p := key(nil, "precision")
		v.fail(&p, "precision requires latitude and longitude")
	}
	_, region := m["region"]
	_, country := m["country"]
	if !region && !country && !(lat && long) {
		v.fail(nil, "location needs region, country, or latitude and longitude")
	}
}

func checkRelationshipType(v *validator, m map[string]any) {
	s, ok := m["relationship_type"].(string)
	if !ok {
		return
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			p := key(nil, "relationship_type")
			v.fail(&p, "may contain only a-z, 0-9 and hyphen")
			return
		}
	}
	if len(s) < 3 || len(s) > 250 {
		p := key(nil, "relationship_type")
		v.fail(&p, "must be 3 to 250 characters")
	}
}

// checkContents: each language maps to a non-empty object of translated
// properties.
func checkContents(v *validator, p *path, m map[string]any) {
	if len(m) == 0 {
		v.fail(p, "dictionary must not be empty")
	}
	for lang, c := range m {
		lp := key(p, lang)
		cm, ok := c.(map[string]any)
		if !ok {
			v.fail(&lp, "must be an object")
		} else if len(cm) == 0 {
			v.fail(&lp, "dictionary must not be empty")
		}
	}
}

// observedSCO: an observation made only of relationships observes nothing,
// so object_refs must name at least one SCO (or a custom type, whose class
// an id cannot reveal).
func observedSCO(v *validator, m map[string]any) {
	refs, ok := m["object_refs"].([]any)
	if !ok || len(refs) == 0 {
		return
	}
	for _, r := range refs {
		s, _ := r.(string)
		t, _, err := ParseID(s)
		if err != nil || t != "relationship" {
			return
		}
	}
	p := key(nil, "object_refs")
	v.fail(&p, "must contain at least one SCO reference")
}

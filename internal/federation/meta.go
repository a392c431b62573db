package federation

import (
	"crypto/sha256"
	"fmt"
	"regexp"
	"slices"
	"unicode/utf8"

	"github.com/go-json-experiment/json"

	"github.com/setu-cti/setu/internal/ingest"
	"github.com/setu-cti/setu/internal/policy"
	"github.com/setu-cti/setu/internal/stix"
)

// Meta is what an origin node fixed beside an object version and vouches
// for with its signature (provenance format 2): the handling it released
// the version under and the sectors of the organisation that submitted it.
// Objects are never changed to carry such facts (other creators' objects
// cannot gain markings, and a node's default TLP is not in the object), so
// they travel beside them, and a receiver handles the object as its origin
// did rather than by its own defaults.
//
// In JSON, members are left out when empty:
//
//	{"tlp": "green",                    clear | green | amber | amber+strict:
//	                                    the object's TLP, else the origin's default
//	 "distribution": ["partners"],      distribution scopes (empty: the TLP's own audience)
//	 "groups": ["in-jp-telecom"],       sharing groups, with "group"
//	 "resident": ["IN"],                countries the object is resident in
//	 "sectors": ["telecommunications"]} the submitting organisation's sectors
//
// A Meta is covered by the signatures through its digest: the SHA-256 of
// its canonical JSON (RFC 8785), lists sorted and without duplicates.
type Meta struct {
	// Members in the order of the canonical form.
	Distribution []string `json:"distribution,omitzero"`
	Groups       []string `json:"groups,omitzero"`
	Resident     []string `json:"resident,omitzero"`
	Sectors      []string `json:"sectors,omitzero"`
	TLP          string   `json:"tlp"`
}

// Bounds on a Meta, so a hostile record costs bounded work.
const (
	maxMetaList  = 64
	maxMetaBytes = 8192
)

// metaGroupRE bounds the sharing group ids a Meta carries: group ids are
// opaque, but never hold characters JSON escapes (so the canonical form is
// plain) and are not long.
var metaGroupRE = regexp.MustCompile(`^[^\x00-\x1f"\\\x7f]{1,256}$`)

// MetaOf is the Meta of a version with policy facts f as this node
// releases it under cfg.
func MetaOf(cfg policy.Config, f policy.Facts) *Meta {
	h := cfg.Released(f)
	m := &Meta{TLP: tlpName(h.TLP), Sectors: slices.Clone(f.Sectors)}
	for _, d := range h.Distribution {
		switch {
		case d.Resident != "":
			m.Resident = append(m.Resident, d.Resident)
		case d.Scope == policy.ScopeGroup:
			m.Distribution = append(m.Distribution, string(d.Scope))
			m.Groups = append(m.Groups, d.Group)
		case d.Scope != "":
			m.Distribution = append(m.Distribution, string(d.Scope))
		}
	}
	m.normalise()
	return m
}

// Received is what a receiver keeps of m beside the object: its handling
// as handling assigned at ingest (policy.Facts.Assign), which applies
// again whenever the object's facts are computed again here.
func (m *Meta) Received() *ingest.Received {
	if m == nil {
		return nil
	}
	h := policy.Handling{TLP: tlpNames[m.TLP]}
	for _, s := range m.Distribution {
		if policy.Scope(s) != policy.ScopeGroup {
			h.Distribution = append(h.Distribution, policy.Distribution{Scope: policy.Scope(s)})
		}
	}
	for _, g := range m.Groups {
		h.Distribution = append(h.Distribution, policy.Distribution{Scope: policy.ScopeGroup, Group: g})
	}
	for _, r := range m.Resident {
		h.Distribution = append(h.Distribution, policy.Distribution{Resident: r})
	}
	return &ingest.Received{Handling: h, Sectors: slices.Clone(m.Sectors)}
}

// normalise sorts the lists and drops duplicates and empty lists.
func (m *Meta) normalise() {
	for _, l := range []*[]string{&m.Distribution, &m.Groups, &m.Resident, &m.Sectors} {
		if len(*l) == 0 {
			*l = nil
			continue
		}
		*l = slices.Compact(slices.Sorted(slices.Values(*l)))
	}
}

// validate checks m's values; every error wraps ErrMalformed.
func (m *Meta) validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("provenance: meta: "+format+": %w", append(a, ErrMalformed)...)
	}
	switch t := tlpNames[m.TLP]; {
	case m.TLP == "":
		return bad("no tlp")
	case t == 0:
		return bad("tlp %q is not clear, green, amber or amber+strict", m.TLP)
	case t == stix.TLPLevelRed:
		return bad("tlp red never leaves a node")
	}
	for _, l := range []struct {
		name string
		list []string
		ok   func(string) bool
	}{
		{"distribution", m.Distribution, func(s string) bool {
			return slices.Contains(policy.Scopes, policy.Scope(s)) && s != string(policy.ScopeOrg)
		}},
		{"groups", m.Groups, func(s string) bool { return utf8.ValidString(s) && metaGroupRE.MatchString(s) }},
		{"resident", m.Resident, func(s string) bool { return ValidateCountry(s) == nil }},
		{"sectors", m.Sectors, sectorRE.MatchString},
	} {
		if len(l.list) > maxMetaList {
			return bad("%s: %d entries, at most %d", l.name, len(l.list), maxMetaList)
		}
		for _, s := range l.list {
			if !l.ok(s) {
				return bad("%s: %q", l.name, s)
			}
		}
	}
	if slices.Contains(m.Distribution, string(policy.ScopeGroup)) != (len(m.Groups) > 0) {
		return bad("groups are given with distribution to a group, and only then")
	}
	return nil
}

// canonical is m's canonical JSON: m normalised, members in RFC 8785 order
// (validated values need no escapes).
func (m *Meta) canonical() []byte {
	n := *m
	n.normalise()
	b := make([]byte, 0, 96)
	b = append(b, '{')
	first := true
	member := func(name string, list []string) {
		if len(list) == 0 {
			return
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, '"')
		b = append(b, name...)
		b = append(b, `":[`...)
		for i, s := range list {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, s)
		}
		b = append(b, ']')
	}
	member("distribution", n.Distribution)
	member("groups", n.Groups)
	member("resident", n.Resident)
	member("sectors", n.Sectors)
	if !first {
		b = append(b, ',')
	}
	b = append(b, `"tlp":`...)
	b = appendJSONString(b, n.TLP)
	return append(b, '}')
}

// digest is the SHA-256 of m's canonical JSON.
func (m *Meta) digest() [32]byte { return sha256.Sum256(m.canonical()) }

// decodeMeta reads a Meta strictly and validates it.
func decodeMeta(b []byte) (*Meta, error) {
	if len(b) > maxMetaBytes {
		return nil, fmt.Errorf("provenance: meta of %d bytes, at most %d: %w", len(b), maxMetaBytes, ErrMalformed)
	}
	var m Meta
	if err := json.Unmarshal(b, &m, json.RejectUnknownMembers(true)); err != nil {
		path, msg := jsonFault(err)
		return nil, fmt.Errorf("provenance: meta: %s: %s: %w", path, msg, ErrMalformed)
	}
	if err := m.validate(); err != nil {
		return nil, err
	}
	m.normalise()
	return &m, nil
}

package ingest

import (
	"fmt"
	"slices"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/setu-cti/setu/internal/stix"
)

// names reports whether o names org as its source: as created_by_ref, or
// in a sighting's where_sighted_refs.
func names(o *stix.Object, org string) bool {
	if o.CreatedByRef == org {
		return true
	}
	if o.Type != "sighting" {
		return false
	}
	var s struct {
		WhereSightedRefs []string `json:"where_sighted_refs"`
	}
	return json.Unmarshal(o.Canonical, &s) == nil && slices.Contains(s.WhereSightedRefs, org)
}

// anonymised returns o as everyone but its submitting organisation is
// served it: node in place of org wherever o names the organisation as its
// source, which is created_by_ref and, in a sighting, where_sighted_refs
// (an organisation's report of what it saw names itself as where it was
// seen). Other references are left alone: they say what the object is
// about, not who sent it.
func anonymised(o *stix.Object, org, node string) (*stix.Object, error) {
	var m map[string]jsontext.Value
	if err := json.Unmarshal(o.Canonical, &m); err != nil {
		return o, err
	}
	if o.CreatedByRef == org {
		m["created_by_ref"] = jsontext.Value(`"` + node + `"`)
	}
	if raw, ok := m["where_sighted_refs"]; ok && o.Type == "sighting" {
		var refs []string
		if err := json.Unmarshal(raw, &refs); err != nil {
			return o, fmt.Errorf("where_sighted_refs: %w", err)
		}
		if slices.Contains(refs, org) {
			out := refs[:0]
			for _, r := range refs {
				if r == org {
					r = node
				}
				if !slices.Contains(out, r) {
					out = append(out, r)
				}
			}
			b, err := json.Marshal(out)
			if err != nil {
				return o, err
			}
			m["where_sighted_refs"] = b
		}
	}
	b, err := json.Marshal(m, json.Deterministic(true))
	if err != nil {
		return o, err
	}
	return stix.Parse(b)
}

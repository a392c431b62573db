package ingest

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/setu-cti/setu/internal/policy"
	"github.com/setu-cti/setu/internal/stix"
)

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

// releasedForm settles, once, what others are served of an object w
// submits: for an organisation anonymous towards everyone (or towards
// partner nodes only) that created the object, a released body naming the
// node as its creator (nil: the body as submitted is served). It records
// in f whether the body partner nodes get names the submitting
// organisation, which sharing agreements that anonymise submitters read.
func (in *Ingester) releasedForm(o *stix.Object, w Writer, f *policy.Facts) ([]byte, error) {
	switch {
	case w.Via != "":
		// Received from a partner: the origin settled it.
		return nil, nil
	case w.Org == Operator.Org || w.Identity == in.node:
		// The node's own operators: the node's identity is what others
		// see of every anonymous submission anyway.
		f.Attribution = policy.AttributionAnonymous
		return nil, nil
	}
	if (w.Anonymous || w.AnonymousToPartners) && !o.IsSCO() && names(o, w.Identity) {
		rel, err := anonymised(o, w.Identity, in.node)
		if err != nil {
			return nil, err
		}
		f.PeersOnly = !w.Anonymous
		f.Attribution = policy.AttributionAnonymous
		return rel.Canonical, nil
	}
	f.Attribution = policy.AttributionAnonymous
	if names(o, w.Identity) {
		f.Attribution = policy.AttributionNamed
	}
	return nil, nil
}

// names reports whether o names identity as its source: as its creator or,
// in a sighting, as where it was seen.
func names(o *stix.Object, identity string) bool {
	if identity == "" {
		return false
	}
	if o.CreatedByRef == identity {
		return true
	}
	if o.Type != "sighting" || !bytes.Contains(o.Canonical, []byte(identity)) {
		return false
	}
	var s struct {
		WhereSightedRefs []string `json:"where_sighted_refs"`
	}
	return json.Unmarshal(o.Canonical, &s) == nil && slices.Contains(s.WhereSightedRefs, identity)
}

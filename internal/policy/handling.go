package policy

import (
	"fmt"
	"slices"
	"strings"

	"github.com/setu-cti/setu/internal/stix"
)

// Handling is handling fixed at ingest beside the objects a writer stores:
// what the submitter assigns (`setu import --tlp --share`, the management
// API's tlp and share parameters) or, for an object received from a
// partner node, the handling its origin released it under (sent in
// provenance, see Config.Released). Objects are never rewritten (other
// creators' objects cannot gain markings, and a node's default TLP is not
// in the object), so it is metadata kept in their facts, like every other
// fact, and it only ever narrows what the objects' own markings allow: the
// stricter TLP applies, and each assigned distribution must be passed
// besides the object's own.
type Handling struct {
	TLP          stix.TLP       `json:",omitempty"`
	Distribution []Distribution `json:",omitempty"`
}

// IsZero reports whether h assigns nothing.
func (h Handling) IsZero() bool { return h.TLP == 0 && len(h.Distribution) == 0 }

// ParseShare reads a --share list: comma-separated entries, each a scope
// (org, community, partners, nodes, public), "group:ID" (a sharing group),
// "org:ID" or "user:NAME" (TLP:RED recipients; consecutive ones form one
// recipients marking) or "resident:CC" (residency).
func ParseShare(s string) ([]Distribution, error) {
	var out []Distribution
	var recipients []string
	for _, e := range strings.Split(s, ",") {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		var d Distribution
		switch kind, val, _ := strings.Cut(e, ":"); kind {
		case "group":
			d = Distribution{Scope: ScopeGroup, Group: val}
		case "org", "user":
			if e == "org" {
				d = Distribution{Scope: ScopeOrg} // the scope, not a recipient
				break
			}
			if val == "" {
				return nil, fmt.Errorf("share %q: want %s:NAME", e, kind)
			}
			recipients = append(recipients, e)
			continue
		case "resident":
			d = Distribution{Resident: strings.ToUpper(val)}
		default:
			d = Distribution{Scope: Scope(e)}
		}
		if err := d.Validate(); err != nil {
			return nil, fmt.Errorf("share %q: %w", e, err)
		}
		out = append(out, d)
	}
	if len(recipients) > 0 {
		d := Distribution{Recipients: recipients}
		if err := d.Validate(); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// Assign returns f with h applied: the stricter of f's TLP and h's, and
// h's distributions added to f's (every scope must then be passed; groups
// named are alternatives among group scopes; recipients are added). h is
// kept in Assigned, together with what was assigned before (a submitter's
// and an origin's handling both apply), so that facts computed again from
// the markings (a definition that arrived late) get it again.
func (f Facts) Assign(h Handling) Facts {
	if h.IsZero() {
		return f
	}
	kept := h.merged(f.Assigned)
	f.TLP = max(f.TLP, h.TLP)
	for _, d := range h.Distribution {
		switch {
		case d.Resident != "":
			if !slices.Contains(f.Resident, d.Resident) {
				f.Resident = append(f.Resident, d.Resident)
			}
		case len(d.Recipients) > 0:
			for _, r := range d.Recipients {
				if !slices.Contains(f.Recipients, r) {
					f.Recipients = append(f.Recipients, r)
				}
			}
		default:
			if d.Scope == ScopeGroup && !slices.Contains(f.Groups, d.Group) {
				f.Groups = append(f.Groups, d.Group)
			}
			if !slices.Contains(f.Scopes, d.Scope) {
				f.Scopes = append(f.Scopes, d.Scope)
			}
		}
	}
	f.Assigned = &kept
	return f
}

// merged is h with what prev assigned added: the stricter TLP and the
// distributions of both, each once.
func (h Handling) merged(prev *Handling) Handling {
	out := Handling{TLP: h.TLP, Distribution: slices.Clone(h.Distribution)}
	if prev == nil {
		return out
	}
	out.TLP = max(out.TLP, prev.TLP)
	for _, d := range prev.Distribution {
		if !slices.ContainsFunc(out.Distribution, func(e Distribution) bool { return e.key() == d.key() }) {
			out.Distribution = append(out.Distribution, d)
		}
	}
	return out
}

// Attribution values of Facts.Attribution.
const (
	// AttributionNamed: the body partner nodes get names the organisation
	// that submitted the version (as its creator, or in a sighting as
	// where it was seen).
	AttributionNamed = "named"
	// AttributionAnonymous: it does not: the organisation is anonymous
	// (towards everyone, or towards partners), or the object names another
	// creator or none.
	AttributionAnonymous = "anonymous"
)

// Released is the handling this node releases a version with facts f
// under: its TLP, else this node's default (never zero), and the
// distribution scopes, sharing groups and residency its markings and
// assigned handling give it. A node releasing a version to a partner sends
// it beside the object (in provenance), so that the partner handles it the
// same way: an object without a TLP marking crosses as the level the
// origin's default gave it, not the partner's default; handling assigned
// as metadata crosses too. TLP:RED recipients are left out: RED never
// leaves a node.
func (c Config) Released(f Facts) Handling {
	h := Handling{TLP: c.effectiveTLP(f)}
	for _, s := range f.Scopes {
		if s != ScopeGroup {
			h.Distribution = append(h.Distribution, Distribution{Scope: s})
		}
	}
	for _, g := range f.Groups {
		h.Distribution = append(h.Distribution, Distribution{Scope: ScopeGroup, Group: g})
	}
	for _, r := range f.Resident {
		h.Distribution = append(h.Distribution, Distribution{Resident: r})
	}
	return h
}

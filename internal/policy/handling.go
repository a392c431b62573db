package policy

import (
	"fmt"
	"slices"
	"strings"

	"github.com/setu-cti/setu/internal/stix"
)

// Handling is handling a submitter assigns, at ingest, to the objects it
// stores (`setu import --tlp --share`, the management API's tlp and share
// parameters). Objects are never rewritten, so it is metadata kept in their
// facts, like every other fact, and it only ever narrows what the objects'
// own markings allow: the stricter TLP applies, and each assigned
// distribution must be passed besides the object's own.
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
// kept in Assigned, so that facts computed again from the markings (a
// definition that arrived late) get it again.
func (f Facts) Assign(h Handling) Facts {
	if h.IsZero() {
		return f
	}
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
	f.Assigned = &h
	return f
}

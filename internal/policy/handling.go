package policy

import (
	"slices"

	"github.com/setu-cti/setu/internal/stix"
)

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

// Handling is how an object version is to be handled: the TLP level it is
// treated as and its distribution. A node releasing a version to a partner
// sends the handling it decided under beside the object (in provenance), so
// that the partner handles it the same way: an object without a TLP
// marking crosses as the level the origin's default gave it, not the
// partner's default; handling an origin assigned as metadata (objects
// other creators' markings cannot be added to) crosses too.
type Handling struct {
	TLP      stix.TLP // never zero in a handling a node decided
	Scopes   []Scope  // distribution scopes (empty: the TLP's own audience)
	Groups   []string // for ScopeGroup: the sharing groups named
	Resident []string // countries the object is resident in
}

// Handling is the effective handling of a version with facts f: its TLP,
// else this node's default, and the distribution its markings give it.
func (c Config) Handling(f Facts) Handling {
	return Handling{TLP: c.effectiveTLP(f), Scopes: slices.Clone(f.Scopes), Groups: slices.Clone(f.Groups), Resident: slices.Clone(f.Resident)}
}

// Receive merges into f, classified from a received object's markings on
// this node, the handling its origin decided: the stricter TLP, and every
// distribution scope, group and residency of either. Markings and handling
// only restrict, so nothing the origin decided is lost and nothing is
// widened beyond what it released.
func (f *Facts) Receive(h Handling) {
	f.TLP = max(f.TLP, h.TLP)
	for _, s := range h.Scopes {
		if !slices.Contains(f.Scopes, s) {
			f.Scopes = append(f.Scopes, s)
		}
	}
	for _, g := range h.Groups {
		if !slices.Contains(f.Groups, g) {
			f.Groups = append(f.Groups, g)
		}
	}
	for _, r := range h.Resident {
		if !slices.Contains(f.Resident, r) {
			f.Resident = append(f.Resident, r)
		}
	}
}

// Package policy decides who may see what. One function, Decide, answers for
// one reader and one object version, from facts fixed when the object was
// ingested (Facts) and the reader's identity (Reader); every read path goes
// through it, and its decision carries a rule code and a reason that the
// audit log records and `setu policy explain` shows.
//
// Two independent dimensions restrict an object, and a reader must pass
// both:
//
//   - TLP 2.0 (FIRST), from the object's TLP marking, or the node's default
//     (AMBER unless configured) when it has none.
//   - Distribution, from Setu's distribution marking (see marking.go): own
//     organisation, this node's community, a named sharing group, partner
//     nodes (one hop), all nodes, or public. Without one, the TLP's own
//     audience: CLEAR public, GREEN this node and its partners, AMBER and
//     AMBER+STRICT this node's community.
//
// The decision table. "Submitter" is the organisation that submitted the
// object (and, for objects created on this node, the creator); its readers
// always see their own objects, whatever the markings say.
//
//	rule                 reader                               allowed when
//	-------------------  -----------------------------------  ----------------------------------------------
//	own                  a user of the submitter organisation  always
//	residency            a peer node outside the countries     never (an object resident in a country stays
//	                     the object is resident in             there, whatever its other markings say)
//	unknown-marking      anyone else                           never (a marking the node cannot interpret)
//	tlp-red              anyone else                           the reader is a named recipient (user or org),
//	                                                           and never a peer node
//	tlp-amber-strict     a peer node                           never (never onward across a border)
//	tlp-green, -amber,   a local user                          distribution allows (below)
//	  -amber-strict,
//	  -clear
//	tlp-green, -amber    a peer node                           distribution allows (below)
//	tlp-clear            a peer node                           distribution allows (below)
//
//	distribution         local user of org O                   peer node P
//	-------------------  -----------------------------------  ----------------------------------------------
//	org                  O is the submitter                    never
//	community            always                                never
//	group G              O is a member of G                    P is a member of G
//	partners             always                                P received it from this node (one hop)
//	nodes                always                                always
//	public               always                                always
//
// An object with several distribution markings must pass each (markings only
// restrict); several groups named by group markings are alternatives.
//
// Membership belongs to the reader, not to the object: it is read from the
// group registry when the reader is identified (Reader.Groups), never fixed
// in an object's facts, so a change applies to objects already stored. An
// organisation is a member of a group that names it ("org:ID"), a partner
// node of one that names it ("peer:NAME": the node hosts members of the
// group, and its own registry says which), and both are members of every
// group that holds such a group.
//
// TLP caps distribution: AMBER and AMBER+STRICT never reach beyond the
// organisations the distribution names, so "public" distribution with an
// AMBER marking is read as "community" for local readers and "partners" for
// peers (AMBER) or no peer at all (AMBER+STRICT); GREEN never reaches the
// public either, but a GREEN object's community includes partner nodes under
// an agreement, which the federation's agreement check enforces on top.
//
// Decide is pure: it does no I/O and is safe for concurrent use.
package policy

import (
	"slices"
	"strings"

	"github.com/setu-cti/setu/internal/stix"
)

// Scope is a distribution scope.
type Scope string

const (
	ScopeOrg       Scope = "org"
	ScopeCommunity Scope = "community"
	ScopeGroup     Scope = "group"
	ScopePartners  Scope = "partners"
	ScopeNodes     Scope = "nodes"
	ScopePublic    Scope = "public"
)

// Scopes lists the valid scopes, narrowest first.
var Scopes = []Scope{ScopeOrg, ScopeCommunity, ScopeGroup, ScopePartners, ScopeNodes, ScopePublic}

// Reader is who asks: a user of an organisation on this node, or a partner
// node (Peer set).
type Reader struct {
	User    string // user name; empty for a peer
	Org     string // organisation id; empty for a peer
	Country string // ISO 3166-1 alpha-2
	Peer    string // partner node name, when the reader is a node
	// Groups are the sharing groups the organisation, or for a peer the
	// partner node, belongs to, directly or through other groups.
	Groups []string
}

// IsPeer reports whether the reader is a partner node.
func (r Reader) IsPeer() bool { return r.Peer != "" }

// Facts are what the policy needs to know of one object version, fixed at
// ingest.
type Facts struct {
	Submitter string   // organisation id that submitted (and owns) the object
	TLP       stix.TLP // zero: no TLP marking (the node default applies)
	// Scopes are the distribution scopes of the object's distribution
	// markings; a reader must pass every one (markings only restrict).
	// Empty: no distribution marking, the TLP's own audience applies.
	Scopes []Scope
	Groups []string // for ScopeGroup: the sharing groups named (any one suffices)
	// Recipients are the named recipients of a TLP:RED object: "user:NAME"
	// or "org:ID" entries.
	Recipients []string
	// Via is the peer the object was received from, if any; ScopePartners
	// objects from this node go one hop, so a received one is not relayed.
	Via string
	// Resident lists the countries the object is marked resident in: it
	// never leaves them, whatever its other markings say.
	Resident []string `json:",omitempty"`
	// Unknown lists marking references the node cannot interpret.
	Unknown []string
	// Granular are the facts of the object's granular markings, one per
	// marking. A reader not cleared for every one of them is not served the
	// object: this node never serves an altered body under the object's id,
	// so rather than strip the marked properties it withholds the object.
	Granular []Facts `json:",omitempty"`
	// Assigned is the handling fixed at ingest as metadata (see Handling:
	// the submitter's, or a received object's origin's), already applied
	// to the fields above; kept so that it applies again whenever they are
	// computed again.
	Assigned *Handling `json:",omitempty"`

	// Metadata fixed beside the version at ingest, like the submitter, for
	// sharing agreements; Decide does not read it.
	//
	// Sectors are the sectors of the organisation that submitted the
	// version, as they were when it was first stored (for a version
	// received from a partner: as its origin sent them).
	Sectors []string `json:",omitempty"`
	// Attribution says whether the body partner nodes get names the
	// submitting organisation (AttributionNamed, AttributionAnonymous);
	// empty when not recorded (versions stored before it was).
	Attribution string `json:",omitempty"`
	// PeersOnly: the version's released body (an anonymous submission's)
	// is served to partner nodes only, the organisation being anonymous
	// towards partners but not on this node.
	PeersOnly bool `json:",omitempty"`
}

// Decision is the answer for one reader and one object.
type Decision struct {
	Allow  bool
	Rule   string // stable code, e.g. "tlp-red", "distribution-group"
	Reason string // one sentence for humans
}

// Config is the node's policy configuration.
type Config struct {
	// DefaultTLP applies to objects without a TLP marking (AMBER when zero).
	DefaultTLP stix.TLP
}

func allow(rule, reason string) Decision { return Decision{Allow: true, Rule: rule, Reason: reason} }
func deny(rule, reason string) Decision  { return Decision{Allow: false, Rule: rule, Reason: reason} }

// Decide applies the decision table in the package documentation.
func (c Config) Decide(r Reader, f Facts) Decision {
	if !r.IsPeer() && r.Org != "" && r.Org == f.Submitter {
		return allow("own", "the reader's organisation submitted the object")
	}
	if r.IsPeer() && len(f.Resident) > 0 && !slices.Contains(f.Resident, r.Country) {
		return deny("residency", "the object is marked resident in "+strings.Join(f.Resident, ", ")+" and never leaves it")
	}
	if len(f.Unknown) > 0 {
		return deny("unknown-marking", "the object carries a marking this node cannot interpret ("+f.Unknown[0]+"); only its submitter may read it")
	}
	tlp := c.effectiveTLP(f)
	scopes := f.Scopes
	if len(scopes) == 0 {
		scopes = []Scope{defaultScope(tlp)}
	}
	var d Decision
	for _, scope := range scopes {
		if d = c.decide(r, f, tlp, scope); !d.Allow {
			return d
		}
	}
	for _, g := range f.Granular {
		// A granular marking narrows the object's own markings for the
		// properties it selects.
		m := f
		m.Granular = nil
		m.TLP = max(tlp, g.TLP)
		m.Scopes = append(slices.Clone(f.Scopes), g.Scopes...)
		m.Groups = append(slices.Clone(f.Groups), g.Groups...)
		m.Recipients = append(slices.Clone(f.Recipients), g.Recipients...)
		m.Unknown = g.Unknown
		if gd := c.Decide(r, m); !gd.Allow {
			return deny("granular-marking", "part of the object is marked for a narrower audience ("+gd.Reason+"); the object is withheld rather than served altered")
		}
	}
	return d
}

// decide applies the TLP level and one distribution scope.
func (c Config) decide(r Reader, f Facts, tlp stix.TLP, scope Scope) Decision {
	switch tlp {
	case stix.TLPLevelRed:
		if r.IsPeer() {
			return deny("tlp-red", "TLP:RED never leaves the node")
		}
		if slices.Contains(f.Recipients, "user:"+r.User) || slices.Contains(f.Recipients, "org:"+r.Org) {
			return allow("tlp-red-recipient", "TLP:RED and the reader is a named recipient")
		}
		return deny("tlp-red", "TLP:RED and the reader is not a named recipient")
	case stix.TLPLevelAmberStrict:
		if r.IsPeer() {
			return deny("tlp-amber-strict", "TLP:AMBER+STRICT never goes onward across a border")
		}
	}
	d := decideScope(r, f, capScope(tlp, scope, r.IsPeer()))
	d.Reason = tlp.String() + "; " + d.Reason
	return d
}

// defaultScope is the audience a TLP level names by itself.
func defaultScope(t stix.TLP) Scope {
	switch t {
	case stix.TLPLevelClear:
		return ScopePublic
	case stix.TLPLevelGreen:
		return ScopePartners
	}
	return ScopeCommunity
}

func decideScope(r Reader, f Facts, scope Scope) Decision {
	switch scope {
	case ScopeOrg:
		return deny("distribution-org", "distributed to its submitting organisation only")
	case ScopeCommunity:
		if r.IsPeer() {
			return deny("distribution-community", "distributed to this node's community only")
		}
		return allow("distribution-community", "distributed to this node's community")
	case ScopeGroup:
		who := "the reader's organisation"
		if r.IsPeer() {
			who = "the reader's node"
		}
		for _, g := range f.Groups {
			if slices.Contains(r.Groups, g) {
				return allow("distribution-group", "distributed to sharing group "+g+", of which "+who+" is a member")
			}
		}
		return deny("distribution-group", "distributed to sharing groups "+who+" is not in")
	case ScopePartners:
		if r.IsPeer() && f.Via != "" {
			return deny("distribution-partners", "distributed to partner nodes one hop away; it was received from a partner")
		}
		return allow("distribution-partners", "distributed to this node and its partner nodes")
	case ScopeNodes:
		return allow("distribution-nodes", "distributed to all nodes")
	case ScopePublic:
		return allow("distribution-public", "public")
	}
	return deny("distribution-unknown", "unknown distribution scope "+string(scope))
}

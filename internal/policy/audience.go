package policy

import (
	"encoding/json"
	"slices"
	"sort"
	"strings"

	"github.com/setu-cti/setu/internal/stix"
)

// Audience keys. A reader holds a few keys (Reader.Keys); an object version
// lists the keys of everyone who may possibly read it (Config.Audience). The
// store finds a reader's rows through an index of these keys, and Decide
// then rules on each: the keys only have to name a superset of the allowed
// readers, and the narrower they are, the less a page reads.
const (
	KeyPublic = "public" // every reader
	KeyNode   = "node"   // every local user of this node
	KeyPeers  = "peers"  // every partner node
)

// Keys are the audience keys r holds. A group's key is held by its member
// organisations and its member nodes alike.
func (r Reader) Keys() []string {
	keys := []string{KeyPublic, KeyPeers, "peer:" + r.Peer}
	if !r.IsPeer() {
		keys = []string{KeyPublic, KeyNode, "org:" + r.Org, "user:" + r.User}
	}
	for _, g := range r.Groups {
		keys = append(keys, "group:"+g)
	}
	return keys
}

// Audience returns the audience keys of an object version with facts f:
// every reader Decide may allow holds at least one of them. The keys do not
// depend on the node's default TLP: those of an object without a TLP
// marking hold for every level, so that changing the default never leaves
// stored keys short of a reader the new default allows.
func (c Config) Audience(f Facts) []string {
	set := map[string]bool{"org:" + f.Submitter: true}
	if len(f.Unknown) == 0 {
		levels := []stix.TLP{f.TLP}
		if f.TLP == 0 {
			levels = []stix.TLP{stix.TLPLevelClear, stix.TLPLevelGreen, stix.TLPLevelAmber, stix.TLPLevelAmberStrict, stix.TLPLevelRed}
		}
		for _, tlp := range levels {
			c.addKeys(set, f, tlp)
		}
	}
	// Drop keys that others already cover: every reader holds "public",
	// every local user "node", every partner "peers"; a group's key, held
	// by local and partner members, needs both. Fewer keys, fewer index
	// rows per object.
	if set[KeyPublic] {
		return []string{KeyPublic}
	}
	out := make([]string, 0, len(set))
	for k := range set {
		switch {
		case set[KeyNode] && (strings.HasPrefix(k, "org:") || strings.HasPrefix(k, "user:")):
		case set[KeyNode] && set[KeyPeers] && strings.HasPrefix(k, "group:"):
		case set[KeyPeers] && strings.HasPrefix(k, "peer:"):
		default:
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// addKeys adds the keys of the readers f allows under tlp.
func (c Config) addKeys(set map[string]bool, f Facts, tlp stix.TLP) {
	if tlp == stix.TLPLevelRed {
		for _, r := range f.Recipients {
			set[r] = true // "user:NAME" and "org:ID" are keys as they are
		}
		return
	}
	// Any one scope's readers are a superset of those allowed by all of
	// them: use the narrowest, judged by key count.
	scopes := f.Scopes
	if len(scopes) == 0 {
		scopes = []Scope{defaultScope(tlp)}
	}
	var best []string
	for _, s := range scopes {
		ks := c.scopeKeys(f, tlp, s)
		if best == nil || len(ks) < len(best) {
			best = ks
		}
	}
	for _, k := range best {
		set[k] = true
	}
}

func (c Config) effectiveTLP(f Facts) stix.TLP {
	if f.TLP != 0 {
		return f.TLP
	}
	if c.DefaultTLP != 0 {
		return c.DefaultTLP
	}
	return stix.TLPLevelAmber
}

// scopeKeys are the keys of the readers one scope may allow under tlp,
// after TLP capped the scope (see decide).
func (c Config) scopeKeys(f Facts, tlp stix.TLP, s Scope) []string {
	local := capScope(tlp, s, false)
	peer := capScope(tlp, s, true)
	if tlp == stix.TLPLevelAmberStrict {
		peer = ScopeOrg // never to a peer
	}
	var ks []string
	switch local {
	case ScopeGroup:
		for _, g := range f.Groups {
			ks = append(ks, "group:"+g)
		}
	case ScopeCommunity, ScopePartners, ScopeNodes, ScopePublic:
		ks = append(ks, KeyNode)
	}
	switch peer {
	case ScopeGroup:
		// The group keys added for local members are held by member
		// nodes too.
	case ScopePartners:
		if f.Via == "" {
			ks = append(ks, KeyPeers)
		}
	case ScopeNodes, ScopePublic:
		ks = append(ks, KeyPeers)
	}
	return slices.Compact(ks)
}

// capScope is how TLP narrows a distribution scope for a local reader or a
// peer (the rule Decide applies).
func capScope(tlp stix.TLP, s Scope, peer bool) Scope {
	switch tlp {
	case stix.TLPLevelAmberStrict:
		if s == ScopePublic || s == ScopeNodes || s == ScopePartners {
			return ScopeCommunity
		}
	case stix.TLPLevelAmber:
		if s == ScopePublic || s == ScopeNodes {
			if peer {
				return ScopePartners
			}
			return ScopeCommunity
		}
	case stix.TLPLevelGreen:
		if s == ScopePublic {
			return ScopeNodes
		}
	}
	return s
}

// Encode is the stored form of facts (store.Version.Facts).
func (f Facts) Encode() []byte {
	b, _ := json.Marshal(f)
	return b
}

// DecodeFacts reads facts stored by Encode. Missing or unreadable facts
// yield facts with an unknown marking, so the object stays with its
// submitter rather than leaking.
func DecodeFacts(b []byte, submitter string) Facts {
	var f Facts
	if len(b) == 0 || json.Unmarshal(b, &f) != nil {
		return Facts{Submitter: submitter, Unknown: []string{"(policy facts missing)"}}
	}
	f.Submitter = submitter
	return f
}

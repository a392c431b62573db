package federation

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/setu-cti/setu/internal/account"
	"github.com/setu-cti/setu/internal/policy"
	"github.com/setu-cti/setu/internal/stix"
	"github.com/setu-cti/setu/internal/store"
)

// An Agreement is the declarative, versioned terms under which this node
// shares with one peer. The operator writes it as JSON (see ParseAgreement
// for the fields) and applies it; each apply must raise the version. An
// agreement only ever withholds: what it lets through still passes the
// policy gate as the peer first, and TLP:RED never leaves a node.
//
// An Agreement comes from ParseAgreement; its fields are for reading, and
// Canonical and Hash describe the document as parsed. It is safe for
// concurrent use.
type Agreement struct {
	Peer        string
	Version     int64
	Description string
	// Outbound are the collections (id or alias) whose releasable objects
	// the peer may pull or this node pushes; Inbound is the collection the
	// peer's objects land in (empty: nothing is accepted from the peer).
	Outbound []string
	Inbound  string
	// MaxTLP is the highest TLP level that may cross; never RED.
	// AMBER+STRICT is accepted, but the policy never lets AMBER+STRICT
	// objects onward across a border, so it lets through what AMBER does.
	MaxTLP stix.TLP
	// Distribution are the distribution scopes that may cross; an object
	// with several must have each listed. Objects without a distribution
	// marking are read with their TLP's own audience (CLEAR: public, GREEN:
	// partners, AMBER: community), as the policy reads them.
	Distribution []policy.Scope
	// Groups are the sharing groups (ids) whose group-distributed objects
	// may cross; an object naming several needs one of them here, and one
	// this node's registry lists the peer in (see Releases).
	Groups []string
	// Types are the object types that may cross; empty: all but the
	// withheld ones.
	Types []string
	// Sectors restrict objects to those submitted by an organisation in
	// one of these sectors: the sectors the organisation declared
	// (`setu org add|set --sector`), fixed beside each version when it is
	// first stored, and sent to partners with it, so that the receiver's
	// agreement reads the same. Empty: no restriction. With a restriction,
	// an object whose sectors are unknown (its submitter declared none, or
	// a plain TAXII server sent it) is withheld, and refused on arrival.
	Sectors []string
	// AnonymiseSubmitters: the peer is never released an object whose
	// body names the organisation of this node that submitted it (as
	// creator, or in a sighting as where it was seen); such objects are
	// withheld (agreement-anonymise). An organisation anonymous towards
	// partners (`setu org set ID --anonymous-to-partners`) or towards
	// everyone has its objects released in one anonymised form, fixed at
	// ingest and the same for every peer, so they cross. A partner's own
	// objects, relayed, are as their origin released them.
	AnonymiseSubmitters bool
	// NeverRelease are types withheld on top of DefaultNeverRelease;
	// ReleaseAnyway lifts defaults. Withheld reports the result.
	NeverRelease  []string
	ReleaseAnyway []string
	// Residency are countries whose residency markings this agreement
	// honours: an object marked resident in one of them never leaves.
	Residency []string
	Mode      Mode
	// Schedule is how often this node pulls from or pushes to the peer.
	Schedule time.Duration

	canonical []byte
}

// Mode is how objects move between the two nodes.
type Mode string

const (
	// ModePull: each node fetches what the other releases to it, over TAXII
	// GET from the other's view.
	ModePull Mode = "pull"
	// ModePush: each node sends what it releases, over TAXII POST to the
	// other's inbound collection.
	ModePush Mode = "push"
	// ModeBoth: either.
	ModeBoth Mode = "both"
)

// DefaultNeverRelease are the types withheld from every peer unless an
// agreement lists them in release_anyway: they name or contain personal
// data (accounts, mail) or analysts' working notes.
var DefaultNeverRelease = []string{"email-addr", "email-message", "note", "user-account"}

// Bounds on a schedule: often enough to matter, rarely enough not to load
// a partner.
const (
	MinSchedule = time.Minute
	MaxSchedule = 24 * time.Hour
)

// maxVersion is the largest integer JSON carries exactly (2^53-1).
const maxVersion = 1<<53 - 1

// AgreementError is a fault in an agreement document, at a JSON path.
type AgreementError struct {
	Path string // JSONPath, e.g. "$.direction.outbound[1]"
	Msg  string
}

func (e *AgreementError) Error() string { return "agreement: " + e.Path + ": " + e.Msg }

func fieldErr(path, format string, a ...any) error {
	return &AgreementError{Path: path, Msg: fmt.Sprintf(format, a...)}
}

// agreementJSON is the document form. Required fields are pointers so an
// absent one is told apart from a zero one.
type agreementJSON struct {
	Peer                *string        `json:"peer,omitzero"`
	Version             *int64         `json:"version,omitzero"`
	Description         string         `json:"description,omitzero"`
	Direction           *directionJSON `json:"direction,omitzero"`
	MaxTLP              *string        `json:"max_tlp,omitzero"`
	Distribution        []string       `json:"distribution,omitzero"`
	Groups              []string       `json:"groups,omitzero"`
	Types               []string       `json:"types,omitzero"`
	Sectors             []string       `json:"sectors,omitzero"`
	AnonymiseSubmitters *bool          `json:"anonymise_submitters,omitzero"`
	NeverRelease        []string       `json:"never_release,omitzero"`
	ReleaseAnyway       []string       `json:"release_anyway,omitzero"`
	Residency           []string       `json:"residency,omitzero"`
	Mode                *string        `json:"mode,omitzero"`
	Schedule            *string        `json:"schedule,omitzero"`
}

type directionJSON struct {
	Outbound []string `json:"outbound,omitzero"`
	Inbound  string   `json:"inbound,omitzero"`
}

var tlpNames = map[string]stix.TLP{
	"clear": stix.TLPLevelClear, "green": stix.TLPLevelGreen, "amber": stix.TLPLevelAmber,
	"amber+strict": stix.TLPLevelAmberStrict, "red": stix.TLPLevelRed,
}

func tlpName(t stix.TLP) string {
	for n, v := range tlpNames {
		if v == t {
			return n
		}
	}
	return ""
}

var (
	typeRE   = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9]|-[a-z0-9]){2,249}$`)
	sectorRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
)

// ParseAgreement reads an agreement document strictly: names are
// case-sensitive, unknown and duplicate names are errors, and every error
// names its JSON path. Several faults in the content are reported together
// (errors.Join of *AgreementError).
//
// Fields (required unless marked optional):
//
//	peer                  the peer's name
//	version               integer from 1; must increase with every change
//	description           optional text for people
//	direction             {"outbound": [collections], "inbound": collection};
//	                      at least one of the two
//	max_tlp               clear | green | amber | amber+strict (never red)
//	distribution          scopes that may cross: community, group, partners,
//	                      nodes, public
//	groups                sharing group ids; required with "group" scope
//	types                 optional allow-list of object types
//	sectors               optional allow-list of the sectors of submitting
//	                      organisations
//	anonymise_submitters  true or false: whether objects naming the
//	                      organisation that submitted them are withheld
//	never_release         optional types withheld besides the defaults
//	release_anyway        optional defaults to release after all
//	residency             optional country codes whose residency is honoured
//	mode                  pull | push | both
//	schedule              interval, e.g. "5m" (1m to 24h)
//
// References to collections and groups are checked against the store by
// Check, not here, so a partner's agreement can be read on any node.
func ParseAgreement(data []byte) (*Agreement, error) {
	var w agreementJSON
	if err := json.Unmarshal(data, &w, json.RejectUnknownMembers(true)); err != nil {
		return nil, decodeErr(err)
	}
	return fromJSON(&w)
}

func fromJSON(w *agreementJSON) (*Agreement, error) {
	var errs []error
	bad := func(path, format string, a ...any) { errs = append(errs, fieldErr(path, format, a...)) }
	a := &Agreement{Description: w.Description}

	if w.Peer == nil {
		bad("$.peer", "required: the name of the peer node")
	} else if err := ValidateName(*w.Peer); err != nil {
		bad("$.peer", "%v", err)
	} else {
		a.Peer = *w.Peer
	}
	switch {
	case w.Version == nil:
		bad("$.version", "required: an integer from 1, raised with every change")
	case *w.Version < 1 || *w.Version > maxVersion:
		bad("$.version", "%d is out of range 1 to 2^53-1", *w.Version)
	default:
		a.Version = *w.Version
	}

	if w.Direction == nil {
		bad("$.direction", `required: {"outbound": [collections], "inbound": collection}`)
	} else {
		a.Outbound = checkList(&errs, "$.direction.outbound", w.Direction.Outbound, nil)
		a.Inbound = w.Direction.Inbound
		if len(a.Outbound) == 0 && a.Inbound == "" {
			bad("$.direction", "names no collection: list outbound collections, an inbound collection, or both")
		}
	}

	switch {
	case w.MaxTLP == nil:
		bad("$.max_tlp", "required: clear, green, amber or amber+strict")
	case *w.MaxTLP == "red":
		bad("$.max_tlp", "TLP:RED never leaves a node; an agreement cannot allow it (amber is the highest level that crosses a border)")
	case tlpNames[*w.MaxTLP] == 0:
		bad("$.max_tlp", "%q is not one of clear, green, amber, amber+strict", *w.MaxTLP)
	default:
		a.MaxTLP = tlpNames[*w.MaxTLP]
	}

	if w.Distribution == nil {
		bad("$.distribution", "required: the distribution scopes that may cross (community, group, partners, nodes, public)")
	} else if len(w.Distribution) == 0 {
		bad("$.distribution", "is empty, so nothing could cross; list at least one of community, group, partners, nodes, public")
	}
	for _, s := range checkList(&errs, "$.distribution", w.Distribution, func(s string) string {
		switch policy.Scope(s) {
		case policy.ScopeOrg:
			return "org-distributed objects never leave their organisation"
		case policy.ScopeCommunity, policy.ScopeGroup, policy.ScopePartners, policy.ScopeNodes, policy.ScopePublic:
			return ""
		}
		return fmt.Sprintf("%q is not one of community, group, partners, nodes, public", s)
	}) {
		a.Distribution = append(a.Distribution, policy.Scope(s))
	}
	a.Groups = checkList(&errs, "$.groups", w.Groups, nil)
	switch hasGroup := slices.Contains(a.Distribution, policy.ScopeGroup); {
	case hasGroup && len(w.Groups) == 0:
		bad("$.groups", `required when distribution lists "group": the sharing groups whose objects may cross`)
	case !hasGroup && len(w.Groups) > 0:
		bad("$.groups", `lists groups but distribution does not list "group", so none would cross`)
	}

	a.Types = checkList(&errs, "$.types", w.Types, checkType)
	a.Sectors = checkList(&errs, "$.sectors", w.Sectors, func(s string) string {
		if !sectorRE.MatchString(s) {
			return fmt.Sprintf("%q is not a sector name (lower-case letters, digits and '-', e.g. telecommunications)", s)
		}
		return ""
	})
	if w.AnonymiseSubmitters == nil {
		bad("$.anonymise_submitters", "required: true to release no object naming the organisation of this node that submitted it (anonymous organisations' objects cross anonymised), else false")
	} else {
		a.AnonymiseSubmitters = *w.AnonymiseSubmitters
	}
	a.NeverRelease = checkList(&errs, "$.never_release", w.NeverRelease, checkType)
	a.ReleaseAnyway = checkList(&errs, "$.release_anyway", w.ReleaseAnyway, checkType)
	for i, t := range w.ReleaseAnyway {
		switch {
		case slices.Contains(w.NeverRelease, t):
			bad(fmt.Sprintf("$.release_anyway[%d]", i), "%q is also listed in never_release", t)
		case !slices.Contains(DefaultNeverRelease, t):
			bad(fmt.Sprintf("$.release_anyway[%d]", i), "%q is not withheld by default (%s), so there is nothing to release anyway",
				t, strings.Join(DefaultNeverRelease, ", "))
		}
	}
	for i, t := range w.Types {
		if a.Withheld(t) {
			bad(fmt.Sprintf("$.types[%d]", i), "%q is never released to peers; list it in release_anyway to allow it", t)
		}
	}
	a.Residency = checkList(&errs, "$.residency", w.Residency, func(s string) string {
		if ValidateCountry(s) != nil {
			return fmt.Sprintf("%q is not an ISO 3166-1 alpha-2 code in upper case", s)
		}
		return ""
	})

	switch {
	case w.Mode == nil:
		bad("$.mode", "required: pull, push or both")
	case *w.Mode == string(ModePull), *w.Mode == string(ModePush), *w.Mode == string(ModeBoth):
		a.Mode = Mode(*w.Mode)
	default:
		bad("$.mode", "%q is not one of pull, push, both", *w.Mode)
	}
	if w.Schedule == nil {
		bad("$.schedule", `required: how often to sync, e.g. "5m"`)
	} else if d, err := time.ParseDuration(*w.Schedule); err != nil {
		bad("$.schedule", "%q is not an interval such as 30m or 1h", *w.Schedule)
	} else if d < MinSchedule || d > MaxSchedule || d%time.Second != 0 {
		bad("$.schedule", "%s is outside %s to %s in whole seconds", *w.Schedule, FormatInterval(MinSchedule), FormatInterval(MaxSchedule))
	} else {
		a.Schedule = d
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	c, err := a.encode()
	if err != nil {
		return nil, err
	}
	a.canonical = c
	return a, nil
}

func checkType(s string) string {
	if !typeRE.MatchString(s) {
		return fmt.Sprintf("%q is not a STIX type name (3 to 250 of a-z, 0-9 and single hyphens)", s)
	}
	return ""
}

// checkList reports empty strings, duplicates and what check finds in a
// list, and returns the valid entries in the order written, so later errors
// can name positions in the file.
func checkList(errs *[]error, path string, list []string, check func(string) string) []string {
	var out []string
	for i, s := range list {
		p := fmt.Sprintf("%s[%d]", path, i)
		switch {
		case s == "":
			*errs = append(*errs, fieldErr(p, "empty"))
			continue
		case slices.Index(list, s) < i:
			*errs = append(*errs, fieldErr(p, "%q is listed twice", s))
			continue
		}
		if check != nil {
			if msg := check(s); msg != "" {
				*errs = append(*errs, fieldErr(p, "%s", msg))
				continue
			}
		}
		out = append(out, s)
	}
	return out
}

// FormatInterval writes a duration the way people write schedules and the
// canonical form keeps them: "5m", "1h30m", "45s".
func FormatInterval(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// toJSON is the normalised document: lists sorted, since they are sets and
// their order must not change an agreement's content or hash; the schedule
// in its shortest form; optional fields left out when empty.
func (a *Agreement) toJSON() *agreementJSON {
	scopes := make([]string, len(a.Distribution))
	for i, s := range a.Distribution {
		scopes[i] = string(s)
	}
	return &agreementJSON{
		Peer:                &a.Peer,
		Version:             &a.Version,
		Description:         a.Description,
		Direction:           &directionJSON{Outbound: sortedSet(a.Outbound), Inbound: a.Inbound},
		MaxTLP:              ptr(tlpName(a.MaxTLP)),
		Distribution:        sortedSet(scopes),
		Groups:              sortedSet(a.Groups),
		Types:               sortedSet(a.Types),
		Sectors:             sortedSet(a.Sectors),
		AnonymiseSubmitters: &a.AnonymiseSubmitters,
		NeverRelease:        sortedSet(a.NeverRelease),
		ReleaseAnyway:       sortedSet(a.ReleaseAnyway),
		Residency:           sortedSet(a.Residency),
		Mode:                ptr(string(a.Mode)),
		Schedule:            ptr(FormatInterval(a.Schedule)),
	}
}

func ptr[T any](v T) *T { return &v }

// sortedSet is a sorted copy; nil stays nil, so an absent list stays absent.
func sortedSet(s []string) []string {
	if s == nil {
		return nil
	}
	return slices.Sorted(slices.Values(s))
}

func (a *Agreement) encode() ([]byte, error) {
	b, err := json.Marshal(a.toJSON())
	if err != nil {
		return nil, err
	}
	v := jsontext.Value(b)
	if err := v.Canonicalize(); err != nil {
		return nil, err
	}
	return v, nil
}

// Canonical is the agreement's normalised content as canonical JSON (RFC
// 8785): what is stored, hashed and signed. Two documents that differ only
// in layout, member order or list order have the same canonical form.
func (a *Agreement) Canonical() []byte { return slices.Clone(a.canonical) }

// Hash is the SHA-256 of Canonical.
func (a *Agreement) Hash() [32]byte { return sha256.Sum256(a.canonical) }

// Indent is the agreement as indented JSON, for people.
func (a *Agreement) Indent() []byte {
	v := jsontext.Value(slices.Clone(a.canonical))
	v.Indent(jsontext.WithIndent("  "))
	return append(v, '\n')
}

// Record is the agreement as the store keeps it.
func (a *Agreement) Record(applied time.Time) store.Agreement {
	return store.Agreement{Peer: a.Peer, Version: a.Version, Hash: a.Hash(), Body: a.Canonical(), Applied: applied.UTC()}
}

// Withheld reports whether objects of type typ are never released under
// this agreement: DefaultNeverRelease and NeverRelease, less ReleaseAnyway.
func (a *Agreement) Withheld(typ string) bool {
	if slices.Contains(a.ReleaseAnyway, typ) {
		return false
	}
	return slices.Contains(DefaultNeverRelease, typ) || slices.Contains(a.NeverRelease, typ)
}

// Catalog is what Check looks references up in.
type Catalog interface {
	Peer(ctx context.Context, name string) (store.Peer, error)
	Collection(ctx context.Context, idOrAlias string) (store.Collection, error)
	Group(ctx context.Context, idOrName string) (store.Group, error)
}

// Check verifies that what the agreement names exists on this node: the
// peer, the collections and the sharing groups. Groups must be named by id,
// the name distribution markings and partners use. Faults are reported
// together, each at its JSON path.
func (a *Agreement) Check(ctx context.Context, c Catalog) error {
	var errs []error
	lookup := func(path, what string, err error) bool {
		switch {
		case err == nil:
			return true
		case errors.Is(err, store.ErrNotFound):
			errs = append(errs, fieldErr(path, "%s", what))
		default:
			errs = append(errs, err)
		}
		return false
	}
	if _, err := c.Peer(ctx, a.Peer); err != nil {
		lookup("$.peer", fmt.Sprintf("no peer named %q; add it first with `setu peer add`", a.Peer), err)
	}
	for i, col := range a.Outbound {
		_, err := c.Collection(ctx, col)
		lookup(fmt.Sprintf("$.direction.outbound[%d]", i), fmt.Sprintf("no collection %q", col), err)
	}
	if a.Inbound != "" {
		_, err := c.Collection(ctx, a.Inbound)
		lookup("$.direction.inbound", fmt.Sprintf("no collection %q", a.Inbound), err)
	}
	for i, id := range a.Groups {
		g, err := c.Group(ctx, id)
		path := fmt.Sprintf("$.groups[%d]", i)
		if lookup(path, fmt.Sprintf("no sharing group %q", id), err) && g.ID != id {
			errs = append(errs, fieldErr(path, "%q is the name of sharing group %q; list groups by id", id, g.ID))
		}
	}
	return errors.Join(errs...)
}

// Object is what an agreement needs to know of one object version to
// decide whether it may leave: its type, its policy facts (as fixed at
// ingest), the countries it is marked resident in and the sectors it
// concerns.
type Object struct {
	Type      string
	Facts     policy.Facts
	Residency []string
	Sectors   []string
	// Named: the body a peer would get names the organisation of this
	// node that submitted it.
	Named bool
}

// ObjectOf is what an agreement reads of a stored version: its policy
// facts and the metadata fixed beside it at ingest.
func ObjectOf(v *store.Version) Object {
	f := policy.DecodeFacts(v.Facts, v.Submitter)
	return Object{Type: v.Type, Facts: f, Residency: f.Resident, Sectors: f.Sectors, Named: namesSubmitter(v, f)}
}

// namesSubmitter reports whether the body peers get of v names the
// organisation of this node that submitted it.
func namesSubmitter(v *store.Version, f policy.Facts) bool {
	if _, received := originOf(v); received || v.Submitter == account.NodeOrg {
		// A partner's objects are as their origin released them; the
		// node's own identity is what anonymity stands behind.
		return false
	}
	switch f.Attribution {
	case policy.AttributionNamed:
		return true
	case policy.AttributionAnonymous:
		return false
	}
	// Stored before attribution was recorded: only an anonymous
	// submission had a released form.
	return v.Released == nil
}

// Decide is the decision egress makes for version v and the agreement's
// peer (see Releases): the one `setu policy explain --peer` shows.
func (a *Agreement) Decide(cfg policy.Config, dest string, groups []string, v *store.Version) policy.Decision {
	return a.Releases(cfg, dest, groups, ObjectOf(v))
}

// Releases decides whether an object version may leave to the agreement's
// peer. The policy gate decides first, reading the peer as the reader
// (cfg.Decide); then every term of the agreement must hold, for the object
// and for each of its granular markings. The first term that fails is the
// decision, with a stable rule code ("agreement-tlp", ...) and a reason
// naming the agreement version; an allowed object keeps the policy's rule.
//
// dest is the country of the node the object goes to: the peer's, as
// declared when it was added, for a release; this node's for an arrival;
// empty when not known. An object marked resident in a country goes to
// nodes in that country only, so an unknown one is abroad.
//
// groups are the sharing groups this node's registry lists the peer in
// (store.Groups.PeerGroups), read when deciding rather than at ingest,
// since membership changes: an object distributed to sharing groups goes
// to, and arrives from, the peer only through a group that the agreement
// lets cross and that the peer is a member of.
func (a *Agreement) Releases(cfg policy.Config, dest string, groups []string, o Object) policy.Decision {
	d := cfg.Decide(policy.Reader{Peer: a.Peer, Country: dest, Groups: groups}, o.Facts)
	if !d.Allow {
		return d
	}
	under := fmt.Sprintf("(agreement with %s, version %d)", a.Peer, a.Version)
	deny := func(rule, format string, args ...any) policy.Decision {
		return policy.Decision{Rule: rule, Reason: fmt.Sprintf(format, args...) + " " + under}
	}
	if a.Withheld(o.Type) {
		return deny("agreement-never-release", "objects of type %s are never released to peers", o.Type)
	}
	if len(a.Types) > 0 && !slices.Contains(a.Types, o.Type) {
		return deny("agreement-type", "objects of type %s are not among the types released", o.Type)
	}
	objTLP := o.Facts.TLP
	if objTLP == 0 {
		objTLP = cfg.DefaultTLP
	}
	if objTLP == 0 {
		objTLP = stix.TLPLevelAmber
	}
	parts := append([]policy.Facts{o.Facts}, o.Facts.Granular...)
	for i, p := range parts {
		what := "the object"
		if i > 0 {
			what = "part of the object"
		}
		tlp := max(objTLP, p.TLP)
		if tlp == stix.TLPLevelRed {
			return policy.Decision{Rule: "tlp-red", Reason: "TLP:RED never leaves the node"}
		}
		if tlp > a.MaxTLP {
			return deny("agreement-tlp", "%s is %s, beyond the agreed maximum %s", what, tlp, a.MaxTLP)
		}
		scopes := p.Scopes
		if len(scopes) == 0 && i == 0 {
			scopes = []policy.Scope{tlpScope(tlp)}
		}
		for _, s := range scopes {
			if !slices.Contains(a.Distribution, s) {
				return deny("agreement-distribution", "%s is distributed to %s, which the agreement does not let cross", what, s)
			}
			if s != policy.ScopeGroup {
				continue
			}
			if !slices.ContainsFunc(p.Groups, func(g string) bool { return slices.Contains(a.Groups, g) }) {
				return deny("agreement-group", "%s is distributed to sharing groups (%s) none of which the agreement lets cross",
					what, strings.Join(p.Groups, ", "))
			}
			// The group that lets it cross must be one the peer is in:
			// membership of another group is not agreed for this border.
			if !slices.ContainsFunc(p.Groups, func(g string) bool { return slices.Contains(a.Groups, g) && slices.Contains(groups, g) }) {
				return deny("agreement-group", "%s is distributed to sharing groups (%s), and those the agreement lets cross do not have %s as a member",
					what, strings.Join(p.Groups, ", "), a.Peer)
			}
		}
	}
	if len(a.Sectors) > 0 && !slices.ContainsFunc(o.Sectors, func(s string) bool { return slices.Contains(a.Sectors, s) }) {
		if len(o.Sectors) == 0 {
			return deny("agreement-sector", "the sectors of the organisation that submitted the object are unknown and the agreement is limited to %s", strings.Join(a.Sectors, ", "))
		}
		return deny("agreement-sector", "the object was submitted by an organisation in %s, outside the agreed sectors (%s)",
			strings.Join(o.Sectors, ", "), strings.Join(a.Sectors, ", "))
	}
	if a.AnonymiseSubmitters && o.Named {
		return deny("agreement-anonymise", "the object names the organisation that submitted it (%s) and the agreement anonymises submitters; "+
			"what it submits after `setu org set %s --anonymous-to-partners` crosses in anonymised form", o.Facts.Submitter, o.Facts.Submitter)
	}
	for _, c := range o.Residency {
		if c != dest && slices.Contains(a.Residency, c) {
			return deny("agreement-residency", "the object is marked resident in %s and never leaves it", c)
		}
	}
	d.Reason += "; within the " + under[1:len(under)-1]
	return d
}

// tlpScope is the audience a TLP level names by itself, as the policy reads
// an object without a distribution marking.
func tlpScope(t stix.TLP) policy.Scope {
	switch t {
	case stix.TLPLevelClear:
		return policy.ScopePublic
	case stix.TLPLevelGreen:
		return policy.ScopePartners
	}
	return policy.ScopeCommunity
}

// SignatureFormat names the signed export's format and version.
const SignatureFormat = "setu-agreement-signature/1"

// agreementContext separates agreement signatures from every other use of
// a node's signing key (provenance), so one can never pass for the other.
const agreementContext = "setu agreement v1\x00"

// SignedAgreement is an agreement exported by the node that applied it,
// with a detached Ed25519 signature over its canonical JSON, for the
// partner to check with `setu agreement verify`.
type SignedAgreement struct {
	Format    string         `json:"format"`
	Agreement jsontext.Value `json:"agreement"`
	Signer    SignerInfo     `json:"signer"`
	Signature string         `json:"signature"` // base64
}

// SignerInfo identifies the signing node. It is not itself signed: the
// verifier checks the signature against the key it holds for the peer, or
// against this key only once its fingerprint matched one exchanged out of
// band.
type SignerInfo struct {
	Node           string `json:"node"`
	Country        string `json:"country"`
	SigningKey     string `json:"signing_key"`        // base64 Ed25519 public key
	CertSHA256     string `json:"certificate_sha256"` // the node certificate's fingerprint
	KeyFingerprint string `json:"signing_key_sha256"`
}

// Export signs the agreement as node n and returns the signed document as
// indented JSON.
func (a *Agreement) Export(n *Node) ([]byte, error) {
	sig := ed25519.Sign(n.key, append([]byte(agreementContext), a.canonical...))
	doc := SignedAgreement{
		Format:    SignatureFormat,
		Agreement: jsontext.Value(a.Canonical()),
		Signer: SignerInfo{Node: n.Name, Country: n.Country, SigningKey: EncodeSigningKey(n.PublicKey()),
			CertSHA256: n.CertFingerprint().String(), KeyFingerprint: n.KeyFingerprint().String()},
		Signature: base64.StdEncoding.EncodeToString(sig),
	}
	b, err := json.Marshal(doc, jsontext.WithIndent("  "))
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// ErrBadSignature: a signature does not verify.
var ErrBadSignature = errors.New("signature does not verify")

// ReadSigned decodes a signed agreement strictly and parses the agreement
// inside, without checking the signature (see Verify).
func ReadSigned(data []byte) (*SignedAgreement, *Agreement, error) {
	var s SignedAgreement
	if err := json.Unmarshal(data, &s, json.RejectUnknownMembers(true)); err != nil {
		return nil, nil, decodeErr(err)
	}
	if s.Format != SignatureFormat {
		return nil, nil, fieldErr("$.format", "%q is not %q", s.Format, SignatureFormat)
	}
	if len(s.Agreement) == 0 {
		return nil, nil, fieldErr("$.agreement", "required")
	}
	a, err := ParseAgreement(s.Agreement)
	if err != nil {
		return nil, nil, underPath(err, "$.agreement")
	}
	return &s, a, nil
}

// underPath moves the paths of agreement errors under a member of an
// enclosing document.
func underPath(err error, member string) error {
	var ae *AgreementError
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range joined.Unwrap() {
			out = append(out, underPath(e, member))
		}
		return errors.Join(out...)
	}
	if errors.As(err, &ae) {
		return &AgreementError{Path: member + strings.TrimPrefix(ae.Path, "$"), Msg: ae.Msg}
	}
	return err
}

// Key is the signer's public key as the document states it (unverified).
func (s *SignedAgreement) Key() (ed25519.PublicKey, error) {
	k, err := ParseSigningKey(s.Signer.SigningKey)
	if err != nil {
		return nil, fieldErr("$.signer.signing_key", "%v", err)
	}
	return k, nil
}

// Verify checks the signature with key, over the canonical form of the
// agreement as it appears in the document: re-indenting or reordering the
// file does not break it, changing any value does. ErrBadSignature if it
// does not verify, or if the document states another key than key.
func (s *SignedAgreement) Verify(key ed25519.PublicKey) error {
	if len(key) != ed25519.PublicKeySize {
		return fmt.Errorf("agreement signature: no valid key to verify with")
	}
	stated, err := s.Key()
	if err != nil {
		return err
	}
	if !bytes.Equal(stated, key) {
		return fmt.Errorf("agreement signature: the document names signing key %s, not the peer's %s: %w",
			FingerprintOf(stated), FingerprintOf(key), ErrBadSignature)
	}
	sig, err := base64.StdEncoding.DecodeString(s.Signature)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return fieldErr("$.signature", "not a base64 Ed25519 signature")
	}
	c := jsontext.Value(slices.Clone(s.Agreement))
	if err := c.Canonicalize(); err != nil {
		return fieldErr("$.agreement", "%v", err)
	}
	if !ed25519.Verify(key, append([]byte(agreementContext), c...), sig) {
		return fmt.Errorf("agreement from %s: %w", s.Signer.Node, ErrBadSignature)
	}
	return nil
}

// decodeErr turns a JSON decoding error into an AgreementError at the path
// where it happened.
func decodeErr(err error) error {
	path, msg := jsonFault(err)
	return fieldErr(path, "%s", msg)
}

// jsonFault says where a strict JSON decode failed (a JSONPath) and why,
// in words for the operator who wrote the document.
func jsonFault(err error) (path, msg string) {
	var se *json.SemanticError
	if errors.As(err, &se) {
		path := pointerPath(se.JSONPointer)
		switch {
		case errors.Is(se.Err, json.ErrUnknownName):
			return path, fmt.Sprintf("unknown field %q (names are case-sensitive)", se.JSONPointer.LastToken())
		case errors.Is(se.Err, strconv.ErrRange):
			return path, "integer out of range"
		case se.Err != nil && !errors.Is(se.Err, strconv.ErrSyntax):
			return path, se.Err.Error()
		case se.GoType != nil:
			return path, "want " + describeType(se.GoType) + ", got " + describeKind(se.JSONKind)
		}
		return path, se.Error()
	}
	var sy *jsontext.SyntacticError
	if errors.As(err, &sy) {
		path := pointerPath(sy.JSONPointer)
		if errors.Is(sy.Err, jsontext.ErrDuplicateName) {
			return path, fmt.Sprintf("duplicate name %q", sy.JSONPointer.LastToken())
		}
		return path, fmt.Sprintf("invalid JSON at byte %d: %v", sy.ByteOffset, sy.Err)
	}
	return "$", "invalid JSON: " + err.Error()
}

func describeType(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Int64, reflect.Int:
		return "an integer"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return "JSON"
		}
		return "an array of " + strings.TrimPrefix(strings.TrimPrefix(describeType(t.Elem()), "a "), "an ") + "s"
	case reflect.Struct:
		return "an object"
	}
	return t.String()
}

func describeKind(k jsontext.Kind) string {
	switch k {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case '0':
		return "a number"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "something else"
}

// pointerPath turns an RFC 6901 pointer into the JSONPath form errors use.
func pointerPath(p jsontext.Pointer) string {
	var b strings.Builder
	b.WriteString("$")
	for tok := range p.Tokens() {
		if _, err := strconv.Atoi(tok); err == nil {
			b.WriteString("[" + tok + "]")
		} else {
			b.WriteString("." + tok)
		}
	}
	return b.String()
}

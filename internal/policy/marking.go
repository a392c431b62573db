package policy

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/google/uuid"

	"github.com/setu-cti/setu/internal/stix"
)

// ExtensionID is Setu's published extension-definition for distribution
// markings. Other tools keep the extension and ignore it, as STIX requires
// of unknown extensions.
const ExtensionID = "extension-definition--c9f8b1a4-5e2d-4f0a-9b7c-3d6e1f2a8b40"

// markingNamespace derives the deterministic ids of distribution marking
// definitions, so every node names the same scope with the same id.
var markingNamespace = uuid.MustParse("b5e3c1d2-7a4f-4e8b-9c0d-1f2e3a4b5c6d")

// markingCreated is the fixed creation time of the generated definitions:
// marking definitions cannot be versioned, so the same scope must always
// produce the same bytes.
const markingCreated = "2026-01-01T00:00:00.000Z"

// Distribution is the content of a Setu distribution marking.
type Distribution struct {
	Scope Scope
	// Group is the sharing group's opaque id, for ScopeGroup.
	Group string
	// Recipients are "user:NAME" or "org:ID" entries (TLP:RED recipients).
	Recipients []string
	// Resident is an ISO 3166-1 alpha-2 country code: the object is
	// resident in that country and never leaves it (a residency marking,
	// without a scope).
	Resident string
}

func (d Distribution) key() string {
	switch {
	case d.Resident != "":
		return "resident:" + d.Resident
	case d.Scope == ScopeGroup:
		return "group:" + d.Group
	case len(d.Recipients) > 0:
		rs := slices.Clone(d.Recipients)
		sort.Strings(rs)
		return "recipients:" + strings.Join(rs, ",")
	}
	return string(d.Scope)
}

// Validate checks a distribution's fields.
func (d Distribution) Validate() error {
	if d.Resident != "" {
		if d.Scope != "" || len(d.Recipients) > 0 || d.Group != "" {
			return fmt.Errorf("distribution: a residency marking names a country and nothing else")
		}
		if len(d.Resident) != 2 || strings.ToUpper(d.Resident) != d.Resident || strings.Trim(d.Resident, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
			return fmt.Errorf("distribution: resident %q is not an upper-case ISO 3166-1 alpha-2 code", d.Resident)
		}
		return nil
	}
	if len(d.Recipients) > 0 {
		if d.Scope != "" {
			return fmt.Errorf("distribution: recipients go without a scope")
		}
		for _, r := range d.Recipients {
			name, ok := strings.CutPrefix(r, "user:")
			if !ok {
				name, ok = strings.CutPrefix(r, "org:")
			}
			if !ok || name == "" {
				return fmt.Errorf("distribution: recipient %q is not user:NAME or org:ID", r)
			}
		}
		return nil
	}
	if !slices.Contains(Scopes, d.Scope) {
		return fmt.Errorf("distribution: unknown scope %q", d.Scope)
	}
	if (d.Scope == ScopeGroup) != (d.Group != "") {
		return fmt.Errorf("distribution: a group is named exactly when the scope is group")
	}
	return nil
}

// MarkingID is the deterministic marking-definition id of d.
func (d Distribution) MarkingID() string {
	return "marking-definition--" + uuid.NewSHA1(markingNamespace, []byte(d.key())).String()
}

// extension is the extension's property block inside a marking definition.
type extension struct {
	ExtensionType string   `json:"extension_type"`
	Scope         Scope    `json:"scope,omitempty"`
	Group         string   `json:"group,omitempty"`
	Recipients    []string `json:"recipients,omitempty"`
	Resident      string   `json:"resident,omitempty"`
}

// MarkingDefinition returns the STIX marking-definition for d: the same
// bytes for the same distribution on every node.
func (d Distribution) MarkingDefinition() ([]byte, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	rs := slices.Clone(d.Recipients)
	sort.Strings(rs)
	name := "Setu distribution: " + d.key()
	md := map[string]any{
		"type":         "marking-definition",
		"spec_version": "2.1",
		"id":           d.MarkingID(),
		"created":      markingCreated,
		"name":         name,
		"extensions": map[string]any{
			ExtensionID: extension{ExtensionType: "property-extension", Scope: d.Scope, Group: d.Group, Recipients: rs, Resident: d.Resident},
		},
	}
	return json.Marshal(md, json.Deterministic(true))
}

// Kind is what a marking definition means to the policy.
type Kind int

const (
	KindUnknown      Kind = iota
	KindTLP               // a TLP 1.0 or 2.0 definition
	KindStatement         // a statement (e.g. a copyright notice): restricts nothing
	KindDistribution      // a Setu distribution marking
)

// Marking is an interpreted marking definition.
type Marking struct {
	Kind         Kind
	TLP          stix.TLP
	Distribution Distribution
}

// Interpret reads a marking-definition object (its JSON). Built-in TLP ids
// are recognised without their bodies (pass nil).
func Interpret(id string, body []byte) (Marking, error) {
	if t, ok := stix.TLPOf(id); ok {
		return Marking{Kind: KindTLP, TLP: t}, nil
	}
	if body == nil {
		return Marking{}, fmt.Errorf("marking %s: definition not known to this node", id)
	}
	var md struct {
		ID             string                    `json:"id"`
		DefinitionType string                    `json:"definition_type"`
		Definition     map[string]any            `json:"definition"`
		Extensions     map[string]jsontext.Value `json:"extensions"`
	}
	if err := json.Unmarshal(body, &md); err != nil {
		return Marking{}, fmt.Errorf("marking %s: %w", id, err)
	}
	if md.ID != id {
		return Marking{}, fmt.Errorf("marking %s: definition has id %s", id, md.ID)
	}
	if md.DefinitionType == "statement" {
		return Marking{Kind: KindStatement}, nil
	}
	if raw, ok := md.Extensions[ExtensionID]; ok {
		var ext extension
		if err := json.Unmarshal(raw, &ext, json.RejectUnknownMembers(true)); err != nil {
			return Marking{}, fmt.Errorf("marking %s: Setu distribution extension: %w", id, err)
		}
		d := Distribution{Scope: ext.Scope, Group: ext.Group, Recipients: ext.Recipients, Resident: ext.Resident}
		if err := d.Validate(); err != nil {
			return Marking{}, fmt.Errorf("marking %s: %w", id, err)
		}
		if d.MarkingID() != id {
			return Marking{}, fmt.Errorf("marking %s: a Setu distribution marking must have id %s", id, d.MarkingID())
		}
		return Marking{Kind: KindDistribution, Distribution: d}, nil
	}
	return Marking{}, fmt.Errorf("marking %s: definition type %q is not implemented by this node", id, md.DefinitionType)
}

// wellKnown maps the ids of the distribution markings every node derives
// alike (every fixed scope, and residency in each possible country code)
// to their definitions.
var wellKnown = sync.OnceValue(func() map[string][]byte {
	var ds []Distribution
	for _, sc := range Scopes {
		if sc != ScopeGroup {
			ds = append(ds, Distribution{Scope: sc})
		}
	}
	for a := 'A'; a <= 'Z'; a++ {
		for b := 'A'; b <= 'Z'; b++ {
			ds = append(ds, Distribution{Resident: string([]rune{a, b})})
		}
	}
	m := make(map[string][]byte, len(ds))
	for _, d := range ds {
		b, err := d.MarkingDefinition()
		if err != nil {
			panic(err) // the table above holds only valid distributions
		}
		m[d.MarkingID()] = b
	}
	return m
})

// WellKnown returns the definition of id when it is a Setu distribution
// marking that needs no registry to be derived — a fixed scope (org,
// community, partners, nodes, public) or residency in a country — and
// nil otherwise. Such definitions are the same bytes on every node, so an
// object may name one without sending it.
func WellKnown(id string) []byte { return wellKnown()[id] }

// Describe says what a marking definition means to this node: a kind
// (tlp, statement, distribution, group, recipients, residency, or other
// for one the node does not interpret) and a few words.
func Describe(id string, body []byte) (kind, meaning string) {
	m, err := Interpret(id, body)
	switch {
	case err != nil:
		return "other", "not interpreted by this node: only the submitter reads objects marked with it"
	case m.Kind == KindTLP:
		if strings.Contains(string(body), `"definition_type":"tlp"`) {
			return "tlp", m.TLP.String() + " (TLP 1.0)"
		}
		return "tlp", m.TLP.String()
	case m.Kind == KindStatement:
		var s struct {
			Definition struct {
				Statement string `json:"statement"`
			} `json:"definition"`
		}
		json.Unmarshal(body, &s)
		return "statement", s.Definition.Statement
	}
	d := m.Distribution
	switch {
	case d.Resident != "":
		return "residency", "resident in " + d.Resident + ": never leaves it"
	case len(d.Recipients) > 0:
		return "recipients", "TLP:RED recipients " + strings.Join(d.Recipients, ", ")
	case d.Scope == ScopeGroup:
		return "group", "distributed to sharing group " + d.Group
	}
	return "distribution", "distributed to " + scopeWords[d.Scope]
}

var scopeWords = map[Scope]string{
	ScopeOrg:       "its submitting organisation only",
	ScopeCommunity: "this node's community",
	ScopePartners:  "this node and its partner nodes (one hop)",
	ScopeNodes:     "all nodes",
	ScopePublic:    "everyone",
}

package stix

import (
	"bytes"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// TLP is a Traffic Light Protocol level. The zero value is no level.
type TLP uint8

const (
	TLPLevelClear TLP = iota + 1
	TLPLevelGreen
	TLPLevelAmber
	TLPLevelAmberStrict
	TLPLevelRed
)

func (t TLP) String() string {
	switch t {
	case TLPLevelClear:
		return "TLP:CLEAR"
	case TLPLevelGreen:
		return "TLP:GREEN"
	case TLPLevelAmber:
		return "TLP:AMBER"
	case TLPLevelAmberStrict:
		return "TLP:AMBER+STRICT"
	case TLPLevelRed:
		return "TLP:RED"
	}
	return "TLP:unknown"
}

// The TLP 2.0 marking definitions, published by OASIS through the TLP 2.0
// extension definition.
const (
	TLPExtensionDefinition = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"

	TLPClear       = "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"
	TLPGreen       = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
	TLPAmber       = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
	TLPAmberStrict = "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"
	TLPRed         = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"
)

// The TLP 1.0 marking definitions the STIX 2.1 specification itself defines.
const (
	TLP1White = "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"
	TLP1Green = "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5055f8"
	TLP1Amber = "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"
	TLP1Red   = "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed"
)

type builtinTLP struct {
	level   TLP
	v2      bool
	value   string // definition.tlp (1.0) or tlp_2_0 (2.0)
	name    string
	created time.Time
}

var (
	tlp1Created = time.Date(2017, 1, 20, 0, 0, 0, 0, time.UTC)
	tlp2Created = time.Date(2022, 10, 1, 0, 0, 0, 0, time.UTC)
)

// builtinTLPs: TLP 1.0 WHITE reads as CLEAR, which TLP 2.0 defines as its
// successor with the same meaning.
var builtinTLPs = map[string]builtinTLP{
	TLP1White:      {TLPLevelClear, false, "white", "TLP:WHITE", tlp1Created},
	TLP1Green:      {TLPLevelGreen, false, "green", "TLP:GREEN", tlp1Created},
	TLP1Amber:      {TLPLevelAmber, false, "amber", "TLP:AMBER", tlp1Created},
	TLP1Red:        {TLPLevelRed, false, "red", "TLP:RED", tlp1Created},
	TLPClear:       {TLPLevelClear, true, "clear", "TLP:CLEAR", tlp2Created},
	TLPGreen:       {TLPLevelGreen, true, "green", "TLP:GREEN", tlp2Created},
	TLPAmber:       {TLPLevelAmber, true, "amber", "TLP:AMBER", tlp2Created},
	TLPAmberStrict: {TLPLevelAmberStrict, true, "amber+strict", "TLP:AMBER+STRICT", tlp2Created},
	TLPRed:         {TLPLevelRed, true, "red", "TLP:RED", tlp2Created},
}

// TLPOf reports the TLP level a marking reference denotes, for the built-in
// TLP 1.0 and 2.0 marking definitions. Other marking ids report false: their
// meaning depends on a definition this package does not hold.
func TLPOf(markingRef string) (TLP, bool) {
	b, ok := builtinTLPs[markingRef]
	return b.level, ok
}

// checkMarkingDefinition applies the rules every marking definition follows.
func checkMarkingDefinition(v *validator, m map[string]any) {
	dt, hasType := m["definition_type"]
	def, hasDef := m["definition"]
	_, hasExt := m["extensions"]
	switch {
	case hasType && !hasDef:
		p := key(nil, "definition")
		v.fail(&p, "required when definition_type is present")
	case hasDef && !hasType:
		p := key(nil, "definition_type")
		v.fail(&p, "required when definition is present")
	case !hasType && !hasExt:
		v.fail(nil, "a marking definition needs definition_type and definition, or extensions")
	}
	dm, _ := def.(map[string]any)
	if dm == nil {
		return
	}
	dp := key(nil, "definition")
	switch dt {
	case "statement":
		sp := key(&dp, "statement")
		if s, ok := dm["statement"].(string); !ok || s == "" {
			v.fail(&sp, "statement marking needs a statement string")
		}
	case "tlp":
		tp := key(&dp, "tlp")
		s, ok := dm["tlp"].(string)
		if !ok {
			v.fail(&tp, "required property missing")
		} else if !contains([]string{"white", "green", "amber", "red"}, s) {
			v.fail(&tp, strconv.Quote(s)+" is not one of white, green, amber, red")
		}
	}
}

// checkBuiltinMarking rejects an object that claims the id of a built-in TLP
// marking with other content: accepting it would let a sender redefine what
// a TLP id means for every object that references it.
func (v *validator) checkBuiltinMarking(m map[string]any) {
	b, ok := builtinTLPs[v.id]
	if !ok {
		return
	}
	bad := func(prop, msg string) {
		p := key(nil, prop)
		v.fail(&p, "differs from the built-in "+b.name+" marking definition: "+msg)
	}
	if s, _ := m["created"].(string); true {
		t, _, ok := parseTimestamp(s)
		if !ok || !t.Equal(b.created) {
			bad("created", "want "+b.created.Format("2006-01-02T15:04:05.000Z"))
		}
	}
	if n, present := m["name"]; present && n != b.name {
		bad("name", "want "+strconv.Quote(b.name))
	}
	if !b.v2 {
		if m["definition_type"] != "tlp" {
			bad("definition_type", `want "tlp"`)
		}
		dm, _ := m["definition"].(map[string]any)
		if dm == nil || dm["tlp"] != b.value || len(dm) != 1 {
			bad("definition", `want {"tlp":"`+b.value+`"}`)
		}
		return
	}
	exts, _ := m["extensions"].(map[string]any)
	em, _ := exts[TLPExtensionDefinition].(map[string]any)
	if em == nil || em["tlp_2_0"] != b.value {
		bad("extensions", "want the TLP 2.0 extension with tlp_2_0 "+strconv.Quote(b.value))
	}
	if _, present := m["definition_type"]; present {
		bad("definition_type", "the TLP 2.0 definitions have none")
	}
}

// checkSelectors requires every granular marking selector to resolve to a
// property, list element or nested property present in the object, since a
// marking on nothing is a producer error that would silently not apply.
func (v *validator) checkSelectors(m map[string]any, gms []any) {
	gp := key(nil, "granular_markings")
	for i, g := range gms {
		gm, ok := g.(map[string]any)
		if !ok {
			continue
		}
		sels, ok := gm["selectors"].([]any)
		if !ok {
			continue
		}
		ip := index(&gp, i)
		sp := key(&ip, "selectors")
		for j, s := range sels {
			sel, ok := s.(string)
			if !ok {
				continue
			}
			if !resolveSelector(m, sel) {
				jp := index(&sp, j)
				v.fail(&jp, "selector "+strconv.Quote(sel)+" does not resolve to a property of the object")
			}
		}
	}
}

func resolveSelector(root map[string]any, sel string) bool {
	if sel == "" {
		return false
	}
	var cur any = root
	for _, seg := range strings.Split(sel, ".") {
		if strings.HasPrefix(seg, "[") && strings.HasSuffix(seg, "]") {
			n, err := strconv.Atoi(seg[1 : len(seg)-1])
			l, ok := cur.([]any)
			if err != nil || !ok || n < 0 || n >= len(l) {
				return false
			}
			cur = l[n]
			continue
		}
		mm, ok := cur.(map[string]any)
		if !ok {
			return false
		}
		cur, ok = mm[seg]
		if !ok {
			return false
		}
	}
	return true
}

// builtinBodies holds the canonical JSON of each built-in TLP marking
// definition, so a node can serve them without having received them.
var builtinBodies = func() map[string][]byte {
	out := make(map[string][]byte, len(builtinTLPs))
	for id, b := range builtinTLPs {
		m := map[string]any{
			"type":         "marking-definition",
			"spec_version": "2.1",
			"id":           id,
			"created":      b.created.Format("2006-01-02T15:04:05.000Z"),
			"name":         b.name,
		}
		if b.v2 {
			m["extensions"] = map[string]any{TLPExtensionDefinition: map[string]any{
				"extension_type": "property-extension", "tlp_2_0": b.value,
			}}
		} else {
			m["definition_type"] = "tlp"
			m["definition"] = map[string]any{"tlp": b.value}
		}
		raw, err := json.Marshal(m)
		if err != nil {
			panic(err)
		}
		v := jsontext.Value(raw)
		if err := v.Canonicalize(); err != nil {
			panic(err)
		}
		out[id] = v
	}
	return out
}()

// TLPDefinition returns the canonical JSON of a built-in TLP marking
// definition (TLP 1.0 or 2.0), or false for any other id. The bytes are a
// copy.
func TLPDefinition(id string) ([]byte, bool) {
	b, ok := builtinBodies[id]
	return bytes.Clone(b), ok
}

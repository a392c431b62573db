package event

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/setu-cti/setu/internal/match"
	"github.com/setu-cti/setu/internal/stix/pattern"
)

// val is one scalar taken from an event, before conversion: a string's
// text, or a number or bool as written.
type val struct {
	s string
}

// conv says how a value becomes a property of its STIX type.
type conv uint8

const (
	convString conv = iota
	convPort
	convCount
	convLower
	convTime
)

func convFor(steps []pattern.Step) conv {
	key := ""
	for _, s := range steps {
		if s.Kind == pattern.KeyStep {
			key = s.Key
		}
	}
	switch key {
	case "src_port", "dst_port":
		return convPort
	case "src_byte_count", "dst_byte_count", "src_packets", "dst_packets", "size", "number", "pid",
		"message_body_length":
		return convCount
	case "protocols", "request_method", "request_version":
		return convLower
	case "start", "end", "ctime", "mtime", "atime", "date", "created_time", "modified_time",
		"validity_not_before", "validity_not_after":
		return convTime
	}
	return convString
}

func convert(v val, c conv) (any, bool) {
	if v.s == "" {
		return nil, false
	}
	switch c {
	case convPort, convCount:
		i, ok := parseInt(strings.TrimSpace(v.s))
		return i, ok && i >= 0 && (c == convCount || i <= 65535)
	case convLower:
		return strings.ToLower(v.s), true
	case convTime:
		t, ok := parseTime(v.s)
		if !ok {
			return nil, false
		}
		return stixTime(t), true
	}
	return v.s, true
}

// plan is a Mapping compiled into the objects it builds.
type plan struct {
	rules  []rule
	groups []*group
	times  [4][]int // rule indexes by targetKind (toFirst, toLast, toCount)
}

// group builds one object (or, when fanout, one per value) of a type.
type group struct {
	typ string
	// choices, when set, are the types the object may take; its value
	// picks one (see classify).
	choices []string
	fanout  bool
	leaves  []leaf
	refs    []*refProp
}

type leaf struct {
	rule  int
	steps []pattern.Step
	conv  conv
}

// refProp is a reference property whose target objects a child group
// builds.
type refProp struct {
	name  string
	list  bool
	child *group
}

func compile(m *Mapping) *plan {
	p := &plan{rules: m.rules}
	byKey := map[string]*group{}
	for i, r := range m.rules {
		if r.kind != toObject {
			p.times[r.kind] = append(p.times[r.kind], i)
			continue
		}
		if r.label == "" && valueTypes[r.typ] && len(r.steps) == 1 && r.steps[0].Key == "value" {
			p.groups = append(p.groups, &group{typ: r.typ, choices: valueChoices(r.typ), fanout: true,
				leaves: []leaf{{rule: i, steps: r.steps, conv: convFor(r.steps)}}})
			continue
		}
		key := r.typ + "#" + r.label
		g := byKey[key]
		if g == nil {
			g = &group{typ: r.typ, choices: valueChoices(r.typ)}
			byKey[key] = g
			p.groups = append(p.groups, g)
		}
		g.addRule(i, r.steps)
	}
	return p
}

// valueChoices makes address types follow their value: a mapping to
// ipv4-addr that meets an IPv6 address builds an ipv6-addr.
func valueChoices(typ string) []string {
	switch typ {
	case "ipv4-addr", "ipv6-addr":
		return []string{"ipv4-addr", "ipv6-addr"}
	case "mac-addr":
		return []string{"mac-addr"}
	}
	return nil
}

func (g *group) addRule(i int, steps []pattern.Step) {
	key := steps[0].Key
	switch {
	case strings.HasSuffix(key, "_ref") && len(steps) > 1:
		for _, rp := range g.refs {
			if rp.name == key && !rp.list {
				rp.child.addRule(i, steps[1:])
				return
			}
		}
		child := newRefGroup(g.typ, key)
		g.refs = append(g.refs, &refProp{name: key, child: child})
		child.addRule(i, steps[1:])
	case strings.HasSuffix(key, "_refs") && len(steps) > 2:
		child := newRefGroup(g.typ, key)
		child.fanout = true
		child.leaves = []leaf{{rule: i, steps: steps[2:], conv: convFor(steps[2:])}}
		g.refs = append(g.refs, &refProp{name: key, list: true, child: child})
	default:
		g.leaves = append(g.leaves, leaf{rule: i, steps: steps, conv: convFor(steps)})
	}
}

func newRefGroup(parent, prop string) *group {
	types := refTypes[parent+":"+prop]
	if len(types) == 0 {
		// Only reachable below a reference with several possible target
		// types, where checkSteps checked against the first.
		types = []string{"domain-name"}
	}
	g := &group{typ: types[0]}
	if len(types) > 1 {
		g.choices = types
	} else {
		g.choices = valueChoices(types[0])
	}
	return g
}

// classify picks the object's type among g.choices by its value: an IP
// address or CIDR block makes ipv4-addr or ipv6-addr, a MAC-48 address
// mac-addr (normalised as STIX requires), anything else domain-name when
// that is a choice. ok is false when no choice fits.
func classify(g *group, props map[string]any) (string, bool) {
	if g.choices == nil {
		return g.typ, true
	}
	v, _ := props["value"].(string)
	if t := addrType(v); t != "" {
		return t, slices.Contains(g.choices, t)
	}
	if slices.Contains(g.choices, "mac-addr") {
		if m := macAddr(v); m != "" {
			props["value"] = m
			return "mac-addr", true
		}
	}
	if v != "" && slices.Contains(g.choices, "domain-name") {
		return "domain-name", true
	}
	return "", false
}

// build adds the objects the plan makes from one event's values.
func (p *plan) build(b *builder, caps [][]val) {
	for _, g := range p.groups {
		buildGroup(b, g, caps, nil)
	}
}

// buildGroup builds g's objects and appends their ids to ids.
func buildGroup(b *builder, g *group, caps [][]val, ids []string) []string {
	if g.fanout {
		l := &g.leaves[0]
		for _, v := range caps[l.rule] {
			x, ok := convert(v, l.conv)
			if !ok {
				continue
			}
			props := make(map[string]any, 4)
			setPath(props, l.steps, x)
			if typ, ok := classify(g, props); ok {
				ids = append(ids, b.add(typ, props))
			}
		}
		return ids
	}
	var props map[string]any
	for i := range g.leaves {
		l := &g.leaves[i]
		vs := caps[l.rule]
		if len(vs) == 0 {
			continue
		}
		if len(vs) == 1 || l.steps[len(l.steps)-1].Kind == pattern.AnyIndexStep {
			for _, v := range vs {
				if c, ok := convert(v, l.conv); ok {
					if props == nil {
						props = make(map[string]any, 8)
					}
					setPath(props, l.steps, c)
				}
			}
			continue
		}
		// Several values for a scalar property stay together as a list
		// rather than one of them being chosen.
		var list []any
		for _, v := range vs {
			if c, ok := convert(v, l.conv); ok {
				list = append(list, c)
			}
		}
		if list == nil {
			continue
		}
		if props == nil {
			props = make(map[string]any, 8)
		}
		setPath(props, l.steps, list)
	}
	for _, rp := range g.refs {
		cids := buildGroup(b, rp.child, caps, nil)
		if len(cids) == 0 {
			continue
		}
		if props == nil {
			props = make(map[string]any, 8)
		}
		if rp.list {
			l, _ := props[rp.name].([]any)
			for _, id := range cids {
				if !slices.Contains(l, any(id)) {
					l = append(l, id)
				}
			}
			props[rp.name] = l
		} else if _, set := props[rp.name]; !set {
			props[rp.name] = cids[0]
		}
	}
	if props == nil {
		return ids
	}
	typ, ok := classify(g, props)
	if !ok {
		return ids
	}
	if _, ok := props["value"]; valueTypes[typ] && !ok {
		return ids // such an object is nothing without its value
	}
	if typ == "network-traffic" {
		ipLayer(props)
	}
	return append(ids, b.add(typ, props))
}

// ipLayer starts network-traffic protocols, which STIX requires, with the
// IP version its address references show, as the specification's
// examples do (["ipv4", "tcp"]), unless the mapping set an IP layer.
func ipLayer(nt map[string]any) {
	var ip any
	for _, k := range [2]string{"src_ref", "dst_ref"} {
		ref, _ := nt[k].(string)
		if strings.HasPrefix(ref, "ipv4-addr--") {
			ip = "ipv4"
		} else if strings.HasPrefix(ref, "ipv6-addr--") {
			ip = "ipv6"
		}
		if ip != nil {
			break
		}
	}
	if ip == nil {
		return
	}
	l, _ := nt["protocols"].([]any)
	for _, p := range l {
		if p == "ipv4" || p == "ipv6" || p == "ip" {
			return
		}
	}
	nl := make([]any, 0, len(l)+1)
	nt["protocols"] = append(append(nl, ip), l...)
}

// setPath sets the property at steps to x unless an earlier rule set it;
// a path ending in [*] adds x to a list instead, once.
func setPath(m map[string]any, steps []pattern.Step, x any) {
	last := len(steps) - 1
	list := steps[last].Kind == pattern.AnyIndexStep
	if list {
		last--
	}
	for _, s := range steps[:last] {
		next, ok := m[s.Key]
		if !ok {
			nm := make(map[string]any, 2)
			m[s.Key] = nm
			m = nm
			continue
		}
		if m, ok = next.(map[string]any); !ok {
			return // a property of another shape is in the way
		}
	}
	key := steps[last].Key
	if !list {
		if _, set := m[key]; !set {
			m[key] = x
		}
		return
	}
	switch l := m[key].(type) {
	case nil:
		m[key] = []any{x}
	case []any:
		if !slices.Contains(l, x) {
			m[key] = append(l, x)
		}
	}
}

// window reads the time window and count from the time rules: the first
// rule with a value wins.
func (p *plan) window(caps [][]val) (first, last time.Time, count int64, err error) {
	pick := func(k targetKind) (val, string, bool) {
		for _, i := range p.times[k] {
			if len(caps[i]) > 0 {
				return caps[i][0], p.rules[i].field, true
			}
		}
		return val{}, "", false
	}
	if v, f, ok := pick(toFirst); ok {
		if first, ok = parseTime(v.s); !ok {
			return first, last, 0, fmt.Errorf("%s: %q is not a timestamp", f, v.s)
		}
	}
	if v, f, ok := pick(toLast); ok {
		if last, ok = parseTime(v.s); !ok {
			return first, last, 0, fmt.Errorf("%s: %q is not a timestamp", f, v.s)
		}
	}
	if !first.IsZero() && !last.IsZero() && last.Before(first) {
		return first, last, 0, fmt.Errorf("last observed %s is before first observed %s", stixTime(last), stixTime(first))
	}
	count = 1
	if v, f, ok := pick(toCount); ok {
		if count, ok = parseInt(strings.TrimSpace(v.s)); !ok || count < 1 {
			return first, last, 0, fmt.Errorf("%s: %q is not a positive integer", f, v.s)
		}
	}
	return first, last, count, nil
}

// observation builds the event's observation from the values taken.
func (p *plan) observation(b *builder, caps [][]val, raw []byte) (match.Observation, error) {
	first, last, count, err := p.window(caps)
	if err != nil {
		return match.Observation{}, err
	}
	b.reset()
	p.build(b, caps)
	return b.observation(raw, first, last, count), nil
}

package match

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json/jsontext"
)

// Observation is one observed-data object made ready for matching: its
// identity, its time window, how many times it was seen, and the cyber
// observables it groups.
type Observation struct {
	// ID is the observed-data id.
	ID string
	// FirstObserved and LastObserved bound when the data was seen; both are
	// UTC. They are zero when the object did not carry them.
	FirstObserved, LastObserved time.Time
	// Count is number_observed: the object stands for Count observations
	// when a pattern counts them (REPEATS), each usable once.
	Count int64
	// Objects are the observables, in a stable order.
	Objects []Object

	// refs finds an observable by the name references use: its id in the
	// 2.1 form, its key in the 2.0 "objects" map.
	refs map[string]int
}

// Object is one cyber observable inside an observation.
type Object struct {
	// Ref is how the observation names the object: its id (STIX 2.1) or
	// its key in the embedded objects map (STIX 2.0).
	Ref  string
	Type string
	// Props is the object as decoded JSON: maps, slices, strings,
	// json.Number or float64, bools.
	Props map[string]any
}

// ErrInput reports input that cannot be read as STIX observed data.
var ErrInput = errors.New("match: invalid observation input")

// maxSafeInteger is 2^53: beyond it an integer has no exact JSON
// interchange form (RFC 7493), so such input is rejected, as everywhere
// else in Setu.
const maxSafeInteger = 1 << 53

// DecodeObjects reads a STIX bundle, a JSON array of objects or bundles, or
// a single object and returns the objects, bundles' objects in place of
// the bundles. It reads JSON strictly: duplicate member names, invalid
// UTF-8 and integers beyond ±2^53 are errors wrapping ErrInput. Numbers
// are kept as json.Number so that integers compare exactly.
func DecodeObjects(data []byte) ([]map[string]any, error) {
	groups, err := DecodeGroups(data)
	if err != nil {
		return nil, err
	}
	var out []map[string]any
	for _, g := range groups {
		out = append(out, g...)
	}
	return out, nil
}

// DecodeGroups is DecodeObjects keeping each bundle's objects apart: the
// references of an observed-data resolve among the objects of its own
// bundle. Every input form of the OASIS reference matcher is read — a
// JSON list of observed-data (2.0 or 2.1), a JSON list of bundles, a
// single observed-data — as well as one bundle. Objects outside any bundle
// form one group, first.
func DecodeGroups(data []byte) ([][]map[string]any, error) {
	d := jsontext.NewDecoder(bytes.NewReader(data))
	v, err := decodeValue(d)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInput, err)
	}
	if _, err := d.ReadToken(); err != io.EOF {
		return nil, fmt.Errorf("%w: trailing data after the JSON value", ErrInput)
	}
	var list []any
	switch t := v.(type) {
	case []any:
		list = t
	case map[string]any:
		list = []any{t}
	default:
		return nil, fmt.Errorf("%w: expected a bundle, a list or an object", ErrInput)
	}
	loose := []map[string]any{}
	var bundles [][]map[string]any
	for i, o := range list {
		m, ok := o.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%w: item %d is not an object", ErrInput, i+1)
		}
		if m["type"] != "bundle" {
			loose = append(loose, m)
			continue
		}
		objs, ok := m["objects"].([]any)
		if !ok && m["objects"] != nil {
			return nil, fmt.Errorf("%w: item %d: bundle objects is not a list", ErrInput, i+1)
		}
		g := make([]map[string]any, 0, len(objs))
		for j, x := range objs {
			xm, ok := x.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("%w: item %d: bundle object %d is not an object", ErrInput, i+1, j+1)
			}
			g = append(g, xm)
		}
		bundles = append(bundles, g)
	}
	var out [][]map[string]any
	if len(loose) > 0 {
		out = append(out, loose)
	}
	return append(out, bundles...), nil
}

// decodeValue reads one JSON value as maps, slices, strings, bools, nil
// and json.Number. The decoder's defaults reject duplicate names and
// invalid UTF-8 and bound the nesting depth.
func decodeValue(d *jsontext.Decoder) (any, error) {
	switch d.PeekKind() {
	case '{':
		if _, err := d.ReadToken(); err != nil {
			return nil, err
		}
		m := map[string]any{}
		for d.PeekKind() != '}' {
			tok, err := d.ReadToken()
			if err != nil {
				return nil, err
			}
			// Copied now: a token is valid only until the next read.
			name := tok.String()
			v, err := decodeValue(d)
			if err != nil {
				return nil, err
			}
			m[name] = v
		}
		if _, err := d.ReadToken(); err != nil {
			return nil, err
		}
		return m, nil
	case '[':
		if _, err := d.ReadToken(); err != nil {
			return nil, err
		}
		l := []any{}
		for d.PeekKind() != ']' {
			v, err := decodeValue(d)
			if err != nil {
				return nil, err
			}
			l = append(l, v)
		}
		if _, err := d.ReadToken(); err != nil {
			return nil, err
		}
		return l, nil
	case '0':
		raw, err := d.ReadValue()
		if err != nil {
			return nil, err
		}
		n := string(raw)
		if !strings.ContainsAny(n, ".eE") {
			i, err := strconv.ParseInt(n, 10, 64)
			if err != nil || i > maxSafeInteger || i < -maxSafeInteger {
				return nil, fmt.Errorf("integer %s is beyond ±2^53", n)
			}
		}
		return json.Number(n), nil
	}
	tok, err := d.ReadToken()
	if err != nil {
		return nil, err
	}
	switch tok.Kind() {
	case '"':
		return tok.String(), nil
	case 't', 'f':
		return tok.Bool(), nil
	case 'n':
		return nil, nil
	}
	return nil, fmt.Errorf("unexpected %s", tok.Kind())
}

// Observations builds one Observation per observed-data object in objects.
// Both forms are accepted: STIX 2.1, where object_refs name observables
// supplied among objects, and STIX 2.0, where an "objects" map embeds them
// and references are the map's keys. Objects other than observed-data are
// used only as the targets of object_refs. An observed-data whose
// object_refs name an object not supplied, or whose timestamps or
// number_observed are malformed, is an error wrapping ErrInput.
func Observations(objects []map[string]any) ([]Observation, error) {
	byID := make(map[string]map[string]any, len(objects))
	for _, o := range objects {
		if id, ok := o["id"].(string); ok {
			byID[id] = o
		}
	}
	var out []Observation
	for _, o := range objects {
		if o["type"] != "observed-data" {
			continue
		}
		ob, err := observation(o, byID)
		if err != nil {
			return nil, err
		}
		out = append(out, ob)
	}
	return out, nil
}

func observation(o map[string]any, byID map[string]map[string]any) (Observation, error) {
	id, _ := o["id"].(string)
	ob := Observation{ID: id, Count: 1, refs: map[string]int{}}
	var err error
	if ob.FirstObserved, err = timeProp(o, "first_observed"); err != nil {
		return ob, fmt.Errorf("%w: %s: %v", ErrInput, id, err)
	}
	if ob.LastObserved, err = timeProp(o, "last_observed"); err != nil {
		return ob, fmt.Errorf("%w: %s: %v", ErrInput, id, err)
	}
	if ob.LastObserved.IsZero() {
		ob.LastObserved = ob.FirstObserved
	}
	if ob.FirstObserved.IsZero() {
		ob.FirstObserved = ob.LastObserved
	}
	if ob.LastObserved.Before(ob.FirstObserved) {
		return ob, fmt.Errorf("%w: %s: last_observed is before first_observed", ErrInput, id)
	}
	if n, ok := o["number_observed"]; ok {
		c, isInt, _, ok := number(n)
		if !ok || !isInt || c < 1 {
			return ob, fmt.Errorf("%w: %s: number_observed must be a positive integer", ErrInput, id)
		}
		ob.Count = c
	}
	add := func(ref string, m map[string]any) {
		t, _ := m["type"].(string)
		ob.refs[ref] = len(ob.Objects)
		ob.Objects = append(ob.Objects, Object{Ref: ref, Type: t, Props: m})
	}
	if embedded, ok := o["objects"].(map[string]any); ok {
		// The 2.0 form: keys are the references; sort them so that
		// bindings are reported in a stable order.
		keys := make([]string, 0, len(embedded))
		for k := range embedded {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			m, ok := embedded[k].(map[string]any)
			if !ok {
				return ob, fmt.Errorf("%w: %s: objects[%q] is not an object", ErrInput, id, k)
			}
			add(k, m)
		}
	}
	if refs, ok := o["object_refs"].([]any); ok {
		for _, r := range refs {
			ref, ok := r.(string)
			if !ok {
				return ob, fmt.Errorf("%w: %s: object_refs holds a non-string", ErrInput, id)
			}
			m, ok := byID[ref]
			if !ok {
				return ob, fmt.Errorf("%w: %s refers to %s, which is not in the input", ErrInput, id, ref)
			}
			if _, dup := ob.refs[ref]; !dup {
				add(ref, m)
			}
		}
	}
	return ob, nil
}

func timeProp(o map[string]any, name string) (time.Time, error) {
	v, ok := o[name]
	if !ok {
		return time.Time{}, nil
	}
	s, ok := v.(string)
	if !ok {
		return time.Time{}, fmt.Errorf("%s is not a string", name)
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: %v", name, err)
	}
	return t.UTC(), nil
}

// NewObservation builds an Observation from observables produced outside
// a STIX bundle (sensor events, logs). References inside objects' Props
// (*_ref, *_refs) resolve to the object whose Ref they name; objects with
// an empty Ref cannot be referred to. When two objects share a Ref the
// first is the one references reach. A count below 1 is read as 1, and a
// zero first or last time takes the other's value, as Observations does
// for observed-data; both are converted to UTC.
func NewObservation(id string, first, last time.Time, count int64, objects []Object) Observation {
	first, last = first.UTC(), last.UTC()
	if count < 1 {
		count = 1
	}
	if last.IsZero() {
		last = first
	}
	if first.IsZero() {
		first = last
	}
	ob := Observation{ID: id, FirstObserved: first, LastObserved: last, Count: count, Objects: objects,
		refs: make(map[string]int, len(objects))}
	for i, o := range objects {
		if _, dup := ob.refs[o.Ref]; o.Ref != "" && !dup {
			ob.refs[o.Ref] = i
		}
	}
	return ob
}

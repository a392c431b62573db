package detect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/setu-cti/setu/internal/match"
	"github.com/setu-cti/setu/internal/store"
)

// Sightings aggregates hits into STIX sightings: one per indicator per
// reporting organisation per time window, with the count of events, the
// first and last time seen, where it was sighted (the organisation's
// identity) and one observed-data object holding the observables that
// matched. Never one sighting per event.
//
// Ids are deterministic (UUIDv5 of the indicator, the organisation and the
// window start), so a later report for the same window is a new version of
// the same sighting; Merge folds in what an earlier version counted.
//
// A Sightings is not safe for concurrent use.
type Sightings struct {
	identity string // the reporting organisation's STIX identity
	window   time.Duration
	markings []string
	maxObs   int
	agg      map[sightingKey]*aggregate
}

type sightingKey struct {
	indicator string
	window    int64 // window start, Unix nanoseconds
}

type aggregate struct {
	count       int64
	first, last time.Time
	objects     map[string]map[string]any // SCO id -> properties
}

// NewSightings aggregates for the organisation whose STIX identity is
// identity, in windows of the given length (a day when zero), marking
// each sighting and observed-data with markings (marking-definition ids).
func NewSightings(identity string, window time.Duration, markings []string) *Sightings {
	if window <= 0 {
		window = 24 * time.Hour
	}
	return &Sightings{identity: identity, window: window, markings: markings, maxObs: 100, agg: map[sightingKey]*aggregate{}}
}

// Add counts one event's hit. seen is when the event happened (the
// observation's first_observed, else the time it was read).
func (s *Sightings) Add(h Hit, ob *match.Observation, seen time.Time) {
	seen = seen.UTC()
	k := sightingKey{h.Indicator.ID, seen.Truncate(s.window).UnixNano()}
	a := s.agg[k]
	if a == nil {
		a = &aggregate{first: seen, last: seen, objects: map[string]map[string]any{}}
		s.agg[k] = a
	}
	n := ob.Count
	if n < 1 {
		n = 1
	}
	a.count += n
	if seen.Before(a.first) {
		a.first = seen
	}
	if seen.After(a.last) {
		a.last = seen
	}
	// Keep the observables that made the indicator match, boundedly.
	for _, b := range h.Bindings {
		for _, ref := range b.Objects {
			if len(a.objects) >= s.maxObs {
				break
			}
			for _, o := range ob.Objects {
				if o.Ref == ref && strings.Contains(ref, "--") {
					a.objects[ref] = o.Props
				}
			}
		}
	}
}

// Len is the number of sightings aggregated.
func (s *Sightings) Len() int { return len(s.agg) }

// Previous is an earlier version of a sighting: what it counted.
type Previous struct {
	Count       int64
	First, Last time.Time
	Modified    time.Time
}

// parsePrevious reads the count and span of a stored sighting body.
func parsePrevious(body []byte) (Previous, error) {
	var p struct {
		Count     int64     `json:"count"`
		FirstSeen time.Time `json:"first_seen"`
		LastSeen  time.Time `json:"last_seen"`
		Modified  time.Time `json:"modified"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return Previous{}, err
	}
	return Previous{Count: p.Count, First: p.FirstSeen, Last: p.LastSeen, Modified: p.Modified}, nil
}

// sightingNS names the ids of sightings Setu aggregates.
var sightingNS = uuid.MustParse("3a8b5f2e-6c41-4d0e-9a7b-1f2e3d4c5b6a")

// SightingID is the id of the sighting of indicator by identity in the
// window starting at start.
func SightingID(indicator, identity string, start time.Time) string {
	return "sighting--" + uuid.NewSHA1(sightingNS, []byte(indicator+"|"+identity+"|"+start.UTC().Format(time.RFC3339Nano))).String()
}

// Current is the part of the store Objects reads earlier versions from.
type Current interface {
	Current(ctx context.Context, id string) (store.Version, error)
}

// Objects returns the STIX objects to store: for each aggregate, its
// observables, an observed-data and the sighting, in that order. What an
// earlier stored version of a sighting counted (read from st) is folded
// in; a failure to read it is an error rather than a count started
// afresh. now is the new versions' modified time, moved just past an
// earlier version's when the clock has not passed it.
func (s *Sightings) Objects(ctx context.Context, st Current, now time.Time) ([][]byte, error) {
	now = now.UTC().Truncate(time.Millisecond)
	keys := slices.SortedFunc(maps.Keys(s.agg), func(a, b sightingKey) int {
		if c := strings.Compare(a.indicator, b.indicator); c != 0 {
			return c
		}
		return int(a.window - b.window)
	})
	var out [][]byte
	for _, k := range keys {
		a := s.agg[k]
		start := time.Unix(0, k.window).UTC()
		id := SightingID(k.indicator, s.identity, start)
		count, first, last := a.count, a.first, a.last
		mod := now
		p, ok, err := previous(ctx, st, id)
		if err != nil {
			return nil, err
		}
		if ok {
			if !p.Modified.Before(mod) {
				mod = p.Modified.UTC().Add(time.Millisecond)
			}
			count += p.Count
			if !p.First.IsZero() && p.First.Before(first) {
				first = p.First
			}
			if p.Last.After(last) {
				last = p.Last
			}
		}
		refs := slices.Sorted(maps.Keys(a.objects))
		for _, ref := range refs {
			o := map[string]any{}
			maps.Copy(o, a.objects[ref])
			o["id"] = ref
			o["spec_version"] = "2.1"
			b, err := json.Marshal(o)
			if err != nil {
				return nil, err
			}
			out = append(out, b)
		}
		if start.After(now) {
			start = now
		}
		var od map[string]any
		if len(refs) > 0 {
			od = map[string]any{
				"type": "observed-data", "spec_version": "2.1",
				"id":              "observed-data--" + uuid.NewSHA1(sightingNS, []byte(id+"|"+mod.Format(time.RFC3339Nano))).String(),
				"created":         stamp(mod),
				"modified":        stamp(mod),
				"created_by_ref":  s.identity,
				"first_observed":  stamp(a.first),
				"last_observed":   stamp(a.last),
				"number_observed": a.count,
				"object_refs":     refs,
			}
		}
		sg := map[string]any{
			"type": "sighting", "spec_version": "2.1", "id": id,
			"created":            stamp(start),
			"modified":           stamp(mod),
			"created_by_ref":     s.identity,
			"sighting_of_ref":    k.indicator,
			"count":              count,
			"first_seen":         stamp(first),
			"last_seen":          stamp(last),
			"where_sighted_refs": []string{s.identity},
		}
		objs := []map[string]any{sg}
		if od != nil {
			sg["observed_data_refs"] = []string{od["id"].(string)}
			objs = []map[string]any{od, sg}
		}
		for _, o := range objs {
			if len(s.markings) > 0 {
				o["object_marking_refs"] = s.markings
			}
			b, err := json.Marshal(o)
			if err != nil {
				return nil, err
			}
			out = append(out, b)
		}
	}
	return out, nil
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// String describes a sightings batch for progress messages.
func (s *Sightings) String() string { return fmt.Sprintf("%d sightings", len(s.agg)) }

// previous reads what the stored version of sighting id counted; ok is
// false when none is stored.
func previous(ctx context.Context, st Current, id string) (p Previous, ok bool, err error) {
	v, err := st.Current(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return Previous{}, false, nil
	}
	if err != nil {
		return Previous{}, false, err
	}
	if p, err = parsePrevious(v.Body); err != nil {
		return Previous{}, false, fmt.Errorf("stored sighting %s: %w", id, err)
	}
	return p, true, nil
}

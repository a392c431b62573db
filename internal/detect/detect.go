// Package detect runs the node's shared indicators against what its
// constituents observe. An Engine keeps a match.Index of every current,
// unrevoked STIX-pattern indicator stored on the node, follows the store's
// change log to keep it current, and answers Match with the indicators an
// observation satisfies, each enriched with what it indicates (malware,
// threat actors, attack patterns, campaigns, intrusion sets, tools) and the
// courses of action that mitigate it or them.
//
// The index holds every indicator; who may see a hit is decided per caller:
// Match takes a policy.Reader and drops hits on indicators (and related
// objects) the reader may not see, with the same decision the read paths
// use. Indicators whose pattern_type is not "stix" (sigma, yara, snort,
// suricata, ...) are stored and served like any object but are not
// evaluated here; Stats counts them.
//
// Concurrency: Match may be called from many goroutines while Follow
// applies changes; each Match sees one consistent snapshot of the
// enrichment maps and the index's own snapshot.
package detect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/setu-cti/setu/internal/match"
	"github.com/setu-cti/setu/internal/policy"
	"github.com/setu-cti/setu/internal/stix/pattern"
	"github.com/setu-cti/setu/internal/store"
)

// Source is what the engine reads: the store's collections, current
// versions and change log.
type Source interface {
	Collections(ctx context.Context) ([]store.Collection, error)
	Query(ctx context.Context, q store.Query) (store.Page, error)
	Current(ctx context.Context, id string) (store.Version, error)
	Changes(ctx context.Context, after int64, limit int) ([]store.Change, error)
	Stats(ctx context.Context) (store.Stats, error)
}

// Related is an object a hit's indicator is related to.
type Related struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	Name string `json:"name,omitempty"`
}

// Hit is one indicator an observation satisfied, with its context.
type Hit struct {
	Indicator   Related         `json:"indicator"`
	Pattern     string          `json:"pattern"`
	Bindings    []match.Binding `json:"bindings"`
	Indicates   []Related       `json:"indicates,omitempty"`
	MitigatedBy []Related       `json:"mitigated_by,omitempty"`
	// Warnings are remarks on the indicator (e.g. values on a
	// warninglist).
	Warnings []string `json:"warnings,omitempty"`
}

// Stats describes what the engine holds.
type Stats struct {
	Applied      int64 // change-log position applied
	Indicators   int   // STIX-pattern indicators in the index
	NotEvaluable int   // indicators whose pattern does not parse or compile
	OtherTypes   int   // indicators with another pattern_type, not evaluated
	Index        match.IndexStats
}

// meta is what the engine keeps of one object for enrichment and policy.
type meta struct {
	vt        time.Time // version time of the version applied
	typ, name string
	pattern   string
	facts     []byte
	submitter string
	warnings  []string
}

// rel is one relationship of interest.
type rel struct {
	id, kind, source, target string
}

// graph is the enrichment state. It is changed in place under Engine.gmu,
// so that a change batch costs its own size, not the graph's: Match holds
// the read lock only while it looks up a hit's context.
type graph struct {
	objects map[string]*meta
	// out[source] and in[target] list relationship ids.
	out, in map[string][]string
	rels    map[string]rel
}

// Engine is the detection engine. Build one with New, load it with Load,
// keep it current with Follow (or Sync).
type Engine struct {
	src  Source
	pol  policy.Config
	ix   *match.Index
	warn *match.Warninglist
	now  func() time.Time

	mu      sync.Mutex // serialises writers (Load, Sync)
	gmu     sync.RWMutex
	g       graph
	applied atomic.Int64
	other   atomic.Int64
	ready   atomic.Bool
}

// Option configures an Engine.
type Option func(*Engine)

// WithWarninglist suppresses hits on values of w and flags indicators that
// contain them.
func WithWarninglist(w *match.Warninglist) Option { return func(e *Engine) { e.warn = w } }

// WithClock sets the clock used for validity windows when Match is given
// a zero time.
func WithClock(now func() time.Time) Option { return func(e *Engine) { e.now = now } }

// New returns an empty engine over src deciding visibility with pol.
func New(src Source, pol policy.Config, opts ...Option) *Engine {
	e := &Engine{src: src, pol: pol, now: time.Now}
	for _, o := range opts {
		o(e)
	}
	var ixOpts []match.IndexOption
	if e.warn != nil {
		ixOpts = append(ixOpts, match.WithWarninglist(e.warn))
	}
	e.ix = match.NewIndex(ixOpts...)
	e.g = graph{objects: map[string]*meta{}, out: map[string][]string{}, in: map[string][]string{}, rels: map[string]rel{}}
	return e
}

// enrichTypes are the object types the engine reads besides indicators.
var enrichTypes = []string{"relationship", "malware", "threat-actor", "attack-pattern", "campaign",
	"intrusion-set", "tool", "course-of-action", "infrastructure", "vulnerability"}

// Load reads every current indicator, then the part of the graph that
// enriches their hits — their indicates and mitigates relationships, the
// objects those name, and what mitigates the objects they indicate — and
// applies the change log written meanwhile. When the source records
// relationships by the objects they join (store.Relations), what Load
// reads follows the indicators, not the store: a store of ATT&CK and no
// indicators loads at once. It reports indicators that cannot be evaluated
// through bad (which may be nil).
func (e *Engine) Load(ctx context.Context, bad func(id string, err error)) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	rl, ok := e.src.(store.Relations)
	if !ok {
		return e.loadAll(ctx, bad)
	}
	st, err := e.src.Stats(ctx)
	if err != nil {
		return err
	}
	colls, err := e.src.Collections(ctx)
	if err != nil {
		return err
	}
	newest := map[string]time.Time{}
	var sg staged
	var inds []string
	for _, c := range colls {
		q := store.Query{Collection: c.ID, Types: []string{"indicator"}, Limit: 5000}
		for {
			p, err := e.src.Query(ctx, q)
			if err != nil {
				return fmt.Errorf("detect: reading collection %s: %w", c.ID, err)
			}
			e.gmu.Lock()
			for i := range p.Versions {
				v := &p.Versions[i]
				if t, ok := newest[v.ID]; ok && !v.VersionTime.After(t) {
					continue
				}
				if _, ok := newest[v.ID]; !ok {
					inds = append(inds, v.ID)
				}
				newest[v.ID] = v.VersionTime
				e.stage(&sg, v)
			}
			e.gmu.Unlock()
			if !p.More {
				break
			}
			q.After = p.Last
		}
	}
	clear(newest)
	if err := e.loadRelated(ctx, rl, inds, &sg); err != nil {
		return err
	}
	e.commit(&sg, bad)
	e.applied.Store(st.LastSeq)
	if err := e.sync(ctx, bad); err != nil {
		return err
	}
	e.ready.Store(true)
	return nil
}

// loadRelated reads and stages the neighbourhood of the indicators ids:
// the indicates relationships they are the source of and their targets,
// the mitigates relationships whose target is one of them or of those
// targets, and their sources. The caller holds mu, not gmu.
func (e *Engine) loadRelated(ctx context.Context, rl store.Relations, ids []string, sg *staged) error {
	if len(ids) == 0 {
		return nil
	}
	isInd := map[string]bool{}
	for _, id := range ids {
		isInd[id] = true
	}
	rels, err := rl.RelationsOf(ctx, ids)
	if err != nil {
		return fmt.Errorf("detect: relationships of indicators: %w", err)
	}
	need := map[string]bool{}
	var targets []string
	for _, r := range rels {
		switch {
		case r.Kind == "indicates" && isInd[r.Source]:
			need[r.ID], need[r.Target] = true, true
			if !isInd[r.Target] {
				targets = append(targets, r.Target)
			}
		case r.Kind == "mitigates" && isInd[r.Target]:
			need[r.ID], need[r.Source] = true, true
		}
	}
	if len(targets) > 0 {
		more, err := rl.RelationsOf(ctx, targets)
		if err != nil {
			return fmt.Errorf("detect: relationships of indicated objects: %w", err)
		}
		indicated := map[string]bool{}
		for _, t := range targets {
			indicated[t] = true
		}
		for _, r := range more {
			if r.Kind == "mitigates" && indicated[r.Target] {
				need[r.ID], need[r.Source] = true, true
			}
		}
	}
	return e.stageCurrent(ctx, need, sg)
}

// stageCurrent stages the current version of each id not yet in the graph
// (relationships first, so that the objects they join are staged into a
// graph that links them). The caller holds mu, not gmu.
func (e *Engine) stageCurrent(ctx context.Context, ids map[string]bool, sg *staged) error {
	order := make([]string, 0, len(ids))
	for id := range ids {
		order = append(order, id)
	}
	slices.SortFunc(order, func(a, b string) int {
		ra, rb := strings.HasPrefix(a, "relationship--"), strings.HasPrefix(b, "relationship--")
		if ra != rb {
			if ra {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	for _, id := range order {
		e.gmu.RLock()
		_, have := e.g.objects[id]
		e.gmu.RUnlock()
		if have {
			continue
		}
		v, err := e.src.Current(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			continue // named, not stored (yet): the change log brings it
		}
		if err != nil {
			return err
		}
		e.gmu.Lock()
		e.stage(sg, &v)
		e.gmu.Unlock()
	}
	return nil
}

// loadAll is Load for a source that does not record relationships: every
// current indicator and every object of the types that enrich hits, from
// every collection.
func (e *Engine) loadAll(ctx context.Context, bad func(id string, err error)) error {
	st, err := e.src.Stats(ctx)
	if err != nil {
		return err
	}
	colls, err := e.src.Collections(ctx)
	if err != nil {
		return err
	}
	// Each page is applied as it is read, keeping only the newest version
	// of each object across collections (and its version time), so the
	// load holds what the engine keeps plus one page, not every body.
	newest := map[string]time.Time{}
	var sg staged
	for _, c := range colls {
		q := store.Query{Collection: c.ID, Types: append([]string{"indicator"}, enrichTypes...), Limit: 5000}
		for {
			p, err := e.src.Query(ctx, q)
			if err != nil {
				return fmt.Errorf("detect: reading collection %s: %w", c.ID, err)
			}
			e.gmu.Lock()
			for i := range p.Versions {
				v := &p.Versions[i]
				if t, ok := newest[v.ID]; ok && !v.VersionTime.After(t) {
					continue
				}
				newest[v.ID] = v.VersionTime
				e.stage(&sg, v)
			}
			e.gmu.Unlock()
			if !p.More {
				break
			}
			q.After = p.Last
		}
	}
	clear(newest)
	e.commit(&sg, bad)
	e.applied.Store(st.LastSeq)
	if err := e.sync(ctx, bad); err != nil {
		return err
	}
	e.ready.Store(true)
	return nil
}

// Ready reports whether Load has finished: before, Match knows nothing.
func (e *Engine) Ready() bool { return e.ready.Load() }

// Sync applies the change log up to its end and returns; Applied then
// reports the position reached.
func (e *Engine) Sync(ctx context.Context, bad func(id string, err error)) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.sync(ctx, bad)
}

func (e *Engine) sync(ctx context.Context, bad func(id string, err error)) error {
	for {
		cs, err := e.src.Changes(ctx, e.applied.Load(), 10000)
		if err != nil {
			return err
		}
		if len(cs) == 0 {
			return nil
		}
		// A version listed again (in another collection, or a partner's
		// view) is already applied: only newer versions and removals
		// need the store.
		rl, partial := e.src.(store.Relations)
		ids := map[string]bool{}
		e.gmu.RLock()
		for _, c := range cs {
			if !relevant(c.ID) {
				continue
			}
			m := e.g.objects[c.ID]
			if c.Kind == "add" && m != nil && !c.VersionTime.After(m.vt) {
				continue
			}
			// With the graph loaded in part, an enriching object matters
			// only once something in it names it.
			if typ, _, _ := cut(c.ID); partial && typ != "indicator" && typ != "relationship" && m == nil && !e.g.named(c.ID) {
				continue
			}
			ids[c.ID] = true
		}
		e.gmu.RUnlock()
		var vs []store.Version
		var gone []string
		for id := range ids {
			v, err := e.src.Current(ctx, id)
			if errors.Is(err, store.ErrNotFound) {
				gone = append(gone, id)
				continue
			}
			if err != nil {
				return err
			}
			vs = append(vs, v)
		}
		var grow []string // new indicators and the objects new links name
		if partial {
			vs, grow = e.partialChanges(vs)
		}
		e.apply(vs, gone, bad)
		if len(grow) > 0 {
			if err := e.grow(ctx, rl, grow, bad); err != nil {
				return err
			}
		}
		e.applied.Store(cs[len(cs)-1].Seq)
	}
}

// partialChanges keeps, of the changed versions vs, those that belong in a
// graph loaded in part: indicators, relationships that join something in it
// (or a new indicator) the way enrichment reads them, and objects it names.
// It returns them and the ids the graph must grow around: new indicators,
// and the ends of new links not in the graph.
func (e *Engine) partialChanges(vs []store.Version) ([]store.Version, []string) {
	e.gmu.RLock()
	defer e.gmu.RUnlock()
	inds := map[string]bool{}
	for i := range vs {
		if vs[i].Type == "indicator" {
			inds[vs[i].ID] = true
		}
	}
	isInd := func(id string) bool {
		if inds[id] {
			return true
		}
		m := e.g.objects[id]
		return m != nil && m.typ == "indicator"
	}
	var keep []store.Version
	var grow []string
	for _, v := range vs {
		switch v.Type {
		case "indicator":
			if e.g.objects[v.ID] == nil {
				grow = append(grow, v.ID)
			}
		case "relationship":
			var b body
			if err := json.Unmarshal(v.Body, &b); err != nil {
				continue
			}
			_, linked := e.g.rels[v.ID]
			switch {
			case b.RelType == "indicates" && isInd(b.SourceRef):
				grow = append(grow, b.TargetRef)
			case b.RelType == "mitigates" && (isInd(b.TargetRef) || e.g.indicated(b.TargetRef)):
				grow = append(grow, b.SourceRef)
			case !linked:
				continue // joins nothing the engine reads
			}
		}
		keep = append(keep, v)
	}
	return keep, grow
}

// grow stages what the graph lacks around ids: for an indicator, its
// neighbourhood (loadRelated); for an object a new link names, its current
// version and, if it is indicated, what mitigates it. The caller holds
// mu, not gmu.
func (e *Engine) grow(ctx context.Context, rl store.Relations, ids []string, bad func(string, error)) error {
	var sg staged
	var inds []string
	need := map[string]bool{}
	for _, id := range ids {
		if typ, _, _ := cut(id); typ == "indicator" {
			inds = append(inds, id)
		} else {
			need[id] = true
		}
	}
	if err := e.loadRelated(ctx, rl, inds, &sg); err != nil {
		return err
	}
	var named []string
	for id := range need {
		named = append(named, id)
	}
	if len(named) > 0 {
		rels, err := rl.RelationsOf(ctx, named)
		if err != nil {
			return err
		}
		e.gmu.RLock()
		for _, r := range rels {
			if r.Kind == "mitigates" && need[r.Target] && e.g.indicated(r.Target) {
				need[r.ID], need[r.Source] = true, true
			}
		}
		e.gmu.RUnlock()
	}
	if err := e.stageCurrent(ctx, need, &sg); err != nil {
		return err
	}
	e.commit(&sg, bad)
	return nil
}

// Follow applies the change log every interval until ctx ends. It returns
// ctx's error, or the first error reading the store.
func (e *Engine) Follow(ctx context.Context, interval time.Duration, bad func(id string, err error)) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := e.Sync(ctx, bad); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Applied is the change-log position the engine has applied.
func (e *Engine) Applied() int64 { return e.applied.Load() }

func relevant(id string) bool {
	typ, _, ok := cut(id)
	if !ok {
		return false
	}
	return typ == "indicator" || slices.Contains(enrichTypes, typ)
}

func cut(id string) (typ, rest string, ok bool) {
	for i := 0; i+1 < len(id); i++ {
		if id[i] == '-' && id[i+1] == '-' {
			return id[:i], id[i+2:], true
		}
	}
	return "", "", false
}

// body is what the engine reads of an object.
type body struct {
	Type       string    `json:"type"`
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Revoked    bool      `json:"revoked"`
	Pattern    string    `json:"pattern"`
	PatternTyp string    `json:"pattern_type"`
	ValidFrom  time.Time `json:"valid_from"`
	ValidUntil time.Time `json:"valid_until"`
	Modified   time.Time `json:"modified"`
	RelType    string    `json:"relationship_type"`
	SourceRef  string    `json:"source_ref"`
	TargetRef  string    `json:"target_ref"`
}

// staged is a batch of changes to the index: indicators to add (the
// newest version of each) and to remove, and the change in the count of
// indicators of other pattern types.
type staged struct {
	add    map[string]match.Indicator
	remove []string
	other  int
}

// apply replaces the objects vs describe and removes gone, in the index
// and the enrichment graph.
func (e *Engine) apply(vs []store.Version, gone []string, bad func(string, error)) {
	var sg staged
	e.gmu.Lock()
	for _, id := range gone {
		e.drop(&sg, id)
	}
	for i := range vs {
		e.stage(&sg, &vs[i])
	}
	e.gmu.Unlock()
	e.commit(&sg, bad)
}

// drop forgets an object; an indicator leaves the index. The caller holds
// gmu.
func (e *Engine) drop(sg *staged, id string) {
	g := &e.g
	if m, ok := g.objects[id]; ok && m.typ == "indicator" {
		if m.pattern == "" {
			sg.other--
		}
	}
	if _, ok := sg.add[id]; ok {
		delete(sg.add, id)
	}
	sg.remove = append(sg.remove, id)
	delete(g.objects, id)
	g.unlink(id)
}

// stage applies one version to the graph and stages its indicator. The
// caller holds gmu.
func (e *Engine) stage(sg *staged, v *store.Version) {
	g := &e.g
	var b body
	if err := json.Unmarshal(v.Body, &b); err != nil || b.ID == "" {
		return // stored objects are valid STIX; nothing to enrich with
	}
	if b.Revoked {
		e.drop(sg, b.ID)
		return
	}
	// A new version replaces the old one everywhere; the index replaces an
	// indicator it is given again by itself.
	if m, ok := g.objects[b.ID]; ok && m.typ == "indicator" && m.pattern == "" {
		sg.other--
	}
	m := &meta{vt: v.VersionTime, typ: b.Type, name: b.Name, facts: v.Facts, submitter: v.Submitter}
	switch b.Type {
	case "relationship":
		g.unlink(b.ID)
		if b.RelType == "indicates" || b.RelType == "mitigates" {
			g.link(rel{id: b.ID, kind: b.RelType, source: b.SourceRef, target: b.TargetRef})
		}
	case "indicator":
		if b.PatternTyp != "stix" {
			sg.other++
			if prev, ok := g.objects[b.ID]; ok && prev.pattern != "" {
				sg.remove = append(sg.remove, b.ID)
			}
			delete(sg.add, b.ID)
			break
		}
		m.pattern = b.Pattern
		if e.warn != nil {
			if p, err := pattern.Parse(b.Pattern); err == nil {
				m.warnings = e.warn.Flag(p)
			}
		}
		if sg.add == nil {
			sg.add = map[string]match.Indicator{}
		}
		sg.add[b.ID] = match.Indicator{ID: b.ID, Modified: b.Modified, Pattern: b.Pattern, ValidFrom: b.ValidFrom, ValidUntil: b.ValidUntil}
	}
	g.objects[b.ID] = m
}

// commit hands a staged batch to the index.
func (e *Engine) commit(sg *staged, bad func(string, error)) {
	add := make([]match.Indicator, 0, len(sg.add))
	for _, ind := range sg.add {
		add = append(add, ind)
	}
	// An id both removed and added in one batch was replaced: the index
	// applies removals after additions, so only true removals stay.
	remove := slices.DeleteFunc(sg.remove, func(id string) bool { _, ok := sg.add[id]; return ok })
	for _, err := range e.ix.Update(add, remove) {
		if bad != nil {
			var ie *match.IndicatorError
			if errors.As(err, &ie) {
				bad(ie.ID, ie.Err)
			} else {
				bad("", err)
			}
		}
	}
	e.other.Add(int64(sg.other))
}

// Stats reports what the engine holds.
func (e *Engine) Stats() Stats {
	is := e.ix.Stats()
	return Stats{Applied: e.applied.Load(), Indicators: is.Indicators, NotEvaluable: is.NotEvaluable, OtherTypes: int(e.other.Load()), Index: is}
}

// Match returns the hits of ob that r may see (every hit when r is nil: the
// node's operators): indicators valid at `at` (the engine's clock when
// zero) that ob satisfies, in indicator id order, each with the related
// objects r may also see.
func (e *Engine) Match(r *policy.Reader, ob *match.Observation, at time.Time) []Hit {
	if at.IsZero() {
		at = e.now()
	}
	hits := e.ix.Match(ob, at)
	if len(hits) == 0 {
		return nil
	}
	e.gmu.RLock()
	defer e.gmu.RUnlock()
	return e.related(r, hits)
}

// MatchAll does Match for each observation of obs, obs[i] at at[i] (the
// engine's clock when zero; at may be nil), and returns the hits of obs[i]
// as its i-th element. Matching a batch together is faster per
// observation than one at a time (see match.Index.MatchAll).
func (e *Engine) MatchAll(r *policy.Reader, obs []match.Observation, at []time.Time) [][]Hit {
	if at != nil && len(at) != len(obs) {
		panic("detect: MatchAll needs one time per observation")
	}
	now := e.now()
	times := make([]time.Time, len(obs))
	for i := range times {
		if times[i] = now; at != nil && !at[i].IsZero() {
			times[i] = at[i]
		}
	}
	all := e.ix.MatchAll(obs, times)
	out := make([][]Hit, len(obs))
	e.gmu.RLock()
	defer e.gmu.RUnlock()
	for i, hits := range all {
		if len(hits) > 0 {
			out[i] = e.related(r, hits)
		}
	}
	return out
}

// related turns the index's hits into the engine's, keeping those r may
// see and adding what r may see of their relationships. The caller holds
// gmu for reading.
func (e *Engine) related(r *policy.Reader, hits []match.Hit) []Hit {
	g := &e.g
	out := make([]Hit, 0, len(hits))
	for _, h := range hits {
		m := g.objects[h.IndicatorID]
		if m == nil || !e.visible(r, m) {
			continue
		}
		hit := Hit{Indicator: Related{ID: h.IndicatorID, Type: "indicator", Name: m.name}, Pattern: m.pattern, Bindings: h.Result.Bindings, Warnings: m.warnings}
		targets := []string{h.IndicatorID}
		for _, rid := range g.out[h.IndicatorID] {
			rl := g.rels[rid]
			if rl.kind != "indicates" || !e.visible(r, g.objects[rid]) {
				continue
			}
			if t := g.objects[rl.target]; t != nil && e.visible(r, t) {
				hit.Indicates = append(hit.Indicates, Related{ID: rl.target, Type: t.typ, Name: t.name})
				targets = append(targets, rl.target)
			}
		}
		seen := map[string]bool{}
		for _, t := range targets {
			for _, rid := range g.in[t] {
				rl := g.rels[rid]
				if rl.kind != "mitigates" || seen[rl.source] || !e.visible(r, g.objects[rid]) {
					continue
				}
				if c := g.objects[rl.source]; c != nil && c.typ == "course-of-action" && e.visible(r, c) {
					seen[rl.source] = true
					hit.MitigatedBy = append(hit.MitigatedBy, Related{ID: rl.source, Type: c.typ, Name: c.name})
				}
			}
		}
		out = append(out, hit)
	}
	return out
}

func (e *Engine) visible(r *policy.Reader, m *meta) bool {
	if m == nil {
		return false
	}
	if r == nil {
		return true // the operator
	}
	return e.pol.Decide(*r, policy.DecodeFacts(m.facts, m.submitter)).Allow
}

// named reports whether a relationship in the graph names id.
func (g *graph) named(id string) bool { return len(g.in[id]) > 0 || len(g.out[id]) > 0 }

// indicated reports whether an indicates relationship in the graph names
// id as its target.
func (g *graph) indicated(id string) bool {
	for _, rid := range g.in[id] {
		if g.rels[rid].kind == "indicates" {
			return true
		}
	}
	return false
}

// link records a relationship of interest.
func (g *graph) link(r rel) {
	g.rels[r.id] = r
	g.out[r.source] = append(g.out[r.source], r.id)
	g.in[r.target] = append(g.in[r.target], r.id)
}

// unlink forgets a relationship, if id is one.
func (g *graph) unlink(id string) {
	r, ok := g.rels[id]
	if !ok {
		return
	}
	delete(g.rels, id)
	drop := func(m map[string][]string, k string) {
		l := slices.DeleteFunc(m[k], func(x string) bool { return x == id })
		if len(l) == 0 {
			delete(m, k)
		} else {
			m[k] = l
		}
	}
	drop(g.out, r.source)
	drop(g.in, r.target)
}

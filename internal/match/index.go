package match

import (
	"cmp"
	"errors"
	"maps"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/setu-cti/setu/internal/stix/pattern"
)

// Index holds many indicators and finds those an observation satisfies at a
// cost that does not grow with their number.
//
// # How it finds candidates
//
// Each pattern is reduced, for each bracketed observation expression, to
// anchors: the equality, IN and wildcard-free LIKE comparisons on SCO
// properties become keys in hash tables, one per property; ISSUBSET and
// ISSUPERSET comparisons become blocks in a prefix table (gaissmai/bart) per
// property. An AND needs one anchored side (the most selective is chosen), an
// OR needs every side anchored. Matching walks each object of the
// observation once along the properties that carry anchors and looks its
// values up, so its cost follows the observation's size and the number of
// hits, not the number of indicators.
//
// A pattern that is one bracketed observation expression made of such
// comparisons, joined by OR if more than one (the vast majority of real
// indicators: [domain-name:value = 'evil.com']), is answered from the tables
// alone. Any other anchored pattern is evaluated with its Matcher when an
// anchor hits. A pattern with no anchorable comparison on some branch
// (LIKE with wildcards, MATCHES, orderings, NOT, EXISTS, numbers) is
// "unanchored": it is kept in a list per SCO type it names and evaluated
// for every observation that holds an object of such a type, so its cost is
// paid by each of those observations (IndexStats.Unanchored counts them).
//
// Equality is the evaluator's: [ipv4-addr:value = '10.0.0.0/8'] matches the
// text '10.0.0.0/8' only, as Matcher.Match has it; containment is written
// ISSUBSET, and only ISSUBSET and ISSUPERSET use the prefix tables.
//
// For a single observable, such as a field of a log event, Property and
// Lookup answer the directly answerable indicators without building an
// Observation; LookupAll answers a batch of observables faster per value.
//
// The exact-value tables are immutable open-addressing tables (strTable)
// rather than Go maps, and lookups go through them a chunk at a time
// (LookupAll, and Match for the values of one observation): at a million
// keys a lookup is two or three cache misses, and a chunk's misses
// overlap where one lookup after another would wait for each in turn.
//
// # Agreement with evaluation
//
// For every indicator valid at the given time, Match reports a hit exactly
// when Compile and Matcher.Match report one for the observation alone, with
// the same Result. Both put hash algorithm names in one canonical form first
// ('SHA-256', 'SHA256', sha256 and sha_256 all become 'SHA-256'; likewise
// MD5, SHA-1, SHA-224, SHA-384, SHA-512, SHA3-*, SSDEEP, TLSH), in the
// pattern's paths and in the keys of every "hashes" dictionary of the
// observation, so that an indicator and a sensor that spell the algorithm
// differently still meet. When the canonical and another spelling of one
// algorithm are both present in a dictionary, the canonical one is used;
// among other spellings, the one that sorts first. Binding texts show the
// canonical spelling. Values are never folded: string equality stays
// case-sensitive.
//
// # Observations, one at a time
//
// Match evaluates each observation on its own. A pattern that joins
// several observation expressions (AND, OR, FOLLOWEDBY between brackets)
// or is qualified (REPEATS, WITHIN, START/STOP) is evaluated exactly as
// Matcher.Match evaluates it against that single observation: an AND of
// two expressions can hold for an observed-data whose number_observed is
// at least 2, REPEATS n for one whose number_observed is at least n.
// Observe, with WithHistory, additionally keeps recent observations per
// indicator so that such patterns can fire across events.
//
// # Updates and concurrency
//
// All methods are safe for concurrent use. Match and Lookup read an
// immutable snapshot through an atomic pointer and never wait for writers.
// Update compiles the changed indicators into a small overlay that is
// consulted beside the large base tables, shadows the base versions it
// replaces or removes, and publishes a new snapshot; it costs the size of
// the change plus the size of the overlay. Rebuild merges the overlay into a
// fresh base while Match and Update go on, then swaps it in. With the
// default options a rebuild starts in the background when the overlay
// outgrows its threshold, and an Update whose batch alone exceeds the
// threshold (an initial load) builds the new base itself before returning.
//
// With WithWarninglist, hits whose values are all on the warninglist are
// not reported.
//
// The zero Index is not usable; call NewIndex.
type Index struct {
	cfg  indexConfig
	snap atomic.Pointer[snapshot]

	// rebuildMu serialises rebuilds, background or not. When both are
	// held it is taken before mu.
	rebuildMu sync.Mutex
	// mu guards w.
	mu sync.Mutex
	w  writer
	// bgRebuild is set while a background rebuild is pending or running.
	bgRebuild atomic.Bool
	// bg counts background rebuilds not yet finished, for Wait.
	bg sync.WaitGroup

	hist *history

	// warnDropped counts hits the warninglist dropped.
	warnDropped atomic.Int64
}

// Indicator is what the index needs of a STIX indicator of pattern_type
// "stix".
type Indicator struct {
	ID       string
	Modified time.Time
	Pattern  string
	// ValidFrom and ValidUntil bound when the indicator applies:
	// ValidFrom <= t < ValidUntil. A zero time leaves that side open.
	ValidFrom, ValidUntil time.Time
}

// Hit is an indicator that an observation satisfies, and how.
type Hit struct {
	IndicatorID string
	Result      Result
}

// IndicatorError reports an indicator whose pattern cannot be evaluated.
// Update keeps such an indicator (it is counted in IndexStats.NotEvaluable
// and never matches) until it is replaced or removed.
type IndicatorError struct {
	ID string
	// Err is a *pattern.SyntaxError, with the position of the problem,
	// when the pattern does not parse; otherwise the reason Compile
	// refused it, or why the indicator itself is unusable.
	Err error
}

func (e *IndicatorError) Error() string {
	var se *pattern.SyntaxError
	if errors.As(e.Err, &se) {
		return "match: indicator " + e.ID + ": pattern at " + se.Error()
	}
	return "match: indicator " + e.ID + ": " + e.Err.Error()
}

func (e *IndicatorError) Unwrap() error { return e.Err }

// IndexStats describes what an index holds.
type IndexStats struct {
	// Indicators counts every indicator held, evaluable or not.
	Indicators int
	// Direct counts patterns answered from the tables alone, without
	// evaluation.
	Direct int
	// Evaluated counts anchored patterns evaluated only when an anchor
	// hits.
	Evaluated int
	// Unanchored counts patterns evaluated for every observation that
	// holds an object of a type they name.
	Unanchored int
	// NeverMatch counts evaluable patterns that no observation can
	// satisfy, such as [x:y IN ()].
	NeverMatch int
	// WarninglistDropped counts the hits dropped since the index was made
	// because every value behind them is on the warninglist.
	WarninglistDropped int64
	// NotEvaluable counts patterns that failed to parse or compile.
	NotEvaluable int
	// MultiObservation counts patterns with more than one observation
	// expression or with a qualifier (a subset of the counts above).
	MultiObservation int
	// ExactKeys and Prefixes count the keys of the hash tables and the
	// blocks of the prefix tables, base and overlay together; a key of a
	// replaced or removed indicator stays counted until the next rebuild.
	ExactKeys, Prefixes int
	// Paths counts the distinct SCO properties anchors are read from,
	// and those resolved by Property.
	Paths int
	// Overlay counts indicators added or changed since the last rebuild,
	// Shadowed the base entries they replaced or that were removed.
	Overlay, Shadowed int
	// Rebuilds counts completed rebuilds.
	Rebuilds int
	// Buffered counts the indicators for which Observe keeps recent
	// observations, and BufferedObservations those observations.
	Buffered, BufferedObservations int
}

// IndexOption configures NewIndex.
type IndexOption func(*indexConfig)

type indexConfig struct {
	wl *Warninglist
	// minOverlay is the smallest overlay that triggers a rebuild; the
	// threshold grows with the base (a 64th of it) so that the work of
	// rebuilding stays proportional to the changes it absorbs.
	minOverlay int
	auto       bool
	history    int
}

// WithWarninglist makes Match, Lookup and Observe drop hits whose matched
// values are all on w (see Warninglist). w may be changed later with Add;
// the change applies to the next call.
func WithWarninglist(w *Warninglist) IndexOption {
	return func(c *indexConfig) { c.wl = w }
}

// WithRebuildThreshold sets the overlay size (indicators changed since the
// last rebuild, at least n, and at least a 64th of the base) above which
// Update starts a background rebuild, and above which a single Update
// batch is merged into a new base before Update returns. n <= 0 disables
// background rebuilds; batches larger than 4,096 are still merged at once.
// The default is 4,096.
func WithRebuildThreshold(n int) IndexOption {
	return func(c *indexConfig) {
		if n <= 0 {
			c.auto, c.minOverlay = false, defaultMinOverlay
			return
		}
		c.auto, c.minOverlay = true, n
	}
}

// WithHistory enables Observe, keeping for each indicator whose pattern
// joins several observation expressions or repeats one at most n recent
// observations that could take part in a match (fewer when a WITHIN on the
// whole pattern bounds how far apart they may be).
func WithHistory(n int) IndexOption {
	return func(c *indexConfig) { c.history = n }
}

const defaultMinOverlay = 4096

// NewIndex returns an empty index.
func NewIndex(opts ...IndexOption) *Index {
	ix := &Index{cfg: indexConfig{minOverlay: defaultMinOverlay, auto: true}}
	for _, o := range opts {
		o(&ix.cfg)
	}
	if ix.cfg.history > 0 {
		ix.hist = newHistory(ix.cfg.history)
	}
	reg := newRegistry()
	ix.w = writer{reg: reg, base: emptyTable(), dead: map[uint32]struct{}{}, over: map[string]*compiled{}}
	ix.publish()
	return ix
}

// writer is the state Update and Rebuild change, under Index.mu. What it
// points to is never modified once published in a snapshot, except the
// registry, which is cloned before it is changed (regOwned).
type writer struct {
	reg      *registry
	regOwned bool
	base     *table
	// dead holds the base entries shadowed by the overlay or removed.
	dead map[uint32]struct{}
	// over holds the indicators changed since base was built, by id.
	over map[string]*compiled
	// During a rebuild, touched collects the ids changed since the
	// rebuild took its view, so that they can be carried over.
	rebuilding bool
	touched    map[string]struct{}
	rebuilds   int
}

// snapshot is one immutable state of the index.
type snapshot struct {
	reg      *registry
	base     *table
	over     *table
	dead     map[uint32]struct{}
	rebuilds int
}

// Update adds indicators, replacing older versions of the same id, and
// removes the indicators whose ids are listed; removals are applied after
// additions. An indicator older (by Modified) than the version already held
// is ignored; an equal one replaces it. Removing an unknown id does
// nothing. The returned errors, one *IndicatorError per indicator whose
// pattern cannot be evaluated or whose id is empty, are reports, not
// failures: every other indicator is applied, and one with a bad pattern is
// kept as not evaluable.
//
// When the batch is larger than the rebuild threshold, Update merges it
// into a new base before returning (waiting for a running rebuild first);
// Match goes on meanwhile.
func (ix *Index) Update(add []Indicator, remove []string) []error {
	bulk := len(add)+len(remove) > ix.threshold()
	if bulk {
		ix.rebuildMu.Lock()
		defer ix.rebuildMu.Unlock()
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	w := &ix.w
	var errs []error
	for i := range add {
		ind := &add[i]
		if ind.ID == "" {
			errs = append(errs, &IndicatorError{Err: errors.New("indicator has no id")})
			continue
		}
		mod := nanos(ind.Modified, math.MinInt64)
		if cur, ok := ix.current(ind.ID); ok && cur.modified > mod {
			continue
		}
		c, err := ix.compile(ind)
		if err != nil {
			errs = append(errs, err)
		}
		ix.shadow(ind.ID)
		w.over[ind.ID] = c
	}
	for _, id := range remove {
		if _, ok := ix.current(id); !ok {
			continue
		}
		ix.shadow(id)
		delete(w.over, id)
	}
	if ix.hist != nil {
		for i := range add {
			ix.hist.drop(add[i].ID)
		}
		for _, id := range remove {
			ix.hist.drop(id)
		}
	}
	if bulk {
		ix.mergeLocked()
		return errs
	}
	ix.publish()
	if ix.cfg.auto && len(w.over)+len(w.dead) > ix.threshold() && ix.bgRebuild.CompareAndSwap(false, true) {
		ix.bg.Add(1)
		go func() {
			defer ix.bg.Done()
			ix.rebuild(true)
		}()
	}
	return errs
}

// threshold is the overlay size beyond which the overlay is merged.
func (ix *Index) threshold() int {
	return max(ix.cfg.minOverlay, len(ix.snap.Load().base.entries)/64)
}

// current returns the version of id the index holds, under mu.
func (ix *Index) current(id string) (*entry, bool) {
	w := &ix.w
	if c, ok := w.over[id]; ok {
		return &c.e, true
	}
	if i, ok := w.base.find(id); ok {
		if _, dead := w.dead[i]; !dead {
			return &w.base.entries[i], true
		}
	}
	return nil, false
}

// shadow hides the base version of id, under mu.
func (ix *Index) shadow(id string) {
	w := &ix.w
	if i, ok := w.base.find(id); ok {
		w.dead[i] = struct{}{}
	}
	if w.rebuilding {
		w.touched[id] = struct{}{}
	}
}

// publish builds the overlay tables and swaps in a new snapshot, under mu.
func (ix *Index) publish() {
	w := &ix.w
	over := slices.Collect(maps.Values(w.over))
	var ot *table
	if len(over) > 0 {
		ot = buildTable(w.reg, nil, nil, over)
	}
	ix.snap.Store(&snapshot{reg: w.reg, base: w.base, over: ot, dead: maps.Clone(w.dead), rebuilds: w.rebuilds})
	w.regOwned = false
}

// Rebuild merges the overlay into a new base and swaps it in. Match and
// Update go on while it works; changes made meanwhile stay in the overlay
// of the new snapshot. It returns when the new base is in use.
func (ix *Index) Rebuild() { ix.rebuild(false) }

// Wait returns when no background rebuild is running.
func (ix *Index) Wait() { ix.bg.Wait() }

func (ix *Index) rebuild(background bool) {
	ix.rebuildMu.Lock()
	defer ix.rebuildMu.Unlock()
	if background {
		ix.bgRebuild.Store(false)
	}
	ix.mu.Lock()
	w := &ix.w
	if len(w.over) == 0 && len(w.dead) == 0 {
		ix.mu.Unlock()
		return
	}
	reg, base, dead := w.reg, w.base, maps.Clone(w.dead)
	over := slices.Collect(maps.Values(w.over))
	w.rebuilding, w.touched = true, map[string]struct{}{}
	// The registry is shared with the build from here on.
	w.regOwned = false
	ix.mu.Unlock()

	nb := buildTable(reg, base, dead, over)

	ix.mu.Lock()
	defer ix.mu.Unlock()
	// What changed while the base was built stays in the overlay, and
	// shadows the version the new base holds.
	newOver := map[string]*compiled{}
	newDead := map[uint32]struct{}{}
	for id := range w.touched {
		if c, ok := w.over[id]; ok {
			newOver[id] = c
		}
		if i, ok := nb.find(id); ok {
			newDead[i] = struct{}{}
		}
	}
	w.base, w.dead, w.over = nb, newDead, newOver
	w.rebuilding, w.touched = false, nil
	w.rebuilds++
	ix.publish()
}

// mergeLocked builds the new base from everything held, under both locks.
func (ix *Index) mergeLocked() {
	w := &ix.w
	over := slices.Collect(maps.Values(w.over))
	w.base = buildTable(w.reg, w.base, w.dead, over)
	w.dead, w.over = map[uint32]struct{}{}, map[string]*compiled{}
	w.rebuilds++
	ix.publish()
}

// Stats describes the current snapshot.
func (ix *Index) Stats() IndexStats {
	s := ix.snap.Load()
	forms, multi := s.base.forms, s.base.multiObs
	st := IndexStats{ExactKeys: s.base.keys, Prefixes: s.base.prefixes, WarninglistDropped: ix.warnDropped.Load()}
	if s.over != nil {
		for f, n := range s.over.forms {
			forms[f] += n
		}
		multi += s.over.multiObs
		st.ExactKeys += s.over.keys
		st.Prefixes += s.over.prefixes
		st.Overlay = len(s.over.entries)
	}
	// Shadowed base entries no longer count.
	for i := range s.dead {
		e := &s.base.entries[i]
		forms[e.form]--
		if e.flags&flagMulti != 0 {
			multi--
		}
	}
	for f, n := range forms {
		switch form(f) {
		case formSimple, formDirect:
			st.Direct += n
		case formEval:
			st.Evaluated += n
		case formUnanchored:
			st.Unanchored += n
		case formNever:
			st.NeverMatch += n
		case formBroken:
			st.NotEvaluable += n
		}
		st.Indicators += n
	}
	st.MultiObservation = multi
	st.Shadowed = len(s.dead)
	st.Paths = len(s.reg.paths)
	st.Rebuilds = s.rebuilds
	if ix.hist != nil {
		st.Buffered, st.BufferedObservations = ix.hist.stats()
	}
	return st
}

// nanos converts t to Unix nanoseconds, clamped to the representable
// range; the zero time gives zero, the value that stands for "open".
func nanos(t time.Time, zero int64) int64 {
	if t.IsZero() {
		return zero
	}
	switch {
	case t.Before(minNanosTime):
		return math.MinInt64 + 1
	case t.After(maxNanosTime):
		return math.MaxInt64 - 1
	}
	return t.UnixNano()
}

var (
	minNanosTime = time.Unix(0, math.MinInt64+1)
	maxNanosTime = time.Unix(0, math.MaxInt64-1)
)

// sortHits orders hits by indicator id, so that output is stable.
func sortHits(h []Hit) {
	slices.SortFunc(h, func(a, b Hit) int { return cmp.Compare(a.IndicatorID, b.IndicatorID) })
}

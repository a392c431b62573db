package bench

import (
	"context"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"runtime/metrics"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gaissmai/bart"

	"github.com/setu-cti/setu/internal/match"
	"github.com/setu-cti/setu/internal/stix/pattern"
)

// Targets of the indicator-index figures.
const (
	targetExactRate  = 3_000_000 // observables a second on one goroutine
	targetExactRatio = 3.0       // index time per observable / bare map's
	targetIPShare    = 0.5       // index rate / bare prefix table's
	targetFullScale  = 2.0       // Match cost per observation at N / at matchSmall
	targetIndexMem   = 2.0       // index heap / bare map and prefix table's
	matchSmall       = 1_000     // indicators in the index the large one is compared with
	matchRounds      = 5         // timed rounds per side, alternating; the best counts
	fullProbes       = 20_000    // observations in the full-pattern figure
	unanchoredMax    = 1_000     // unanchored patterns in the largest unanchored index
	matchProbes      = 1_000_000 // observables in the exact-value and IP figures
	exactBatch       = 256       // observables per LookupAll call
)

// matchAt is the time matches are made at; every generated indicator is
// valid then.
var matchAt = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// probe is one observable looked up.
type probe struct {
	typ, path, value string
	hit              bool
	prop             match.Property // typ and path, resolved
}

// matchFigures measures the indicator index (match.Index) against bare
// structures holding the same values, in this process:
//
//   - exact values: LookupAll, in batches of exactBatch, of domains, URLs
//     and SHA-256 hashes among MatchN indicators, half the probes hitting,
//     vs a bare map[string]struct{} of the same values; Lookup of one
//     value at a time beside it, for the record;
//   - addresses: Lookup of IPv4 addresses among MatchN ISSUBSET indicators
//     (single addresses and blocks), half hitting, vs a bare bart.Table
//     holding the same blocks: netip.ParseAddr and Table.Lookup;
//   - full patterns: Match of whole observations against indicators that
//     need evaluation ([file:hashes.'SHA-256' = … AND file:size > 100],
//     [network-traffic:dst_ref.value = … AND network-traffic:dst_port =
//     443]) at MatchN vs matchSmall indicators, and what unanchored
//     patterns add to every observation;
//   - compiling: time and peak heap to load MatchN indicators, and the heap
//     the two indexes keep vs a bare map (value → indicator id) and a bare
//     bart.Table (block → indicator id) holding the same values.
//
// Each timing is the best of matchRounds rounds, the two sides alternating,
// so that other load on the machine affects both alike and slows neither's
// best round much.
func (r *runner) matchFigures(ctx context.Context) error {
	n := r.cfg.MatchN
	rng := rand.New(rand.NewPCG(r.cfg.Seed, 0x1de))
	gen := Indicators{Seed: r.cfg.Seed + 11}
	exactKept, mapHeap, err := r.exactFigures(rng, gen, n)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	ipKept, tableHeap, err := r.addressFigures(rng, gen, n)
	if err != nil {
		return err
	}
	kept, bare := exactKept+ipKept, mapHeap+tableHeap
	memRatio := float64(kept) / float64(max(bare, 1))
	r.figure(true, memRatio < targetIndexMem,
		"memory    the two indexes keep %s MB vs %s MB for a bare map[value]id (%s MB) and bart.Table[id] (%s MB) of the same values and ids = %.2f× (target < %.0f×)",
		mb(kept), mb(bare), mb(mapHeap), mb(tableHeap), memRatio, targetIndexMem)
	if err := ctx.Err(); err != nil {
		return err
	}
	return r.fullFigures(rng, gen, n)
}

// exactFigures measures Lookup of exact values and returns the heap the
// index keeps and the heap a bare map of value to id keeps.
func (r *runner) exactFigures(rng *rand.Rand, gen Indicators, n int) (kept, bare int64, err error) {
	values, kinds := exactValues(rng, n)
	inds := make([]match.Indicator, n)
	for i := range n {
		inds[i] = match.Indicator{ID: gen.ID(i), Pattern: exactPattern(kinds[i], values[i])}
	}
	probes := exactProbes(rng, values, kinds, min(matchProbes, 2*n))
	set := make(map[string]struct{}, n)
	for _, v := range values {
		set[v] = struct{}{}
	}
	// Everything above stays alive until both heaps are measured, so
	// that nothing else is collected between the readings.
	defer runtime.KeepAlive([]any{values, kinds, inds, probes, set})
	ix, load, err := loadIndex(inds)
	if err != nil {
		return 0, 0, err
	}
	bare = heapOf(func() any {
		m := make(map[string]string, n)
		for i, v := range values {
			m[strings.Clone(v)] = inds[i].ID
		}
		return m
	})
	// Properties are resolved once, as a caller mapping event fields to
	// SCO properties does.
	props := map[[2]string]match.Property{}
	for i := range probes {
		p := &probes[i]
		k := [2]string{p.typ, p.path}
		if _, ok := props[k]; !ok {
			if props[k], err = ix.Property(p.typ, p.path); err != nil {
				return 0, 0, err
			}
		}
		p.prop = props[k]
	}
	queries := make([]match.Query, len(probes))
	for i := range probes {
		queries[i] = match.Query{Property: probes[i].prop, Value: probes[i].value}
	}
	var allHits, oneHits, baseHits int
	var found []match.Found
	var dst []string
	best := alternateN(
		func() {
			allHits = 0
			for lo := 0; lo < len(queries); lo += exactBatch {
				found = ix.LookupAll(found[:0], queries[lo:min(lo+exactBatch, len(queries))], matchAt)
				allHits += len(found)
			}
		},
		func() {
			baseHits = 0
			for i := range probes {
				if _, ok := set[probes[i].value]; ok {
					baseHits++
				}
			}
		},
		func() {
			oneHits = 0
			for i := range probes {
				p := &probes[i]
				dst = ix.Lookup(dst[:0], p.prop, p.value, matchAt)
				oneHits += len(dst)
			}
		})
	allBest, baseBest, oneBest := best[0], best[1], best[2]
	if want := countHits(probes); allHits != want || oneHits != want || baseHits != want {
		return 0, 0, fmt.Errorf("exact values: LookupAll found %d hits, Lookup %d, bare map %d, expected %d", allHits, oneHits, baseHits, want)
	}
	idxRate, oneRate, baseRate := rate(len(probes), allBest), rate(len(probes), oneBest), rate(len(probes), baseBest)
	r.printf("baseline  bare map[string]struct{} of the same %s values, one lookup per probe: %s obs/s (%s per lookup, %s probes, half hitting)",
		comma(n), comma(int(baseRate)), nsPer(baseBest, len(probes)), comma(len(probes)))
	r.figure(true, idxRate >= targetExactRate,
		"exact     Index.LookupAll among %s indicators (domains, URLs, SHA-256), %d observables a call: %s obs/s on one goroutine, %s per observable (target >= %s obs/s)",
		comma(n), exactBatch, comma(int(idxRate)), nsPer(allBest, len(probes)), comma(targetExactRate))
	ratio := baseRate / idxRate
	r.figure(true, ratio <= targetExactRatio,
		"exact     Index.LookupAll vs bare map: %.2f× as long per observable (target <= %.1f×)", ratio, targetExactRatio)
	r.printf("          Index.Lookup of one observable a call: %s obs/s, %s each = %.2f× the bare map",
		comma(int(oneRate)), nsPer(oneBest, len(probes)), baseRate/oneRate)
	if err := r.exactMatch(ix, probes); err != nil {
		return 0, 0, err
	}
	r.loadLine("exact-value", n, load)
	st := ix.Stats()
	r.printf("          stats: %s direct, %d evaluated, %d unanchored, %s keys, %d properties",
		comma(st.Direct), st.Evaluated, st.Unanchored, comma(st.ExactKeys), st.Paths)
	runtime.KeepAlive(ix)
	return load.kept, bare, nil
}

// addressFigures measures Lookup of addresses among ISSUBSET indicators and
// returns the heap the index keeps and the heap a bare bart.Table of block
// to id keeps.
func (r *runner) addressFigures(rng *rand.Rand, gen Indicators, n int) (kept, bare int64, err error) {
	blocks := ipBlocks(rng, n)
	inds := make([]match.Indicator, n)
	for i, b := range blocks {
		inds[i] = match.Indicator{ID: gen.ID(n + i), Pattern: "[ipv4-addr:value ISSUBSET '" + b.String() + "']"}
	}
	var table bart.Table[uint32]
	for i, b := range blocks {
		table.Insert(b, uint32(i))
	}
	probes := ipProbeList(rng, blocks, &table, min(matchProbes, 2*n))
	addrs := make([]netip.Addr, len(probes))
	for i := range probes {
		addrs[i] = netip.MustParseAddr(probes[i].value)
	}
	defer runtime.KeepAlive([]any{blocks, inds, &table, probes, addrs})
	ix, load, err := loadIndex(inds)
	if err != nil {
		return 0, 0, err
	}
	bare = heapOf(func() any {
		t := new(bart.Table[string])
		for i, b := range blocks {
			t.Insert(b, inds[i].ID)
		}
		return t
	})
	prop, err := ix.Property("ipv4-addr", "value")
	if err != nil {
		return 0, 0, err
	}
	var hits, baseHits int
	var dst []string
	idxBest, baseBest := alternate(
		func() {
			hits = 0
			for i := range probes {
				dst = ix.Lookup(dst[:0], prop, probes[i].value, matchAt)
				if len(dst) > 0 {
					hits++
				}
			}
		},
		func() {
			baseHits = 0
			for i := range probes {
				a, err := netip.ParseAddr(probes[i].value)
				if err != nil {
					continue
				}
				if _, ok := table.Lookup(a); ok {
					baseHits++
				}
			}
		})
	if hits != baseHits || hits != countHits(probes) {
		return 0, 0, fmt.Errorf("addresses: index found %d hits, bare table %d, expected %d", hits, baseHits, countHits(probes))
	}
	_, parsedBest := alternate(func() {}, func() {
		for _, a := range addrs {
			table.Lookup(a)
		}
	})
	idxRate, baseRate := rate(len(probes), idxBest), rate(len(probes), baseBest)
	r.printf("baseline  bare bart.Table of the same %s blocks, netip.ParseAddr + Table.Lookup: %s obs/s (%s each; Lookup alone on parsed addresses %s)",
		comma(n), comma(int(baseRate)), nsPer(baseBest, len(probes)), nsPer(parsedBest, len(addrs)))
	share := idxRate / baseRate
	r.figure(true, share >= targetIPShare,
		"address   Index.Lookup among %s ISSUBSET indicators (80%% /32, 15%% /24, 5%% /20): %s obs/s, %s each = %.0f%% of baseline (target >= %.0f%%)",
		comma(n), comma(int(idxRate)), nsPer(idxBest, len(probes)), 100*share, 100*targetIPShare)
	r.loadLine("address", n, load)
	runtime.KeepAlive(ix)
	return load.kept, bare, nil
}

// loadLine prints what loading an index cost.
func (r *runner) loadLine(what string, n int, load loadStats) {
	r.printf("compile   %s %s indicators: %s (CPU %s) = %s indicators/s, peak heap %s MB above the input, index keeps %s MB (%d bytes/indicator)",
		comma(n), what, secs(load.elapsed), secs(load.cpu), comma(int(rate(n, load.elapsed))), mb(load.peak), mb(load.kept), load.kept/int64(n))
}

// exactMatch times Index.Match on observations of one observable each, for
// the record: the whole path, walking the object, beside Lookup's.
func (r *runner) exactMatch(ix *match.Index, probes []probe) error {
	obs := make([]match.Observation, min(len(probes), 100_000))
	want := 0
	for i := range obs {
		p := &probes[i]
		props := map[string]any{"type": p.typ}
		if p.path == "value" {
			props["value"] = p.value
		} else {
			props["hashes"] = map[string]any{"SHA-256": p.value}
		}
		obs[i] = match.NewObservation(fmt.Sprintf("observed-data--%d", i), matchAt, matchAt, 1,
			[]match.Object{{Ref: "0", Type: p.typ, Props: props}})
		if p.hit {
			want++
		}
	}
	ats := make([]time.Time, exactBatch)
	for i := range ats {
		ats[i] = matchAt
	}
	got, gotAll := 0, 0
	best, bestAll := alternate(func() {
		got = 0
		for i := range obs {
			got += len(ix.Match(&obs[i], matchAt))
		}
	}, func() {
		gotAll = 0
		for lo := 0; lo < len(obs); lo += exactBatch {
			part := obs[lo:min(lo+exactBatch, len(obs))]
			for _, hits := range ix.MatchAll(part, ats[:len(part)]) {
				gotAll += len(hits)
			}
		}
	})
	if got != want || gotAll != want {
		return fmt.Errorf("exact values: Match found %d hits, MatchAll %d, want %d", got, gotAll, want)
	}
	r.printf("          Index.Match of observations holding one of those observables: %s obs/s, %s each; MatchAll, %d a call: %s obs/s, %s each",
		comma(int(rate(len(obs), best))), nsPer(best, len(obs)), exactBatch, comma(int(rate(len(obs), bestAll))), nsPer(bestAll, len(obs)))
	return nil
}

// fullFigures compares Match at N indicators that need evaluation with
// Match at matchSmall, and measures unanchored patterns.
func (r *runner) fullFigures(rng *rand.Rand, gen Indicators, n int) error {
	hashes := make([]string, n)
	addrs := make([]string, n)
	inds := make([]match.Indicator, n)
	for i := range n {
		id := gen.ID(2*n + i)
		if i%2 == 0 {
			hashes[i] = randomHex(rng, 32)
			inds[i] = match.Indicator{ID: id, Pattern: "[file:hashes.'SHA-256' = '" + hashes[i] + "' AND file:size > 100]"}
		} else {
			addrs[i] = fmt.Sprintf("%d.%d.%d.%d", 1+i%223, (i>>16)&255, (i>>8)&255, i&255)
			inds[i] = match.Indicator{ID: id, Pattern: "[network-traffic:dst_ref.value = '" + addrs[i] + "' AND network-traffic:dst_port = 443]"}
		}
	}
	// The probes hit only the first matchSmall indicators, which both
	// indexes hold, so both do the same work but for the size of their
	// tables.
	obs := make([]match.Observation, fullProbes)
	want := 0
	for k := range obs {
		i := rng.IntN(min(matchSmall, n))
		hit := k%2 == 0
		id := fmt.Sprintf("observed-data--%d", k)
		if i%2 == 0 {
			h := hashes[i]
			if !hit {
				h = randomHex(rng, 32)
			}
			obs[k] = match.NewObservation(id, matchAt, matchAt, 1, []match.Object{{Ref: "0", Type: "file",
				Props: map[string]any{"type": "file", "name": "a.bin", "size": 4096, "hashes": map[string]any{"SHA-256": h}}}})
		} else {
			a := addrs[i]
			if !hit {
				a = fmt.Sprintf("%d.%d.%d.%d", 224+rng.IntN(16), rng.IntN(256), rng.IntN(256), rng.IntN(256))
			}
			obs[k] = match.NewObservation(id, matchAt, matchAt, 1, []match.Object{
				{Ref: "0", Type: "ipv4-addr", Props: map[string]any{"type": "ipv4-addr", "value": a}},
				{Ref: "1", Type: "network-traffic", Props: map[string]any{"type": "network-traffic", "dst_ref": "0",
					"dst_port": 443, "protocols": []any{"tcp"}}},
			})
		}
		if hit {
			want++
		}
	}
	small, _, err := loadIndex(inds[:min(matchSmall, n)])
	if err != nil {
		return err
	}
	large, load, err := loadIndex(inds)
	if err != nil {
		return err
	}
	run := func(ix *match.Index) func() {
		return func() {
			got := 0
			for i := range obs {
				got += len(ix.Match(&obs[i], matchAt))
			}
			if got != want {
				panic(fmt.Sprintf("full patterns: %d hits, want %d", got, want))
			}
		}
	}
	largeBest, smallBest := alternate(run(large), run(small))
	ratio := float64(largeBest) / float64(max(smallBest, 1))
	r.printf("baseline  Index.Match at %s evaluated indicators ([file:hashes.'SHA-256' = … AND file:size > 100], [network-traffic:dst_ref.value = … AND dst_port = 443]): %s per observation, half hitting",
		comma(min(matchSmall, n)), nsPer(smallBest, len(obs)))
	r.figure(true, ratio <= targetFullScale,
		"full      Index.Match at %s evaluated indicators: %s per observation = %.2f× the cost at %s (target <= %.0f×)",
		comma(n), nsPer(largeBest, len(obs)), ratio, comma(min(matchSmall, n)), targetFullScale)
	r.loadLine("evaluated", n, load)
	large = nil
	runtime.GC()

	// Unanchored patterns are evaluated for every observation holding an
	// object of a type they name: here every observation holds one.
	var costs []string
	var base time.Duration
	for _, u := range []int{0, 100, unanchoredMax} {
		ix, _, err := loadIndex(unanchored(gen, u, inds[:min(matchSmall, n)]))
		if err != nil {
			return err
		}
		best, _ := alternate(func() {
			for i := range obs {
				ix.Match(&obs[i], matchAt)
			}
		}, func() {})
		per := best / time.Duration(len(obs))
		if u == 0 {
			base = per
			costs = append(costs, fmt.Sprintf("%s with none", dur(per)))
			continue
		}
		costs = append(costs, fmt.Sprintf("%s with %s (%s each)", dur(per), comma(u), dur((per-base)/time.Duration(u))))
	}
	r.printf("unanchored Index.Match per observation, beside the %s evaluated indicators, with unanchored patterns (LIKE, MATCHES, >) that every observation triggers: %s",
		comma(min(matchSmall, n)), strings.Join(costs, ", "))
	return nil
}

// unanchored returns the indicators of small plus u unanchored ones: half
// on file names, half on network-traffic ports, so every probe
// observation evaluates u/2 of them.
func unanchored(gen Indicators, u int, small []match.Indicator) []match.Indicator {
	out := slices.Clone(small)
	for i := range u {
		p := fmt.Sprintf("[file:name LIKE '%%x%d%%']", i)
		switch i % 4 {
		case 1:
			p = fmt.Sprintf("[network-traffic:dst_port > %d]", 60000+i)
		case 2:
			p = fmt.Sprintf("[file:name MATCHES '^evil-%d']", i)
		case 3:
			p = fmt.Sprintf("[network-traffic:dst_port < %d AND network-traffic:dst_port > %d]", 10+i, i)
		}
		out = append(out, match.Indicator{ID: gen.ID(5_000_000 + i), Pattern: p})
	}
	return out
}

// loadStats are the cost of loading an index.
type loadStats struct {
	elapsed    time.Duration
	cpu        time.Duration // of the whole process, garbage collection included
	peak, kept int64         // heap bytes above what was in use before
}

// loadIndex loads inds into a new index in one Update, sampling the heap
// meanwhile, and reports the time, the peak heap and the heap the index
// keeps once garbage is collected. Every pattern must be evaluable.
func loadIndex(inds []match.Indicator) (*match.Index, loadStats, error) {
	var ls loadStats
	before := liveHeap()
	stop := sampleHeap()
	start, cpu := time.Now(), selfCPU()
	ix := match.NewIndex()
	errs := ix.Update(inds, nil)
	ls.elapsed, ls.cpu = time.Since(start), selfCPU()-cpu
	ls.peak = stop() - before
	if len(errs) > 0 {
		return nil, ls, fmt.Errorf("loading the index: %d patterns not evaluable, the first: %v", len(errs), errs[0])
	}
	ls.kept = liveHeap() - before
	return ix, ls, nil
}

// heapOf returns the heap that what build returns keeps.
func heapOf(build func() any) int64 {
	before := liveHeap()
	v := build()
	kept := liveHeap() - before
	runtime.KeepAlive(v)
	return kept
}

// liveHeap collects garbage and returns the bytes of live heap objects.
func liveHeap() int64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// sampleHeap watches the heap until the returned function is called, which
// returns the largest size seen.
func sampleHeap() func() int64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak int64
	var mu sync.Mutex
	done := make(chan struct{})
	finished := make(chan struct{})
	read := func() {
		metrics.Read(s)
		mu.Lock()
		peak = max(peak, int64(s[0].Value.Uint64()))
		mu.Unlock()
	}
	go func() {
		defer close(finished)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			read()
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() int64 {
		close(done)
		<-finished
		read()
		mu.Lock()
		defer mu.Unlock()
		return peak
	}
}

// alternate times a and b matchRounds times each, alternating, and returns
// the best round of each.
func alternate(a, b func()) (bestA, bestB time.Duration) {
	best := alternateN(a, b)
	return best[0], best[1]
}

// alternateN times each of fs matchRounds times, in turn, and returns the
// best time of each.
func alternateN(fs ...func()) []time.Duration {
	best := make([]time.Duration, len(fs))
	for i := range best {
		best[i] = time.Duration(1 << 62)
	}
	for range matchRounds {
		for i, f := range fs {
			start := time.Now()
			f()
			best[i] = min(best[i], time.Since(start))
		}
	}
	return best
}

func nsPer(d time.Duration, n int) string { return dur(d / time.Duration(max(n, 1))) }

func countHits(ps []probe) int {
	n := 0
	for i := range ps {
		if ps[i].hit {
			n++
		}
	}
	return n
}

// Exact-value kinds.
const (
	kindDomain = iota
	kindURL
	kindSHA256
)

var tlds = []string{"com", "net", "org", "ru", "cn", "io", "info", "xyz", "top", "biz"}

// exactValues returns n distinct values, a third each of domains, URLs and
// SHA-256 hashes, and the kind of each.
func exactValues(rng *rand.Rand, n int) ([]string, []int) {
	values := make([]string, 0, n)
	kinds := make([]int, 0, n)
	seen := make(map[string]struct{}, n)
	for len(values) < n {
		k := len(values) % 3
		v := randomValue(rng, k)
		if _, dup := seen[v]; dup {
			continue
		}
		seen[v] = struct{}{}
		values = append(values, v)
		kinds = append(kinds, k)
	}
	return values, kinds
}

func randomValue(rng *rand.Rand, kind int) string {
	switch kind {
	case kindDomain:
		return randomLabel(rng, 5+rng.IntN(10)) + "." + randomLabel(rng, 3+rng.IntN(6)) + "." + tlds[rng.IntN(len(tlds))]
	case kindURL:
		return "http://" + randomLabel(rng, 4+rng.IntN(8)) + "." + tlds[rng.IntN(len(tlds))] + "/" +
			randomLabel(rng, 4+rng.IntN(12)) + "/" + randomLabel(rng, 6) + ".php?id=" + randomHex(rng, 4)
	}
	return randomHex(rng, 32)
}

func randomLabel(rng *rand.Rand, n int) string {
	const letters = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = letters[rng.IntN(26+10*min(i, 1))]
	}
	return string(b)
}

func randomHex(rng *rand.Rand, bytes int) string {
	b := make([]byte, bytes)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return hex.EncodeToString(b)
}

func exactPattern(kind int, v string) string {
	lit := pattern.StringLit(v).String()
	switch kind {
	case kindDomain:
		return "[domain-name:value = " + lit + "]"
	case kindURL:
		return "[url:value = " + lit + "]"
	}
	return "[file:hashes.'SHA-256' = " + lit + "]"
}

// exactProbes returns n probes in random order, half of them values held.
func exactProbes(rng *rand.Rand, values []string, kinds []int, n int) []probe {
	held := make(map[string]struct{}, len(values))
	for _, v := range values {
		held[v] = struct{}{}
	}
	out := make([]probe, n)
	for i := range out {
		var k int
		var v string
		hit := i%2 == 0
		if hit {
			// A copy: observed values never share memory with the
			// index's keys, whose comparison would then be free.
			j := rng.IntN(len(values))
			k, v = kinds[j], strings.Clone(values[j])
		} else {
			for {
				k = rng.IntN(3)
				v = randomValue(rng, k)
				if _, ok := held[v]; !ok {
					break
				}
			}
		}
		p := probe{value: v, hit: hit, path: "value"}
		switch k {
		case kindDomain:
			p.typ = "domain-name"
		case kindURL:
			p.typ = "url"
		default:
			p.typ, p.path = "file", "hashes.'SHA-256'"
		}
		out[i] = p
	}
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// ipBlocks returns n distinct IPv4 blocks in public-looking space: 80%
// single addresses, 15% /24, 5% /20.
func ipBlocks(rng *rand.Rand, n int) []netip.Prefix {
	out := make([]netip.Prefix, 0, n)
	seen := make(map[netip.Prefix]struct{}, n)
	for len(out) < n {
		a := netip.AddrFrom4([4]byte{byte(1 + rng.IntN(223)), byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))})
		bits := 32
		switch x := rng.IntN(100); {
		case x < 5:
			bits = 20
		case x < 20:
			bits = 24
		}
		p := netip.PrefixFrom(a, bits).Masked()
		if _, dup := seen[p]; dup {
			continue
		}
		seen[p] = struct{}{}
		out = append(out, p)
	}
	return out
}

// ipProbeList returns n address probes, half inside a block of blocks and
// half in none (checked against t).
func ipProbeList(rng *rand.Rand, blocks []netip.Prefix, t *bart.Table[uint32], n int) []probe {
	out := make([]probe, n)
	for i := range out {
		var a netip.Addr
		hit := i%2 == 0
		if hit {
			b := blocks[rng.IntN(len(blocks))]
			a4 := b.Addr().As4()
			host := rng.Uint32() & (1<<(32-b.Bits()) - 1)
			if b.Bits() == 32 {
				host = 0
			}
			v := uint32(a4[0])<<24 | uint32(a4[1])<<16 | uint32(a4[2])<<8 | uint32(a4[3]) | host
			a = netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
		} else {
			for {
				a = netip.AddrFrom4([4]byte{byte(1 + rng.IntN(223)), byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))})
				if !t.Contains(a) {
					break
				}
			}
		}
		out[i] = probe{typ: "ipv4-addr", path: "value", value: a.String(), hit: hit}
	}
	return out
}

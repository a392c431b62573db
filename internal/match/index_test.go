package match

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/setu-cti/setu/internal/stix/pattern"
)

// The index must agree with plain evaluation: for every indicator valid at
// the time, Compile+Match of its pattern against the observation alone,
// both with hash names canonical. These tests generate indicator sets and
// observations from a seed and compare the two after additions,
// replacements, removals and rebuilds.

var (
	t0 = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	t1 = t0.Add(24 * time.Hour)
	t2 = t1.Add(24 * time.Hour)
)

// gen generates patterns and observations from small pools of values, so
// that hits are frequent.
type gen struct {
	r *rand.Rand
	// variants: spell hash names in several ways on both sides.
	variants bool
}

var (
	genDomains = []string{"evil.com", "Evil.com", "c2.xyz", "a'b.org", "x.example.net"}
	genURLs    = []string{"http://evil.com/x", "https://c2.xyz/a?b=1", "http://10.0.0.5/"}
	genSHA     = []string{
		"aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f",
		"AEC070645FE53EE3B3763059376134F058CC337247C978ADD178B6CCDFB0019F",
		"bf07a7fbb825fc0aae7bf4a1177b2b31fcf8a3feeaf7092761e18c859ee52a9c",
	}
	genMD5      = []string{"79054025255fb1a26e4bc422aef54eb4", "cead3f77f6cda6ec00f57d76c9a6879f"}
	genIPs      = []string{"10.0.0.5", "10.1.2.3", "198.51.100.7", "8.8.8.8", "10.0.0.0/16", "::ffff:10.0.0.5", "not-an-ip", "10.0.0.5/32"}
	genCIDRs    = []string{"10.0.0.0/8", "10.0.0.0/24", "198.51.100.0/24", "8.8.8.8/32", "0.0.0.0/0", "10.0.0.5", "::ffff:10.0.0.5", "10.0.0.7/8"}
	genIP6      = []string{"2001:db8::1", "fe80::1", "2001:db8::/48", "2001:db8::1%eth0"}
	genCIDR6    = []string{"2001:db8::/32", "2001:db8::1/128", "fe80::/10", "2001:db8::1"}
	genNames    = []string{"a.exe", "setup.exe", "A.EXE"}
	genEmails   = []string{"a@evil.com", "b@c2.xyz"}
	genHashKeys = []string{"'SHA-256'", "SHA256", "sha256", "'sha-256'", "'SHA_256'"}
	genBroken   = []string{
		"[domain-name:value = ",
		"[file:name MATCHES '(?<=x)y']",
		"[ipv4-addr:value ISSUBSET '10.0.0.0/33']",
		"[a:b = 1] AND [a:c NOT ISSUBSET 'fe80::/1x']",
		"",
	}
)

func (g *gen) pick(s []string) string { return s[g.r.IntN(len(s))] }

func q(s string) string { return pattern.StringLit(s).String() }

func (g *gen) hashKey() string {
	if g.variants {
		return g.pick(genHashKeys)
	}
	return "'SHA-256'"
}

func (g *gen) comparison() string {
	switch g.r.IntN(22) {
	case 0, 1:
		return "domain-name:value = " + q(g.pick(genDomains))
	case 2:
		return "domain-name:value IN (" + q(g.pick(genDomains)) + ", " + q(g.pick(genDomains)) + ")"
	case 3:
		if g.r.IntN(2) == 0 {
			return "domain-name:value LIKE " + q(g.pick(genDomains))
		}
		return "domain-name:value LIKE '%.com'"
	case 4:
		return "domain-name:value MATCHES '^[eE]vil'"
	case 5:
		if g.r.IntN(2) == 0 {
			return "domain-name:value != " + q(g.pick(genDomains))
		}
		return "domain-name:value NOT = " + q(g.pick(genDomains))
	case 6:
		return "url:value = " + q(g.pick(genURLs))
	case 7, 8:
		h := g.pick(genSHA)
		if g.r.IntN(4) == 0 {
			return "file:hashes." + g.hashKey() + " = h'" + h + "'"
		}
		return "file:hashes." + g.hashKey() + " = " + q(h)
	case 9:
		if g.r.IntN(2) == 0 {
			return "file:name = " + q(g.pick(genNames))
		}
		return "file:name LIKE '%.exe'"
	case 10:
		return "file:size " + g.pick([]string{">", "=", "<="}) + " 100"
	case 11, 12:
		switch g.r.IntN(4) {
		case 0:
			return "ipv4-addr:value = " + q(g.pick(genIPs))
		case 1:
			return "ipv4-addr:value ISSUPERSET " + q(g.pick(genCIDRs))
		case 2:
			return "ipv4-addr:value NOT ISSUBSET " + q(g.pick(genCIDRs))
		}
		return "ipv4-addr:value ISSUBSET " + q(g.pick(genCIDRs))
	case 13:
		if g.r.IntN(2) == 0 {
			return "ipv6-addr:value ISSUBSET " + q(g.pick(genCIDR6))
		}
		return "ipv6-addr:value = " + q(g.pick(genIP6))
	case 14:
		if g.r.IntN(2) == 0 {
			return "network-traffic:dst_ref.value ISSUBSET " + q(g.pick(genCIDRs))
		}
		return "network-traffic:dst_ref.value = " + q(g.pick(genIPs))
	case 15:
		return "network-traffic:dst_port = " + g.pick([]string{"443", "80"})
	case 16:
		if g.r.IntN(2) == 0 {
			return "email-message:to_refs[*].value = " + q(g.pick(genEmails))
		}
		return "email-message:to_refs[0].value = " + q(g.pick(genEmails))
	case 17:
		return "artifact:payload_bin = " + g.pick([]string{"b'AQID'", "h'010203'", "b'AQIE'"})
	case 18:
		return "EXISTS file:name"
	case 19:
		return "domain-name:value IN ()"
	case 20:
		return "x-thing:tags[*] = " + q(g.pick([]string{"red", "blue"}))
	default:
		return "file:hashes.MD5 = h'" + strings.ToUpper(g.pick(genMD5)) + "'"
	}
}

func (g *gen) comparisonExpr() string {
	if g.r.IntN(10) < 6 {
		return g.comparison()
	}
	n := 2 + g.r.IntN(2)
	parts := make([]string, n)
	for i := range parts {
		parts[i] = g.comparison()
		if g.r.IntN(5) == 0 {
			parts[i] = "(" + g.comparison() + " OR " + g.comparison() + ")"
		}
	}
	return strings.Join(parts, g.pick([]string{" AND ", " OR "}))
}

func (g *gen) pattern() string {
	if g.r.IntN(25) == 0 {
		return g.pick(genBroken)
	}
	br := func() string { return "[" + g.comparisonExpr() + "]" }
	switch g.r.IntN(14) {
	case 0:
		return br() + " AND " + br()
	case 1:
		return br() + " OR " + br()
	case 2:
		return br() + " FOLLOWEDBY " + br()
	case 3:
		return br() + " REPEATS 2 TIMES"
	case 4:
		return br() + " WITHIN 10 SECONDS"
	case 5:
		return "(" + br() + " AND " + br() + ") WITHIN 5 SECONDS"
	case 6:
		return br() + " START t'2020-01-01T00:00:00Z' STOP t'2020-01-01T00:00:30Z'"
	}
	return br()
}

func (g *gen) time() time.Time {
	return []time.Time{{}, t0, t1, t2}[g.r.IntN(4)]
}

func (g *gen) indicator(id string, mod time.Time) Indicator {
	ind := Indicator{ID: id, Modified: mod, Pattern: g.pattern()}
	if g.r.IntN(3) == 0 {
		ind.ValidFrom = g.time()
		ind.ValidUntil = g.time()
	}
	return ind
}

func (g *gen) at() time.Time {
	return []time.Time{t0.Add(-time.Hour), t0, t1, t2, t2.Add(time.Hour)}[g.r.IntN(5)]
}

// observation builds a STIX 2.0 observed-data of one to four observables
// and reads it the way Observations does.
func (g *gen) observation(t testing.TB, id string) Observation {
	t.Helper()
	objs := map[string]any{}
	key := func() string { return strconv.Itoa(len(objs)) }
	n := 1 + g.r.IntN(4)
	for range n {
		switch g.r.IntN(10) {
		case 0:
			objs[key()] = map[string]any{"type": "domain-name", "value": g.pick(genDomains)}
		case 1:
			objs[key()] = map[string]any{"type": "url", "value": g.pick(genURLs)}
		case 2, 3:
			hk := "SHA-256"
			if g.variants {
				hk = strings.Trim(g.pick(genHashKeys), "'")
			}
			h := map[string]any{hk: g.pick(genSHA)}
			if g.r.IntN(2) == 0 {
				h["MD5"] = g.pick(genMD5)
			}
			if g.variants && g.r.IntN(4) == 0 {
				h["SHA-256"] = g.pick(genSHA)
			}
			objs[key()] = map[string]any{"type": "file", "name": g.pick(genNames),
				"size": json.Number(g.pick([]string{"50", "100", "150"})), "hashes": h}
		case 4:
			objs[key()] = map[string]any{"type": "ipv4-addr", "value": g.pick(genIPs)}
		case 5:
			objs[key()] = map[string]any{"type": "ipv6-addr", "value": g.pick(genIP6)}
		case 6:
			ip := key()
			objs[ip] = map[string]any{"type": "ipv4-addr", "value": g.pick(genIPs)}
			objs[key()] = map[string]any{"type": "network-traffic", "dst_ref": ip,
				"dst_port": json.Number(g.pick([]string{"443", "80"})), "protocols": []any{"tcp"}}
		case 7:
			var refs []any
			for range 1 + g.r.IntN(2) {
				k := key()
				objs[k] = map[string]any{"type": "email-addr", "value": g.pick(genEmails)}
				refs = append(refs, k)
			}
			objs[key()] = map[string]any{"type": "email-message", "is_multipart": false, "to_refs": refs}
		case 8:
			objs[key()] = map[string]any{"type": "artifact", "payload_bin": g.pick([]string{"AQID", "AQIE", "010203"})}
		default:
			objs[key()] = map[string]any{"type": "x-thing", "tags": []any{g.pick([]string{"red", "blue"}), "green"}}
		}
	}
	first := time.Date(2020, 1, 1, 0, 0, g.r.IntN(40), 0, time.UTC)
	od := map[string]any{
		"type": "observed-data", "id": id,
		"first_observed":  first.Format(time.RFC3339),
		"last_observed":   first.Add(time.Duration(g.r.IntN(8)) * time.Second).Format(time.RFC3339),
		"number_observed": json.Number(strconv.Itoa(1 + g.r.IntN(3))),
		"objects":         objs,
	}
	obs, err := Observations([]map[string]any{od})
	if err != nil || len(obs) != 1 {
		t.Fatalf("observation: %v", err)
	}
	return obs[0]
}

// oracle evaluates every indicator on its own.
type oracle struct {
	inds map[string]Indicator
	// raw: evaluate without putting hash names in canonical form.
	raw bool
	// compiled caches each pattern's Matcher, nil when it does not
	// compile, and whether it is direct.
	compiled map[string]oracleEntry
}

type oracleEntry struct {
	m      *Matcher
	direct bool
}

func (o *oracle) matcher(src string) oracleEntry {
	if e, ok := o.compiled[src]; ok {
		return e
	}
	if o.compiled == nil {
		o.compiled = map[string]oracleEntry{}
	}
	var e oracleEntry
	if p, err := pattern.Parse(src); err == nil {
		e.direct = direct(p)
		if !o.raw {
			p = normalizePattern(p)
		}
		if m, err := Compile(p); err == nil {
			e.m = m
		}
	}
	o.compiled[src] = e
	return e
}

func (o *oracle) match(t testing.TB, ob *Observation, at time.Time) []Hit {
	t.Helper()
	var out []Hit
	for _, id := range slices.Sorted(maps.Keys(o.inds)) {
		ind := o.inds[id]
		if !ind.ValidFrom.IsZero() && at.Before(ind.ValidFrom) || !ind.ValidUntil.IsZero() && !at.Before(ind.ValidUntil) {
			continue
		}
		m := o.matcher(ind.Pattern).m
		if m == nil {
			continue
		}
		one := []Observation{*ob}
		if !o.raw {
			one = []Observation{*normalizeObservation(ob)}
		}
		if r, ok := m.Match(one); ok {
			out = append(out, Hit{IndicatorID: id, Result: r})
		}
	}
	return out
}

// direct reports whether the index should answer p from its tables, by the
// rule Lookup documents.
func direct(p *pattern.Pattern) bool {
	o, ok := p.Expr.(*pattern.Observation)
	if !ok {
		return false
	}
	var exact func(x pattern.ComparisonExpr) bool
	lit := func(v pattern.Value) bool {
		switch v.(type) {
		case pattern.StringLit, pattern.HexLit, pattern.BinaryLit:
			return true
		}
		return false
	}
	exact = func(x pattern.ComparisonExpr) bool {
		switch x := x.(type) {
		case *pattern.CompoundComparison:
			if x.Op != pattern.Or {
				return false
			}
			for _, o := range x.Operands {
				if !exact(o) {
					return false
				}
			}
			return true
		case *pattern.Comparison:
			if x.Negated {
				return false
			}
			switch x.Op {
			case pattern.Equal:
				return lit(x.Value)
			case pattern.In:
				for _, v := range x.Value.(pattern.SetLit) {
					if !lit(v) {
						return false
					}
				}
				return true
			case pattern.Like:
				s := string(x.Value.(pattern.StringLit))
				return !strings.ContainsAny(s, "%_")
			case pattern.IsSubset, pattern.IsSuperset:
				return true
			}
		}
		return false
	}
	return exact(o.Expr)
}

// lookup is the oracle for Index.Lookup: the direct indicators that an
// observation holding one object with this property value satisfies.
func (o *oracle) lookup(t testing.TB, typ, path, value string, at time.Time) []string {
	t.Helper()
	_, steps, ok := parseLookupPath(typ, path)
	if !ok {
		t.Fatalf("bad lookup path %s:%s", typ, path)
	}
	obj := map[string]any{"type": typ}
	cur := obj
	for i, st := range steps {
		if i == len(steps)-1 {
			cur[st.Key] = value
			break
		}
		next := map[string]any{}
		cur[st.Key] = next
		cur = next
	}
	obs, err := Observations([]map[string]any{{"type": "observed-data", "id": "observed-data--lookup",
		"first_observed": "2020-01-01T00:00:00Z", "objects": map[string]any{"0": obj}}})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, h := range o.match(t, &obs[0], at) {
		if o.matcher(o.inds[h.IndicatorID].Pattern).direct {
			ids = append(ids, h.IndicatorID)
		}
	}
	return ids
}

var lookupProbes = []struct{ typ, path string }{
	{"domain-name", "value"}, {"url", "value"}, {"file", "hashes.'SHA-256'"}, {"file", "hashes.sha256"},
	{"file", "name"}, {"ipv4-addr", "value"}, {"ipv6-addr", "value"}, {"artifact", "payload_bin"},
}

func (g *gen) lookupValue(typ, path string) string {
	switch typ {
	case "domain-name":
		return g.pick(genDomains)
	case "url":
		return g.pick(genURLs)
	case "file":
		if path == "name" {
			return g.pick(genNames)
		}
		return g.pick(genSHA)
	case "ipv4-addr":
		return g.pick(genIPs)
	case "ipv6-addr":
		return g.pick(genIP6)
	}
	return g.pick([]string{"AQID", "AQIE", "010203"})
}

func TestIndexAgrees(t *testing.T) {
	seeds := 100
	if testing.Short() {
		seeds = 30
	}
	for seed := range uint64(seeds) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Parallel()
			checkSeed(t, seed)
		})
	}
}

func checkSeed(t *testing.T, seed uint64) {
	g := &gen{r: rand.New(rand.NewPCG(seed, 0x5e7a)), variants: seed%2 == 1}
	var opts []IndexOption
	switch seed % 3 {
	case 1:
		opts = append(opts, WithRebuildThreshold(0))
	case 2:
		// A tiny threshold: batches are merged at once and background
		// rebuilds run while the comparisons go on.
		opts = append(opts, WithRebuildThreshold(3))
	}
	ix := NewIndex(opts...)
	defer ix.Wait()
	or := &oracle{inds: map[string]Indicator{}}
	raw := &oracle{raw: true}
	version := t0
	nextID := 0
	newInd := func() Indicator {
		nextID++
		return g.indicator(fmt.Sprintf("indicator--%04d", nextID), version)
	}

	apply := func(add []Indicator, remove []string) {
		t.Helper()
		errs := ix.Update(add, remove)
		want := 0
		for _, ind := range add {
			if cur, ok := or.inds[ind.ID]; ok && cur.Modified.After(ind.Modified) {
				continue
			}
			or.inds[ind.ID] = ind
			if p, err := pattern.Parse(ind.Pattern); err != nil {
				want++
			} else if _, err := Compile(normalizePattern(p)); err != nil {
				want++
			}
		}
		for _, id := range remove {
			delete(or.inds, id)
		}
		if len(errs) != want {
			t.Fatalf("seed %d: Update reported %d errors, want %d: %v", seed, len(errs), want, errs)
		}
		for _, err := range errs {
			var ie *IndicatorError
			if !errors.As(err, &ie) || ie.ID == "" || !strings.Contains(err.Error(), ie.ID) {
				t.Fatalf("seed %d: error %v does not name its indicator", seed, err)
			}
		}
	}
	compare := func(stage string) {
		t.Helper()
		var (
			batchObs  []Observation
			batchAt   []time.Time
			batchWant [][]Hit
		)
		for k := range 40 {
			ob := g.observation(t, fmt.Sprintf("observed-data--%d", k))
			at := g.at()
			want := or.match(t, &ob, at)
			got := ix.Match(&ob, at)
			batchObs, batchAt, batchWant = append(batchObs, ob), append(batchAt, at), append(batchWant, got)
			if d := cmp.Diff(want, got); d != "" {
				t.Fatalf("seed %d, %s, observation %d at %s: Match differs from evaluation (-want +got):\n%s\nobservation: %s",
					seed, stage, k, at.Format(time.RFC3339), d, dumpObservation(&ob))
			}
			if !g.variants {
				raw.inds = or.inds
				if d := cmp.Diff(raw.match(t, &ob, at), got); d != "" {
					t.Fatalf("seed %d, %s: Match differs from raw evaluation without hash name variants (-want +got):\n%s", seed, stage, d)
				}
			}
		}
		// MatchAll of the same observations: the same hits as Match,
		// with every observation's values looked up together.
		for k, got := range ix.MatchAll(batchObs, batchAt) {
			if d := cmp.Diff(batchWant[k], got); d != "" {
				t.Fatalf("seed %d, %s: MatchAll differs from Match for observation %d (-want +got):\n%s", seed, stage, k, d)
			}
		}
		for range 30 {
			pr := lookupProbes[g.r.IntN(len(lookupProbes))]
			v := g.lookupValue(pr.typ, pr.path)
			at := g.at()
			want := or.lookup(t, pr.typ, pr.path, v, at)
			got := lookup(t, ix, pr.typ, pr.path, v, at)
			slices.Sort(got)
			if d := cmp.Diff(want, got); d != "" {
				t.Fatalf("seed %d, %s: Lookup(%s, %s, %q) differs (-want +got):\n%s", seed, stage, pr.typ, pr.path, v, d)
			}
		}
		// LookupAll over more than one chunk, with queries that find
		// nothing by construction among them.
		at := g.at()
		var qs []Query
		var wants [][]string
		for k := range 2*lookupChunk + 7 {
			pr := lookupProbes[g.r.IntN(len(lookupProbes))]
			v := g.lookupValue(pr.typ, pr.path)
			p, err := ix.Property(pr.typ, pr.path)
			if err != nil {
				t.Fatal(err)
			}
			want := or.lookup(t, pr.typ, pr.path, v, at)
			if k%23 == 5 {
				p, want = Property{}, nil
			}
			qs = append(qs, Query{Property: p, Value: v})
			wants = append(wants, want)
		}
		gots := make([][]string, len(qs))
		for _, f := range ix.LookupAll(nil, qs, at) {
			gots[f.Query] = append(gots[f.Query], f.ID)
		}
		for k := range qs {
			slices.Sort(gots[k])
			if d := cmp.Diff(wants[k], gots[k]); d != "" {
				t.Fatalf("seed %d, %s: LookupAll query %d (%q) differs (-want +got):\n%s", seed, stage, k, qs[k].Value, d)
			}
		}
		st := ix.Stats()
		if st.Indicators != len(or.inds) {
			t.Fatalf("seed %d, %s: Stats.Indicators = %d, want %d (%+v)", seed, stage, st.Indicators, len(or.inds), st)
		}
		if sum := st.Direct + st.Evaluated + st.Unanchored + st.NeverMatch + st.NotEvaluable; sum != st.Indicators {
			t.Fatalf("seed %d, %s: forms add up to %d of %d (%+v)", seed, stage, sum, st.Indicators, st)
		}
	}

	var add []Indicator
	for range 60 {
		add = append(add, newInd())
	}
	apply(add, nil)
	compare("initial load")

	// Replace some, remove some, add some; an older version is ignored.
	version = version.Add(time.Hour)
	ids := slices.Sorted(maps.Keys(or.inds))
	add = nil
	var remove []string
	for _, id := range ids {
		switch g.r.IntN(6) {
		case 0:
			ind := g.indicator(id, version)
			add = append(add, ind)
		case 1:
			remove = append(remove, id)
		case 2:
			old := g.indicator(id, version.Add(-2*time.Hour))
			add = append(add, old)
		}
	}
	for range 10 {
		add = append(add, newInd())
	}
	apply(add, append(remove, "indicator--unknown"))
	compare("after update")

	ix.Rebuild()
	compare("after rebuild")

	version = version.Add(time.Hour)
	for round := range 5 {
		add, remove = nil, nil
		for range 1 + g.r.IntN(4) {
			if g.r.IntN(2) == 0 && nextID > 0 {
				add = append(add, g.indicator(fmt.Sprintf("indicator--%04d", 1+g.r.IntN(nextID)), version))
			} else {
				add = append(add, newInd())
			}
		}
		if g.r.IntN(2) == 0 {
			remove = append(remove, fmt.Sprintf("indicator--%04d", 1+g.r.IntN(nextID)))
		}
		apply(add, remove)
		compare(fmt.Sprintf("after small update %d", round))
	}
	ix.Wait()
	compare("after background rebuilds")
}

func dumpObservation(ob *Observation) string {
	var b strings.Builder
	for _, o := range ob.Objects {
		j, _ := json.Marshal(o.Props)
		fmt.Fprintf(&b, "\n  %s: %s", o.Ref, j)
	}
	return fmt.Sprintf("%s count %d%s", ob.ID, ob.Count, b.String())
}

// observe builds an observation of the given observables (as JSON), first
// observed at first.
func observe(t testing.TB, id string, first time.Time, count int, objects ...string) *Observation {
	t.Helper()
	emb := map[string]any{}
	for i, s := range objects {
		objs, err := DecodeObjects([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		emb[strconv.Itoa(i)] = objs[0]
	}
	obs, err := Observations([]map[string]any{{"type": "observed-data", "id": id,
		"first_observed": first.Format(time.RFC3339Nano), "number_observed": json.Number(strconv.Itoa(count)),
		"objects": emb}})
	if err != nil {
		t.Fatal(err)
	}
	return &obs[0]
}

// lookup resolves the property and looks the value up.
func lookup(t testing.TB, ix *Index, typ, path, value string, at time.Time) []string {
	p, err := ix.Property(typ, path)
	if err != nil {
		t.Errorf("Property(%q, %q): %v", typ, path, err)
		return nil
	}
	return ix.Lookup(nil, p, value, at)
}

func hitIDs(h []Hit) []string {
	var ids []string
	for _, x := range h {
		ids = append(ids, x.IndicatorID)
	}
	return ids
}

func TestIndexValidity(t *testing.T) {
	ix := NewIndex()
	ix.Update([]Indicator{
		{ID: "open", Pattern: "[domain-name:value = 'evil.com']"},
		{ID: "from", Pattern: "[domain-name:value = 'evil.com']", ValidFrom: t1},
		{ID: "until", Pattern: "[domain-name:value = 'evil.com']", ValidUntil: t1},
		{ID: "window", Pattern: "[domain-name:value = 'evil.com' AND domain-name:value != 'x']", ValidFrom: t0, ValidUntil: t2},
		{ID: "empty", Pattern: "[domain-name:value = 'evil.com']", ValidFrom: t1, ValidUntil: t1},
	}, nil)
	ob := observe(t, "observed-data--1", t0, 1, `{"type":"domain-name","value":"evil.com"}`)
	for _, tt := range []struct {
		at   time.Time
		want []string
	}{
		{t0.Add(-time.Nanosecond), []string{"open", "until"}},
		{t0, []string{"open", "until", "window"}},
		{t1.Add(-time.Nanosecond), []string{"open", "until", "window"}},
		{t1, []string{"from", "open", "window"}},
		{t2, []string{"from", "open"}},
	} {
		t.Run(tt.at.Format(time.RFC3339Nano), func(t *testing.T) {
			if d := cmp.Diff(tt.want, hitIDs(ix.Match(ob, tt.at))); d != "" {
				t.Errorf("Match (-want +got):\n%s", d)
			}
			got := lookup(t, ix, "domain-name", "value", "evil.com", tt.at)
			slices.Sort(got)
			want := slices.DeleteFunc(slices.Clone(tt.want), func(s string) bool { return s == "window" })
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("Lookup (-want +got):\n%s", d)
			}
		})
	}
}

func TestIndexNotEvaluable(t *testing.T) {
	ix := NewIndex()
	errs := ix.Update([]Indicator{
		{ID: "indicator--syntax", Pattern: "[domain-name:value = 'evil.com'"},
		{ID: "indicator--regexp", Pattern: "[file:name MATCHES '(?<=x)y']"},
		{ID: "indicator--cidr", Pattern: "[ipv4-addr:value ISSUBSET '10.0.0.0/33']"},
		{ID: "indicator--good", Pattern: "[domain-name:value = 'evil.com']"},
		{ID: "", Pattern: "[domain-name:value = 'evil.com']"},
	}, nil)
	if len(errs) != 4 {
		t.Fatalf("%d errors, want 4: %v", len(errs), errs)
	}
	var se *pattern.SyntaxError
	if !errors.As(errs[0], &se) || se.Line != 1 || se.Column != 32 {
		t.Errorf("syntax error %v: want a *pattern.SyntaxError at 1:32", errs[0])
	}
	for i, id := range []string{"indicator--syntax", "indicator--regexp", "indicator--cidr"} {
		var ie *IndicatorError
		if !errors.As(errs[i], &ie) || ie.ID != id || !strings.Contains(errs[i].Error(), id) {
			t.Errorf("error %d = %v, want one naming %s", i, errs[i], id)
		}
	}
	if !strings.Contains(errs[0].Error(), "pattern at 1:32:") {
		t.Errorf("error %q does not give the position", errs[0])
	}
	st := ix.Stats()
	if st.NotEvaluable != 3 || st.Indicators != 4 || st.Direct != 1 {
		t.Errorf("stats = %+v, want 3 not evaluable of 4", st)
	}
	// Not evaluable is kept until replaced, and can be removed.
	ix.Update([]Indicator{{ID: "indicator--syntax", Modified: t1, Pattern: "[domain-name:value = 'evil.com']"}}, []string{"indicator--cidr"})
	st = ix.Stats()
	if st.NotEvaluable != 1 || st.Indicators != 3 {
		t.Errorf("after replacing and removing: stats = %+v", st)
	}
	ob := observe(t, "observed-data--1", t0, 1, `{"type":"domain-name","value":"evil.com"}`)
	if d := cmp.Diff([]string{"indicator--good", "indicator--syntax"}, hitIDs(ix.Match(ob, t0))); d != "" {
		t.Errorf("Match (-want +got):\n%s", d)
	}
}

func TestIndexHashNames(t *testing.T) {
	const h = "aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f"
	ix := NewIndex()
	ix.Update([]Indicator{
		{ID: "a", Pattern: "[file:hashes.'SHA-256' = '" + h + "']"},
		{ID: "b", Pattern: "[file:hashes.SHA256 = '" + h + "']"},
		{ID: "c", Pattern: "[file:hashes.sha256 = '" + h + "' AND file:size > 1]"},
		{ID: "d", Pattern: "[file:hashes.'sha_256' = h'" + strings.ToUpper(h) + "']"},
		{ID: "e", Pattern: "[file:hashes.'SHA-1' = '" + h + "']"},
		{ID: "f", Pattern: "[file:hashes.'Sha-256' = '" + strings.ToUpper(h) + "']"},
	}, nil)
	if st := ix.Stats(); st.Paths != 2 {
		t.Errorf("%d properties registered, want 2 (SHA-256 and SHA-1): %+v", st.Paths, st)
	}
	for _, key := range []string{"SHA-256", "SHA256", "sha256", "sha-256"} {
		t.Run(key, func(t *testing.T) {
			ob := observe(t, "observed-data--1", t0, 1, `{"type":"file","size":5,"hashes":{"`+key+`":"`+h+`"}}`)
			hits := ix.Match(ob, t0)
			if d := cmp.Diff([]string{"a", "b", "c", "d"}, hitIDs(hits)); d != "" {
				t.Fatalf("Match (-want +got):\n%s", d)
			}
			want := "[file:hashes.'SHA-256' = '" + h + "']"
			if got := hits[1].Result.Bindings[0].Text; got != want {
				t.Errorf("binding text %s, want %s", got, want)
			}
		})
	}
	for _, path := range []string{"hashes.'SHA-256'", "hashes.SHA256", "hashes.sha256"} {
		got := lookup(t, ix, "file", path, h, t0)
		slices.Sort(got)
		if d := cmp.Diff([]string{"a", "b", "d"}, got); d != "" {
			t.Errorf("Lookup(%s) (-want +got):\n%s", path, d)
		}
	}
	// The canonical spelling wins over another one in the same dictionary.
	ob := observe(t, "observed-data--1", t0, 1, `{"type":"file","hashes":{"sha256":"`+h+`","SHA-256":"00"}}`)
	if hits := ix.Match(ob, t0); len(hits) != 0 {
		t.Errorf("Match with a canonical key holding another value: %v", hitIDs(hits))
	}
}

func TestIndexCIDR(t *testing.T) {
	ix := NewIndex()
	ix.Update([]Indicator{
		{ID: "net8", Pattern: "[ipv4-addr:value ISSUBSET '10.0.0.0/8']"},
		{ID: "net24", Pattern: "[ipv4-addr:value ISSUBSET '10.1.2.0/24']"},
		{ID: "host", Pattern: "[ipv4-addr:value ISSUBSET '10.1.2.3']"},
		{ID: "super", Pattern: "[ipv4-addr:value ISSUPERSET '10.1.2.0/24']"},
		{ID: "eq", Pattern: "[ipv4-addr:value = '10.1.2.3']"},
		{ID: "eqcidr", Pattern: "[ipv4-addr:value = '10.0.0.0/8']"},
		{ID: "ref", Pattern: "[network-traffic:dst_ref.value ISSUBSET '10.1.0.0/16' AND network-traffic:dst_port = 443]"},
		{ID: "v6", Pattern: "[ipv6-addr:value ISSUBSET '2001:db8::/32']"},
		{ID: "unmasked", Pattern: "[ipv4-addr:value ISSUBSET '10.1.2.99/24']"},
	}, nil)
	for _, tt := range []struct {
		name, obj string
		want      []string
	}{
		{"address inside", `{"type":"ipv4-addr","value":"10.1.2.3"}`, []string{"eq", "host", "net24", "net8", "unmasked"}},
		{"address in /8 only", `{"type":"ipv4-addr","value":"10.200.0.1"}`, []string{"net8"}},
		{"block inside", `{"type":"ipv4-addr","value":"10.1.2.0/25"}`, []string{"net24", "net8", "unmasked"}},
		{"block containing the indicator's", `{"type":"ipv4-addr","value":"10.1.0.0/16"}`, []string{"net8", "super"}},
		{"the same block", `{"type":"ipv4-addr","value":"10.1.2.0/24"}`, []string{"net24", "net8", "super", "unmasked"}},
		{"equality is textual", `{"type":"ipv4-addr","value":"10.0.0.0/8"}`, []string{"eqcidr", "net8", "super"}},
		{"mapped address", `{"type":"ipv4-addr","value":"::ffff:10.1.2.3"}`, []string{"host", "net24", "net8", "unmasked"}},
		{"outside", `{"type":"ipv4-addr","value":"11.0.0.1"}`, nil},
		{"v6", `{"type":"ipv6-addr","value":"2001:db8::7"}`, []string{"v6"}},
		{"v4 object, v6 value", `{"type":"ipv4-addr","value":"2001:db8::7"}`, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ob := observe(t, "observed-data--1", t0, 1, tt.obj)
			if d := cmp.Diff(tt.want, hitIDs(ix.Match(ob, t0))); d != "" {
				t.Errorf("Match (-want +got):\n%s", d)
			}
		})
	}
	ob := observe(t, "observed-data--1", t0, 1, `{"type":"ipv4-addr","value":"10.1.9.9"}`,
		`{"type":"network-traffic","dst_ref":"0","dst_port":443}`)
	if d := cmp.Diff([]string{"net8", "ref"}, hitIDs(ix.Match(ob, t0))); d != "" {
		t.Errorf("through a reference (-want +got):\n%s", d)
	}
	got := lookup(t, ix, "ipv4-addr", "value", "10.1.2.3", t0)
	slices.Sort(got)
	if d := cmp.Diff([]string{"eq", "host", "net24", "net8", "unmasked"}, got); d != "" {
		t.Errorf("Lookup (-want +got):\n%s", d)
	}
	hits := ix.Match(observe(t, "observed-data--1", t0, 1, `{"type":"ipv4-addr","value":"10.1.2.3"}`), t0)
	texts := map[string]string{}
	for _, h := range hits {
		texts[h.IndicatorID] = h.Result.Bindings[0].Text
	}
	want := map[string]string{
		"eq": "[ipv4-addr:value = '10.1.2.3']", "host": "[ipv4-addr:value ISSUBSET '10.1.2.3']",
		"net24": "[ipv4-addr:value ISSUBSET '10.1.2.0/24']", "net8": "[ipv4-addr:value ISSUBSET '10.0.0.0/8']",
		"unmasked": "[ipv4-addr:value ISSUBSET '10.1.2.99/24']",
	}
	if d := cmp.Diff(want, texts); d != "" {
		t.Errorf("binding texts (-want +got):\n%s", d)
	}
}

func TestIndexStats(t *testing.T) {
	ix := NewIndex(WithRebuildThreshold(0))
	ix.Update([]Indicator{
		{ID: "1", Pattern: "[domain-name:value = 'a.com']"},
		{ID: "2", Pattern: "[domain-name:value = 'a.com' OR url:value = 'http://a.com/']"},
		{ID: "3", Pattern: "[file:hashes.MD5 = '79054025255fb1a26e4bc422aef54eb4' AND file:size > 1]"},
		{ID: "4", Pattern: "[file:name LIKE '%.exe']"},
		{ID: "5", Pattern: "[file:name IN ()]"},
		{ID: "6", Pattern: "[file:name = 'a'] FOLLOWEDBY [file:name = 'b']"},
		{ID: "7", Pattern: "[ipv4-addr:value ISSUBSET '10.0.0.0/8']"},
		{ID: "8", Pattern: "["},
	}, nil)
	want := IndexStats{Indicators: 8, Direct: 3, Evaluated: 2, Unanchored: 1, NeverMatch: 1, NotEvaluable: 1,
		MultiObservation: 1, ExactKeys: 4, Prefixes: 1, Paths: 5, Overlay: 8}
	if d := cmp.Diff(want, ix.Stats()); d != "" {
		t.Errorf("stats (-want +got):\n%s", d)
	}
	ix.Update([]Indicator{{ID: "1", Modified: t1, Pattern: "[domain-name:value = 'b.com']"}}, []string{"4"})
	ix.Rebuild()
	want = IndexStats{Indicators: 7, Direct: 3, Evaluated: 2, NeverMatch: 1, NotEvaluable: 1,
		MultiObservation: 1, ExactKeys: 5, Prefixes: 1, Paths: 5, Rebuilds: 1}
	if d := cmp.Diff(want, ix.Stats()); d != "" {
		t.Errorf("stats after rebuild (-want +got):\n%s", d)
	}
	ix.Update(nil, []string{"7"})
	want.Indicators, want.Direct, want.Shadowed = 6, 2, 1
	if d := cmp.Diff(want, ix.Stats()); d != "" {
		t.Errorf("stats after a removal (-want +got):\n%s", d)
	}
}

// TestIndexConcurrent runs Match and Lookup while other goroutines update
// and rebuild; run it with -race. Indicator "stable" is never touched, so
// every Match must find it whatever the writers do.
func TestIndexConcurrent(t *testing.T) {
	ix := NewIndex(WithRebuildThreshold(16), WithHistory(8))
	ix.Update([]Indicator{{ID: "stable", Pattern: "[domain-name:value = 'evil.com']"}}, nil)
	ob := observe(t, "observed-data--1", t0, 1, `{"type":"domain-name","value":"evil.com"}`,
		`{"type":"ipv4-addr","value":"10.1.2.3"}`)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			g := &gen{r: rand.New(rand.NewPCG(uint64(w), 1))}
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("indicator--%d-%d", w, i%50)
				ind := g.indicator(id, t0.Add(time.Duration(i)*time.Second))
				var remove []string
				if i%7 == 0 {
					remove = []string{fmt.Sprintf("indicator--%d-%d", w, (i+13)%50)}
				}
				ix.Update([]Indicator{ind}, remove)
				if i%40 == 0 {
					ix.Rebuild()
				}
			}
		})
	}
	var readers sync.WaitGroup
	for range 3 {
		readers.Go(func() {
			for range 300 {
				if !slices.Contains(hitIDs(ix.Match(ob, t0)), "stable") {
					t.Error("Match lost the stable indicator")
					return
				}
				ix.Observe(ob, t0)
				if !slices.Contains(lookup(t, ix, "domain-name", "value", "evil.com", t0), "stable") {
					t.Error("Lookup lost the stable indicator")
					return
				}
				_ = ix.Stats()
			}
		})
	}
	readers.Wait()
	close(stop)
	wg.Wait()
	ix.Wait()
}

func TestObserve(t *testing.T) {
	ix := NewIndex(WithHistory(4))
	ix.Update([]Indicator{
		{ID: "seq", Pattern: "([file:hashes.MD5 = '79054025255fb1a26e4bc422aef54eb4'] FOLLOWEDBY [windows-registry-key:key = 'HKLM\\\\run']) WITHIN 300 SECONDS"},
		{ID: "beacon", Pattern: "[domain-name:value = 'c2.xyz'] REPEATS 3 TIMES"},
		{ID: "single", Pattern: "[domain-name:value = 'c2.xyz']"},
	}, nil)
	file := `{"type":"file","hashes":{"MD5":"79054025255fb1a26e4bc422aef54eb4"}}`
	key := `{"type":"windows-registry-key","key":"HKLM\\run"}`
	dom := `{"type":"domain-name","value":"c2.xyz"}`
	steps := []struct {
		ob   *Observation
		want []string
	}{
		{observe(t, "od1", t0, 1, file), nil},
		{observe(t, "od2", t0.Add(time.Minute), 1, key), []string{"seq"}},
		// The file was used: the registry key alone does not fire again.
		{observe(t, "od3", t0.Add(2*time.Minute), 1, key), nil},
		// Too late for the window.
		{observe(t, "od4", t0.Add(3*time.Minute), 1, file), nil},
		{observe(t, "od5", t0.Add(9*time.Minute), 1, key), nil},
		{observe(t, "od6", t0, 1, dom), []string{"single"}},
		{observe(t, "od7", t0, 1, dom), []string{"single"}},
		{observe(t, "od8", t0, 1, dom), []string{"beacon", "single"}},
		// Satisfied by one observation on its own.
		{observe(t, "od9", t0, 3, dom), []string{"beacon", "single"}},
	}
	for i, s := range steps {
		got := hitIDs(ix.Observe(s.ob, t0))
		if d := cmp.Diff(s.want, got); d != "" {
			t.Fatalf("step %d (%s) (-want +got):\n%s", i, s.ob.ID, d)
		}
	}
	hits := ix.Observe(observe(t, "od10", t0.Add(10*time.Minute), 1, file), t0)
	hits = append(hits, ix.Observe(observe(t, "od11", t0.Add(11*time.Minute), 1, key), t0)...)
	if len(hits) != 1 {
		t.Fatalf("hits %v", hitIDs(hits))
	}
	var bound []string
	for _, b := range hits[0].Result.Bindings {
		bound = append(bound, b.ObservedData)
	}
	if d := cmp.Diff([]string{"od10", "od11"}, bound); d != "" {
		t.Errorf("bindings (-want +got):\n%s", d)
	}
	if st := ix.Stats(); st.Buffered == 0 || st.BufferedObservations > 2*4 {
		t.Errorf("stats %+v", st)
	}
	// Replacing an indicator empties its buffer.
	ix.Update([]Indicator{{ID: "beacon", Modified: t1, Pattern: "[domain-name:value = 'c2.xyz'] REPEATS 2 TIMES"}}, nil)
	if got := hitIDs(ix.Observe(observe(t, "od12", t0, 1, dom), t0)); slices.Contains(got, "beacon") {
		t.Errorf("beacon fired on the first observation after replacement")
	}
	if got := hitIDs(ix.Observe(observe(t, "od13", t0, 1, dom), t0)); !slices.Contains(got, "beacon") {
		t.Errorf("beacon did not fire on the second observation: %v", got)
	}
}

func TestIndexWarninglist(t *testing.T) {
	wl := DefaultWarninglist()
	if err := wl.Add(WarnValue, "d41d8cd98f00b204e9800998ecf8427f"); err != nil {
		t.Fatal(err)
	}
	ix := NewIndex(WithWarninglist(wl))
	ix.Update([]Indicator{
		{ID: "private", Pattern: "[ipv4-addr:value = '10.0.0.1']"},
		{ID: "net", Pattern: "[ipv4-addr:value ISSUBSET '0.0.0.0/0']"},
		{ID: "doc", Pattern: "[domain-name:value = 'www.example.com']"},
		{ID: "mixed", Pattern: "[domain-name:value = 'www.example.com' OR domain-name:value = 'evil.com']"},
		{ID: "ref", Pattern: "[network-traffic:dst_ref.value = '192.168.1.1' AND network-traffic:dst_port = 443]"},
		{ID: "hash", Pattern: "[file:hashes.MD5 = 'D41D8CD98F00B204E9800998ECF8427F']"},
		{ID: "name", Pattern: "[file:name LIKE '%.exe']"},
	}, nil)
	for _, tt := range []struct {
		name    string
		objs    []string
		want    []string
		dropped int64 // hits the warninglist drops
	}{
		{"private address", []string{`{"type":"ipv4-addr","value":"10.0.0.1"}`}, nil, 2},
		{"public address", []string{`{"type":"ipv4-addr","value":"8.8.8.8"}`}, []string{"net"}, 0},
		{"documentation domain", []string{`{"type":"domain-name","value":"www.example.com"}`}, nil, 2},
		{"one value not listed", []string{`{"type":"domain-name","value":"www.example.com"}`, `{"type":"domain-name","value":"evil.com"}`}, []string{"mixed"}, 1},
		{"through a reference", []string{`{"type":"ipv4-addr","value":"192.168.1.1"}`, `{"type":"network-traffic","dst_ref":"0","dst_port":443}`}, nil, 2},
		{"operator value", []string{`{"type":"file","hashes":{"MD5":"D41D8CD98F00B204E9800998ECF8427F"}}`}, nil, 1},
		{"bound object listed", []string{`{"type":"file","name":"a.exe","hashes":{"MD5":"d41d8cd98f00b204e9800998ecf8427e"}}`}, nil, 1},
		{"bound object not listed", []string{`{"type":"file","name":"a.exe","hashes":{"MD5":"00"}}`}, []string{"name"}, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ob := observe(t, "observed-data--1", t0, 1, tt.objs...)
			before := ix.Stats().WarninglistDropped
			if d := cmp.Diff(tt.want, hitIDs(ix.Match(ob, t0))); d != "" {
				t.Errorf("Match (-want +got):\n%s", d)
			}
			if got := ix.Stats().WarninglistDropped - before; got != tt.dropped {
				t.Errorf("warninglist dropped %d hits, want %d", got, tt.dropped)
			}
		})
	}
	if got := lookup(t, ix, "ipv4-addr", "value", "10.0.0.1", t0); len(got) != 0 {
		t.Errorf("Lookup of a private address: %v", got)
	}
	if got := lookup(t, ix, "ipv4-addr", "value", "8.8.8.8", t0); !slices.Equal(got, []string{"net"}) {
		t.Errorf("Lookup of a public address: %v", got)
	}
}

func TestLookupPaths(t *testing.T) {
	ix := NewIndex()
	ix.Update([]Indicator{{ID: "a", Pattern: "[x-thing:'odd key'.value = 'v']"}}, nil)
	for _, tt := range []struct {
		typ, path string
		bad       bool
		want      []string
	}{
		{"x-thing", "'odd key'.value", false, []string{"a"}},
		{"x-thing", "value", false, nil},
		{"x-thing", "'odd key'.value] OR [x:y", true, nil},
		{"x-thing]", "value", true, nil},
		{"", "value", true, nil},
		{"x-thing", "", true, nil},
	} {
		p, err := ix.Property(tt.typ, tt.path)
		if (err != nil) != tt.bad {
			t.Errorf("Property(%q, %q): error %v, want one: %v", tt.typ, tt.path, err, tt.bad)
			continue
		}
		if d := cmp.Diff(tt.want, ix.Lookup(nil, p, "v", t0)); d != "" {
			t.Errorf("Lookup(%q, %q) (-want +got):\n%s", tt.typ, tt.path, d)
		}
	}
	// A property resolved before any indicator uses it finds later ones.
	p, err := ix.Property("x-thing", "other")
	if err != nil {
		t.Fatal(err)
	}
	ix.Update([]Indicator{{ID: "b", Pattern: "[x-thing:other = 'v']"}}, nil)
	if d := cmp.Diff([]string{"b"}, ix.Lookup(nil, p, "v", t0)); d != "" {
		t.Errorf("Lookup after registration (-want +got):\n%s", d)
	}
	ix.Rebuild()
	if d := cmp.Diff([]string{"b"}, ix.Lookup(nil, p, "v", t0)); d != "" {
		t.Errorf("Lookup after a rebuild (-want +got):\n%s", d)
	}
	if got := NewIndex().Lookup(nil, p, "v", t0); got != nil {
		t.Errorf("another index's property found %v", got)
	}
	if got := ix.Lookup(nil, Property{}, "v", t0); got != nil {
		t.Errorf("the zero property found %v", got)
	}
}

func BenchmarkIndexLookup(b *testing.B) {
	ix := NewIndex()
	var add []Indicator
	var values []string
	for i := range 100_000 {
		v := fmt.Sprintf("host-%d.example-%d.net", i, i%97)
		values = append(values, v)
		add = append(add, Indicator{ID: fmt.Sprintf("indicator--%d", i), Pattern: "[domain-name:value = " + q(v) + "]"})
	}
	ix.Update(add, nil)
	p, err := ix.Property("domain-name", "value")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var dst []string
	for i := 0; b.Loop(); i++ {
		dst = ix.Lookup(dst[:0], p, values[i%len(values)], t0)
	}
}

func BenchmarkIndexMatch(b *testing.B) {
	ix := NewIndex()
	var add []Indicator
	for i := range 100_000 {
		add = append(add, Indicator{ID: fmt.Sprintf("indicator--%d", i),
			Pattern: fmt.Sprintf("[file:hashes.'SHA-256' = '%064x' AND file:size > 100]", i)})
	}
	ix.Update(add, nil)
	ob := observe(b, "observed-data--1", t0, 1, fmt.Sprintf(`{"type":"file","size":200,"hashes":{"SHA-256":"%064x"}}`, 77))
	b.ReportAllocs()
	for b.Loop() {
		if len(ix.Match(ob, t0)) != 1 {
			b.Fatal("no hit")
		}
	}
}

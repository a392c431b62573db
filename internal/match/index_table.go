package match

import (
	"fmt"
	"hash/maphash"
	"maps"
	"math"
	"net/netip"
	"slices"
	"strings"

	"github.com/gaissmai/bart"

	"github.com/setu-cti/setu/internal/stix/pattern"
)

// registry names the SCO properties anchors are read from. Ids are never
// reused, so tables built against an older registry stay valid against a
// newer one. The trie under roots holds every registered path, so that
// matching walks each object once along all of them, sharing prefixes.
type registry struct {
	paths []propPath
	byKey map[string]int32
	roots map[string]*pnode
	// fresh marks the nodes this version owns and may change in place.
	fresh map[*pnode]bool
}

type propPath struct {
	typ   string
	steps []pattern.Step
}

// pnode is a step of a registered path.
type pnode struct {
	step pattern.Step
	keys map[string]*pnode // children by KeyStep
	idx  []*pnode          // IndexStep and AnyIndexStep children
	path int32             // the path that ends here, or -1
	// hashes: this step is the key "hashes", whose value is a hash
	// dictionary read with canonical keys.
	hashes bool
}

func newRegistry() *registry {
	return &registry{byKey: map[string]int32{}, roots: map[string]*pnode{}}
}

// clone returns a copy that can be changed without disturbing readers of
// r. Trie nodes are copied when first changed.
func (r *registry) clone() *registry {
	return &registry{paths: r.paths, byKey: maps.Clone(r.byKey), roots: maps.Clone(r.roots), fresh: map[*pnode]bool{}}
}

func (r *registry) own(n *pnode) *pnode {
	if r.fresh[n] {
		return n
	}
	c := *n
	c.keys = maps.Clone(n.keys)
	c.idx = slices.Clone(n.idx)
	r.fresh[&c] = true
	return &c
}

// add registers a property and returns its id.
func (r *registry) add(typ string, steps []pattern.Step) int32 {
	text := pattern.ObjectPath{Type: typ, Steps: steps}.String()
	if id, ok := r.byKey[text]; ok {
		return id
	}
	id := int32(len(r.paths))
	// Readers of older versions never look past their own length, so
	// appending to a shared backing array is safe.
	r.paths = append(r.paths, propPath{typ: typ, steps: steps})
	r.byKey[text] = id
	root, ok := r.roots[typ]
	if !ok {
		root = &pnode{path: -1}
		r.fresh[root] = true
	}
	root = r.own(root)
	r.roots[typ] = root
	n := root
	for i, st := range steps {
		var kid *pnode
		if st.Kind == pattern.KeyStep {
			kid = n.keys[st.Key]
		} else {
			for _, k := range n.idx {
				if k.step == st {
					kid = k
				}
			}
		}
		if kid == nil {
			kid = &pnode{step: st, path: -1, hashes: st.Kind == pattern.KeyStep && st.Key == "hashes"}
			r.fresh[kid] = true
		} else {
			kid = r.own(kid)
		}
		if st.Kind == pattern.KeyStep {
			if n.keys == nil {
				n.keys = map[string]*pnode{}
			}
			n.keys[st.Key] = kid
		} else {
			replaced := false
			for j, k := range n.idx {
				if k.step == st {
					n.idx[j], replaced = kid, true
				}
			}
			if !replaced {
				n.idx = append(n.idx, kid)
			}
		}
		if i == len(steps)-1 {
			kid.path = id
		}
		n = kid
	}
	return id
}

// Postings: a table maps a key to an entry index, or, when several entries
// share the key, to a list of them.
const (
	multiBit = 1 << 31 // the rest is an index into table.multi
	relBit   = 1 << 30 // the entry is only relevant to Observe's history
	idxMask  = relBit - 1
)

// table is an immutable set of entries with their anchor tables.
type table struct {
	entries []entry
	ids     idIndex
	extra   map[uint32]*extra
	// exact is indexed by path*nExactKinds+kind, nets by
	// path*nNetKinds+kind-kSub; nil where no anchor uses the slot.
	exact []*strTable
	nets  []*bart.Table[uint32]
	// typed lists, per SCO type, the entries evaluated whenever an
	// object of that type is observed.
	typed map[string][]uint32
	multi [][]uint32

	forms           [nForms]int
	multiObs        int
	keys, prefixes  int
	hasRel, hasNets bool
	hasBytes        bool // some anchor is of kind kHex or kB64
}

func emptyTable() *table { return &table{ids: newIDIndex(0)} }

// find returns the index of the entry for id.
func (t *table) find(id string) (uint32, bool) { return t.ids.find(t.entries, id) }

// posting is what an exact-value key leads to: p, an entry index or a list
// of them (multiBit), and, when p is one entry answered without evaluation,
// that entry's id and validity copied beside it, so that a lookup's common
// hit reads the table's record only and not also the entry array (a
// second random memory access, about as costly as the lookup itself).
type posting struct {
	p           uint32
	id          string // set only for one direct entry
	from, until int64
}

func (t *table) exactMap(path int32, k anchorKind) *strTable {
	i := int(path)*int(nExactKinds) + int(k)
	if i >= len(t.exact) {
		return nil
	}
	return t.exact[i]
}

func (t *table) netTable(path int32, k anchorKind) *bart.Table[uint32] {
	i := int(path)*nNetKinds + int(k-kSub)
	if i >= len(t.nets) {
		return nil
	}
	return t.nets[i]
}

// postings calls f for each entry index p names, with relBit kept.
func (t *table) postings(p uint32, f func(uint32)) {
	if p&multiBit == 0 {
		f(p)
		return
	}
	for _, q := range t.multi[p&^multiBit] {
		f(q)
	}
}

// builder fills a new table. Exact values are gathered in maps and frozen
// into strTables when the table is complete.
type builder struct {
	t     *table
	exact []map[string]posting
}

func (b *builder) post(old uint32, v uint32) uint32 {
	t := b.t
	if old&multiBit == 0 {
		t.multi = append(t.multi, []uint32{old, v})
		return multiBit | uint32(len(t.multi)-1)
	}
	i := old &^ multiBit
	t.multi[i] = append(t.multi[i], v)
	return old
}

func (b *builder) addExact(path int32, k anchorKind, key string, v uint32) {
	t := b.t
	i := int(path)*int(nExactKinds) + int(k)
	m := b.exact[i]
	if m == nil {
		m = map[string]posting{}
		b.exact[i] = m
	}
	if k != kString {
		t.hasBytes = true
	}
	if old, ok := m[key]; ok {
		m[key] = posting{p: b.post(old.p, v)}
		return
	}
	ps := posting{p: v}
	if v&(multiBit|relBit) == 0 {
		if e := &t.entries[v]; e.form <= formDirect {
			ps.id, ps.from, ps.until = e.id, e.from, e.until
		}
	}
	m[key] = ps
}

func (b *builder) addNet(path int32, k anchorKind, p netip.Prefix, v uint32) {
	t := b.t
	i := int(path)*nNetKinds + int(k-kSub)
	n := t.nets[i]
	if n == nil {
		n = new(bart.Table[uint32])
		t.nets[i] = n
		t.hasNets = true
	}
	if old, ok := n.Get(p); ok {
		n.Insert(p, b.post(old, v))
		return
	}
	n.Insert(p, v)
}

func (b *builder) addAnchor(a *anchor, v uint32) {
	if a.kind >= kSub {
		b.addNet(a.path, a.kind, a.pfx, v)
	} else {
		b.addExact(a.path, a.kind, a.key, v)
	}
}

func (b *builder) addTyped(typ string, v uint32) {
	b.t.typed[typ] = append(b.t.typed[typ], v)
}

// buildTable builds a table of the live entries of old (those not in dead)
// and of over. old and dead may be nil.
func buildTable(reg *registry, old *table, dead map[uint32]struct{}, over []*compiled) *table {
	n := len(over)
	var remap []uint32
	if old != nil {
		n += len(old.entries) - len(dead)
		remap = make([]uint32, len(old.entries))
	}
	t := &table{
		entries: make([]entry, 0, n),
		ids:     newIDIndex(n),
		extra:   map[uint32]*extra{},
		exact:   make([]*strTable, len(reg.paths)*int(nExactKinds)),
		nets:    make([]*bart.Table[uint32], len(reg.paths)*nNetKinds),
		typed:   map[string][]uint32{},
	}
	b := &builder{t: t, exact: make([]map[string]posting, len(t.exact))}
	addEntry := func(e *entry, x *extra) uint32 {
		i := uint32(len(t.entries))
		t.entries = append(t.entries, *e)
		t.ids.insert(t.entries, i)
		if x != nil {
			t.extra[i] = x
		}
		t.forms[e.form]++
		if e.flags&flagMulti != 0 {
			t.multiObs++
		}
		return i
	}
	const gone = math.MaxUint32
	if old != nil {
		for i := range old.entries {
			if _, d := dead[uint32(i)]; d {
				remap[i] = gone
				continue
			}
			remap[i] = addEntry(&old.entries[i], old.extra[uint32(i)])
		}
		// Size the new maps once: most keys carry over.
		for s, m := range old.exact {
			if m != nil {
				b.exact[s] = make(map[string]posting, m.len()+len(over)/4)
			}
		}
		re := func(p uint32) (uint32, bool) {
			r := remap[p&idxMask]
			return r | p&relBit, r != gone
		}
		for s, m := range old.exact {
			path, k := int32(s/int(nExactKinds)), anchorKind(s%int(nExactKinds))
			if m == nil {
				continue
			}
			for key, ps := range m.all() {
				old.postings(ps.p, func(q uint32) {
					if r, ok := re(q); ok {
						b.addExact(path, k, key, r)
					}
				})
			}
		}
		for s, nt := range old.nets {
			if nt == nil {
				continue
			}
			path, k := int32(s/nNetKinds), anchorKind(s%nNetKinds)+kSub
			for pfx, p := range nt.All() {
				old.postings(p, func(q uint32) {
					if r, ok := re(q); ok {
						b.addNet(path, k, pfx, r)
					}
				})
			}
		}
		for typ, list := range old.typed {
			for _, q := range list {
				if r, ok := re(q); ok {
					b.addTyped(typ, r)
				}
			}
		}
		t.hasRel = old.hasRel
		t.hasBytes = t.hasBytes || old.hasBytes
	}
	for _, c := range over {
		i := addEntry(&c.e, c.x)
		for j := range c.vals {
			b.addAnchor(&c.vals[j], i)
		}
		for _, typ := range c.types {
			b.addTyped(typ, i)
		}
		for j := range c.rel {
			b.addAnchor(&c.rel[j], i|relBit)
			t.hasRel = true
		}
		for _, typ := range c.relTypes {
			b.addTyped(typ, i|relBit)
			t.hasRel = true
		}
	}
	for i, m := range b.exact {
		if m != nil {
			t.exact[i] = newStrTable(m)
			t.keys += len(m)
			b.exact[i] = nil // the map can go before the next is frozen
		}
	}
	for _, nt := range t.nets {
		if nt != nil {
			t.prefixes += nt.Size()
		}
	}
	return t
}

// Property is an SCO property resolved once, for Lookup. It belongs to
// the index that made it. The zero Property names no property.
type Property struct {
	ix *Index
	id int32
}

// Property resolves an SCO property for Lookup: scoType is the SCO type
// ("domain-name", "file"), path the property as a pattern writes it after
// the colon ("value", "hashes.'SHA-256'", "hashes.SHA256"; hash names are
// made canonical). It fails when they do not read as an object path.
func (ix *Index) Property(scoType, path string) (Property, error) {
	typ, steps, ok := parseLookupPath(scoType, path)
	if !ok {
		return Property{}, fmt.Errorf("match: %q and %q do not make an object path", scoType, path)
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	text := pattern.ObjectPath{Type: typ, Steps: steps}.String()
	if id, ok := ix.w.reg.byKey[text]; ok {
		return Property{ix: ix, id: id}, nil
	}
	// Registered now so that its id never changes. Tables built against
	// an older registry stay valid, so only the registry is republished.
	id := ix.regForWrite().add(typ, steps)
	s := *ix.snap.Load()
	s.reg = ix.w.reg
	ix.snap.Store(&s)
	ix.w.regOwned = false
	return Property{ix: ix, id: id}, nil
}

// parseLookupPath reads "value" or "hashes.'SHA-256'" as a pattern would,
// with hash names canonical.
func parseLookupPath(typ, path string) (string, []pattern.Step, bool) {
	if strings.ContainsAny(typ, "[]") {
		return "", nil, false
	}
	p, err := pattern.Parse("[EXISTS " + typ + ":" + path + "]")
	if err != nil {
		return "", nil, false
	}
	o, ok := p.Expr.(*pattern.Observation)
	if !ok {
		return "", nil, false
	}
	c, ok := o.Expr.(*pattern.Comparison)
	if !ok || c.Op != pattern.Exists || c.Path.Type != typ {
		return "", nil, false
	}
	steps := c.Path.Steps
	if s, ok := canonSteps(steps); ok {
		steps = s
	}
	return typ, steps, true
}

// idIndex finds entries by id with open addressing over entry indexes,
// the ids themselves staying in the entries: a few bytes an entry where a
// map from id would take some forty.
type idIndex struct {
	seed  maphash.Seed
	slots []uint32 // entry index + 1; 0 is empty
}

// newIDIndex returns an index for up to n entries, at most three quarters
// full.
func newIDIndex(n int) idIndex {
	size := 8
	for size*3 < n*4 {
		size *= 2
	}
	return idIndex{seed: maphash.MakeSeed(), slots: make([]uint32, size)}
}

func (x *idIndex) insert(entries []entry, i uint32) {
	mask := uint64(len(x.slots) - 1)
	for h := maphash.String(x.seed, entries[i].id) & mask; ; h = (h + 1) & mask {
		if x.slots[h] == 0 {
			x.slots[h] = i + 1
			return
		}
	}
}

func (x *idIndex) find(entries []entry, id string) (uint32, bool) {
	mask := uint64(len(x.slots) - 1)
	for h := maphash.String(x.seed, id) & mask; ; h = (h + 1) & mask {
		s := x.slots[h]
		if s == 0 {
			return 0, false
		}
		if entries[s-1].id == id {
			return s - 1, true
		}
	}
}

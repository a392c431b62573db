package federation

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/setu-cti/setu/internal/store"
)

// Stored provenance. The records of one batch repeat the same signed
// steps and, between their proofs, the same tree hashes many times: a
// record is ~800 bytes of JSON, mostly proof. So a node stores them split:
// one shared part per group of records with the same steps (each step
// without its position, and the tree hashes the group's proofs need,
// minus those computable from others: for a whole batch, just the
// leaves), and per version only the position of the object in each
// step's batch. Both parts start with storedFormat, which a JSON record
// ('{') never does; records stored whole stay readable.
//
// Shared part: storedFormat, uvarint step count, then per step: node and
// to (uvarint length and bytes), at (varint Unix nanoseconds, UTC), root
// (32 bytes), size (uvarint), signature (64 bytes), then uvarint count of
// tree hashes and per hash: lo (uvarint), hi-lo (uvarint), digest (32
// bytes), where [lo, hi) is the range of leaves under it, in ascending
// order of (lo, hi).
//
// Per-version part: storedFormat, uvarint provenance format, uvarint step
// count, uvarint index per step, and for format 2 the uvarint position of
// its Meta in the shared part's table.
//
// A shared part whose records carry Meta (format 2) starts with
// storedMetaFormat instead, and after the steps holds a table: uvarint
// count, then per Meta its canonical JSON (uvarint length and bytes). The
// Metas of a batch are few and shared by many records.
const (
	storedFormat     = 0x01
	storedMetaFormat = 0x02
)

// span is a subtree of a batch's Merkle tree: the leaves [lo, hi).
type span struct{ lo, hi int64 }

// proofSpans lists the subtrees whose hashes make up the inclusion proof
// of leaf index in a tree of size leaves, from the leaf upwards (the
// order of Step.Proof).
func proofSpans(index, size int64) []span {
	var out []span
	lo, hi := int64(0), size
	for hi-lo > 1 {
		k := int64(splitPoint(int(hi - lo)))
		if index < lo+k {
			out = append(out, span{lo + k, hi})
			hi = lo + k
		} else {
			out = append(out, span{lo, lo + k})
			lo += k
		}
	}
	slices.Reverse(out)
	return out
}

// stepHead is what the steps of one batch share: all but the position.
type stepHead struct {
	node, to string
	at       time.Time
	root     Digest
	size     int64
	sig      Signature
}

func headOf(s *Step) stepHead {
	return stepHead{node: s.Node, to: s.To, at: s.At.UTC(), root: s.Root, size: s.Size, sig: s.Sig}
}

// tree holds the known hashes of one step's batch.
type tree struct {
	head  stepHead
	nodes map[span]Digest
}

// hash returns the hash of a subtree, computing (and keeping) those of
// interior nodes whose children are known.
func (t *tree) hash(s span) (Digest, error) {
	if d, ok := t.nodes[s]; ok {
		return d, nil
	}
	if s.hi-s.lo < 2 {
		return Digest{}, fmt.Errorf("stored provenance: no hash for leaf %d: %w", s.lo, ErrMalformed)
	}
	k := int64(splitPoint(int(s.hi - s.lo)))
	l, err := t.hash(span{s.lo, s.lo + k})
	if err != nil {
		return Digest{}, err
	}
	r, err := t.hash(span{s.lo + k, s.hi})
	if err != nil {
		return Digest{}, err
	}
	d := hashNode(l, r)
	t.nodes[s] = d
	return d, nil
}

// step rebuilds the step of the leaf at index.
func (t *tree) step(index int64) (Step, error) {
	h := &t.head
	s := Step{Node: h.node, To: h.to, At: h.at, Root: h.root, Index: index, Size: h.size, Sig: h.sig}
	if index < 0 || index >= h.size {
		return s, fmt.Errorf("stored provenance: index %d outside a batch of %d: %w", index, h.size, ErrMalformed)
	}
	spans := proofSpans(index, h.size)
	if len(spans) > 0 {
		s.Proof = make([]Digest, len(spans))
		for i, sp := range spans {
			d, err := t.hash(sp)
			if err != nil {
				return s, err
			}
			s.Proof[i] = d
		}
	}
	return s, nil
}

// storeProvenance splits provenance into records for the store, index for
// index, with their shared parts; records whose steps are the same share
// one part (one slice).
func storeProvenance(ps []*Provenance) [][2][]byte {
	out := make([][2][]byte, len(ps))
	type group struct {
		trees   []*tree
		members []int
		metas   [][]byte       // canonical JSON, in table order
		metaAt  map[string]int // canonical JSON -> position
	}
	groups := map[string]*group{}
	var order []string
	var kb []byte
	for i, p := range ps {
		kb = kb[:0]
		steps := p.steps()
		for _, s := range steps {
			kb = append(kb, s.Node...)
			kb = append(kb, 0)
			kb = append(kb, s.To...)
			kb = append(kb, 0)
			kb = binary.AppendVarint(kb, s.At.UnixNano())
			kb = append(kb, s.Root[:]...)
			kb = binary.AppendVarint(kb, s.Size)
			kb = append(kb, s.Sig[:]...)
		}
		g := groups[string(kb)]
		if g == nil {
			g = &group{}
			for _, s := range steps {
				g.trees = append(g.trees, &tree{head: headOf(s), nodes: map[span]Digest{}})
			}
			groups[string(kb)] = g
			order = append(order, string(kb))
		}
		g.members = append(g.members, i)
		for j, s := range steps {
			t := g.trees[j]
			for k, sp := range proofSpans(s.Index, s.Size) {
				if k < len(s.Proof) {
					t.nodes[sp] = s.Proof[k]
				}
			}
		}
		rec := make([]byte, 0, 5+2*len(steps))
		rec = append(rec, storedFormat)
		rec = binary.AppendUvarint(rec, uint64(p.Format))
		rec = binary.AppendUvarint(rec, uint64(len(steps)))
		for _, s := range steps {
			rec = binary.AppendUvarint(rec, uint64(s.Index))
		}
		if p.Meta != nil {
			c := p.Meta.canonical()
			at, ok := g.metaAt[string(c)]
			if !ok {
				if g.metaAt == nil {
					g.metaAt = map[string]int{}
				}
				at = len(g.metas)
				g.metas = append(g.metas, c)
				g.metaAt[string(c)] = at
			}
			rec = binary.AppendUvarint(rec, uint64(at))
		}
		out[i][0] = rec
	}
	for _, k := range order {
		g := groups[k]
		shared := encodeShared(g.trees, g.metas)
		for _, i := range g.members {
			out[i][1] = shared
		}
	}
	return out
}

// encodeShared writes the shared part of a group, keeping only the tree
// hashes that cannot be computed from others kept, and its Metas.
func encodeShared(trees []*tree, metas [][]byte) []byte {
	b := []byte{storedFormat}
	if len(metas) > 0 {
		b[0] = storedMetaFormat
	}
	b = binary.AppendUvarint(b, uint64(len(trees)))
	for _, t := range trees {
		h := &t.head
		b = binary.AppendUvarint(b, uint64(len(h.node)))
		b = append(b, h.node...)
		b = binary.AppendUvarint(b, uint64(len(h.to)))
		b = append(b, h.to...)
		b = binary.AppendVarint(b, h.at.UnixNano())
		b = append(b, h.root[:]...)
		b = binary.AppendUvarint(b, uint64(h.size))
		b = append(b, h.sig[:]...)
		keep := make([]span, 0, len(t.nodes))
		for s := range t.nodes {
			if s.hi-s.lo > 1 {
				k := s.lo + int64(splitPoint(int(s.hi-s.lo)))
				_, l := t.nodes[span{s.lo, k}]
				_, r := t.nodes[span{k, s.hi}]
				if l && r {
					continue // its children are kept, or computable
				}
			}
			keep = append(keep, s)
		}
		// A node whose children are themselves dropped is still
		// computable, since they were dropped only for having theirs.
		slices.SortFunc(keep, func(x, y span) int {
			if x.lo != y.lo {
				return int(x.lo - y.lo)
			}
			return int(x.hi - y.hi)
		})
		b = binary.AppendUvarint(b, uint64(len(keep)))
		for _, s := range keep {
			b = binary.AppendUvarint(b, uint64(s.lo))
			b = binary.AppendUvarint(b, uint64(s.hi-s.lo))
			d := t.nodes[s]
			b = append(b, d[:]...)
		}
	}
	if len(metas) > 0 {
		b = binary.AppendUvarint(b, uint64(len(metas)))
		for _, m := range metas {
			b = binary.AppendUvarint(b, uint64(len(m)))
			b = append(b, m...)
		}
	}
	return b
}

var errStored = fmt.Errorf("stored provenance: truncated or corrupt: %w", ErrMalformed)

// reader reads the binary parts.
type reader struct {
	b   []byte
	err error
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err, r.b = errStored, nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err, r.b = errStored, nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) bytes(n uint64) []byte {
	if uint64(len(r.b)) < n {
		r.err, r.b = errStored, nil
		return make([]byte, n)
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) str() string {
	n := r.uvarint()
	if n > 64 {
		r.err, r.b = errStored, nil
		return ""
	}
	s := r.bytes(n)
	if !utf8.Valid(s) {
		r.err = errStored
	}
	return string(s)
}

// shared is a decoded shared part.
type shared struct {
	trees []*tree
	metas []*Meta
}

// decodeShared reads a shared part.
func decodeShared(b []byte) (*shared, error) {
	r := &reader{b: b}
	f := r.bytes(1)[0]
	if f != storedFormat && f != storedMetaFormat {
		return nil, errStored
	}
	n := r.uvarint()
	if n == 0 || n > MaxPath+1 {
		return nil, errStored
	}
	trees := make([]*tree, 0, n)
	for range n {
		var h stepHead
		h.node = r.str()
		h.to = r.str()
		h.at = time.Unix(0, r.varint()).UTC()
		copy(h.root[:], r.bytes(32))
		h.size = int64(r.uvarint())
		copy(h.sig[:], r.bytes(64))
		if h.size < 1 || h.size > MaxBatch {
			return nil, errStored
		}
		m := r.uvarint()
		if m > uint64(len(r.b))/34 { // each hash takes at least 34 bytes
			return nil, errStored
		}
		t := &tree{head: h, nodes: make(map[span]Digest, m)}
		for range m {
			lo := int64(r.uvarint())
			w := int64(r.uvarint())
			var d Digest
			copy(d[:], r.bytes(32))
			t.nodes[span{lo, lo + w}] = d
		}
		if r.err != nil {
			return nil, r.err
		}
		trees = append(trees, t)
	}
	sh := &shared{trees: trees}
	if f == storedMetaFormat {
		m := r.uvarint()
		if m == 0 || m > uint64(len(r.b)) {
			return nil, errStored
		}
		for range m {
			n := r.uvarint()
			if n > maxMetaBytes {
				return nil, errStored
			}
			raw := r.bytes(n)
			if r.err != nil {
				return nil, r.err
			}
			meta, err := decodeMeta(raw)
			if err != nil {
				return nil, err
			}
			sh.metas = append(sh.metas, meta)
		}
	}
	if len(r.b) != 0 {
		return nil, errStored
	}
	return sh, nil
}

// storedDecoder reads stored records, parsing each shared part once.
type storedDecoder struct {
	shared map[*byte]*shared
}

// decode reads one stored record: whole JSON, or a per-version part with
// its shared part. The result is checked as DecodeProvenance checks.
func (d *storedDecoder) decode(r store.ProvenanceRecord) (*Provenance, error) {
	if r.Shared == nil {
		return DecodeProvenance(r.Record)
	}
	if len(r.Shared) == 0 {
		return nil, errStored
	}
	if d.shared == nil {
		d.shared = map[*byte]*shared{}
	}
	sh, ok := d.shared[&r.Shared[0]]
	if !ok {
		var err error
		if sh, err = decodeShared(r.Shared); err != nil {
			return nil, err
		}
		d.shared[&r.Shared[0]] = sh
	}
	trees := sh.trees
	rd := &reader{b: r.Record}
	if f := rd.bytes(1); f[0] != storedFormat {
		return nil, errStored
	}
	p := &Provenance{Format: int(rd.uvarint())}
	if n := rd.uvarint(); n != uint64(len(trees)) {
		return nil, errStored
	}
	for j, t := range trees {
		idx := int64(rd.uvarint())
		if rd.err != nil {
			return nil, rd.err
		}
		s, err := t.step(idx)
		if err != nil {
			return nil, err
		}
		if j == 0 {
			p.Origin = s
		} else {
			p.Path = append(p.Path, s)
		}
	}
	if p.Format >= 2 {
		at := rd.uvarint()
		if rd.err != nil || at >= uint64(len(sh.metas)) {
			return nil, errStored
		}
		p.Meta = sh.metas[at]
	}
	if len(rd.b) != 0 {
		return nil, errStored
	}
	if err := p.validate(); err != nil {
		return nil, err
	}
	return p, nil
}

// steps lists the origin and the hops.
func (p *Provenance) steps() []*Step {
	out := make([]*Step, 0, 1+len(p.Path))
	out = append(out, &p.Origin)
	for i := range p.Path {
		out = append(out, &p.Path[i])
	}
	return out
}

// appendJSON appends p as JSON, the form Encode writes, without
// reflection: the records of every page served to a peer are written so.
func (p *Provenance) appendJSON(b []byte) []byte {
	b = append(b, `{"v":`...)
	b = strconv.AppendInt(b, int64(p.Format), 10)
	if p.Meta != nil {
		b = append(b, `,"meta":`...)
		b = append(b, p.Meta.canonical()...)
	}
	b = append(b, `,"origin":`...)
	b = p.Origin.appendJSON(b)
	if len(p.Path) > 0 {
		b = append(b, `,"path":[`...)
		for i := range p.Path {
			if i > 0 {
				b = append(b, ',')
			}
			b = p.Path[i].appendJSON(b)
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

func (s *Step) appendJSON(b []byte) []byte {
	b = append(b, `{"node":`...)
	b = appendJSONString(b, s.Node)
	if s.To != "" {
		b = append(b, `,"to":`...)
		b = appendJSONString(b, s.To)
	}
	b = append(b, `,"at":"`...)
	b = s.At.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","root":"`...)
	b = base64Std.AppendEncode(b, s.Root[:])
	b = append(b, `","index":`...)
	b = strconv.AppendInt(b, s.Index, 10)
	b = append(b, `,"size":`...)
	b = strconv.AppendInt(b, s.Size, 10)
	if len(s.Proof) > 0 {
		b = append(b, `,"proof":[`...)
		for i := range s.Proof {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '"')
			b = base64Std.AppendEncode(b, s.Proof[i][:])
			b = append(b, '"')
		}
		b = append(b, ']')
	}
	b = append(b, `,"sig":"`...)
	b = base64Std.AppendEncode(b, s.Sig[:])
	return append(b, `"}`...)
}

var base64Std = base64.StdEncoding

// appendJSONString appends a node name as a JSON string: names keep to
// characters that need no escape, anything else is quoted in full.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			out, err := jsontext.AppendQuote(b, s)
			if err != nil {
				return append(b, `""`...) // invalid UTF-8: not a name validate lets through
			}
			return out
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// servedCache remembers, per peer and version, the provenance record the
// peer is served, as egress stored it: the peer pulls its view right
// after egress fills it, and a hit saves a read of the store. Records are
// never replaced once stored, so an entry stays true;
// the cache is bounded (oldest out first) and a miss reads the store.
// Safe for concurrent use.
type servedCache struct {
	mu    sync.Mutex
	m     map[servedKey]store.ProvenanceRecord
	order []servedKey // ring of the keys in m, oldest at next
	next  int
}

type servedKey struct {
	peer    string
	version int64
}

// servedCap bounds the entries: a few egress batches ahead of the peer.
const servedCap = 1 << 16

func (c *servedCache) put(peer string, rs []store.ProvenanceRecord) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[servedKey]store.ProvenanceRecord)
	}
	for _, r := range rs {
		k := servedKey{peer, r.Version}
		if _, ok := c.m[k]; ok {
			continue
		}
		if len(c.order) < servedCap {
			c.order = append(c.order, k)
		} else {
			delete(c.m, c.order[c.next])
			c.order[c.next] = k
			c.next = (c.next + 1) % servedCap
		}
		c.m[k] = r
	}
}

func (c *servedCache) get(peer string, version int64) (store.ProvenanceRecord, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.m[servedKey{peer, version}]
	return r, ok
}

package match

import (
	"hash/maphash"
	"iter"
	"math/bits"
)

// strTable is an immutable hash table from exact-value keys to postings,
// built once with every table (see buildTable) and then only read, by any
// number of goroutines.
//
// It exists because the lookup of an observed value is the whole cost of
// exact matching, and that cost is memory latency, not instructions. A Go
// map of string to posting spreads a group of eight 56-byte slots over
// several cache lines: a lookup touches the group's control word, the slot
// and the key's bytes, and a miss often as much. Here the slot array holds
// only 8-byte words, a 32-bit tag of the key's hash beside a record index,
// so a value that is not held (most observed values) costs one cache line
// and no key comparison; a held one costs that line, its record (key
// header and posting together) and the key's bytes. Linear probing at a
// load of at most one half keeps probe sequences within a line or two.
type strTable struct {
	seed  maphash.Seed
	shift uint     // 64 - log2(len(slots)): the slot is the hash's high bits
	slots []uint64 // tag<<32 | record index+1; 0 is empty
	recs  []strRec
}

type strRec struct {
	key string
	posting
}

// newStrTable freezes m.
func newStrTable(m map[string]posting) *strTable {
	size := 8
	for size < 2*len(m) {
		size <<= 1
	}
	s := &strTable{
		seed:  maphash.MakeSeed(),
		shift: uint(64 - bits.TrailingZeros(uint(size))),
		slots: make([]uint64, size),
		recs:  make([]strRec, 0, len(m)),
	}
	mask := uint64(size - 1)
	for k, ps := range m {
		h := maphash.String(s.seed, k)
		s.recs = append(s.recs, strRec{key: k, posting: ps})
		w := tagOf(h)<<32 | uint64(len(s.recs))
		for i := h >> s.shift; ; i = (i + 1) & mask {
			if s.slots[i] == 0 {
				s.slots[i] = w
				break
			}
		}
	}
	return s
}

// tagOf is the part of a hash a slot keeps: the low 32 bits, as the slot
// index comes from the high ones.
func tagOf(h uint64) uint64 { return h & 0xffffffff }

// hash is the hash a lookup of k starts from.
func (s *strTable) hash(k string) uint64 { return maphash.String(s.seed, k) }

// get returns the posting of k.
func (s *strTable) get(k string) (*posting, bool) {
	return s.getHashed(k, s.hash(k))
}

func (s *strTable) getHashed(k string, h uint64) (*posting, bool) {
	mask := uint64(len(s.slots) - 1)
	tag := tagOf(h)
	for i := h >> s.shift; ; i = (i + 1) & mask {
		w := s.slots[i]
		if w == 0 {
			return nil, false
		}
		if w>>32 == tag {
			if r := &s.recs[uint32(w)-1]; r.key == k {
				return &r.posting, true
			}
		}
	}
}

// len returns the number of keys.
func (s *strTable) len() int { return len(s.recs) }

// all yields every key and its posting, in no particular order.
func (s *strTable) all() iter.Seq2[string, *posting] {
	return func(yield func(string, *posting) bool) {
		for i := range s.recs {
			if !yield(s.recs[i].key, &s.recs[i].posting) {
				return
			}
		}
	}
}

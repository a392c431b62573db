package federation

import (
	"crypto/sha256"
	"errors"
	"math/bits"
)

// The Merkle tree over a batch follows the shape of RFC 9162 (Certificate
// Transparency 2.0): leaves and interior nodes are hashed with distinct
// prefixes, so a leaf can never pass for an interior node, and a tree of n
// leaves splits at the largest power of two below n. Proofs are verified
// with the leaf's index and the tree's size, both covered by the signature.

const (
	leafPrefix = 0x00
	nodePrefix = 0x01
)

func hashNode(l, r Digest) Digest {
	var buf [1 + 64]byte
	buf[0] = nodePrefix
	copy(buf[1:], l[:])
	copy(buf[33:], r[:])
	return sha256.Sum256(buf[:])
}

// merkleTree returns the root over leaves and, for each leaf, its
// inclusion proof: the sibling hashes from the leaf up to the root.
func merkleTree(leaves []Digest) (root Digest, proofs [][]Digest) {
	proofs = make([][]Digest, len(leaves))
	var build func(lo, hi int) Digest
	build = func(lo, hi int) Digest {
		if hi-lo == 1 {
			return leaves[lo]
		}
		k := splitPoint(hi - lo)
		left, right := build(lo, lo+k), build(lo+k, hi)
		// The subtrees appended their deeper siblings first, so each proof
		// runs from the leaf upwards.
		for i := lo; i < lo+k; i++ {
			proofs[i] = append(proofs[i], right)
		}
		for i := lo + k; i < hi; i++ {
			proofs[i] = append(proofs[i], left)
		}
		return hashNode(left, right)
	}
	return build(0, len(leaves)), proofs
}

// splitPoint is the largest power of two smaller than n (n > 1).
func splitPoint(n int) int { return 1 << (bits.Len(uint(n-1)) - 1) }

// proofLen is the length of the inclusion proof of leaf index in a tree of
// size leaves: the depth of that leaf.
func proofLen(index, size int64) int {
	n := 0
	for size > 1 {
		k := int64(splitPoint(int(size)))
		if index < k {
			size = k
		} else {
			index -= k
			size -= k
		}
		n++
	}
	return n
}

var errProof = errors.New("inclusion proof does not fit the batch")

// rootFromProof recomputes the root of a tree of size leaves from the leaf
// at index and its proof (RFC 9162, section 2.1.3.2).
func rootFromProof(leaf Digest, index, size int64, proof []Digest) (Digest, error) {
	if index < 0 || index >= size {
		return Digest{}, errProof
	}
	fn, sn := index, size-1
	r := leaf
	for _, p := range proof {
		if sn == 0 {
			return Digest{}, errProof
		}
		if fn&1 == 1 || fn == sn {
			r = hashNode(p, r)
			for fn&1 == 0 && fn != 0 {
				fn >>= 1
				sn >>= 1
			}
		} else {
			r = hashNode(r, p)
		}
		fn >>= 1
		sn >>= 1
	}
	if sn != 0 {
		return Digest{}, errProof
	}
	return r, nil
}

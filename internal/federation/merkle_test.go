package federation

import (
	"crypto/sha256"
	"testing"
)

// referenceRoot is the tree hash written straight from its definition,
// one level at a time, as an oracle for merkleTree.
func referenceRoot(leaves []Digest) Digest {
	if len(leaves) == 1 {
		return leaves[0]
	}
	k := 1
	for k*2 < len(leaves) {
		k *= 2
	}
	return hashNode(referenceRoot(leaves[:k]), referenceRoot(leaves[k:]))
}

func TestMerkle(t *testing.T) {
	for n := 1; n <= 70; n++ {
		leaves := make([]Digest, n)
		for i := range leaves {
			leaves[i] = sha256.Sum256([]byte{byte(i), byte(n)})
		}
		root, proofs := merkleTree(leaves)
		if root != referenceRoot(leaves) {
			t.Fatalf("n=%d: root differs from the reference", n)
		}
		for i, leaf := range leaves {
			if got := proofLen(int64(i), int64(n)); got != len(proofs[i]) {
				t.Fatalf("n=%d i=%d: proofLen %d, proof has %d", n, i, got, len(proofs[i]))
			}
			r, err := rootFromProof(leaf, int64(i), int64(n), proofs[i])
			if err != nil || r != root {
				t.Fatalf("n=%d i=%d: proof does not lead to the root (%v)", n, i, err)
			}
			// The same proof for another leaf, or at another index, fails.
			if r, err := rootFromProof(leaves[(i+1)%n], int64(i), int64(n), proofs[i]); n > 1 && err == nil && r == root {
				t.Fatalf("n=%d i=%d: the proof verifies another leaf", n, i)
			}
			if n > 1 {
				j := (i + 1) % n
				if r, err := rootFromProof(leaf, int64(j), int64(n), proofs[i]); err == nil && r == root {
					t.Fatalf("n=%d i=%d: the proof verifies at index %d", n, i, j)
				}
			}
			if len(proofs[i]) > 0 {
				bad := append([]Digest(nil), proofs[i]...)
				bad[0][0] ^= 1
				if r, _ := rootFromProof(leaf, int64(i), int64(n), bad); r == root {
					t.Fatalf("n=%d i=%d: a changed proof still verifies", n, i)
				}
				if _, err := rootFromProof(leaf, int64(i), int64(n), proofs[i][:len(proofs[i])-1]); err == nil {
					t.Fatalf("n=%d i=%d: a short proof was accepted", n, i)
				}
			}
			if _, err := rootFromProof(leaf, int64(i), int64(n), append(proofs[i], root)); err == nil {
				t.Fatalf("n=%d i=%d: a long proof was accepted", n, i)
			}
		}
	}
	if _, err := rootFromProof(Digest{}, 3, 3, nil); err == nil {
		t.Error("an index past the batch was accepted")
	}
}

package federation

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/setu-cti/setu/internal/store"
)

func testSigner(name string, seed byte) Signer {
	_, priv, _ := ed25519.GenerateKey(bytes.NewReader(bytes.Repeat([]byte{seed}, 64)))
	return Signer{Name: name, Key: priv}
}

func testBodies(n int, tag string) [][]byte {
	bs := make([][]byte, n)
	for i := range bs {
		bs[i] = fmt.Appendf(nil, `{"id":"indicator--%08x-0000-4000-8000-000000000000","type":"indicator","x":%q}`, i, tag)
	}
	return bs
}

// testMetas are metas for n objects: two distinct ones, alternating.
func testMetas(n int) []*Meta {
	a := &Meta{TLP: "green", Sectors: []string{"telecommunications", "energy"}}
	b := &Meta{TLP: "amber", Distribution: []string{"group", "partners"}, Groups: []string{"in-jp-telecom"}, Resident: []string{"IN"}}
	out := make([]*Meta, n)
	for i := range out {
		out[i] = a
		if i%2 == 1 {
			out[i] = b
		}
	}
	return out
}

// roundTrip stores ps as egress and ingress do and reads them back.
func roundTrip(t *testing.T, ps []*Provenance) []store.ProvenanceRecord {
	t.Helper()
	parts := storeProvenance(ps)
	recs := make([]store.ProvenanceRecord, len(ps))
	var dec storedDecoder
	for i, p := range ps {
		// What the store returns is a copy.
		recs[i] = store.ProvenanceRecord{Version: int64(i + 1), Record: bytes.Clone(parts[i][0]), Shared: parts[i][1]}
		got, err := dec.decode(recs[i])
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if diff := cmp.Diff(p, got); diff != "" {
			t.Fatalf("record %d (-stored +read):\n%s", i, diff)
		}
		want, err := p.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if js := got.appendJSON(nil); !bytes.Equal(js, want) {
			t.Fatalf("record %d: appendJSON\n%s\nwant (Encode)\n%s", i, js, want)
		}
		if _, err := DecodeProvenance(got.appendJSON(nil)); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
	}
	return recs
}

func TestStoredProvenance(t *testing.T) {
	in, jp, kr := testSigner("IN", 1), testSigner("JP", 2), testSigner("KR", 3)
	at := time.Date(2026, 5, 1, 9, 30, 0, 123456789, time.UTC)
	for _, tt := range []struct {
		n     int
		metas bool
	}{{1, false}, {2, false}, {3, false}, {7, false}, {64, false}, {100, false}, {2000, false},
		{1, true}, {7, true}, {100, true}, {2000, true}} {
		n := tt.n
		t.Run(fmt.Sprintf("%d/meta=%v", n, tt.metas), func(t *testing.T) {
			bs := testBodies(n, "a")
			var metas []*Meta
			if tt.metas {
				metas = testMetas(n)
			}
			ps, err := SignMeta(in, at, bs, metas)
			if err != nil {
				t.Fatal(err)
			}
			recs := roundTrip(t, pointers(ps))
			for i := range recs {
				if &recs[i].Shared[0] != &recs[0].Shared[0] {
					t.Fatalf("record %d does not share the batch's part", i)
				}
			}
			// A whole batch keeps its leaves, and its distinct metas.
			sh, err := decodeShared(recs[0].Shared)
			if err != nil {
				t.Fatal(err)
			}
			if n > 1 && len(sh.trees[0].nodes) != n {
				t.Errorf("shared part keeps %d hashes, want the %d leaves", len(sh.trees[0].nodes), n)
			}
			if want := min(n, 2); tt.metas && len(sh.metas) != want {
				t.Errorf("shared part keeps %d metas, want %d", len(sh.metas), want)
			}
			per := 0
			for _, r := range recs {
				per += len(r.Record)
			}
			t.Logf("%d records: shared %d bytes, per version %.1f bytes", n, len(recs[0].Shared), float64(per)/float64(n))

			// Parts of the batch, forwarded: scattered members of two
			// groups (origin only, and with a hop), as a page holds them.
			fw := make([]Forward, 0, n)
			var fbs [][]byte
			for i := 0; i < n; i += 3 {
				fw = append(fw, Forward{Body: bs[i], Provenance: ps[i]})
				fbs = append(fbs, bs[i])
			}
			hops, err := AddHop(jp, "KR", at.Add(time.Second), fw)
			if err != nil {
				t.Fatal(err)
			}
			mixed := []*Provenance{}
			for i := range hops {
				mixed = append(mixed, &hops[i])
				if 3*i+1 < n {
					mixed = append(mixed, &ps[3*i+1])
				}
			}
			roundTrip(t, mixed)
			fw2 := make([]Forward, len(hops))
			for i := range hops {
				fw2[i] = Forward{Body: fbs[i], Provenance: hops[i]}
			}
			two, err := AddHop(kr, "US", at.Add(2*time.Second), fw2)
			if err != nil {
				t.Fatal(err)
			}
			roundTrip(t, pointers(two))
		})
	}
}

func TestStoredProvenanceGroups(t *testing.T) {
	in := testSigner("IN", 1)
	at := time.Date(2026, 5, 1, 9, 30, 0, 0, time.UTC)
	a, err := Sign(in, at, testBodies(5, "a"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Sign(in, at.Add(time.Millisecond), testBodies(5, "b"))
	if err != nil {
		t.Fatal(err)
	}
	ps := []*Provenance{&a[0], &b[0], &a[1], &b[4], &a[4]}
	recs := roundTrip(t, ps)
	if &recs[0].Shared[0] != &recs[2].Shared[0] || &recs[0].Shared[0] == &recs[1].Shared[0] || &recs[1].Shared[0] != &recs[3].Shared[0] {
		t.Error("records are not grouped by batch")
	}
}

func TestStoredProvenanceCorrupt(t *testing.T) {
	ps, err := Sign(testSigner("IN", 1), time.Unix(1e9, 0), testBodies(9, "a"))
	if err != nil {
		t.Fatal(err)
	}
	parts := storeProvenance(pointers(ps))
	rec, shared := parts[4][0], parts[4][1]
	mps, err := SignMeta(testSigner("IN", 1), time.Unix(1e9, 0), testBodies(9, "a"), testMetas(9))
	if err != nil {
		t.Fatal(err)
	}
	mparts := storeProvenance(pointers(mps))
	metaRec, metaShared := mparts[4][0], mparts[4][1]
	for _, tt := range []struct {
		name           string
		record, shared []byte
	}{
		{"record truncated", rec[:len(rec)-1], shared},
		{"record longer", append(bytes.Clone(rec), 0), shared},
		{"index outside", []byte{storedFormat, 1, 1, 9}, shared},
		{"shared truncated", rec, shared[:len(shared)-5]},
		{"shared empty", rec, []byte{}},
		{"shared not binary", rec, []byte(`{"v":1}`)},
		{"leaf missing", rec, func() []byte {
			sh, _ := decodeShared(shared)
			delete(sh.trees[0].nodes, span{5, 6})
			return encodeShared(sh.trees, nil)
		}()},
		{"meta missing", metaRec, metaShared[:len(metaShared)-3]},
		{"meta index outside", append(bytes.Clone(metaRec[:len(metaRec)-1]), 9), metaShared},
		{"meta table without metas", metaRec, shared},
		{"meta invalid", metaRec, bytes.Replace(bytes.Clone(metaShared), []byte(`"green"`), []byte(`"grey!"`), 1)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var dec storedDecoder
			if p, err := dec.decode(store.ProvenanceRecord{Record: tt.record, Shared: tt.shared}); err == nil {
				t.Errorf("decoded %+v", p)
			}
		})
	}
}

func FuzzStoredProvenance(f *testing.F) {
	ps, _ := Sign(testSigner("IN", 1), time.Unix(1e9, 0), testBodies(5, "a"))
	parts := storeProvenance(pointers(ps))
	f.Add(parts[2][0], parts[2][1])
	mps, _ := SignMeta(testSigner("IN", 1), time.Unix(1e9, 0), testBodies(5, "a"), testMetas(5))
	mparts := storeProvenance(pointers(mps))
	f.Add(mparts[3][0], mparts[3][1])
	f.Fuzz(func(t *testing.T, rec, shared []byte) {
		var dec storedDecoder
		p, err := dec.decode(store.ProvenanceRecord{Record: rec, Shared: shared})
		if err != nil {
			return
		}
		if _, err := DecodeProvenance(p.appendJSON(nil)); err != nil {
			t.Fatalf("a decoded record writes JSON that does not read back: %v", err)
		}
	})
}

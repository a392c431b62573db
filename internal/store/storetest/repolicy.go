package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/setu-cti/setu/internal/store"
)

// testRepolicy: versions stored while a marking they name was unknown are
// listed by Unresolved, and SetPolicy gives them new facts and audience in
// every collection that lists them, with a "policy" change per row; the
// bodies do not change.
func testRepolicy(t *testing.T, open Opener) {
	s := openWith(t, open, store.Options{})
	rp, ok := s.(store.Repolicy)
	if !ok {
		t.Skipf("%T does not implement store.Repolicy", s)
	}
	ctx := context.Background()
	const unknown = `{"Submitter":"a","TLP":0,"Unknown":["marking-definition--00000000-0000-4000-8000-000000000009"]}`
	waiting := indicator(t, 1, 0)
	waiting.Submitter, waiting.Facts, waiting.Audience = "a", []byte(unknown), []string{"org:a"}
	plain := indicator(t, 2, 0)
	plain.Submitter, plain.Facts, plain.Audience = "a", []byte(`{"Submitter":"a","TLP":0,"Unknown":null}`), []string{"node"}
	rs := put(t, s, collA, waiting, plain)
	wantOutcomes(t, rs, store.Added, store.Added)
	wantOutcomes(t, put(t, s, collB, waiting), store.Added)

	got, err := rp.Unresolved(ctx, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != waiting.ID || got[0].Ref != rs[0].Ref || string(got[0].Body) != string(waiting.Body) ||
		string(got[0].Facts) != unknown || !cmp.Equal(got[0].Audience, []string{"org:a"}) {
		t.Fatalf("Unresolved: %+v", got)
	}
	if more, err := rp.Unresolved(ctx, got[0].Ref, 10); err != nil || len(more) != 0 {
		t.Fatalf("Unresolved after the last: %v %v", more, err)
	}

	before, err := s.Changes(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	resolved := `{"Submitter":"a","TLP":0,"Unknown":null}`
	if err := rp.SetPolicy(ctx, []store.PolicyUpdate{{Ref: rs[0].Ref, Facts: []byte(resolved), Audience: []string{"node"}}}); err != nil {
		t.Fatal(err)
	}
	if got, err := rp.Unresolved(ctx, 0, 10); err != nil || len(got) != 0 {
		t.Fatalf("Unresolved after SetPolicy: %v %v", got, err)
	}
	v := current(t, s, waiting.ID)
	if string(v.Facts) != resolved || string(v.Body) != string(waiting.Body) {
		t.Errorf("after SetPolicy: facts %s, body %s", v.Facts, v.Body)
	}
	for _, c := range []string{collA, collB} {
		for keys, want := range map[string]int{"node": 1, "org:a": 0} {
			if c == collA && keys == "node" {
				want = 2 // plain, too
			}
			p, err := s.Query(ctx, store.Query{Collection: c, ReaderKeys: []string{keys}, Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Versions) != want {
				t.Errorf("collection %s, key %s: %d rows, want %d", c, keys, len(p.Versions), want)
			}
		}
	}
	after, err := s.Changes(ctx, before[len(before)-1].Seq, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != 2 || after[0].Kind != "policy" || after[1].Kind != "policy" || after[0].ID != waiting.ID ||
		after[0].Collection == after[1].Collection {
		t.Errorf("changes after SetPolicy: %+v", after)
	}
	// A later write still takes a later seq.
	rs = put(t, s, collA, indicator(t, 3, 0))
	if rs[0].Seq <= after[len(after)-1].Seq {
		t.Errorf("seq %d after policy change %d", rs[0].Seq, after[len(after)-1].Seq)
	}
	if err := rp.SetPolicy(ctx, []store.PolicyUpdate{{Ref: 1 << 40}}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SetPolicy of an unknown ref: %v", err)
	}
}

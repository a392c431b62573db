package match

import (
	"fmt"
	"testing"
)

func TestStrTable(t *testing.T) {
	for _, n := range []int{0, 1, 7, 8, 9, 1000, 70000} {
		m := make(map[string]posting, n)
		for i := range n {
			m[fmt.Sprintf("k%d", i)] = posting{p: uint32(i)}
		}
		s := newStrTable(m)
		if s.len() != n {
			t.Fatalf("n=%d: len %d", n, s.len())
		}
		if 2*n > len(s.slots) {
			t.Fatalf("n=%d: %d slots, more than half full", n, len(s.slots))
		}
		for k, want := range m {
			got, ok := s.get(k)
			if !ok || got.p != want.p {
				t.Fatalf("n=%d: get(%q) = %v, %v; want %d", n, k, got, ok, want.p)
			}
		}
		for i := range 1000 {
			if _, ok := s.get(fmt.Sprintf("x%d", i)); ok {
				t.Fatalf("n=%d: found absent key x%d", n, i)
			}
		}
		if _, ok := s.get(""); ok {
			t.Fatalf("n=%d: found the empty key", n)
		}
		seen := 0
		for k, ps := range s.all() {
			if m[k].p != ps.p {
				t.Fatalf("n=%d: all yields %q → %d, want %d", n, k, ps.p, m[k].p)
			}
			seen++
		}
		if seen != n {
			t.Fatalf("n=%d: all yields %d keys", n, seen)
		}
	}
}

func TestLookupAllAllocs(t *testing.T) {
	ix := NewIndex()
	var add []Indicator
	var qs []Query
	for i := range 200 {
		v := fmt.Sprintf("host-%d.example", i)
		add = append(add, Indicator{ID: fmt.Sprintf("indicator--%d", i), Pattern: "[domain-name:value = '" + v + "']"})
	}
	ix.Update(add, nil)
	p, err := ix.Property("domain-name", "value")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		qs = append(qs, Query{Property: p, Value: fmt.Sprintf("host-%d.example", 4*i)})
	}
	dst := make([]Found, 0, len(qs))
	if n := testing.AllocsPerRun(20, func() { dst = ix.LookupAll(dst[:0], qs, t0) }); n != 0 {
		t.Errorf("LookupAll allocates %.0f times a call", n)
	}
	if len(dst) != 50 {
		t.Errorf("LookupAll found %d, want 50", len(dst))
	}
	for i, f := range dst {
		if want := fmt.Sprintf("indicator--%d", 4*i); f.Query != i || f.ID != want {
			t.Fatalf("found[%d] = %+v, want query %d, %s", i, f, i, want)
		}
	}
}

package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/setu-cti/setu/internal/store"
	"github.com/setu-cti/setu/internal/store/storetest"
)

func TestGroups(t *testing.T) {
	storetest.RunGroups(t, func(t *testing.T, opts store.Options) store.Store {
		return openTest(t, testDSN(t), opts)
	})
}

// TestGroupNames checks what the conformance suite leaves open: ids and
// names share one namespace, so Group by id or name is never ambiguous, and
// the members of an absent group are not an empty list.
func TestGroupNames(t *testing.T) {
	ctx := context.Background()
	var g store.Groups = openTest(t, testDSN(t), store.Options{})
	if err := g.CreateGroup(ctx, store.Group{ID: "g1", Name: "one"}); err != nil {
		t.Fatal(err)
	}
	for _, gr := range []store.Group{{ID: "one", Name: "uno"}, {ID: "g2", Name: "g1"}, {ID: "g1", Name: "other"}} {
		if err := g.CreateGroup(ctx, gr); !errors.Is(err, store.ErrExists) {
			t.Errorf("CreateGroup(%+v) = %v, want ErrExists", gr, err)
		}
	}
	got, err := g.Group(ctx, "g1")
	if err != nil || got.Name != "one" || got.Created.IsZero() {
		t.Errorf("Group(g1) = %+v, %v", got, err)
	}
	if ms, err := g.GroupMembers(ctx, "g1"); err != nil || len(ms) != 0 {
		t.Errorf("members of an empty group: %v, %v", ms, err)
	}
	if _, err := g.GroupMembers(ctx, "g9"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("members of an absent group: %v", err)
	}
}

// TestGroupCycleRace adds pairs of groups to each other at once, a in b
// and b in a: each add is acyclic on its own, so only a check that sees the
// other add can refuse one. Exactly one of each pair may succeed.
func TestGroupCycleRace(t *testing.T) {
	ctx := context.Background()
	var g store.Groups = openTest(t, testDSN(t), store.Options{})
	for round := range 20 {
		a, b := fmt.Sprintf("a%d", round), fmt.Sprintf("b%d", round)
		for _, id := range []string{a, b} {
			if err := g.CreateGroup(ctx, store.Group{ID: id, Name: id}); err != nil {
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, pair := range [][2]string{{a, b}, {b, a}} {
			wg.Go(func() { errs[i] = g.AddGroupMember(ctx, pair[0], "group:"+pair[1]) })
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, store.ErrCycle):
				t.Fatalf("unexpected error: %v", err)
			}
		}
		if ok != 1 {
			t.Fatalf("round %d: %d of the two adds succeeded, want 1: %v", round, ok, errs)
		}
	}
}

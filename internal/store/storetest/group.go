package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/setu-cti/setu/internal/store"
)

// RunGroups runs the conformance tests for sharing groups. The stores open
// returns must implement Node and store.Groups.
func RunGroups(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	n, ok := s.(Node)
	g, ok2 := s.(store.Groups)
	if !ok || !ok2 {
		t.Fatalf("%T does not implement storetest.Node and store.Groups", s)
	}
	ctx := context.Background()
	for _, o := range []string{"in-telco", "jp-telco", "in-power"} {
		mustOrg(t, n, o, "IN")
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, gr := range []store.Group{
		{ID: "g-telecom", Name: "IN-JP telecom operators", Created: t0},
		{ID: "g-ci", Name: "critical infrastructure", Created: t0},
		{ID: "g-all", Name: "everyone", Created: t0},
	} {
		must(g.CreateGroup(ctx, gr))
	}
	if err := g.CreateGroup(ctx, store.Group{ID: "g-other", Name: "everyone"}); !errors.Is(err, store.ErrExists) {
		t.Errorf("duplicate name: %v", err)
	}
	if got, err := g.Group(ctx, "IN-JP telecom operators"); err != nil || got.ID != "g-telecom" {
		t.Errorf("Group by name: %+v %v", got, err)
	}
	if _, err := g.Group(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("absent group: %v", err)
	}
	must(g.AddGroupMember(ctx, "g-telecom", "org:in-telco"))
	must(g.AddGroupMember(ctx, "g-telecom", "org:jp-telco"))
	must(g.AddGroupMember(ctx, "g-telecom", "org:jp-telco")) // no-op
	must(g.AddGroupMember(ctx, "g-ci", "org:in-power"))
	must(g.AddGroupMember(ctx, "g-ci", "group:g-telecom"))
	must(g.AddGroupMember(ctx, "g-all", "group:g-ci"))
	for _, tt := range []struct {
		group, member string
		want          error
	}{
		{"g-telecom", "org:nobody", store.ErrNotFound},
		{"g-telecom", "group:nothing", store.ErrNotFound},
		{"g-nothing", "org:in-telco", store.ErrNotFound},
		{"g-telecom", "group:g-telecom", store.ErrCycle},
		{"g-telecom", "group:g-all", store.ErrCycle},
		{"g-telecom", "bogus", store.ErrNotFound},
	} {
		if err := g.AddGroupMember(ctx, tt.group, tt.member); !errors.Is(err, tt.want) {
			t.Errorf("AddGroupMember(%s, %s) = %v, want %v", tt.group, tt.member, err, tt.want)
		}
	}
	ms, err := g.GroupMembers(ctx, "g-telecom")
	must(err)
	slices.Sort(ms)
	if !slices.Equal(ms, []string{"org:in-telco", "org:jp-telco"}) {
		t.Errorf("members %v", ms)
	}
	orgGroups := func(org string) []string {
		t.Helper()
		gs, err := g.OrgGroups(ctx, org)
		must(err)
		slices.Sort(gs)
		return gs
	}
	if got := orgGroups("jp-telco"); !slices.Equal(got, []string{"g-all", "g-ci", "g-telecom"}) {
		t.Errorf("jp-telco groups %v (membership through groups counts)", got)
	}
	if got := orgGroups("in-power"); !slices.Equal(got, []string{"g-all", "g-ci"}) {
		t.Errorf("in-power groups %v", got)
	}
	must(g.RemoveGroupMember(ctx, "g-ci", "group:g-telecom"))
	if got := orgGroups("jp-telco"); !slices.Equal(got, []string{"g-telecom"}) {
		t.Errorf("after removal: %v", got)
	}
	if err := g.RemoveGroupMember(ctx, "g-ci", "group:g-telecom"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("removing a non-member: %v", err)
	}
	if gs, err := g.ListGroups(ctx); err != nil || len(gs) != 3 {
		t.Errorf("ListGroups %v %v", gs, err)
	}
}

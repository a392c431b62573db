package storetest

import (
	"context"
	"crypto/sha256"
	"errors"
	"slices"
	"testing"

	"github.com/setu-cti/setu/internal/store"
)

// RunGroups runs the conformance tests for sharing groups. The stores open
// returns must implement Node, store.Groups and store.Peers.
func RunGroups(t *testing.T, open Opener) {
	t.Run("Members", func(t *testing.T) { testGroupMembers(t, open) })
	t.Run("PeerMembers", func(t *testing.T) { testGroupPeerMembers(t, open) })
}

func testGroupMembers(t *testing.T, open Opener) {
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

// testGroupPeerMembers: a partner node is a member like an organisation,
// checked to exist when added, and counts for every group above the one
// naming it; an organisation and a peer of the same name stay apart.
func testGroupPeerMembers(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	n, ok := s.(Node)
	g, ok2 := s.(store.Groups)
	p, ok3 := s.(store.Peers)
	if !ok || !ok2 || !ok3 {
		t.Fatalf("%T does not implement storetest.Node, store.Groups and store.Peers", s)
	}
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	mustOrg(t, n, "JP-CERT", "JP")
	for _, name := range []string{"JP-CERT", "SG-CERT"} {
		must(p.CreatePeer(ctx, store.Peer{Name: name, URL: "https://" + name + ".example/taxii2/",
			CertSHA256: sha256.Sum256([]byte(name)), Created: t0}))
	}
	// g-cross holds g-telecom, which holds JP-CERT; g-top holds g-cross.
	for _, id := range []string{"g-telecom", "g-cross", "g-top", "g-alone"} {
		must(g.CreateGroup(ctx, store.Group{ID: id, Name: id, Created: t0}))
	}
	must(g.AddGroupMember(ctx, "g-telecom", "peer:JP-CERT"))
	must(g.AddGroupMember(ctx, "g-telecom", "peer:JP-CERT")) // no-op
	must(g.AddGroupMember(ctx, "g-cross", "group:g-telecom"))
	must(g.AddGroupMember(ctx, "g-cross", "peer:SG-CERT"))
	must(g.AddGroupMember(ctx, "g-top", "group:g-cross"))
	for _, tt := range []struct{ group, member string }{
		{"g-telecom", "peer:KR-CERT"},
		{"g-telecom", "peer:"},
		{"g-nothing", "peer:JP-CERT"},
	} {
		if err := g.AddGroupMember(ctx, tt.group, tt.member); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("AddGroupMember(%s, %s) = %v, want ErrNotFound", tt.group, tt.member, err)
		}
	}
	ms, err := g.GroupMembers(ctx, "g-cross")
	must(err)
	slices.Sort(ms)
	if !slices.Equal(ms, []string{"group:g-telecom", "peer:SG-CERT"}) {
		t.Errorf("members of g-cross %v", ms)
	}
	peerGroups := func(peer string) []string {
		t.Helper()
		gs, err := g.PeerGroups(ctx, peer)
		must(err)
		slices.Sort(gs)
		return gs
	}
	for _, tt := range []struct {
		peer string
		want []string
	}{
		{"JP-CERT", []string{"g-cross", "g-telecom", "g-top"}},
		{"SG-CERT", []string{"g-cross", "g-top"}},
		{"KR-CERT", nil},
	} {
		if got := peerGroups(tt.peer); !slices.Equal(got, tt.want) {
			t.Errorf("PeerGroups(%s) = %v, want %v", tt.peer, got, tt.want)
		}
	}
	if gs, err := g.OrgGroups(ctx, "JP-CERT"); err != nil || len(gs) != 0 {
		t.Errorf("the organisation JP-CERT counted as the peer JP-CERT: %v, %v", gs, err)
	}
	must(g.AddGroupMember(ctx, "g-alone", "org:JP-CERT"))
	if got := peerGroups("JP-CERT"); slices.Contains(got, "g-alone") {
		t.Errorf("the peer JP-CERT counted as the organisation JP-CERT: %v", got)
	}
	must(g.RemoveGroupMember(ctx, "g-telecom", "peer:JP-CERT"))
	if got := peerGroups("JP-CERT"); len(got) != 0 {
		t.Errorf("after removal: %v", got)
	}
	if err := g.RemoveGroupMember(ctx, "g-telecom", "peer:JP-CERT"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("removing a peer that is not a member: %v", err)
	}
	// A removed peer leaves its groups: one added later under the same
	// name starts in none.
	must(p.DeletePeer(ctx, "SG-CERT"))
	if ms, err := g.GroupMembers(ctx, "g-cross"); err != nil || !slices.Equal(ms, []string{"group:g-telecom"}) {
		t.Errorf("members of g-cross after SG-CERT was removed: %v, %v", ms, err)
	}
	must(p.CreatePeer(ctx, store.Peer{Name: "SG-CERT", URL: "https://SG-CERT.example/taxii2/",
		CertSHA256: sha256.Sum256([]byte("SG-CERT")), Created: t0}))
	if got := peerGroups("SG-CERT"); len(got) != 0 {
		t.Errorf("a peer added again under a removed one's name is in %v", got)
	}
}

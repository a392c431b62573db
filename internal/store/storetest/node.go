package storetest

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/setu-cti/setu/internal/account"
	"github.com/setu-cti/setu/internal/store"
)

// Node is a store that can run a node: objects, accounts, TAXII statuses and
// jobs, secrets, and deletion from collections.
type Node interface {
	store.Store
	store.Accounts
	store.Statuses
	store.Secrets
	store.Deleter
	store.Settings
}

// RunNode runs the conformance tests for the node parts of the contract
// (accounts, statuses and jobs, secrets, deletion). The stores open returns
// must implement Node.
func RunNode(t *testing.T, open Opener) {
	node := func(t *testing.T) Node {
		s := open(t, store.Options{})
		n, ok := s.(Node)
		if !ok {
			t.Fatalf("%T does not implement storetest.Node", s)
		}
		return n
	}
	t.Run("Accounts", func(t *testing.T) { testAccounts(t, node(t)) })
	t.Run("Grants", func(t *testing.T) { testGrants(t, node(t)) })
	t.Run("Statuses", func(t *testing.T) { testStatuses(t, node(t)) })
	t.Run("Jobs", func(t *testing.T) { testJobs(t, node(t)) })
	t.Run("JobLeasedAtCreation", func(t *testing.T) { testJobLeasedAtCreation(t, node(t)) })
	t.Run("Secrets", func(t *testing.T) { testSecrets(t, node(t)) })
	t.Run("Delete", func(t *testing.T) { testDelete(t, node(t)) })
	t.Run("Settings", func(t *testing.T) { testSettings(t, node(t)) })
	t.Run("AnonymousOrg", func(t *testing.T) { testAnonymousOrg(t, node(t)) })
	t.Run("UpdateOrg", func(t *testing.T) { testUpdateOrg(t, node(t)) })
	t.Run("Released", func(t *testing.T) { testReleased(t, node(t)) })
}

func testSettings(t *testing.T, s Node) {
	if _, err := s.Setting(ctx, "x"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unset setting: %v, want ErrNotFound", err)
	}
	for _, v := range []string{"amber", "green"} {
		if err := s.SetSetting(ctx, "x", v); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Setting(ctx, "x"); err != nil || got != v {
			t.Fatalf("setting = %q, %v; want %q", got, err, v)
		}
	}
}

func testAnonymousOrg(t *testing.T, s Node) {
	o := account.Org{ID: "anon", Name: "Anon", Country: "JP", Kind: account.Business, Created: t0, Anonymous: true}
	if err := s.CreateOrg(ctx, o); err != nil {
		t.Fatal(err)
	}
	for _, want := range []bool{true, false, true} {
		if want != o.Anonymous {
			if err := s.SetOrgAnonymous(ctx, o.ID, want); err != nil {
				t.Fatal(err)
			}
			o.Anonymous = want
		}
		got, err := s.Org(ctx, o.ID)
		if err != nil || got.Anonymous != want {
			t.Fatalf("Org = %+v, %v; want anonymous %v", got, err, want)
		}
	}
	if err := s.SetOrgAnonymous(ctx, "absent", true); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("absent org: %v, want ErrNotFound", err)
	}
}

// testUpdateOrg: an organisation's name, kind, sectors and anonymity
// change in place; its country, creation time and STIX identity stay.
// Every read path (Org, Orgs, Principal) returns what was set.
func testUpdateOrg(t *testing.T, s Node) {
	o := account.Org{ID: "telco", Name: "Telco", Country: "IN", Kind: account.Business, Created: t0, AnonymousToPartners: true,
		Identity: "identity--5b0e3c1d-7f2a-4e8b-9c6d-1a2b3c4d5e6f"}
	if err := s.CreateOrg(ctx, o); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Org(ctx, o.ID); err != nil || !got.AnonymousToPartners || got.Anonymous || len(got.Sectors) != 0 {
		t.Fatalf("created: %+v, %v", got, err)
	}
	want := account.Org{ID: "telco", Name: "Telco Ltd", Country: "IN", Kind: account.CIOperator, Created: t0,
		Sectors: []string{"telecommunications", "energy"}, Anonymous: true, Identity: o.Identity}
	upd := want
	// Not changed by an update:
	upd.Country, upd.Created, upd.Identity = "JP", t0.Add(time.Hour), "identity--00000000-0000-4000-8000-000000000000"
	if err := s.UpdateOrg(ctx, upd); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUser(ctx, account.User{Name: "telco-analyst", Org: o.ID, Role: account.Analyst, Created: t0}); err != nil {
		t.Fatal(err)
	}
	secret, tok, err := account.NewToken("telco-analyst", "", t0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	p, err := s.Principal(ctx, account.HashToken(secret))
	if err != nil {
		t.Fatal(err)
	}
	all, err := s.Orgs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Org(ctx, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	for what, g := range map[string]account.Org{"Org": got, "Principal": p.Org, "Orgs": all[len(all)-1]} {
		if diff := cmp.Diff(want, g); diff != "" {
			t.Errorf("%s after UpdateOrg (-want +got):\n%s", what, diff)
		}
	}
	if err := s.UpdateOrg(ctx, account.Org{ID: "absent", Name: "x", Country: "IN", Kind: account.Business}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("absent org: %v, want ErrNotFound", err)
	}
}

// testReleased: a version's released body is kept beside its body, returned
// with it, and left out with it.
func testReleased(t *testing.T, s Node) {
	if err := s.CreateCollection(ctx, store.Collection{ID: collA, Title: "A"}); err != nil {
		t.Fatal(err)
	}
	v := indicator(t, 7, 1)
	v.Released = []byte(`{"released":true}`)
	plain := indicator(t, 8, 1)
	put(t, s, collA, v, plain)
	got, err := s.Current(ctx, v.ID)
	if err != nil || string(got.Released) != string(v.Released) || string(got.Body) != string(v.Body) {
		t.Fatalf("Current: released %q body %q, %v", got.Released, got.Body, err)
	}
	for _, noBody := range []bool{false, true} {
		p, err := s.Query(ctx, store.Query{Collection: collA, Limit: 10, NoBody: noBody})
		if err != nil || len(p.Versions) != 2 {
			t.Fatalf("Query: %+v, %v", p, err)
		}
		want := string(v.Released)
		if noBody {
			want = ""
		}
		if string(p.Versions[0].Released) != want || p.Versions[1].Released != nil {
			t.Errorf("NoBody %v: released %q, %q", noBody, p.Versions[0].Released, p.Versions[1].Released)
		}
	}
}

var ctx = context.Background()

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func mustOrg(t *testing.T, s Node, id, country string) account.Org {
	t.Helper()
	o := account.Org{ID: id, Name: "Org " + id, Country: country, Kind: account.Government,
		Sectors: []string{"energy", "telecommunications"}, Created: t0, Identity: account.NewIdentityID()}
	if err := s.CreateOrg(ctx, o); err != nil {
		t.Fatalf("CreateOrg(%s): %v", id, err)
	}
	return o
}

func testAccounts(t *testing.T, s Node) {
	org := mustOrg(t, s, "cert-in", "IN")
	mustOrg(t, s, "jpcert", "JP")
	if err := s.CreateOrg(ctx, org); !errors.Is(err, store.ErrExists) {
		t.Errorf("CreateOrg duplicate = %v, want ErrExists", err)
	}
	got, err := s.Org(ctx, "cert-in")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(org, got, cmpopts.EquateApproxTime(time.Millisecond)); diff != "" {
		t.Errorf("Org round trip (-want +got):\n%s", diff)
	}
	if _, err := s.Org(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Org(absent) = %v, want ErrNotFound", err)
	}
	orgs, err := s.Orgs(ctx)
	if err != nil || len(orgs) != 2 {
		t.Errorf("Orgs = %d, %v; want 2", len(orgs), err)
	}

	alice := account.User{Name: "alice", Org: "cert-in", Role: account.Analyst, Created: t0}
	if err := s.CreateUser(ctx, alice); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUser(ctx, alice); !errors.Is(err, store.ErrExists) {
		t.Errorf("CreateUser duplicate = %v, want ErrExists", err)
	}
	if err := s.CreateUser(ctx, account.User{Name: "bob", Org: "nowhere", Role: account.Analyst}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("CreateUser with absent org = %v, want ErrNotFound", err)
	}
	if err := s.CreateUser(ctx, account.User{Name: "taro", Org: "jpcert", Role: account.ReadOnly, Created: t0}); err != nil {
		t.Fatal(err)
	}
	if us, err := s.Users(ctx, "cert-in"); err != nil || len(us) != 1 || us[0].Name != "alice" {
		t.Errorf("Users(cert-in) = %v, %v", us, err)
	}
	if us, err := s.Users(ctx, ""); err != nil || len(us) != 2 {
		t.Errorf("Users() = %v, %v", us, err)
	}
	if err := s.SetUserDisabled(ctx, "alice", true); err != nil {
		t.Fatal(err)
	}
	if u, err := s.User(ctx, "alice"); err != nil || !u.Disabled {
		t.Errorf("after disable: %+v, %v", u, err)
	}
	if err := s.SetUserDisabled(ctx, "ghost", true); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SetUserDisabled(absent) = %v", err)
	}

	secret, tok, err := account.NewToken("alice", "ci", t0, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	p, err := s.Principal(ctx, account.HashToken(secret))
	if err != nil {
		t.Fatal(err)
	}
	if p.User.Name != "alice" || p.Org.ID != "cert-in" || p.Org.Country != "IN" || p.Token.ID != tok.ID ||
		!p.Token.Expires.Equal(tok.Expires) || p.Token.Hash != tok.Hash {
		t.Errorf("Principal = %+v", p)
	}
	if _, err := s.Principal(ctx, account.HashToken("wrong")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Principal(unknown) = %v", err)
	}
	if ts, err := s.Tokens(ctx, "alice"); err != nil || len(ts) != 1 {
		t.Errorf("Tokens = %v, %v", ts, err)
	}
	if err := s.RevokeToken(ctx, tok.ID); err != nil {
		t.Fatal(err)
	}
	if p, err := s.Principal(ctx, account.HashToken(secret)); err != nil || !p.Token.Revoked {
		t.Errorf("after revoke: %+v, %v", p.Token, err)
	}
	if err := s.RevokeToken(ctx, "no-such-token"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RevokeToken(absent) = %v", err)
	}
}

func testGrants(t *testing.T, s Node) {
	mustOrg(t, s, "a", "IN")
	mustOrg(t, s, "b", "JP")
	c := store.Collection{ID: "4bd3a7f8-0c38-4ff1-9c52-2a1f7a2c7a01", Alias: "g", Title: "G"}
	if err := s.CreateCollection(ctx, c); err != nil {
		t.Fatal(err)
	}
	set := func(g store.Grant) {
		t.Helper()
		if err := s.SetGrant(ctx, g); err != nil {
			t.Fatal(err)
		}
	}
	access := func(org string) store.Grant {
		t.Helper()
		g, err := s.Access(ctx, c.ID, org)
		if err != nil {
			t.Fatal(err)
		}
		return store.Grant{Read: g.Read, Write: g.Write}
	}
	if g := access("a"); g.Read || g.Write {
		t.Errorf("no grant: %+v", g)
	}
	set(store.Grant{Collection: c.ID, Org: "a", Read: true})
	set(store.Grant{Collection: c.ID, Org: store.AnyOrg, Write: true})
	if g := access("a"); !g.Read || !g.Write {
		t.Errorf("own read + everyone write: %+v", g)
	}
	if g := access("b"); g.Read || !g.Write {
		t.Errorf("everyone write only: %+v", g)
	}
	set(store.Grant{Collection: c.ID, Org: "a", Read: true, Write: true}) // replaces
	gs, err := s.Grants(ctx, c.ID)
	if err != nil || len(gs) != 2 {
		t.Fatalf("Grants = %v, %v", gs, err)
	}
	set(store.Grant{Collection: c.ID, Org: store.AnyOrg}) // removes
	if g := access("b"); g.Read || g.Write {
		t.Errorf("after removing the everyone grant: %+v", g)
	}
	if gs, _ := s.Grants(ctx, c.ID); len(gs) != 1 {
		t.Errorf("Grants after removal = %v", gs)
	}
}

func testStatuses(t *testing.T, s Node) {
	st := store.Status{ID: "9d1c2a6e-8a55-4c38-9f0f-6f3c3a0b1c01", Collection: "c", User: "alice",
		Created: t0, Total: 3,
		Pendings: []store.StatusDetail{{ID: "indicator--1", Version: "2026-01-01T00:00:00.000Z"}, {ID: "indicator--2", Version: "2026-01-01T00:00:00.000Z"}},
		Failures: []store.StatusDetail{{ID: "", Message: "not a STIX object"}}}
	if err := s.CreateStatus(ctx, st, []byte(`{"objects":[]}`)); err != nil {
		t.Fatal(err)
	}
	got, err := s.Status(ctx, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(st, got, cmpopts.EquateEmpty(), cmpopts.EquateApproxTime(time.Millisecond)); diff != "" {
		t.Errorf("Status round trip (-want +got):\n%s", diff)
	}
	if got.Complete() {
		t.Error("a status with pendings is complete")
	}
	st.Successes = []store.StatusDetail{st.Pendings[0]}
	st.Failures = append(st.Failures, store.StatusDetail{ID: "indicator--2", Version: "2026-01-01T00:00:00.000Z", Message: "conflict"})
	st.Pendings = nil
	if err := s.FinishStatus(ctx, st); err != nil {
		t.Fatal(err)
	}
	got, err = s.Status(ctx, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(st, got, cmpopts.EquateEmpty(), cmpopts.EquateApproxTime(time.Millisecond)); diff != "" {
		t.Errorf("finished Status (-want +got):\n%s", diff)
	}
	if _, err := s.Status(ctx, "absent"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Status(absent) = %v", err)
	}
	// Finished statuses older than the cut are purged; others stay.
	n, err := s.PurgeStatuses(ctx, t0.Add(time.Second))
	if err != nil || n != 1 {
		t.Errorf("PurgeStatuses = %d, %v; want 1", n, err)
	}
	if _, err := s.Status(ctx, st.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("purged status still there: %v", err)
	}
}

func testJobs(t *testing.T, s Node) {
	if _, _, err := s.ClaimJob(ctx, "w1", time.Minute); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ClaimJob on empty = %v, want ErrNotFound", err)
	}
	mk := func(id string, body string) store.Status {
		st := store.Status{ID: id, Collection: "c", User: "u", Created: t0, Total: 1,
			Pendings: []store.StatusDetail{{ID: "x--1"}}}
		if err := s.CreateStatus(ctx, st, []byte(body)); err != nil {
			t.Fatal(err)
		}
		return st
	}
	a := mk("a0000000-0000-4000-8000-000000000001", `{"objects":[1]}`)
	mk("a0000000-0000-4000-8000-000000000002", `{"objects":[2]}`)

	// Two workers claim concurrently: each job goes to exactly one.
	var mu sync.Mutex
	claimed := map[string][]byte{}
	var wg sync.WaitGroup
	for _, w := range []string{"w1", "w2", "w3"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id, body, err := s.ClaimJob(ctx, w, time.Hour)
			if errors.Is(err, store.ErrNotFound) {
				return
			}
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if _, dup := claimed[id]; dup {
				t.Errorf("job %s claimed twice", id)
			}
			claimed[id] = body
		}()
	}
	wg.Wait()
	if len(claimed) != 2 || !bytes.Equal(claimed[a.ID], []byte(`{"objects":[1]}`)) {
		t.Fatalf("claimed %v", claimed)
	}
	// Leases held: nothing to claim. A finished job is gone.
	if _, _, err := s.ClaimJob(ctx, "w4", time.Hour); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ClaimJob with all leased = %v", err)
	}
	a.Pendings, a.Successes = nil, a.Pendings
	if err := s.FinishStatus(ctx, a); err != nil {
		t.Fatal(err)
	}

	// An expired lease is taken over.
	mk("a0000000-0000-4000-8000-000000000003", `{"objects":[3]}`)
	id, _, err := s.ClaimJob(ctx, "w5", -time.Second) // lease already expired
	if err != nil {
		t.Fatal(err)
	}
	id2, _, err := s.ClaimJob(ctx, "w6", time.Hour)
	if err != nil || id2 != id {
		t.Errorf("takeover claimed %q, %v; want %q", id2, err, id)
	}
}

func testSecrets(t *testing.T, s Node) {
	var wg sync.WaitGroup
	got := make([][]byte, 8)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := s.Secret(ctx, "k", func() ([]byte, error) { return []byte{byte(i), 1, 2, 3}, nil })
			if err != nil {
				t.Error(err)
			}
			got[i] = v
		}()
	}
	wg.Wait()
	for i := range got {
		if !bytes.Equal(got[i], got[0]) || len(got[0]) != 4 {
			t.Fatalf("concurrent first calls disagree: %v", got)
		}
	}
	v, err := s.Secret(ctx, "k", func() ([]byte, error) { return nil, errors.New("must not be called") })
	if err != nil || !bytes.Equal(v, got[0]) {
		t.Errorf("second Secret = %v, %v", v, err)
	}
	if _, err := s.Secret(ctx, "other", func() ([]byte, error) { return nil, errors.New("boom") }); err == nil {
		t.Error("a failing create was not reported")
	}
}

func testDelete(t *testing.T, s Node) {
	c1 := store.Collection{ID: "4bd3a7f8-0c38-4ff1-9c52-2a1f7a2c7a11", Alias: "d1", Title: "D1"}
	c2 := store.Collection{ID: "4bd3a7f8-0c38-4ff1-9c52-2a1f7a2c7a12", Alias: "d2", Title: "D2"}
	for _, c := range []store.Collection{c1, c2} {
		if err := s.CreateCollection(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	v1, v2, v3 := indicator(t, 1, 0), indicator(t, 1, 1), indicator(t, 1, 2)
	put(t, s, c1.ID, v1, v2, v3)
	put(t, s, c2.ID, v1)

	n, err := s.Delete(ctx, c1.ID, v1.ID, store.VersionFilter{Last: true}, nil)
	if err != nil || n != 1 {
		t.Fatalf("Delete last = %d, %v", n, err)
	}
	left := queryAll(t, s, store.Query{Collection: c1.ID, Versions: store.VersionFilter{All: true}, Limit: 10})
	if len(left) != 2 {
		t.Fatalf("after deleting the last version, %d rows remain, want 2", len(left))
	}
	// The remaining newest version is now "last".
	last := queryAll(t, s, store.Query{Collection: c1.ID, Limit: 10})
	if len(last) != 1 || !last[0].Modified.Equal(v2.Modified) {
		t.Errorf("last after delete = %v", keys(last))
	}
	if n, err := s.Delete(ctx, c1.ID, v1.ID, store.VersionFilter{All: true}, nil); err != nil || n != 2 {
		t.Errorf("Delete all = %d, %v", n, err)
	}
	if _, err := s.Delete(ctx, c1.ID, v1.ID, store.VersionFilter{All: true}, nil); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Delete again = %v, want ErrNotFound", err)
	}
	// Other collections keep their rows.
	if got := queryAll(t, s, store.Query{Collection: c2.ID, Limit: 10}); len(got) != 1 {
		t.Errorf("other collection lost its row: %v", keys(got))
	}
}

func testJobLeasedAtCreation(t *testing.T, s Node) {
	st := store.Status{ID: "b0000000-0000-4000-8000-000000000001", Collection: "c", User: "u", Created: t0, Total: 1,
		Pendings: []store.StatusDetail{{ID: "x--1"}}, LeaseOwner: "w1", Lease: time.Hour}
	if err := s.CreateStatus(ctx, st, []byte(`{"objects":[1]}`)); err != nil {
		t.Fatal(err)
	}
	// Leased to its creator: no one else claims it.
	if _, _, err := s.ClaimJob(ctx, "w2", time.Minute); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a job leased at creation was claimed: %v", err)
	}
	// A lease that has run out is taken over.
	st2 := st
	st2.ID, st2.Lease = "b0000000-0000-4000-8000-000000000002", -time.Second
	if err := s.CreateStatus(ctx, st2, []byte(`{"objects":[2]}`)); err != nil {
		t.Fatal(err)
	}
	id, body, err := s.ClaimJob(ctx, "w2", time.Minute)
	if err != nil || id != st2.ID || string(body) != `{"objects":[2]}` {
		t.Fatalf("expired creation lease: %q %q %v", id, body, err)
	}
	got, err := s.Status(ctx, st.ID)
	if err != nil || got.LeaseOwner != "" {
		t.Errorf("Status read: %+v %v", got, err)
	}
}

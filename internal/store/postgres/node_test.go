package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/setu-cti/setu/internal/account"
	"github.com/setu-cti/setu/internal/store"
	"github.com/setu-cti/setu/internal/store/storetest"
)

// What the conformance suite leaves to each backend: the change records a
// delete appends, flags after deleting a middle version, instances sharing
// one database.

func version(t *testing.T, mod int, spec string) store.Version {
	t.Helper()
	at := func(ms int) string {
		return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(ms) * time.Millisecond).Format("2006-01-02T15:04:05.000Z")
	}
	return storetest.NewVersion(t, fmt.Sprintf(
		`{"type":"indicator","spec_version":%q,"id":"indicator--00000000-0000-4000-8000-000000000001","created":%q,"modified":%q}`,
		spec, at(0), at(mod)))
}

func TestDeleteFlagsAndChanges(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, testDSN(t), store.Options{})
	c := store.Collection{ID: "5e0c2f4a-1b7d-4c3e-8a9f-0d1e2f3a4b5c", Alias: "c", Title: "C"}
	if err := db.CreateCollection(ctx, c); err != nil {
		t.Fatal(err)
	}
	v1, v2, v3 := version(t, 0, "2.1"), version(t, 1, "2.1"), version(t, 2, "2.1")
	if _, err := db.Put(ctx, "c", []store.Version{v1, v2, v3}); err != nil {
		t.Fatal(err)
	}
	one := func(vf store.VersionFilter) time.Time {
		t.Helper()
		p, err := db.Query(ctx, store.Query{Collection: c.ID, Versions: vf, Limit: 10})
		if err != nil || len(p.Versions) != 1 {
			t.Fatalf("Query(%+v) = %d rows, %v; want 1", vf, len(p.Versions), err)
		}
		return p.Versions[0].Modified
	}

	// By alias, a middle version: the bounds stay.
	if n, err := db.Delete(ctx, "c", v1.ID, store.VersionFilter{At: []time.Time{v2.Modified}}, nil); err != nil || n != 1 {
		t.Fatalf("Delete middle = %d, %v", n, err)
	}
	if got := one(store.VersionFilter{First: true}); !got.Equal(v1.Modified) {
		t.Errorf("first = %v, want %v", got, v1.Modified)
	}
	if got := one(store.VersionFilter{Last: true}); !got.Equal(v3.Modified) {
		t.Errorf("last = %v, want %v", got, v3.Modified)
	}
	cs, err := db.Changes(ctx, 3, 10)
	if err != nil || len(cs) != 1 {
		t.Fatalf("Changes after delete = %v, %v", cs, err)
	}
	if ch := cs[0]; ch.Seq != 4 || ch.Kind != "delete" || ch.Collection != c.ID || ch.ID != v1.ID || !ch.VersionTime.Equal(v2.Modified) {
		t.Errorf("delete change = %+v", ch)
	}

	// Posted again, it is listed again, between the bounds.
	rs, err := db.Put(ctx, c.ID, []store.Version{v2})
	if err != nil || rs[0].Outcome != store.Added || rs[0].Seq != 5 {
		t.Fatalf("Put after delete = %+v, %v", rs, err)
	}
	if got := one(store.VersionFilter{Last: true}); !got.Equal(v3.Modified) {
		t.Errorf("last after re-adding the middle = %v", got)
	}

	// A spec_version that no row has matches nothing.
	if _, err := db.Delete(ctx, c.ID, v1.ID, store.VersionFilter{All: true}, []string{"2.0"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Delete spec_version 2.0 = %v, want ErrNotFound", err)
	}
	// First and last together: both bounds move to the one row left.
	if n, err := db.Delete(ctx, c.ID, v1.ID, store.VersionFilter{First: true, Last: true}, []string{"2.1"}); err != nil || n != 2 {
		t.Fatalf("Delete first and last = %d, %v", n, err)
	}
	if got := one(store.VersionFilter{First: true}); !got.Equal(v2.Modified) {
		t.Errorf("first = %v, want %v", got, v2.Modified)
	}
	if got := one(store.VersionFilter{Last: true}); !got.Equal(v2.Modified) {
		t.Errorf("last = %v, want %v", got, v2.Modified)
	}
	cs, err = db.Changes(ctx, 5, 10)
	if err != nil || len(cs) != 2 || cs[0].Seq != 6 || cs[1].Seq != 7 ||
		!cs[0].VersionTime.Equal(v1.Modified) || !cs[1].VersionTime.Equal(v3.Modified) {
		t.Errorf("Changes after deleting two = %+v, %v", cs, err)
	}
	st, err := db.Stats(ctx)
	if err != nil || st.LastSeq != 7 || st.CollectionRows != 1 || st.Versions != 3 {
		t.Errorf("Stats = %+v, %v; want LastSeq 7, 1 row, 3 versions still stored", st, err)
	}

	// Versions stay stored: the object's current version is unchanged.
	if n, err := db.Delete(ctx, c.ID, v1.ID, store.VersionFilter{All: true}, nil); err != nil || n != 1 {
		t.Fatalf("Delete all = %d, %v", n, err)
	}
	if cur, err := db.Current(ctx, v1.ID); err != nil || !cur.Modified.Equal(v3.Modified) {
		t.Errorf("Current after delete = %v, %v", cur.Modified, err)
	}
	if _, err := db.Delete(ctx, "absent", v1.ID, store.VersionFilter{}, nil); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Delete from absent collection = %v", err)
	}
}

func TestAccountErrors(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, testDSN(t), store.Options{})
	if err := db.CreateOrg(ctx, account.Org{ID: "o", Name: "O", Country: "IN", Kind: account.Business}); err != nil {
		t.Fatal(err)
	}
	if o, err := db.Org(ctx, "o"); err != nil || o.Created.IsZero() || len(o.Sectors) != 0 {
		t.Errorf("Org without sectors or created = %+v, %v", o, err)
	}
	if err := db.CreateUser(ctx, account.User{Name: "u", Org: "o", Role: account.Admin}); err != nil {
		t.Fatal(err)
	}
	_, tok, err := account.NewToken("ghost", "", time.Now(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CreateToken(ctx, tok); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("CreateToken for an absent user = %v, want ErrNotFound", err)
	}
	tok.User = "u"
	if err := db.CreateToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateToken(ctx, tok); !errors.Is(err, store.ErrExists) {
		t.Errorf("CreateToken twice = %v, want ErrExists", err)
	}
	p, err := db.Principal(ctx, tok.Hash)
	if err != nil || !p.Token.Expires.IsZero() || p.User.Role != account.Admin || p.Org.Kind != account.Business {
		t.Errorf("Principal of a token that never expires = %+v, %v", p, err)
	}
	if err := db.SetGrant(ctx, store.Grant{Collection: "absent", Org: "o", Read: true}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SetGrant on an absent collection = %v", err)
	}
	if err := db.FinishStatus(ctx, store.Status{ID: "absent"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("FinishStatus(absent) = %v", err)
	}
	s := store.Status{ID: "s", Collection: "c", User: "u", Total: 1}
	if err := db.CreateStatus(ctx, s, []byte("{}")); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateStatus(ctx, s, []byte("{}")); !errors.Is(err, store.ErrExists) {
		t.Errorf("CreateStatus twice = %v, want ErrExists", err)
	}
	// Unfinished statuses are never purged.
	if n, err := db.PurgeStatuses(ctx, time.Now().Add(time.Hour)); err != nil || n != 0 {
		t.Errorf("PurgeStatuses of an unfinished status = %d, %v", n, err)
	}
}

// Instances sharing a database share its jobs and secrets.
func TestInstances(t *testing.T) {
	ctx := context.Background()
	dsn := testDSN(t)
	dbs := []*DB{openTest(t, dsn, store.Options{}), openTest(t, dsn, store.Options{})}

	var wg sync.WaitGroup
	got := make([][]byte, 8)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := dbs[i%2].Secret(ctx, "key", func() ([]byte, error) { return []byte{byte(i)}, nil })
			if err != nil {
				t.Error(err)
			}
			got[i] = v
		}()
	}
	wg.Wait()
	for _, v := range got {
		if !bytes.Equal(v, got[0]) || len(v) != 1 {
			t.Fatalf("instances disagree on the secret: %v", got)
		}
	}

	if err := dbs[0].CreateStatus(ctx, store.Status{ID: "j", Total: 1}, []byte("env")); err != nil {
		t.Fatal(err)
	}
	if id, env, err := dbs[0].ClaimJob(ctx, "one", time.Hour); err != nil || id != "j" || string(env) != "env" {
		t.Fatalf("ClaimJob = %q, %q, %v", id, env, err)
	}
	if _, _, err := dbs[1].ClaimJob(ctx, "two", time.Hour); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ClaimJob of a job leased by another instance = %v, want ErrNotFound", err)
	}
	var owner string
	if err := dbs[1].pool.QueryRow(ctx, `SELECT lease_owner FROM jobs WHERE status_id = 'j'`).Scan(&owner); err != nil || owner != "one" {
		t.Errorf("lease owner = %q, %v", owner, err)
	}
}

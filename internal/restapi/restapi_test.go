package restapi_test

import (
	"context"
	"github.com/setu-cti/setu/internal/audit"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/google/uuid"

	"github.com/setu-cti/setu/internal/account"
	"github.com/setu-cti/setu/internal/authn"
	"github.com/setu-cti/setu/internal/restapi"
	"github.com/setu-cti/setu/internal/store"
	"github.com/setu-cti/setu/internal/store/sqlite"
)

// t0 is the injected clock: token creation and expiry are checked against it.
var t0 = time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)

const collID = "0d3b1c36-2f4c-4c7e-9a55-6f1d2b8e0a01"

// world is the management API over a real SQLite store, served on
// 127.0.0.1, with organisations and users for every role.
type world struct {
	t       *testing.T
	db      *sqlite.DB
	srv     *httptest.Server
	secrets map[string]string // user -> token secret
	tokenID map[string]string // user -> token id
}

// Organisations: node (the node admins'), a and b. Users: admin (node
// admin), root2 (a node admin who belongs to org a), aadmin (org-admin of
// a), alice (analyst, a), reader (read-only, a), off (disabled, a), late
// (analyst of a whose only token has expired), badmin (org-admin of b), bob
// (analyst, b). Collection "shared" is readable by a.
func newWorld(t *testing.T, opts ...func(*restapi.Config, *sqlite.DB)) *world {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "setu.db"), store.Options{Now: func() time.Time { return t0 }})
	must(t, err)
	t.Cleanup(func() { db.Close() })
	w := &world{t: t, db: db, secrets: map[string]string{}, tokenID: map[string]string{}}
	for _, o := range []account.Org{
		{ID: "node", Name: "National CERT", Country: "IN", Kind: account.NationalCERT, Created: t0},
		{ID: "a", Name: "Grid Operator", Country: "IN", Kind: account.CIOperator, Sectors: []string{"energy"}, Created: t0},
		{ID: "b", Name: "Telco", Country: "JP", Kind: account.Business, Sectors: []string{"telecommunications"}, Created: t0},
	} {
		must(t, db.CreateOrg(ctx, o))
	}
	for _, u := range []account.User{
		{Name: "admin", Org: "node", Role: account.Admin},
		{Name: "root2", Org: "a", Role: account.Admin},
		{Name: "aadmin", Org: "a", Role: account.OrgAdmin},
		{Name: "alice", Org: "a", Role: account.Analyst},
		{Name: "reader", Org: "a", Role: account.ReadOnly},
		{Name: "off", Org: "a", Role: account.Analyst},
		{Name: "late", Org: "a", Role: account.Analyst},
		{Name: "badmin", Org: "b", Role: account.OrgAdmin},
		{Name: "bob", Org: "b", Role: account.Analyst},
	} {
		u.Created = t0
		must(t, db.CreateUser(ctx, u))
		secret, tok, err := account.NewToken(u.Name, "seed", t0, 0)
		must(t, err)
		if u.Name == "late" {
			tok.Expires = t0.Add(-time.Minute)
		}
		must(t, db.CreateToken(ctx, tok))
		w.secrets[u.Name], w.tokenID[u.Name] = secret, tok.ID
	}
	must(t, db.SetUserDisabled(ctx, "off", true))
	must(t, db.CreateCollection(ctx, store.Collection{ID: collID, Alias: "shared", Title: "Shared",
		MediaTypes: []string{"application/stix+json;version=2.1"}, Created: t0}))
	must(t, db.SetGrant(ctx, store.Grant{Collection: collID, Org: "a", Read: true}))

	auditLog := audit.NewLogger(db, audit.LoggerOptions{})
	t.Cleanup(func() { auditLog.Close() })
	cfg := restapi.Config{DB: db, Now: func() time.Time { return t0 }, Audit: auditLog}
	for _, o := range opts {
		o(&cfg, db)
	}
	api := restapi.New(cfg)
	w.srv = httptest.NewServer(api) // listens on 127.0.0.1
	t.Cleanup(w.srv.Close)
	return w
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// call is one request. User names a seeded user whose token goes in HTTP
// Basic; secret, when set, replaces the seeded one (Basic with user, or
// Bearer without).
type call struct {
	method, path string
	user         string
	secret       string
	body         string
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

func (w *world) do(c call) reply {
	w.t.Helper()
	var body io.Reader
	if c.body != "" {
		body = strings.NewReader(c.body)
	}
	req, err := http.NewRequest(c.method, w.srv.URL+restapi.Prefix+c.path, body)
	must(w.t, err)
	switch {
	case c.user != "" && c.secret != "":
		req.SetBasicAuth(c.user, c.secret)
	case c.user != "":
		req.SetBasicAuth(c.user, w.secrets[c.user])
	case c.secret != "":
		req.Header.Set("Authorization", "Bearer "+c.secret)
	}
	if c.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := w.srv.Client().Do(req)
	must(w.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	must(w.t, err)
	return reply{resp.StatusCode, resp.Header, b}
}

// decode unmarshals a reply strictly, so a field the API renames or adds
// shows up here.
func decode[T any](t *testing.T, r reply) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.body, &v, json.RejectUnknownMembers(true)); err != nil {
		t.Fatalf("decoding %s: %v", r.body, err)
	}
	return v
}

// The API's JSON shapes, written out here so a change to them breaks a test.
type orgOut struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	Country    string   `json:"country"`
	Kind       string   `json:"kind"`
	Sectors    []string `json:"sectors,omitempty"`
	IdentityID string   `json:"identity_id,omitempty"`
	Created    string   `json:"created,omitempty"`
	Anonymous  bool     `json:"anonymous"`
	// AnonymousToPartners: partner nodes are served its objects so.
	AnonymousToPartners bool `json:"anonymous_to_partners"`
}

type userOut struct {
	Name     string `json:"name"`
	Org      string `json:"org"`
	Role     string `json:"role"`
	Disabled bool   `json:"disabled"`
}

type tokenOut struct {
	ID      string `json:"id"`
	Label   string `json:"label,omitempty"`
	Created string `json:"created"`
	Expires string `json:"expires,omitempty"`
	Revoked bool   `json:"revoked"`
	Secret  string `json:"secret,omitempty"`
}

type collectionOut struct {
	ID          string   `json:"id"`
	Alias       string   `json:"alias,omitempty"`
	Title       string   `json:"title"`
	Description string   `json:"description,omitempty"`
	MediaTypes  []string `json:"media_types,omitempty"`
}

type grantOut struct {
	Org   string `json:"org"`
	Read  bool   `json:"read"`
	Write bool   `json:"write"`
}

type errorOut struct {
	Error  string `json:"error"`
	Status int    `json:"status"`
}

// snapshot is everything the API can change, read straight from the store.
type snapshot struct {
	Orgs        []account.Org
	Users       []account.User
	Tokens      map[string][]account.Token
	Collections []store.Collection
	Grants      map[string][]store.Grant
}

func (w *world) snapshot() snapshot {
	w.t.Helper()
	ctx := context.Background()
	var s snapshot
	var err error
	s.Orgs, err = w.db.Orgs(ctx)
	must(w.t, err)
	s.Users, err = w.db.Users(ctx, "")
	must(w.t, err)
	s.Tokens = map[string][]account.Token{}
	for _, u := range s.Users {
		s.Tokens[u.Name], err = w.db.Tokens(ctx, u.Name)
		must(w.t, err)
	}
	s.Collections, err = w.db.Collections(ctx)
	must(w.t, err)
	s.Grants = map[string][]store.Grant{}
	for _, c := range s.Collections {
		s.Grants[c.ID], err = w.db.Grants(ctx, c.ID)
		must(w.t, err)
	}
	return s
}

// checkError requires an error reply with the given status, the API's
// error body, and a challenge on a 401.
func checkError(t *testing.T, r reply, want int) {
	t.Helper()
	if r.status != want {
		t.Fatalf("status %d, want %d: %s", r.status, want, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	e := decode[errorOut](t, r)
	if e.Status != want || e.Error == "" {
		t.Errorf("error body %s", r.body)
	}
	if got := r.header.Get("WWW-Authenticate"); (want == http.StatusUnauthorized) != (got != "") {
		t.Errorf("status %d with WWW-Authenticate %q", want, got)
	} else if want == http.StatusUnauthorized && got != authn.Challenge {
		t.Errorf("WWW-Authenticate %q, want %q", got, authn.Challenge)
	}
}

// TestRefused covers every request the API must refuse, and requires that a
// refused request leaves the store exactly as it was.
func TestRefused(t *testing.T) {
	w := newWorld(t)
	validOrg := `{"id":"c","name":"Ministry","country":"IN","kind":"government"}`
	for _, tc := range []struct {
		name string
		call call
		want int
	}{
		// Authentication.
		{"no credentials", call{method: "GET", path: "whoami"}, 401},
		{"no credentials on a write", call{method: "POST", path: "orgs", body: validOrg}, 401},
		{"wrong secret", call{method: "GET", path: "whoami", user: "alice", secret: "setu_not-a-real-token-at-all"}, 401},
		{"token of another user", call{method: "GET", path: "whoami", user: "bob", secret: "x"}, 401},
		{"bearer garbage", call{method: "GET", path: "whoami", secret: "garbage"}, 401},
		{"disabled user", call{method: "GET", path: "whoami", user: "off"}, 401},
		{"expired token", call{method: "GET", path: "whoami", user: "late"}, 401},

		// Organisations: admin only, validated, unique.
		{"org-admin creates org", call{method: "POST", path: "orgs", user: "aadmin", body: validOrg}, 403},
		{"analyst creates org", call{method: "POST", path: "orgs", user: "alice", body: validOrg}, 403},
		{"duplicate org", call{method: "POST", path: "orgs", user: "admin", body: `{"id":"a","name":"Again","country":"IN","kind":"business"}`}, 409},
		{"country lower case", call{method: "POST", path: "orgs", user: "admin", body: `{"id":"c","name":"C","country":"in","kind":"business"}`}, 400},
		{"country alpha-3", call{method: "POST", path: "orgs", user: "admin", body: `{"id":"c","name":"C","country":"IND","kind":"business"}`}, 400},
		{"country missing", call{method: "POST", path: "orgs", user: "admin", body: `{"id":"c","name":"C","kind":"business"}`}, 400},
		{"unknown kind", call{method: "POST", path: "orgs", user: "admin", body: `{"id":"c","name":"C","country":"IN","kind":"ngo"}`}, 400},
		{"kind missing", call{method: "POST", path: "orgs", user: "admin", body: `{"id":"c","name":"C","country":"IN"}`}, 400},
		{"bad org id", call{method: "POST", path: "orgs", user: "admin", body: `{"id":"Org C","name":"C","country":"IN","kind":"business"}`}, 400},
		{"blank name", call{method: "POST", path: "orgs", user: "admin", body: `{"id":"c","name":" ","country":"IN","kind":"business"}`}, 400},
		{"bad sector", call{method: "POST", path: "orgs", user: "admin", body: `{"id":"c","name":"C","country":"IN","kind":"business","sectors":["Energy"]}`}, 400},
		{"malformed JSON", call{method: "POST", path: "orgs", user: "admin", body: `{"id":"c",`}, 400},
		{"unknown field", call{method: "POST", path: "orgs", user: "admin", body: `{"id":"c","name":"C","country":"IN","kind":"business","colour":"red"}`}, 400},
		{"field in other case", call{method: "POST", path: "orgs", user: "admin", body: `{"ID":"c","name":"C","country":"IN","kind":"business"}`}, 400},
		{"duplicate field", call{method: "POST", path: "orgs", user: "admin", body: `{"id":"c","id":"d","name":"C","country":"IN","kind":"business"}`}, 400},
		{"trailing data", call{method: "POST", path: "orgs", user: "admin", body: validOrg + `{}`}, 400},
		{"array body", call{method: "POST", path: "orgs", user: "admin", body: `[]`}, 400},
		{"empty body", call{method: "POST", path: "orgs", user: "admin"}, 400},
		{"body too large", call{method: "POST", path: "orgs", user: "admin", body: `{"id":"c","name":"` + strings.Repeat("x", 1<<20) + `","country":"IN","kind":"business"}`}, 413},
		{"invalid UTF-8", call{method: "POST", path: "orgs", user: "admin", body: "{\"id\":\"c\",\"name\":\"\xff\",\"country\":\"IN\",\"kind\":\"business\"}"}, 400},

		// Users: org-admins within their organisation, never admins.
		{"org-admin creates user elsewhere", call{method: "POST", path: "users", user: "aadmin", body: `{"name":"eve","org":"b","role":"analyst"}`}, 403},
		{"org-admin creates admin", call{method: "POST", path: "users", user: "aadmin", body: `{"name":"eve","org":"a","role":"admin"}`}, 403},
		{"analyst creates user", call{method: "POST", path: "users", user: "alice", body: `{"name":"eve","org":"a","role":"analyst"}`}, 403},
		{"read-only creates user", call{method: "POST", path: "users", user: "reader", body: `{"name":"eve","org":"a","role":"read-only"}`}, 403},
		{"duplicate user", call{method: "POST", path: "users", user: "admin", body: `{"name":"alice","org":"b","role":"analyst"}`}, 409},
		{"unknown role", call{method: "POST", path: "users", user: "admin", body: `{"name":"eve","org":"a","role":"root"}`}, 400},
		{"bad user name", call{method: "POST", path: "users", user: "admin", body: `{"name":"Eve","org":"a","role":"analyst"}`}, 400},
		{"user of absent org", call{method: "POST", path: "users", user: "admin", body: `{"name":"eve","org":"zz","role":"analyst"}`}, 404},
		{"user unknown field", call{method: "POST", path: "users", user: "aadmin", body: `{"name":"eve","org":"a","role":"analyst","disabled":false,"x":1}`}, 400},
		{"org-admin lists other org", call{method: "GET", path: "users?org=b", user: "aadmin"}, 404},

		// Enabling and disabling.
		{"org-admin disables other org's user", call{method: "POST", path: "users/bob/disable", user: "aadmin"}, 404},
		{"org-admin disables admin", call{method: "POST", path: "users/root2/disable", user: "aadmin"}, 403},
		{"org-admin enables off-org user", call{method: "POST", path: "users/bob/enable", user: "aadmin"}, 404},
		{"analyst disables colleague", call{method: "POST", path: "users/reader/disable", user: "alice"}, 404},
		{"analyst disables self", call{method: "POST", path: "users/alice/disable", user: "alice"}, 404},
		{"read-only enables disabled", call{method: "POST", path: "users/off/enable", user: "reader"}, 404},
		{"disable absent user", call{method: "POST", path: "users/nobody/disable", user: "admin"}, 404},

		// Tokens.
		{"analyst lists colleague's tokens", call{method: "GET", path: "users/reader/tokens", user: "alice"}, 404},
		{"read-only lists colleague's tokens", call{method: "GET", path: "users/alice/tokens", user: "reader"}, 404},
		{"org-admin lists other org's tokens", call{method: "GET", path: "users/bob/tokens", user: "aadmin"}, 404},
		{"org-admin lists admin's tokens", call{method: "GET", path: "users/root2/tokens", user: "aadmin"}, 403},
		{"tokens of absent user", call{method: "GET", path: "users/nobody/tokens", user: "admin"}, 404},
		{"analyst mints colleague's token", call{method: "POST", path: "users/reader/tokens", user: "alice", body: `{}`}, 404},
		{"org-admin mints other org's token", call{method: "POST", path: "users/bob/tokens", user: "aadmin", body: `{}`}, 404},
		{"org-admin mints admin's token", call{method: "POST", path: "users/root2/tokens", user: "aadmin", body: `{"label":"mine now"}`}, 403},
		{"negative ttl", call{method: "POST", path: "users/alice/tokens", user: "alice", body: `{"ttl_seconds":-1}`}, 400},
		{"ttl overflowing a duration", call{method: "POST", path: "users/alice/tokens", user: "alice", body: `{"ttl_seconds":9223372037}`}, 400},
		{"ttl beyond ten years", call{method: "POST", path: "users/alice/tokens", user: "alice", body: `{"ttl_seconds":316224001}`}, 400},
		{"ttl not an integer", call{method: "POST", path: "users/alice/tokens", user: "alice", body: `{"ttl_seconds":"1h"}`}, 400},
		{"token unknown field", call{method: "POST", path: "users/alice/tokens", user: "alice", body: `{"label":"x","scope":"all"}`}, 400},
		{"token malformed", call{method: "POST", path: "users/alice/tokens", user: "alice", body: `{`}, 400},
		{"analyst revokes colleague's token", call{method: "DELETE", path: "users/reader/tokens/" + w.tokenID["reader"], user: "alice"}, 404},
		{"revoke other's token under own name", call{method: "DELETE", path: "users/alice/tokens/" + w.tokenID["reader"], user: "alice"}, 404},
		{"org-admin revokes other org's token", call{method: "DELETE", path: "users/bob/tokens/" + w.tokenID["bob"], user: "aadmin"}, 404},
		{"org-admin revokes admin's token", call{method: "DELETE", path: "users/root2/tokens/" + w.tokenID["root2"], user: "aadmin"}, 403},
		{"revoke absent token", call{method: "DELETE", path: "users/alice/tokens/" + uuid.NewString(), user: "admin"}, 404},

		// Collections and grants: admin only.
		{"org-admin lists collections", call{method: "GET", path: "collections", user: "aadmin"}, 403},
		{"analyst creates collection", call{method: "POST", path: "collections", user: "alice", body: `{"title":"x"}`}, 403},
		{"duplicate collection", call{method: "POST", path: "collections", user: "admin", body: `{"id":"` + collID + `","title":"x"}`}, 409},
		{"duplicate alias", call{method: "POST", path: "collections", user: "admin", body: `{"alias":"shared","title":"x"}`}, 409},
		{"collection id not a UUID", call{method: "POST", path: "collections", user: "admin", body: `{"id":"shared2","title":"x"}`}, 400},
		{"collection without title", call{method: "POST", path: "collections", user: "admin", body: `{"alias":"x"}`}, 400},
		{"collection unknown field", call{method: "POST", path: "collections", user: "admin", body: `{"title":"x","can_read":true}`}, 400},
		{"org-admin reads grants", call{method: "GET", path: "collections/" + collID + "/grants", user: "aadmin"}, 403},
		{"grants of absent collection", call{method: "GET", path: "collections/" + uuid.NewString() + "/grants", user: "admin"}, 404},
		{"analyst sets grant", call{method: "PUT", path: "collections/" + collID + "/grants/a", user: "alice", body: `{"read":true,"write":true}`}, 403},
		{"org-admin sets grant", call{method: "PUT", path: "collections/" + collID + "/grants/a", user: "aadmin", body: `{"read":true,"write":true}`}, 403},
		{"grant to absent org", call{method: "PUT", path: "collections/" + collID + "/grants/zz", user: "admin", body: `{"read":true}`}, 404},
		{"grant on absent collection", call{method: "PUT", path: "collections/" + uuid.NewString() + "/grants/a", user: "admin", body: `{"read":true}`}, 404},
		{"grant malformed", call{method: "PUT", path: "collections/" + collID + "/grants/a", user: "admin", body: `{"read":"yes"}`}, 400},
		{"grant unknown field", call{method: "PUT", path: "collections/" + collID + "/grants/a", user: "admin", body: `{"read":true,"delete":true}`}, 400},

		// Routes that do not exist.
		{"unknown path", call{method: "GET", path: "secrets", user: "admin"}, 404},
		{"unknown method", call{method: "PATCH", path: "orgs", user: "admin", body: validOrg}, 404},
		{"unknown path unauthenticated", call{method: "GET", path: "nothing/here"}, 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := w.snapshot()
			r := w.do(tc.call)
			checkError(t, r, tc.want)
			if diff := cmp.Diff(before, w.snapshot()); diff != "" {
				t.Errorf("refused request changed the store (-before +after):\n%s", diff)
			}
		})
	}
}

// TestVisibility covers the read routes: each role sees exactly its part.
func TestVisibility(t *testing.T) {
	w := newWorld(t)
	org := func(id string) orgOut {
		o, err := w.db.Org(context.Background(), id)
		must(t, err)
		return orgOut{ID: o.ID, Name: o.Name, Country: o.Country, Kind: string(o.Kind), Sectors: o.Sectors,
			IdentityID: o.IdentityID(), Created: t0.Format(time.RFC3339)}
	}
	user := func(name, org, role string) userOut { return userOut{Name: name, Org: org, Role: role} }
	var (
		admin  = user("admin", "node", "admin")
		root2  = user("root2", "a", "admin")
		aadmin = user("aadmin", "a", "org-admin")
		alice  = user("alice", "a", "analyst")
		reader = user("reader", "a", "read-only")
		off    = userOut{Name: "off", Org: "a", Role: "analyst", Disabled: true}
		late   = user("late", "a", "analyst")
		badmin = user("badmin", "b", "org-admin")
		bob    = user("bob", "b", "analyst")
	)
	seedToken := func(u string) []tokenOut {
		return []tokenOut{{ID: w.tokenID[u], Label: "seed", Created: t0.Format(time.RFC3339)}}
	}
	type whoami struct {
		User userOut `json:"user"`
		Org  orgOut  `json:"org"`
	}
	type orgs struct {
		Orgs []orgOut `json:"orgs"`
	}
	type users struct {
		Users []userOut `json:"users"`
	}
	type tokens struct {
		Tokens []tokenOut `json:"tokens"`
	}
	type collections struct {
		Collections []collectionOut `json:"collections"`
	}
	type grants struct {
		Grants []grantOut `json:"grants"`
	}
	for _, tc := range []struct {
		name string
		call call
		want func(t *testing.T, r reply) (got, want any)
	}{
		{"whoami admin", call{method: "GET", path: "whoami", user: "admin"}, func(t *testing.T, r reply) (any, any) {
			return decode[whoami](t, r), whoami{admin, org("node")}
		}},
		{"whoami analyst by bearer", call{method: "GET", path: "whoami", secret: w.secrets["alice"]}, func(t *testing.T, r reply) (any, any) {
			return decode[whoami](t, r), whoami{alice, org("a")}
		}},
		{"admin lists all orgs", call{method: "GET", path: "orgs", user: "admin"}, func(t *testing.T, r reply) (any, any) {
			return decode[orgs](t, r), orgs{[]orgOut{org("a"), org("b"), org("node")}}
		}},
		{"org-admin sees own org", call{method: "GET", path: "orgs", user: "aadmin"}, func(t *testing.T, r reply) (any, any) {
			return decode[orgs](t, r), orgs{[]orgOut{org("a")}}
		}},
		{"analyst sees own org", call{method: "GET", path: "orgs", user: "bob"}, func(t *testing.T, r reply) (any, any) {
			return decode[orgs](t, r), orgs{[]orgOut{org("b")}}
		}},
		{"admin lists all users", call{method: "GET", path: "users", user: "admin"}, func(t *testing.T, r reply) (any, any) {
			return decode[users](t, r), users{[]userOut{aadmin, admin, alice, badmin, bob, late, off, reader, root2}}
		}},
		{"admin lists one org", call{method: "GET", path: "users?org=b", user: "admin"}, func(t *testing.T, r reply) (any, any) {
			return decode[users](t, r), users{[]userOut{badmin, bob}}
		}},
		{"org-admin lists own org", call{method: "GET", path: "users", user: "aadmin"}, func(t *testing.T, r reply) (any, any) {
			return decode[users](t, r), users{[]userOut{aadmin, alice, late, off, reader, root2}}
		}},
		{"org-admin names own org", call{method: "GET", path: "users?org=a", user: "aadmin"}, func(t *testing.T, r reply) (any, any) {
			return decode[users](t, r), users{[]userOut{aadmin, alice, late, off, reader, root2}}
		}},
		{"analyst sees only self", call{method: "GET", path: "users", user: "alice"}, func(t *testing.T, r reply) (any, any) {
			return decode[users](t, r), users{[]userOut{alice}}
		}},
		{"read-only sees only self, whatever the filter", call{method: "GET", path: "users?org=b", user: "reader"}, func(t *testing.T, r reply) (any, any) {
			return decode[users](t, r), users{[]userOut{reader}}
		}},
		{"analyst lists own tokens", call{method: "GET", path: "users/alice/tokens", user: "alice"}, func(t *testing.T, r reply) (any, any) {
			return decode[tokens](t, r), tokens{seedToken("alice")}
		}},
		{"read-only lists own tokens", call{method: "GET", path: "users/reader/tokens", user: "reader"}, func(t *testing.T, r reply) (any, any) {
			return decode[tokens](t, r), tokens{seedToken("reader")}
		}},
		{"org-admin lists member's tokens", call{method: "GET", path: "users/late/tokens", user: "aadmin"}, func(t *testing.T, r reply) (any, any) {
			want := seedToken("late")
			want[0].Expires = t0.Add(-time.Minute).Format(time.RFC3339)
			return decode[tokens](t, r), tokens{want}
		}},
		{"admin lists any user's tokens", call{method: "GET", path: "users/bob/tokens", user: "admin"}, func(t *testing.T, r reply) (any, any) {
			return decode[tokens](t, r), tokens{seedToken("bob")}
		}},
		{"admin lists collections", call{method: "GET", path: "collections", user: "admin"}, func(t *testing.T, r reply) (any, any) {
			return decode[collections](t, r), collections{[]collectionOut{{ID: collID, Alias: "shared", Title: "Shared",
				MediaTypes: []string{"application/stix+json;version=2.1"}}}}
		}},
		{"admin reads grants by id", call{method: "GET", path: "collections/" + collID + "/grants", user: "admin"}, func(t *testing.T, r reply) (any, any) {
			return decode[grants](t, r), grants{[]grantOut{{Org: "a", Read: true}}}
		}},
		{"admin reads grants by alias", call{method: "GET", path: "collections/shared/grants", user: "admin"}, func(t *testing.T, r reply) (any, any) {
			return decode[grants](t, r), grants{[]grantOut{{Org: "a", Read: true}}}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := w.do(tc.call)
			if r.status != http.StatusOK {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			if strings.Contains(string(r.body), `"secret"`) {
				t.Errorf("a listing shows a token secret: %s", r.body)
			}
			got, want := tc.want(t, r)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestManage runs the management workflows in order, checking each change
// through the API and in the store.
func TestManage(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()

	t.Run("admin creates org", func(t *testing.T) {
		r := w.do(call{method: "POST", path: "orgs", user: "admin",
			body: `{"id":"mea","name":"Ministry","country":"IN","kind":"government","sectors":["government"],"anonymous_to_partners":true}`})
		if r.status != http.StatusCreated {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		got := decode[orgOut](t, r)
		// The identity id is the organisation's own, made when it was
		// created, not derived from its id.
		if !strings.HasPrefix(got.IdentityID, "identity--") || got.IdentityID == (account.Org{ID: "mea"}).IdentityID() {
			t.Errorf("identity id %q", got.IdentityID)
		}
		want := account.Org{ID: "mea", Name: "Ministry", Country: "IN", Kind: account.Government,
			Sectors: []string{"government"}, Created: t0, Identity: got.IdentityID, AnonymousToPartners: true}
		if diff := cmp.Diff(orgOut{ID: "mea", Name: "Ministry", Country: "IN", Kind: "government",
			Sectors: []string{"government"}, IdentityID: want.IdentityID(), Created: t0.Format(time.RFC3339), AnonymousToPartners: true}, got); diff != "" {
			t.Errorf("reply (-want +got):\n%s", diff)
		}
		stored, err := w.db.Org(ctx, "mea")
		must(t, err)
		if diff := cmp.Diff(want, stored, cmpopts.EquateApproxTime(0)); diff != "" {
			t.Errorf("stored (-want +got):\n%s", diff)
		}
	})

	t.Run("org-admin creates users in own org", func(t *testing.T) {
		for _, body := range []string{
			`{"name":"amy","org":"a","role":"analyst"}`,
			`{"name":"ann","org":"a","role":"org-admin"}`,
		} {
			r := w.do(call{method: "POST", path: "users", user: "aadmin", body: body})
			if r.status != http.StatusCreated {
				t.Fatalf("%s: status %d: %s", body, r.status, r.body)
			}
		}
		for _, name := range []string{"amy", "ann"} {
			if _, err := w.db.User(ctx, name); err != nil {
				t.Errorf("%s not stored: %v", name, err)
			}
		}
	})

	t.Run("admin creates admin in any org", func(t *testing.T) {
		r := w.do(call{method: "POST", path: "users", user: "admin", body: `{"name":"root3","org":"b","role":"admin"}`})
		if r.status != http.StatusCreated {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		if diff := cmp.Diff(userOut{Name: "root3", Org: "b", Role: "admin"}, decode[userOut](t, r)); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})

	var amy tokenOut
	t.Run("token is shown once and authenticates", func(t *testing.T) {
		r := w.do(call{method: "POST", path: "users/amy/tokens", user: "aadmin", body: `{"label":"ci","ttl_seconds":3600}`})
		if r.status != http.StatusCreated {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		amy = decode[tokenOut](t, r)
		if !strings.HasPrefix(amy.Secret, "setu_") || amy.ID == "" {
			t.Fatalf("token reply %s", r.body)
		}
		want := tokenOut{ID: amy.ID, Label: "ci", Created: t0.Format(time.RFC3339),
			Expires: t0.Add(time.Hour).Format(time.RFC3339), Secret: amy.Secret}
		if diff := cmp.Diff(want, amy); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		for _, c := range []call{
			{method: "GET", path: "whoami", user: "amy", secret: amy.Secret},
			{method: "GET", path: "whoami", secret: amy.Secret},
		} {
			r := w.do(c)
			if r.status != http.StatusOK {
				t.Fatalf("new token: status %d: %s", r.status, r.body)
			}
			type who struct {
				User userOut `json:"user"`
				Org  orgOut  `json:"org"`
			}
			if got := decode[who](t, r).User.Name; got != "amy" {
				t.Errorf("new token authenticates %q", got)
			}
		}
		// Listed afterwards without its secret, and stored only as a hash.
		r = w.do(call{method: "GET", path: "users/amy/tokens", user: "amy", secret: amy.Secret})
		if r.status != http.StatusOK || strings.Contains(string(r.body), "secret") || strings.Contains(string(r.body), amy.Secret) {
			t.Errorf("listing: %d %s", r.status, r.body)
		}
		ts, err := w.db.Tokens(ctx, "amy")
		must(t, err)
		if len(ts) != 1 || ts[0].Hash != account.HashToken(amy.Secret) {
			t.Errorf("stored tokens %+v", ts)
		}
	})

	t.Run("revoked token gets 401", func(t *testing.T) {
		r := w.do(call{method: "DELETE", path: "users/amy/tokens/" + amy.ID, user: "aadmin"})
		if r.status != http.StatusOK {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		if got := decode[tokenOut](t, r); !got.Revoked || got.ID != amy.ID || got.Secret != "" {
			t.Errorf("revoke reply %s", r.body)
		}
		checkError(t, w.do(call{method: "GET", path: "whoami", secret: amy.Secret}), http.StatusUnauthorized)
		r = w.do(call{method: "GET", path: "users/amy/tokens", user: "aadmin"})
		type tokens struct {
			Tokens []tokenOut `json:"tokens"`
		}
		if got := decode[tokens](t, r).Tokens; len(got) != 1 || !got[0].Revoked {
			t.Errorf("after revoking: %s", r.body)
		}
	})

	t.Run("users manage their own tokens", func(t *testing.T) {
		r := w.do(call{method: "POST", path: "users/reader/tokens", user: "reader", body: `{"label":"laptop"}`})
		if r.status != http.StatusCreated {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		tok := decode[tokenOut](t, r)
		if tok.Expires != "" {
			t.Errorf("token without ttl expires %s", tok.Expires)
		}
		r = w.do(call{method: "DELETE", path: "users/reader/tokens/" + w.tokenID["reader"], user: "reader", secret: tok.Secret})
		if r.status != http.StatusOK {
			t.Fatalf("revoking own seed token: %d %s", r.status, r.body)
		}
		checkError(t, w.do(call{method: "GET", path: "whoami", user: "reader"}), http.StatusUnauthorized)
		if r := w.do(call{method: "GET", path: "whoami", user: "reader", secret: tok.Secret}); r.status != http.StatusOK {
			t.Errorf("other token after revoking the first: %d", r.status)
		}
	})

	t.Run("disable and enable", func(t *testing.T) {
		r := w.do(call{method: "POST", path: "users/alice/disable", user: "aadmin"})
		if r.status != http.StatusOK {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		if diff := cmp.Diff(userOut{Name: "alice", Org: "a", Role: "analyst", Disabled: true}, decode[userOut](t, r)); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		checkError(t, w.do(call{method: "GET", path: "whoami", user: "alice"}), http.StatusUnauthorized)
		if r := w.do(call{method: "POST", path: "users/alice/enable", user: "admin"}); r.status != http.StatusOK {
			t.Fatalf("enable: %d %s", r.status, r.body)
		}
		if r := w.do(call{method: "GET", path: "whoami", user: "alice"}); r.status != http.StatusOK {
			t.Errorf("after enabling: %d %s", r.status, r.body)
		}
		// Admins disable node admins; a disabled admin is locked out too.
		if r := w.do(call{method: "POST", path: "users/root2/disable", user: "admin"}); r.status != http.StatusOK {
			t.Fatalf("admin disables admin: %d %s", r.status, r.body)
		}
		checkError(t, w.do(call{method: "GET", path: "whoami", user: "root2"}), http.StatusUnauthorized)
	})

	var created collectionOut
	t.Run("create collection", func(t *testing.T) {
		r := w.do(call{method: "POST", path: "collections", user: "admin", body: `{"alias":"ics","title":"ICS advisories"}`})
		if r.status != http.StatusCreated {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		created = decode[collectionOut](t, r)
		if _, err := uuid.Parse(created.ID); err != nil {
			t.Fatalf("generated id %q: %v", created.ID, err)
		}
		want := collectionOut{ID: created.ID, Alias: "ics", Title: "ICS advisories",
			MediaTypes: []string{"application/stix+json;version=2.1"}}
		if diff := cmp.Diff(want, created); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		c, err := w.db.Collection(ctx, created.ID)
		must(t, err)
		if c.Alias != "ics" || c.Title != "ICS advisories" {
			t.Errorf("stored %+v", c)
		}
	})

	t.Run("grants put and get", func(t *testing.T) {
		for _, step := range []struct {
			org, body string
			want      []grantOut
		}{
			{"a", `{"read":true,"write":true}`, []grantOut{{Org: "a", Read: true, Write: true}}},
			{"*", `{"read":true}`, []grantOut{{Org: "*", Read: true}, {Org: "a", Read: true, Write: true}}},
			{"a", `{"read":true}`, []grantOut{{Org: "*", Read: true}, {Org: "a", Read: true}}},
			{"a", `{}`, []grantOut{{Org: "*", Read: true}}}, // neither right: removed
		} {
			r := w.do(call{method: "PUT", path: "collections/" + created.ID + "/grants/" + step.org, user: "admin", body: step.body})
			if r.status != http.StatusOK {
				t.Fatalf("PUT %s %s: %d %s", step.org, step.body, r.status, r.body)
			}
			r = w.do(call{method: "GET", path: "collections/ics/grants", user: "admin"})
			type grants struct {
				Grants []grantOut `json:"grants"`
			}
			if diff := cmp.Diff(step.want, decode[grants](t, r).Grants, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("after PUT %s %s (-want +got):\n%s", step.org, step.body, diff)
			}
		}
		g, err := w.db.Access(ctx, created.ID, "b")
		must(t, err)
		if !g.Read || g.Write {
			t.Errorf("org b's access through *: %+v", g)
		}
	})
}

func TestGroups(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	if r := w.do(call{method: "POST", path: "groups", user: "admin", body: `{"id":"g-tel","name":"IN-JP telecom"}`}); r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	if r := w.do(call{method: "POST", path: "groups", user: "admin", body: `{"id":"g-all","name":"all"}`}); r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	for _, c := range []struct {
		method, path string
		status       int
	}{
		{"PUT", "groups/g-tel/members/a", 200},
		{"PUT", "groups/g-all/members/group:g-tel", 200},
		{"PUT", "groups/g-tel/members/group:g-all", 409}, // circular
		{"PUT", "groups/g-tel/members/org:nobody", 404},
		{"PUT", "groups/g-nothing/members/a", 404},
		{"DELETE", "groups/g-tel/members/org:zzz", 404},
	} {
		if r := w.do(call{method: c.method, path: c.path, user: "admin"}); r.status != c.status {
			t.Errorf("%s %s: %d %s, want %d", c.method, c.path, r.status, r.body, c.status)
		}
	}
	groups, err := w.db.OrgGroups(ctx, "a")
	must(t, err)
	if len(groups) != 2 {
		t.Errorf("org a is in %v, want g-tel and g-all", groups)
	}
	r := w.do(call{method: "GET", path: "groups/g-tel/members", user: "admin"})
	if r.status != 200 || !strings.Contains(string(r.body), `"org:a"`) {
		t.Errorf("members: %d %s", r.status, r.body)
	}
	// Only node admins manage groups.
	if r := w.do(call{method: "POST", path: "groups", user: "alice", body: `{"id":"g-x","name":"x"}`}); r.status != http.StatusForbidden {
		t.Errorf("non-admin create: %d", r.status)
	}
}

// Changes made through the API are in the audit log, with who made them.
func TestChangesAudited(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	if r := w.do(call{method: "POST", path: "orgs", user: "admin", body: `{"id":"mea","name":"M","country":"IN","kind":"government"}`}); r.status != http.StatusCreated {
		t.Fatalf("create org: %d %s", r.status, r.body)
	}
	if r := w.do(call{method: "POST", path: "users/alice/tokens", user: "alice", body: `{"label":"x"}`}); r.status != http.StatusCreated {
		t.Fatalf("create token: %d %s", r.status, r.body)
	}
	recs, err := w.db.AuditRecords(ctx, store.AuditQuery{Limit: 10})
	must(t, err)
	var got []string
	for _, r := range recs {
		got = append(got, r.Actor+" "+r.Action+" "+r.Path+" "+strings.Join(r.Objects, ","))
	}
	want := []string{"admin org.create manage:orgs org:mea"}
	if len(got) != 2 || got[0] != want[0] || !strings.HasPrefix(got[1], "alice token.create manage:users/{name}/tokens token:") {
		t.Errorf("audit records %q", got)
	}
}

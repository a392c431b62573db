package taxiiserver_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/setu-cti/setu/internal/account"
	"github.com/setu-cti/setu/internal/audit"
	"github.com/setu-cti/setu/internal/ingest"
	"github.com/setu-cti/setu/internal/store"
	"github.com/setu-cti/setu/internal/store/postgres/pgtest"
	"github.com/setu-cti/setu/internal/store/sqlite"
	"github.com/setu-cti/setu/internal/store/storetest"
	"github.com/setu-cti/setu/internal/taxii"
	"github.com/setu-cti/setu/internal/taxiiserver"
)

// backend opens a fresh node store.
type backend struct {
	name string
	open func(t *testing.T) storetest.Node
}

func backends() []backend {
	return []backend{
		{"sqlite", func(t *testing.T) storetest.Node {
			db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "setu.db"), store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		}},
		{"postgres", func(t *testing.T) storetest.Node {
			return pgtest.Open(t, store.Options{})
		}},
	}
}

// world is a running TAXII server with organisations, users, tokens and
// collections covering the permission matrix.
type world struct {
	t      *testing.T
	db     storetest.Node
	srv    *httptest.Server
	ts     *taxiiserver.Server
	tokens map[string]string // user -> secret
	coll   map[string]string // alias -> id
	now    func() time.Time
}

// Users: admin (node admin), alice (analyst, org a), reader (read-only, org
// a), bob (analyst, org b), expired and revoked tokens for alice's org.
// Collections: rw (a: read+write), ro (a: read), wo (a: write), hidden (b
// only), inbox (* write).
func newWorld(t *testing.T, be backend, opts ...func(*taxiiserver.Config)) *world {
	t.Helper()
	ctx := context.Background()
	db := be.open(t)
	w := &world{t: t, db: db, tokens: map[string]string{}, coll: map[string]string{}, now: time.Now}
	now := time.Now().UTC()
	for _, o := range []account.Org{
		{ID: "node", Name: "Node", Country: "IN", Kind: account.NationalCERT, Created: now},
		{ID: "a", Name: "Org A", Country: "IN", Kind: account.CIOperator, Sectors: []string{"energy"}, Created: now},
		{ID: "b", Name: "Org B", Country: "JP", Kind: account.Business, Created: now},
	} {
		must(t, db.CreateOrg(ctx, o))
	}
	for _, u := range []account.User{
		{Name: "admin", Org: "node", Role: account.Admin},
		{Name: "alice", Org: "a", Role: account.Analyst},
		{Name: "reader", Org: "a", Role: account.ReadOnly},
		{Name: "bob", Org: "b", Role: account.Analyst},
		{Name: "carol", Org: "a", Role: account.Analyst},
		{Name: "dave", Org: "a", Role: account.Analyst},
	} {
		u.Created = now
		must(t, db.CreateUser(ctx, u))
		ttl := time.Duration(0)
		secret, tok, err := account.NewToken(u.Name, "test", now, ttl)
		must(t, err)
		if u.Name == "carol" { // expired
			tok.Expires = now.Add(-time.Minute)
		}
		must(t, db.CreateToken(ctx, tok))
		if u.Name == "dave" { // revoked
			must(t, db.RevokeToken(ctx, tok.ID))
		}
		w.tokens[u.Name] = secret
	}
	for i, c := range []struct {
		alias  string
		grants []store.Grant
	}{
		{"rw", []store.Grant{{Org: "a", Read: true, Write: true}}},
		{"ro", []store.Grant{{Org: "a", Read: true}}},
		{"wo", []store.Grant{{Org: "a", Write: true}}},
		{"hidden", []store.Grant{{Org: "b", Read: true, Write: true}}},
		{"inbox", []store.Grant{{Org: store.AnyOrg, Write: true}}},
	} {
		id := fmt.Sprintf("91a7b528-80eb-42ed-a74d-c6fbd5a26%03d", i)
		must(t, db.CreateCollection(ctx, store.Collection{ID: id, Alias: c.alias, Title: c.alias,
			MediaTypes: []string{"application/stix+json;version=2.1"}, Created: now}))
		for _, g := range c.grants {
			g.Collection = id
			must(t, db.SetGrant(ctx, g))
		}
		w.coll[c.alias] = id
	}
	auditLog := audit.NewLogger(db.(store.Audit), audit.LoggerOptions{})
	t.Cleanup(func() { auditLog.Close() })
	cfg := taxiiserver.Config{DB: db.(taxiiserver.DB), Ingest: ingest.New(db, 0, ingest.WithGroups(db.(store.Groups))), MaxContentLength: 1 << 20, DefaultLimit: 100, MaxLimit: 1000,
		Audit: auditLog}
	for _, o := range opts {
		o(&cfg)
	}
	ts, err := taxiiserver.New(ctx, cfg)
	must(t, err)
	w.ts = ts
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { ts.Run(runCtx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	w.srv = httptest.NewTLSServer(ts)
	t.Cleanup(w.srv.Close)
	return w
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// client returns a TAXII client authenticated as user (HTTP Basic).
func (w *world) client(user string) *taxii.Client {
	c, err := taxii.NewClient(w.srv.URL, taxii.WithHTTPClient(w.srv.Client()),
		taxii.WithBasicAuth(user, w.tokens[user]), taxii.WithPollInterval(time.Millisecond))
	must(w.t, err)
	return c
}

func (w *world) root() string { return w.srv.URL + "/api/" }

func (w *world) objectsURL(alias string) string {
	return w.root() + "collections/" + w.coll[alias] + "/objects/"
}

// request is a raw HTTP exchange for the cases the client would not send.
type request struct {
	method, url string
	user        string // Basic auth with the user's token; "" for none
	bearer      string // Authorization: Bearer
	accept      string // default MediaTAXII; "-" for none
	ctype       string
	body        string
}

type response struct {
	status int
	header http.Header
	body   string
}

func (w *world) do(r request) response {
	w.t.Helper()
	req, err := http.NewRequest(r.method, r.url, strings.NewReader(r.body))
	must(w.t, err)
	if r.user != "" {
		req.SetBasicAuth(r.user, w.tokens[r.user])
	}
	if r.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+r.bearer)
	}
	switch r.accept {
	case "":
		req.Header.Set("Accept", taxii.MediaTAXII)
	case "-":
	default:
		req.Header.Set("Accept", r.accept)
	}
	if r.ctype != "" {
		req.Header.Set("Content-Type", r.ctype)
	}
	resp, err := w.srv.Client().Do(req)
	must(w.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	must(w.t, err)
	return response{resp.StatusCode, resp.Header, string(b)}
}

var _ = tls.VersionTLS12
var _ = os.Getenv

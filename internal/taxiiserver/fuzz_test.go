package taxiiserver_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/setu-cti/setu/internal/account"
	"github.com/setu-cti/setu/internal/ingest"
	"github.com/setu-cti/setu/internal/store"
	"github.com/setu-cti/setu/internal/store/sqlite"
	"github.com/setu-cti/setu/internal/taxii"
	"github.com/setu-cti/setu/internal/taxiiserver"
)

// The fuzz targets drive the handler in-process (httptest.NewRecorder) over
// a SQLite store opened once per target, so an iteration costs one request
// and, for an accepted POST, one ingest.

// fuzzWorld is a small node for fuzzing: org a owns collection rw, org b
// owns collection hidden, and the node admin sees both. Each collection
// holds a few objects, some with several versions.
type fuzzWorld struct {
	db     *sqlite.DB
	ts     *taxiiserver.Server
	tokens map[string]string // user -> secret
	coll   map[string]string // alias -> id
	// versions lists, per collection alias and object id, the version
	// strings stored, so an answer can be checked against what it may hold.
	versions map[string]map[string][]string
	// jobs receives one value each time the worker finishes a POST job.
	jobs chan struct{}
	log  *syncBuffer
}

// fuzzKey is the next-token key. Fuzzing runs the target's set-up in
// several processes, each with its own store; a fixed key makes a token
// sealed in one (the seed corpus) open in the others, so the fuzzer can
// mutate tokens the server would honour rather than only random bytes.
var fuzzKey = bytes.Repeat([]byte{0x5e}, 32)

// syncBuffer collects the server's log, shown when a check fails.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// jobSignal is a metrics sink that reports finished POST jobs, so tests
// wait on the event rather than polling the status.
type jobSignal chan struct{}

func (j jobSignal) Ingested(added, duplicate, rejected int, d time.Duration) { j <- struct{}{} }

// version is the version string of indicator(n, mod).
func version(mod int) string {
	return time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(mod) * time.Millisecond).Format("2006-01-02T15:04:05.000Z")
}

// newFuzzWorld is newWorld for any testing.TB (fuzz targets have a
// *testing.F), with a handler instead of a listening server.
func newFuzzWorld(tb testing.TB, maxContent int64) *fuzzWorld {
	tb.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(tb.TempDir(), "setu.db"), store.Options{})
	must(tb, err)
	tb.Cleanup(func() { db.Close() })
	_, err = db.Secret(ctx, "taxii-next-key", func() ([]byte, error) { return fuzzKey, nil })
	must(tb, err)

	w := &fuzzWorld{db: db, tokens: map[string]string{}, coll: map[string]string{},
		versions: map[string]map[string][]string{}, jobs: make(chan struct{}, 1024), log: &syncBuffer{}}
	now := time.Now().UTC()
	for _, o := range []account.Org{
		{ID: "node", Name: "Node", Country: "IN", Kind: account.NationalCERT, Created: now},
		{ID: "a", Name: "Org A", Country: "IN", Kind: account.CIOperator, Created: now},
		{ID: "b", Name: "Org B", Country: "JP", Kind: account.Business, Created: now},
	} {
		must(tb, db.CreateOrg(ctx, o))
	}
	for _, u := range []account.User{
		{Name: "admin", Org: "node", Role: account.Admin},
		{Name: "alice", Org: "a", Role: account.Analyst},
		{Name: "bob", Org: "b", Role: account.Analyst},
	} {
		u.Created = now
		must(tb, db.CreateUser(ctx, u))
		secret, tok, err := account.NewToken(u.Name, "fuzz", now, 0)
		must(tb, err)
		must(tb, db.CreateToken(ctx, tok))
		w.tokens[u.Name] = secret
	}
	for i, c := range []struct{ alias, org string }{{"rw", "a"}, {"hidden", "b"}} {
		id := fmt.Sprintf("5c0ffee0-80eb-42ed-a74d-c6fbd5a26%03d", i)
		must(tb, db.CreateCollection(ctx, store.Collection{ID: id, Alias: c.alias, Title: c.alias,
			MediaTypes: []string{"application/stix+json;version=2.1"}, Created: now}))
		must(tb, db.SetGrant(ctx, store.Grant{Collection: id, Org: c.org, Read: true, Write: true}))
		w.coll[c.alias] = id
	}
	ts, err := taxiiserver.New(ctx, taxiiserver.Config{DB: db, Ingest: ingest.New(db, 0),
		Log:              slog.New(slog.NewTextHandler(w.log, nil)),
		MaxContentLength: maxContent, DefaultLimit: 2, MaxLimit: 50})
	must(tb, err)
	ts.SetMetrics(jobSignal(w.jobs))
	w.ts = ts
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { ts.Run(runCtx); close(done) }()
	tb.Cleanup(func() { cancel(); <-done })

	// Each collection gets five objects through the server's own write
	// path; the first has three versions and the second two, so every
	// endpoint has more than one page at limit=1.
	for _, c := range []struct {
		alias, user string
		base        int // first indicator number
	}{{"rw", "alice", 1}, {"hidden", "bob", 100}} {
		w.versions[c.alias] = map[string][]string{}
		var objs []string
		for n := range 5 {
			for mod := range max(1, 3-n) {
				objs = append(objs, indicator(c.base+n, mod))
				oid := indicatorID(c.base + n)
				w.versions[c.alias][oid] = append(w.versions[c.alias][oid], version(mod))
			}
		}
		rec := w.serve(c.user, http.MethodPost, "/api/collections/"+w.coll[c.alias]+"/objects/", "",
			taxii.MediaTAXII, []byte(envelopeOf(objs...)))
		if rec.Code != http.StatusAccepted {
			tb.Fatalf("seeding %s: %d %s", c.alias, rec.Code, rec.Body)
		}
		var st taxii.Status
		must(tb, json.Unmarshal(rec.Body.Bytes(), &st))
		<-w.jobs
		done, err := db.Status(ctx, st.ID)
		must(tb, err)
		if len(done.Successes) != len(objs) {
			tb.Fatalf("seeding %s: %+v\n%s", c.alias, done, w.log)
		}
	}
	return w
}

// serve runs one request through the handler. The raw query goes on the
// URL as given, so malformed escapes reach the server as a client could
// send them.
func (w *fuzzWorld) serve(user, method, path, rawQuery, ctype string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "https://setu.test"+path, bytes.NewReader(body))
	req.URL.RawQuery = rawQuery
	req.SetBasicAuth(user, w.tokens[user])
	req.Header.Set("Accept", taxii.MediaTAXII)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	rec := httptest.NewRecorder()
	w.ts.ServeHTTP(rec, req)
	return rec
}

// checkTAXIIError requires a TAXII error message whose http_status is the
// response status.
func checkTAXIIError(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != taxii.MediaTAXII {
		t.Fatalf("status %d: Content-Type %q, want %q", rec.Code, ct, taxii.MediaTAXII)
	}
	var e taxii.Error
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil {
		t.Fatalf("status %d: error body does not decode: %v\n%s", rec.Code, err, rec.Body)
	}
	if e.Title == "" || e.HTTPStatus != strconv.Itoa(rec.Code) {
		t.Fatalf("status %d: error body %s", rec.Code, rec.Body)
	}
}

// pagedEndpoint is one paged endpoint of one collection, seen by one user.
type pagedEndpoint struct {
	user, alias string
	ep          taxii.Endpoint
	object      string // for the object and versions endpoints
}

func (p pagedEndpoint) path(w *fuzzWorld) string {
	base := "/api/collections/" + w.coll[p.alias] + "/"
	switch p.ep {
	case taxii.EndpointManifest:
		return base + "manifest/"
	case taxii.EndpointObject:
		return base + "objects/" + p.object + "/"
	case taxii.EndpointVersions:
		return base + "objects/" + p.object + "/versions/"
	}
	return base + "objects/"
}

// query is the fixed filter each endpoint is paged with; match[version]=all
// makes the object endpoint return several versions.
func (p pagedEndpoint) query() url.Values {
	q := url.Values{"limit": {"1"}}
	if p.ep == taxii.EndpointObject {
		q.Set("match[version]", "all")
	}
	return q
}

func (p pagedEndpoint) String() string {
	return fmt.Sprintf("%s as %s on %s %s", p.ep, p.user, p.alias, p.object)
}

// checkPage decodes a 200 and requires that everything in it belongs to the
// collection (and object) the request named: a page from elsewhere would be
// a leak. It returns the next token, if any.
func (w *fuzzWorld) checkPage(t *testing.T, p pagedEndpoint, rec *httptest.ResponseRecorder) string {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != taxii.MediaTAXII {
		t.Fatalf("%v: Content-Type %q", p, ct)
	}
	vs := w.versions[p.alias]
	inColl := func(id string) {
		if _, ok := vs[id]; !ok || (p.object != "" && id != p.object) {
			t.Fatalf("%v: answer holds %s, which is not in the collection or is another object\n%s", p, id, rec.Body)
		}
	}
	switch p.ep {
	case taxii.EndpointObjects, taxii.EndpointObject:
		var env taxii.Envelope
		if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil {
			t.Fatalf("%v: envelope: %v\n%s", p, err, rec.Body)
		}
		for _, o := range env.Objects {
			var h struct {
				ID       string `json:"id"`
				Modified string `json:"modified"`
			}
			if err := json.Unmarshal(o, &h, json.RejectUnknownMembers(false)); err != nil {
				t.Fatalf("%v: object: %v", p, err)
			}
			inColl(h.ID)
		}
		return env.Next
	case taxii.EndpointManifest:
		var m taxii.Manifest
		if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
			t.Fatalf("%v: manifest: %v\n%s", p, err, rec.Body)
		}
		for _, r := range m.Objects {
			inColl(r.ID)
			if !slices.Contains(vs[r.ID], r.Version) {
				t.Fatalf("%v: manifest lists version %s of %s, never stored there", p, r.Version, r.ID)
			}
		}
		return m.Next
	case taxii.EndpointVersions:
		var v taxii.Versions
		if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
			t.Fatalf("%v: versions: %v\n%s", p, err, rec.Body)
		}
		for _, s := range v.Versions {
			if !slices.Contains(vs[p.object], s) {
				t.Fatalf("%v: version %s is not one of %s's", p, s, p.object)
			}
		}
		return v.Next
	}
	t.Fatalf("unexpected endpoint %v", p.ep)
	return ""
}

// pagedEndpoints lists every (reader, collection, endpoint) the token
// fuzzer addresses; tokens are then tried across all of them.
func (w *fuzzWorld) pagedEndpoints() []pagedEndpoint {
	var out []pagedEndpoint
	for _, view := range []struct{ user, alias string }{
		{"alice", "rw"}, {"bob", "hidden"}, {"admin", "rw"}, {"admin", "hidden"},
	} {
		first, second := indicatorID(1), indicatorID(2)
		if view.alias == "hidden" {
			first, second = indicatorID(100), indicatorID(101)
		}
		out = append(out,
			pagedEndpoint{view.user, view.alias, taxii.EndpointObjects, ""},
			pagedEndpoint{view.user, view.alias, taxii.EndpointManifest, ""},
			pagedEndpoint{view.user, view.alias, taxii.EndpointObject, first},
			pagedEndpoint{view.user, view.alias, taxii.EndpointVersions, first},
			pagedEndpoint{view.user, view.alias, taxii.EndpointVersions, second},
		)
	}
	return out
}

// FuzzNextToken sends forged, altered and misplaced next tokens. A token is
// honoured (200, with a page of the named collection and object) exactly
// when the server sealed it for this collection, reader, filters, endpoint
// and object; every other token is a 400 TAXII error, never a 500.
func FuzzNextToken(f *testing.F) {
	w := newFuzzWorld(f, 1<<20)
	eps := w.pagedEndpoints()
	// Real tokens from the first page of every endpoint, each tried on every
	// endpoint: the cross pairs are the replays a client could attempt.
	var real []string
	for _, p := range eps {
		rec := w.serve(p.user, http.MethodGet, p.path(w), p.query().Encode(), "", nil)
		if rec.Code != http.StatusOK {
			f.Fatalf("%v: first page: %d %s", p, rec.Code, rec.Body)
		}
		var page struct {
			Next string `json:"next"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &page, json.RejectUnknownMembers(false)); err != nil || page.Next == "" {
			f.Fatalf("%v: first page has no next token (%v): %s", p, err, rec.Body)
		}
		real = append(real, page.Next)
	}
	for _, tok := range real {
		for i := range eps {
			f.Add(tok, uint8(i))
		}
	}
	tok := real[0]
	for _, s := range []string{
		"", "A", "AAAA", "null", "{}", strings.Repeat("A", 2049),
		tok[:len(tok)-1], tok + "A", tok[1:], "A" + tok[1:],
		tok[:len(tok)/2] + "_" + tok[len(tok)/2+1:],
		tok[:len(tok)-1] + string(tok[len(tok)-1]^1),
		strings.ToUpper(tok), tok + "=", tok + "%", tok + "\x00",
	} {
		f.Add(s, uint8(0))
	}

	// The same token with each other last character: some differ only in
	// the unused low bits of the final base64 digit.
	const digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for _, d := range digits {
		f.Add(tok[:len(tok)-1]+string(d), uint8(0))
	}

	f.Fuzz(func(t *testing.T, tok string, which uint8) {
		p := eps[int(which)%len(eps)]
		q := p.query()
		filter, err := taxii.ParseFilter(q, p.ep)
		if err != nil {
			t.Fatal(err)
		}
		q.Set("next", tok)
		rec := w.serve(p.user, http.MethodGet, p.path(w), q.Encode(), "", nil)

		b, ok := w.ts.OpenNext(tok)
		// A token has one spelling: base64 with other padding bits decodes
		// to the same bytes, but it is not what the server issued.
		raw, err := base64.RawURLEncoding.DecodeString(tok)
		canonical := err == nil && base64.RawURLEncoding.EncodeToString(raw) == tok
		honour := ok && canonical && b.Collection == w.coll[p.alias] && b.Reader == p.user && b.Filter == filter.Hash() &&
			b.Endpoint == p.ep && b.Object == p.object && b.Pos >= 0 && len(tok) <= 2048
		switch {
		case honour && rec.Code == http.StatusOK:
			w.checkPage(t, p, rec)
		case honour:
			t.Fatalf("%v: token sealed for this request got %d: %s", p, rec.Code, rec.Body)
		case rec.Code != http.StatusBadRequest:
			t.Fatalf("%v: token %q (opens: %v, binds %+v) got %d, want 400: %s", p, tok, ok, b, rec.Code, rec.Body)
		default:
			checkTAXIIError(t, rec)
		}
	})
}

// FuzzObjectsQuery sends arbitrary query strings to the paged endpoints.
// The answer is a 200 with a well-formed resource or a 400 TAXII error;
// never a 500. On the object and versions endpoints a filter that leaves
// nothing of the object is a 404, as for an absent object.
func FuzzObjectsQuery(f *testing.F) {
	w := newFuzzWorld(f, 1<<20)
	id := indicatorID(1)
	eps := []pagedEndpoint{
		{"alice", "rw", taxii.EndpointObjects, ""},
		{"alice", "rw", taxii.EndpointManifest, ""},
		{"alice", "rw", taxii.EndpointObject, id},
		{"alice", "rw", taxii.EndpointVersions, id},
	}
	for _, q := range []string{
		"",
		"limit=1",
		"limit=2&match[type]=indicator",
		"added_after=2024-01-01T00:00:00Z",
		"added_after=2024-01-01T00:00:00.123456Z&limit=10",
		"match%5Btype%5D=indicator%2Cmalware",
		"match[id]=" + id,
		"match[id]=" + id + "," + indicatorID(2),
		"match[version]=all",
		"match[version]=first,last",
		"match[version]=2024-01-01T00:00:00.001Z",
		"match[spec_version]=2.1",
		"match[spec_version]=2.0,2.1&match[version]=all",
		"limit=0", "limit=-1", "limit=+1", "limit=1e3", "limit=99999999999999999999",
		"limit=1&limit=2",
		"match[type]=", "match[type]=a", "match[type]=Indicator", "match[type]=x--y",
		"match[id]=indicator--00000000-0000-0000-0000-000000000000",
		"match[version]=yesterday",
		"added_after=2024-13-01T00:00:00Z", "added_after=now",
		"next=", "next=bm90IGEgdG9rZW4",
		"foo=bar", "match[colour]=red",
		"%zz", ";", "&&&", "=", "a=%", "match[type]=indicator;limit=1",
		"match[type]=" + strings.Repeat("indicator,", 1001),
	} {
		for i := range eps {
			f.Add(q, uint8(i))
		}
	}
	f.Fuzz(func(t *testing.T, raw string, which uint8) {
		p := eps[int(which)%len(eps)]
		rec := w.serve(p.user, http.MethodGet, p.path(w), raw, "", nil)
		switch {
		case rec.Code == http.StatusOK:
			w.checkPage(t, p, rec)
		case rec.Code == http.StatusBadRequest,
			rec.Code == http.StatusNotFound && p.object != "":
			checkTAXIIError(t, rec)
		default:
			t.Fatalf("%v ?%s: status %d: %s\n%s", p, raw, rec.Code, rec.Body, w.log)
		}
	})
}

// Realistic objects for the POST seeds.
const (
	seedMalware = `{"type":"malware","spec_version":"2.1","id":"malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b",` +
		`"created":"2024-02-01T08:00:00.000Z","modified":"2024-02-01T08:00:00.000Z","name":"Cryptolocker",` +
		`"malware_types":["ransomware"],"is_family":true}`
	seedIPv4 = `{"type":"ipv4-addr","spec_version":"2.1","id":"ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd","value":"198.51.100.3"}`
	seedRel  = `{"type":"relationship","spec_version":"2.1","id":"relationship--57b56a43-b8b0-4cba-9deb-34e3e1faed9e",` +
		`"created":"2024-02-01T08:00:00.000Z","modified":"2024-02-01T08:00:00.000Z","relationship_type":"indicates",` +
		`"source_ref":"indicator--00000001-1111-4111-8111-111111111111","target_ref":"malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b"}`
	seedTLP = `{"type":"marking-definition","spec_version":"2.1","id":"marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",` +
		`"created":"2022-10-01T00:00:00.000Z","name":"TLP:GREEN","extensions":{"extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d":` +
		`{"extension_type":"property-extension","tlp_2_0":"green"}}}`
)

// FuzzPostEnvelope posts arbitrary bodies. The answer is 202, 400, 413 or
// 415, never a 500; errors are TAXII error messages; a 202 is a status
// that accounts for every object and that the worker completes.
func FuzzPostEnvelope(f *testing.F) {
	const maxContent = 4096
	w := newFuzzWorld(f, maxContent)
	big := make([]string, 0, 40)
	for n := range 40 {
		big = append(big, indicator(500+n, 0))
	}
	for _, body := range []string{
		envelopeOf(indicator(900, 0)),
		envelopeOf(indicator(901, 0), indicator(901, 1), seedMalware, seedRel),
		envelopeOf(seedIPv4, seedTLP),
		envelopeOf(indicator(1, 0)), // already stored: a duplicate
		envelopeOf(big...),          // over max_content_length
		`{"more":false,"objects":[` + indicator(902, 0) + `],"x_setu_provenance":{"v":1}}`,
		`{"objects":[]}`, `{}`, `[]`, `null`, ``, `{"objects":null}`,
		`{"objects":[1,"x",null]}`, `{"objects":[{}]}`, `{"objects":[{"id":"x","type":"y"}]}`,
		`{"objects":[{"id":7,"type":"indicator"}]}`,
		`{"objects":[{"type":"indicator","id":"indicator--00000903-1111-4111-8111-111111111111","modified":5}]}`,
		`{"objects":[],"objects":[]}`,
		`{"objects":[{"id":"a","id":"b","type":"t"}]}`,
		"{\"objects\":[{\"id\":\"\xff\",\"type\":\"t\"}]}",
		`{"objects":[{"type":"indicator","id":"indicator--00000904-1111-4111-8111-111111111111"}]}`,
		`{"objects":[` + indicator(905, 0) + `]} trailing`,
		`{"Objects":[` + indicator(906, 0) + `]}`,
	} {
		for ct := range 4 {
			f.Add([]byte(body), uint8(ct))
		}
	}
	ctypes := []string{taxii.MediaTAXII, "application/json", "", "application/taxii+json;version=2.0"}
	path := "/api/collections/" + w.coll["rw"] + "/objects/"

	f.Fuzz(func(t *testing.T, body []byte, ct uint8) {
		rec := w.serve("alice", http.MethodPost, path, "", ctypes[int(ct)%len(ctypes)], body)
		switch rec.Code {
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
			checkTAXIIError(t, rec)
			return
		case http.StatusAccepted:
		default:
			t.Fatalf("status %d: %s\n%s", rec.Code, rec.Body, w.log)
		}
		var st taxii.Status
		if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil {
			t.Fatalf("202 body: %v\n%s", err, rec.Body)
		}
		if st.ID == "" || st.TotalCount == 0 || st.SuccessCount+st.FailureCount+st.PendingCount != st.TotalCount {
			t.Fatalf("202 status does not account for every object: %s", rec.Body)
		}
		select {
		case <-w.jobs:
		case <-time.After(10 * time.Second):
			t.Fatalf("status %s not completed within 10s\n%s", st.ID, w.log)
		}
		done, err := w.db.Status(context.Background(), st.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !done.Complete() || len(done.Successes)+len(done.Failures) != done.Total || done.Total != st.TotalCount {
			t.Fatalf("status after the job: %+v", done)
		}
	})
}

package taxiiserver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/setu-cti/setu/internal/account"
	"github.com/setu-cti/setu/internal/policy"
	"github.com/setu-cti/setu/internal/store"
	"github.com/setu-cti/setu/internal/taxii"
)

// indicator returns a valid STIX 2.1 indicator; n picks the id, mod the
// version (milliseconds after a fixed instant).
func indicator(n, mod int) string {
	m := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(mod) * time.Millisecond).Format("2006-01-02T15:04:05.000Z")
	return fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":"indicator--%08x-1111-4111-8111-111111111111",`+
		`"created":"2024-01-01T00:00:00.000Z","modified":%q,"pattern":"[ipv4-addr:value = '10.0.%d.%d']",`+
		`"pattern_type":"stix","valid_from":"2024-01-01T00:00:00Z"}`, n, m, n/256%256, n%256)
}

func indicatorID(n int) string { return fmt.Sprintf("indicator--%08x-1111-4111-8111-111111111111", n) }

func envelopeOf(objs ...string) string {
	return `{"objects":[` + strings.Join(objs, ",") + `]}`
}

// post submits objects as user and waits for the status to complete.
func (w *world) post(user, alias string, objs ...string) taxii.Status {
	w.t.Helper()
	c := w.client(user)
	ctx := context.Background()
	raws := make([]jsontext.Value, len(objs))
	for i, o := range objs {
		raws[i] = jsontext.Value(o)
	}
	st, err := c.AddObjects(ctx, w.root(), w.coll[alias], raws...)
	if err != nil {
		w.t.Fatalf("POST as %s to %s: %v", user, alias, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	done, err := c.WaitStatus(ctx, w.root(), st.ID)
	if err != nil {
		w.t.Fatalf("waiting for status %s: %v", st.ID, err)
	}
	return *done
}

func TestConformance(t *testing.T) {
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			t.Run("MediaTypes", func(t *testing.T) { testMediaTypes(t, newWorld(t, be)) })
			t.Run("Auth", func(t *testing.T) { testAuth(t, newWorld(t, be)) })
			t.Run("Permissions", func(t *testing.T) { testPermissions(t, newWorld(t, be)) })
			t.Run("PostAndStatus", func(t *testing.T) { testPostAndStatus(t, newWorld(t, be)) })
			t.Run("Filters", func(t *testing.T) { testFilters(t, newWorld(t, be)) })
			t.Run("Paging", func(t *testing.T) { testPaging(t, newWorld(t, be)) })
			t.Run("ManifestAndVersions", func(t *testing.T) { testManifestAndVersions(t, newWorld(t, be)) })
			t.Run("Delete", func(t *testing.T) { testDelete(t, newWorld(t, be)) })
			t.Run("Limits", func(t *testing.T) { testLimits(t, newWorld(t, be)) })
			t.Run("Audit", func(t *testing.T) { testAudit(t, newWorld(t, be)) })
			t.Run("WriteRules", func(t *testing.T) { testWriteRules(t, newWorld(t, be)) })
			t.Run("Groups", func(t *testing.T) { testGroups(t, newWorld(t, be)) })
		})
	}
}

// checkError asserts a TAXII error body whose http_status is the string form
// of the response status.
func checkError(t *testing.T, r response, want int) {
	t.Helper()
	if r.status != want {
		t.Fatalf("status %d, want %d (body %s)", r.status, want, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != taxii.MediaTAXII {
		t.Errorf("error Content-Type %q", ct)
	}
	var e map[string]any
	if err := json.Unmarshal([]byte(r.body), &e); err != nil {
		t.Fatalf("error body is not JSON: %q", r.body)
	}
	if e["http_status"] != fmt.Sprint(want) || e["title"] == "" {
		t.Errorf("error body %s: http_status must be the string %q", r.body, fmt.Sprint(want))
	}
}

func testMediaTypes(t *testing.T, w *world) {
	disc := w.srv.URL + "/taxii2/"
	tests := []struct {
		name   string
		req    request
		status int
	}{
		{"versioned accept", request{method: "GET", url: disc, user: "alice"}, 200},
		{"unversioned accept", request{method: "GET", url: disc, user: "alice", accept: "application/taxii+json"}, 200},
		{"wildcard accept", request{method: "GET", url: disc, user: "alice", accept: "*/*"}, 200},
		{"no accept", request{method: "GET", url: disc, user: "alice", accept: "-"}, 200},
		{"other version", request{method: "GET", url: disc, user: "alice", accept: "application/taxii+json;version=2.0"}, 406},
		{"unacceptable", request{method: "GET", url: w.objectsURL("rw"), user: "alice", accept: "application/xml"}, 406},
		{"wrong content type on POST", request{method: "POST", url: w.objectsURL("rw"), user: "alice",
			ctype: "application/json", body: envelopeOf(indicator(1, 0))}, 415},
		{"STIX content type on POST", request{method: "POST", url: w.objectsURL("rw"), user: "alice",
			ctype: "application/stix+json;version=2.1", body: envelopeOf(indicator(1, 0))}, 415},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := w.do(tt.req)
			if tt.status != 200 {
				checkError(t, r, tt.status)
				return
			}
			if r.status != 200 || r.header.Get("Content-Type") != taxii.MediaTAXII {
				t.Fatalf("status %d, Content-Type %q", r.status, r.header.Get("Content-Type"))
			}
		})
	}
	t.Run("discovery and API root", func(t *testing.T) {
		c := w.client("alice")
		d, err := c.Discovery(context.Background())
		must(t, err)
		if len(d.APIRoots) != 1 || d.APIRoots[0] != w.root() {
			t.Errorf("discovery %+v", d)
		}
		ar, err := c.APIRoot(context.Background(), w.root())
		must(t, err)
		if ar.MaxContentLength != 1<<20 || len(ar.Versions) != 1 || ar.Versions[0] != taxii.MediaTAXII {
			t.Errorf("API root %+v", ar)
		}
	})
}

func testAuth(t *testing.T, w *world) {
	disc := w.srv.URL + "/taxii2/"
	tests := []struct {
		name   string
		req    request
		status int
	}{
		{"basic", request{method: "GET", url: disc, user: "alice"}, 200},
		{"bearer", request{method: "GET", url: disc, bearer: w.tokens["alice"]}, 200},
		{"none", request{method: "GET", url: disc}, 401},
		{"wrong token", request{method: "GET", url: disc, bearer: "setu_not-a-token"}, 401},
		{"expired token", request{method: "GET", url: disc, user: "carol"}, 401},
		{"revoked token", request{method: "GET", url: disc, user: "dave"}, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := w.do(tt.req)
			if tt.status == 401 {
				checkError(t, r, 401)
				if r.header.Get("WWW-Authenticate") == "" {
					t.Error("401 without WWW-Authenticate")
				}
				return
			}
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
		})
	}
	t.Run("another user's name with a valid token", func(t *testing.T) {
		req, _ := http.NewRequest("GET", disc, nil)
		req.SetBasicAuth("bob", w.tokens["alice"])
		req.Header.Set("Accept", taxii.MediaTAXII)
		resp, err := w.srv.Client().Do(req)
		must(t, err)
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Errorf("status %d, want 401", resp.StatusCode)
		}
	})
}

func testPermissions(t *testing.T, w *world) {
	w.post("admin", "rw", indicator(1, 0))
	w.post("admin", "ro", indicator(1, 0))
	w.post("admin", "hidden", indicator(1, 0))
	env := envelopeOf(indicator(2, 0))
	obj := func(alias string) string { return w.objectsURL(alias) + indicatorID(1) + "/" }
	tests := []struct {
		name   string
		req    request
		status int
	}{
		{"read rw", request{method: "GET", url: w.objectsURL("rw"), user: "alice"}, 200},
		{"write rw", request{method: "POST", url: w.objectsURL("rw"), user: "alice", ctype: taxii.MediaTAXII, body: env}, 202},
		{"read ro", request{method: "GET", url: w.objectsURL("ro"), user: "alice"}, 200},
		{"write ro", request{method: "POST", url: w.objectsURL("ro"), user: "alice", ctype: taxii.MediaTAXII, body: env}, 403},
		{"delete in ro", request{method: "DELETE", url: obj("ro"), user: "alice"}, 403},
		{"read wo", request{method: "GET", url: w.objectsURL("wo"), user: "alice"}, 403},
		{"collection info wo", request{method: "GET", url: w.root() + "collections/" + w.coll["wo"] + "/", user: "alice"}, 200},
		{"write wo", request{method: "POST", url: w.objectsURL("wo"), user: "alice", ctype: taxii.MediaTAXII, body: env}, 202},
		{"read hidden", request{method: "GET", url: w.objectsURL("hidden"), user: "alice"}, 404},
		{"object in hidden", request{method: "GET", url: obj("hidden"), user: "alice"}, 404},
		{"write hidden", request{method: "POST", url: w.objectsURL("hidden"), user: "alice", ctype: taxii.MediaTAXII, body: env}, 404},
		{"collection info hidden", request{method: "GET", url: w.root() + "collections/" + w.coll["hidden"] + "/", user: "alice"}, 404},
		{"absent collection", request{method: "GET", url: w.root() + "collections/00000000-0000-4000-8000-000000000000/objects/", user: "alice"}, 404},
		{"alias is not a TAXII id", request{method: "GET", url: w.root() + "collections/rw/objects/", user: "alice"}, 404},
		{"read-only user cannot write", request{method: "POST", url: w.objectsURL("rw"), user: "reader", ctype: taxii.MediaTAXII, body: env}, 403},
		{"read-only user reads", request{method: "GET", url: w.objectsURL("rw"), user: "reader"}, 200},
		{"other org reads its own", request{method: "GET", url: w.objectsURL("hidden"), user: "bob"}, 200},
		{"inbox writable by all", request{method: "POST", url: w.objectsURL("inbox"), user: "bob", ctype: taxii.MediaTAXII, body: env}, 202},
		{"admin reads all", request{method: "GET", url: w.objectsURL("hidden"), user: "admin"}, 200},
		{"no trailing slash", request{method: "GET", url: strings.TrimSuffix(w.objectsURL("rw"), "/"), user: "alice"}, 404},
		{"unknown path", request{method: "GET", url: w.root() + "nothing/", user: "alice"}, 404},
		{"method not allowed", request{method: "PUT", url: w.objectsURL("rw"), user: "alice"}, 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := w.do(tt.req)
			if tt.status >= 400 {
				checkError(t, r, tt.status)
				return
			}
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
		})
	}
	t.Run("collections list reveals only usable ones", func(t *testing.T) {
		cs, err := w.client("alice").Collections(context.Background(), w.root())
		must(t, err)
		got := map[string][2]bool{}
		for _, c := range cs.Collections {
			got[c.Alias] = [2]bool{c.CanRead, c.CanWrite}
		}
		want := map[string][2]bool{"rw": {true, true}, "ro": {true, false}, "wo": {false, true}, "inbox": {false, true}}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("collections %v, want %v", got, want)
		}
	})
}

func testPostAndStatus(t *testing.T, w *world) {
	bad := strings.Replace(indicator(3, 0), `"pattern_type":"stix",`, "", 1)
	st := w.post("alice", "rw", indicator(1, 0), indicator(2, 0), bad, `{"no":"id"}`)
	if st.Status != taxii.StatusComplete || st.TotalCount != 4 || st.SuccessCount != 2 || st.FailureCount != 2 || st.PendingCount != 0 {
		t.Fatalf("status %+v", st)
	}
	for _, f := range st.Failures {
		if f.Message == "" {
			t.Errorf("failure without a message: %+v", f)
		}
	}
	// An exact duplicate is a success; a conflicting version is a failure.
	conflict := strings.Replace(indicator(1, 0), "10.0.0.1", "10.9.9.9", 1)
	st = w.post("alice", "rw", indicator(1, 0), conflict)
	if st.SuccessCount != 1 || st.FailureCount != 1 || st.Successes[0].ID != indicatorID(1) || st.Successes[0].Version != "2024-01-01T00:00:00.000Z" {
		t.Fatalf("duplicate/conflict status %+v", st)
	}
	// Statuses belong to their poster.
	r := w.do(request{method: "GET", url: w.root() + "status/" + st.ID + "/", user: "bob"})
	checkError(t, r, 404)
	r = w.do(request{method: "GET", url: w.root() + "status/" + st.ID + "/", user: "alice"})
	if r.status != 200 || !strings.Contains(r.body, `"status":"complete"`) {
		t.Errorf("own status: %d %s", r.status, r.body)
	}
	checkError(t, w.do(request{method: "GET", url: w.root() + "status/nope/", user: "alice"}), 404)
	// Bad envelopes are 400 and store nothing.
	for _, body := range []string{`{"objects":[`, `[]`, `{"objects":[]}`, `{}`, "\xff"} {
		checkError(t, w.do(request{method: "POST", url: w.objectsURL("rw"), user: "alice", ctype: taxii.MediaTAXII, body: body}), 400)
	}
	env, _, err := w.client("alice").GetObjects(context.Background(), w.root(), w.coll["rw"], taxii.Filter{})
	must(t, err)
	if len(env.Objects) != 2 {
		t.Errorf("collection holds %d objects, want 2", len(env.Objects))
	}
}

// ids returns the ids of an envelope's objects, with their modified.
func ids(t *testing.T, env *taxii.Envelope) []string {
	t.Helper()
	var out []string
	for _, o := range env.Objects {
		var h struct{ ID, Modified string }
		must(t, json.Unmarshal(o, &h))
		if h.Modified == "" { // SCOs have no versions of their own
			out = append(out, h.ID)
			continue
		}
		out = append(out, h.ID+"@"+h.Modified[17:23])
	}
	return out
}

func testFilters(t *testing.T, w *world) {
	// Objects 1..3; object 1 in three versions.
	w.post("alice", "rw", indicator(1, 0), indicator(2, 0), indicator(3, 0))
	// The newest date_added so far bounds what the next POST adds.
	_, h, err := w.client("alice").GetObjects(context.Background(), w.root(), w.coll["rw"], taxii.Filter{})
	must(t, err)
	mid := h.DateAddedLast
	w.post("alice", "rw", indicator(1, 1000), indicator(1, 2000),
		`{"type":"ipv4-addr","spec_version":"2.1","id":"ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd","value":"198.51.100.3"}`)
	get := func(q string) response {
		return w.do(request{method: "GET", url: w.objectsURL("rw") + "?" + q, user: "alice"})
	}
	tests := []struct {
		query string
		want  []string // id@seconds.millis of modified, in order; nil for an empty result
	}{
		{"", []string{indicatorID(2) + "@00.000", indicatorID(3) + "@00.000", indicatorID(1) + "@02.000", "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd"}},
		{"match[type]=ipv4-addr", []string{"ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd"}},
		{"match[version]=all&match[type]=indicator", []string{indicatorID(1) + "@00.000", indicatorID(2) + "@00.000", indicatorID(3) + "@00.000", indicatorID(1) + "@01.000", indicatorID(1) + "@02.000"}},
		{"match[version]=first&match[id]=" + indicatorID(1), []string{indicatorID(1) + "@00.000"}},
		{"match[version]=first,last&match[id]=" + indicatorID(1), []string{indicatorID(1) + "@00.000", indicatorID(1) + "@02.000"}},
		{"match[version]=2024-01-01T00:00:01.000Z", []string{indicatorID(1) + "@01.000"}},
		{"match[id]=" + indicatorID(2) + "," + indicatorID(3), []string{indicatorID(2) + "@00.000", indicatorID(3) + "@00.000"}},
		{"match[type]=malware", nil},
		{"match[spec_version]=2.1&match[type]=indicator", []string{indicatorID(2) + "@00.000", indicatorID(3) + "@00.000", indicatorID(1) + "@02.000"}},
		{"added_after=" + url.QueryEscape(taxii.FormatTimestamp(mid)) + "&match[type]=indicator", []string{indicatorID(1) + "@02.000"}},
		{"added_after=2999-01-01T00:00:00Z", nil},
		{"unknown_param=1&match[type]=indicator&match[id]=" + indicatorID(2), []string{indicatorID(2) + "@00.000"}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			r := get(tt.query)
			if r.status != 200 {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			var env taxii.Envelope
			must(t, json.Unmarshal([]byte(r.body), &env))
			got := ids(t, &env)
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got %v\nwant %v", got, tt.want)
			}
			if tt.want == nil {
				if strings.Contains(r.body, "[]") || strings.Contains(r.body, "objects") {
					t.Errorf("empty result carries a list: %s", r.body)
				}
				// An empty page bounded by added_after names the bound,
				// so that a cursor taken from the headers stays put;
				// another names nothing.
				bound := ""
				if strings.HasPrefix(tt.query, "added_after=2999") {
					bound = "2999-01-01T00:00:00.000000Z"
				}
				if r.header.Get(taxii.HeaderDateAddedFirst) != bound || r.header.Get(taxii.HeaderDateAddedLast) != bound {
					t.Errorf("empty page: date-added headers %q, %q; want %q", r.header.Get(taxii.HeaderDateAddedFirst), r.header.Get(taxii.HeaderDateAddedLast), bound)
				}
				return
			}
			if r.header.Get(taxii.HeaderDateAddedFirst) == "" || r.header.Get(taxii.HeaderDateAddedLast) == "" {
				t.Error("date-added headers missing")
			}
		})
	}
	for _, q := range []string{"limit=0", "limit=-1", "limit=x", "added_after=yesterday", "match[version]=newest",
		"match[id]=not-an-id", "match[type]=Bad_Type", "limit=1&limit=2", "next=forged", "match[spec_version]=9"} {
		t.Run("malformed "+q, func(t *testing.T) { checkError(t, get(q), 400) })
	}
}

func testPaging(t *testing.T, w *world) {
	const n = 250
	objs := make([]string, n)
	for i := range objs {
		objs[i] = indicator(i, 0)
	}
	w.post("alice", "rw", objs...)
	c := w.client("alice")
	ctx := context.Background()
	for _, limit := range []int{1, 7, 100, 5000} {
		t.Run(fmt.Sprint("limit ", limit), func(t *testing.T) {
			seen := map[string]bool{}
			pages := 0
			for p, err := range c.AllObjects(ctx, w.root(), w.coll["rw"], taxii.Filter{Limit: limit}) {
				must(t, err)
				pages++
				if len(p.Envelope.Objects) > limit || len(p.Envelope.Objects) == 0 {
					t.Fatalf("page of %d objects with limit %d", len(p.Envelope.Objects), limit)
				}
				if p.Envelope.More && len(p.Envelope.Objects) != limit {
					t.Errorf("short page (%d) before the end", len(p.Envelope.Objects))
				}
				for _, id := range ids(t, p.Envelope) {
					if seen[id] {
						t.Fatalf("%s seen twice", id)
					}
					seen[id] = true
				}
				if pages > n+1 {
					t.Fatal("paging does not end")
				}
			}
			if len(seen) != n {
				t.Errorf("saw %d objects, want %d", len(seen), n)
			}
		})
	}
	first := w.do(request{method: "GET", url: w.objectsURL("rw") + "?limit=10&match[type]=indicator", user: "alice"})
	var env taxii.Envelope
	must(t, json.Unmarshal([]byte(first.body), &env))
	if !env.More || env.Next == "" {
		t.Fatalf("first page: more=%v next=%q", env.More, env.Next)
	}
	next := url.QueryEscape(env.Next)
	tests := []struct {
		name, url, user string
		status          int
	}{
		{"same filters, other limit", w.objectsURL("rw") + "?limit=3&match[type]=indicator&next=" + next, "alice", 200},
		{"other filters", w.objectsURL("rw") + "?limit=10&match[type]=malware&next=" + next, "alice", 400},
		{"other user", w.objectsURL("rw") + "?limit=10&match[type]=indicator&next=" + next, "reader", 400},
		{"other endpoint", w.root() + "collections/" + w.coll["rw"] + "/manifest/?limit=10&match[type]=indicator&next=" + next, "alice", 400},
		{"altered token", w.objectsURL("rw") + "?limit=10&match[type]=indicator&next=" + next[:len(next)-2] + "AA", "alice", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := w.do(request{method: "GET", url: tt.url, user: tt.user})
			if tt.status != 200 {
				checkError(t, r, tt.status)
				return
			}
			if r.status != 200 {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			var env2 taxii.Envelope
			must(t, json.Unmarshal([]byte(r.body), &env2))
			if len(env2.Objects) != 3 || ids(t, &env2)[0] != indicatorID(10)+"@00.000" {
				t.Errorf("continued page %v", ids(t, &env2))
			}
		})
	}
}

func testManifestAndVersions(t *testing.T, w *world) {
	w.post("alice", "rw", indicator(1, 0), indicator(1, 1500), indicator(2, 0))
	c := w.client("alice")
	ctx := context.Background()
	m, h, err := c.Manifest(ctx, w.root(), w.coll["rw"], taxii.Filter{Versions: taxii.VersionMatch{All: true}})
	must(t, err)
	if len(m.Objects) != 3 || h.DateAddedFirst.IsZero() || h.DateAddedLast.IsZero() {
		t.Fatalf("manifest %+v headers %+v", m, h)
	}
	var vs []string
	for _, r := range m.Objects {
		vs = append(vs, r.ID+"@"+r.Version)
		if r.MediaType != "application/stix+json;version=2.1" || time.Time(r.DateAdded).IsZero() {
			t.Errorf("record %+v", r)
		}
	}
	want := []string{indicatorID(1) + "@2024-01-01T00:00:00.000Z", indicatorID(1) + "@2024-01-01T00:00:01.500Z", indicatorID(2) + "@2024-01-01T00:00:00.000Z"}
	if fmt.Sprint(vs) != fmt.Sprint(want) {
		t.Errorf("manifest versions %v, want %v", vs, want)
	}
	v, _, err := c.Versions(ctx, w.root(), w.coll["rw"], indicatorID(1), taxii.Filter{})
	must(t, err)
	if fmt.Sprint(v.Versions) != "[2024-01-01T00:00:00.000Z 2024-01-01T00:00:01.500Z]" {
		t.Errorf("versions %v", v.Versions)
	}
	env, _, err := c.GetObject(ctx, w.root(), w.coll["rw"], indicatorID(1), taxii.Filter{})
	must(t, err)
	if got := ids(t, env); fmt.Sprint(got) != "["+indicatorID(1)+"@01.500]" {
		t.Errorf("object endpoint %v", got)
	}
	checkError(t, w.do(request{method: "GET", url: w.objectsURL("rw") + indicatorID(9) + "/", user: "alice"}), 404)
	checkError(t, w.do(request{method: "GET", url: w.objectsURL("rw") + indicatorID(9) + "/versions/", user: "alice"}), 404)
	r := w.do(request{method: "GET", url: w.root() + "collections/" + w.coll["rw"] + "/manifest/?match[type]=malware", user: "alice"})
	if r.status != 200 || strings.Contains(r.body, "objects") {
		t.Errorf("empty manifest %d %s", r.status, r.body)
	}
}

func testDelete(t *testing.T, w *world) {
	w.post("alice", "rw", indicator(1, 0), indicator(1, 1000), indicator(2, 0))
	del := func(q string) response {
		return w.do(request{method: "DELETE", url: w.objectsURL("rw") + indicatorID(1) + "/" + q, user: "alice"})
	}
	if r := del("?match[version]=2024-01-01T00:00:01.000Z"); r.status != 200 {
		t.Fatalf("DELETE one version: %d %s", r.status, r.body)
	}
	v, _, err := w.client("alice").Versions(context.Background(), w.root(), w.coll["rw"], indicatorID(1), taxii.Filter{})
	must(t, err)
	if fmt.Sprint(v.Versions) != "[2024-01-01T00:00:00.000Z]" {
		t.Errorf("versions after delete %v", v.Versions)
	}
	if r := del(""); r.status != 200 {
		t.Fatalf("DELETE all: %d %s", r.status, r.body)
	}
	checkError(t, del(""), 404)
	checkError(t, w.do(request{method: "GET", url: w.objectsURL("rw") + indicatorID(1) + "/", user: "alice"}), 404)
}

func testLimits(t *testing.T, w *world) {
	big := envelopeOf(strings.Repeat(" ", 1<<20), indicator(1, 0))
	checkError(t, w.do(request{method: "POST", url: w.objectsURL("rw"), user: "alice", ctype: taxii.MediaTAXII, body: big}), 413)
	env, _, err := w.client("alice").GetObjects(context.Background(), w.root(), w.coll["rw"], taxii.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(env.Objects) != 0 {
		t.Errorf("an oversized POST stored %d objects", len(env.Objects))
	}
}

// testAudit checks that responses are recorded: what was released to whom
// under which rule, what was denied, and what a POST job wrote; and that the
// chain verifies.
func testAudit(t *testing.T, w *world) {
	w.post("alice", "rw", indicator(1, 0), indicator(2, 0))
	w.do(request{method: "GET", url: w.objectsURL("rw") + "?match[id]=" + indicatorID(1), user: "reader"})
	w.do(request{method: "GET", url: w.objectsURL("hidden"), user: "alice"})
	a := w.db.(store.Audit)
	ctx := context.Background()
	if _, _, _, err := store.VerifyAudit(ctx, a); err != nil {
		t.Fatalf("audit chain: %v", err)
	}
	var got []string
	next := store.ScanAudit(ctx, a, store.AuditQuery{Limit: 100})
	for {
		r, ok, err := next()
		must(t, err)
		if !ok {
			break
		}
		got = append(got, fmt.Sprintf("%s %s %s %d %v %s", r.Actor, r.Action, r.Path, r.Status, r.Objects, r.Rule))
	}
	v := "2024-01-01T00:00:00.000Z"
	for _, want := range []string{
		fmt.Sprintf("alice submit taxii:objects 202 [%s@%s %s@%s] collection-write", indicatorID(1), v, indicatorID(2), v),
		fmt.Sprintf("alice write taxii:objects 200 [%s@%s %s@%s] write", indicatorID(1), v, indicatorID(2), v),
		fmt.Sprintf("reader release taxii:objects 200 [%s@%s] own", indicatorID(1), v),
		"alice deny taxii:objects 404 [] ",
	} {
		found := false
		for _, g := range got {
			found = found || g == want
		}
		if !found {
			t.Errorf("no audit record %q in\n%s", want, strings.Join(got, "\n"))
		}
	}
}

// testWriteRules checks who may publish what: objects are stored as sent
// (one without a creator keeps none), others' objects are refused unless
// relayed, and only the owner adds versions.
func testWriteRules(t *testing.T, w *world) {
	idA := account.Org{ID: "a"}.IdentityID()
	st := w.post("alice", "inbox", indicator(5, 0))
	if st.SuccessCount != 1 {
		t.Fatalf("alice's object: %+v", st)
	}
	env, _, err := w.client("admin").GetObject(context.Background(), w.root(), w.coll["inbox"], indicatorID(5), taxii.Filter{})
	must(t, err)
	if strings.Contains(string(env.Objects[0]), `"created_by_ref"`) {
		t.Errorf("created_by_ref added to an object sent without one: %s", env.Objects[0])
	}
	// Bob versions alice's object: refused. An exact copy is a success.
	st = w.post("bob", "inbox", indicator(5, 1000))
	if st.FailureCount != 1 || !strings.Contains(st.Failures[0].Message, "only the organisation that owns") {
		t.Errorf("bob's version of alice's object: %+v", st)
	}
	// Bob publishes an object claiming alice's organisation created it.
	claimed := strings.Replace(indicator(6, 0), `"created":`, `"created_by_ref":"`+idA+`","created":`, 1)
	st = w.post("bob", "inbox", claimed)
	if st.FailureCount != 1 || !strings.Contains(st.Failures[0].Message, "only publish objects it creates") {
		t.Errorf("bob publishing as alice's organisation: %+v", st)
	}
	// Alice versions her own object.
	if st = w.post("alice", "inbox", indicator(5, 1000)); st.SuccessCount != 1 {
		t.Errorf("alice's new version: %+v", st)
	}
	// The node admin relays objects created by others unchanged.
	if st = w.post("admin", "inbox", claimed); st.SuccessCount != 1 {
		t.Errorf("admin relaying: %+v", st)
	}
}

// testGroups checks group distribution end to end: members of the sharing
// group read the object, others get exactly what they would for an absent
// one, and a marking naming a group that does not exist is refused.
func testGroups(t *testing.T, w *world) {
	ctx := context.Background()
	groups, ok := w.db.(store.Groups)
	if !ok {
		t.Fatalf("%T has no sharing groups", w.db)
	}
	must(t, groups.CreateGroup(ctx, store.Group{ID: "g-telecom", Name: "IN-JP telecom"}))
	must(t, groups.AddGroupMember(ctx, "g-telecom", "org:a"))
	must(t, w.db.SetGrant(ctx, store.Grant{Collection: w.coll["rw"], Org: "b", Read: true}))

	d := policy.Distribution{Scope: policy.ScopeGroup, Group: "g-telecom"}
	def, err := d.MarkingDefinition()
	must(t, err)
	marked := strings.Replace(indicator(7, 0), `"created":`, `"object_marking_refs":["`+d.MarkingID()+`"],"created":`, 1)
	if st := w.post("admin", "rw", string(def), marked); st.SuccessCount != 2 {
		t.Fatalf("posting the group-marked object: %+v", st)
	}
	obj := w.objectsURL("rw") + indicatorID(7) + "/"
	if r := w.do(request{method: "GET", url: obj, user: "alice"}); r.status != 200 {
		t.Errorf("group member: %d %s", r.status, r.body)
	}
	absent := w.do(request{method: "GET", url: w.objectsURL("rw") + indicatorID(8) + "/", user: "bob"})
	denied := w.do(request{method: "GET", url: obj, user: "bob"})
	if denied.status != 404 || denied.body != absent.body {
		t.Errorf("non-member: %d %s; absent object: %d %s", denied.status, denied.body, absent.status, absent.body)
	}
	if r := w.do(request{method: "GET", url: w.objectsURL("rw") + "?match[id]=" + indicatorID(7), user: "bob"}); strings.Contains(r.body, indicatorID(7)) {
		t.Errorf("non-member listed the object: %s", r.body)
	}
	ghost := policy.Distribution{Scope: policy.ScopeGroup, Group: "g-ghost"}
	gdef, _ := ghost.MarkingDefinition()
	bad := strings.Replace(indicator(9, 0), `"created":`, `"object_marking_refs":["`+ghost.MarkingID()+`"],"created":`, 1)
	st := w.post("admin", "rw", string(gdef), bad)
	if st.FailureCount != 1 || !strings.Contains(st.Failures[0].Message, "g-ghost") {
		t.Errorf("marking naming an absent group: %+v", st)
	}
}

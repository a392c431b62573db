package taxii

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/google/go-cmp/cmp"
)

const collID = "91a7b528-80eb-42ed-a74d-c6fbd5a26116"

// fakeServer implements just enough TAXII 2.1 to exercise the client.
type fakeServer struct {
	t  *testing.T
	mu sync.Mutex
	// objects served by the objects endpoint, paged by limit.
	objects []jsontext.Value
	// statusPolls counts status requests; the status turns complete after
	// pendingPolls of them.
	statusPolls, pendingPolls int
	onStatus                  func(n int)
	posted                    []byte
	requests                  []string
	// badPaging: "no-next" or "repeat" makes the objects endpoint misbehave.
	badPaging string
}

func (s *fakeServer) handler() http.Handler {
	mux := http.NewServeMux()
	write := func(w http.ResponseWriter, code int, v any) {
		w.Header().Set("Content-Type", MediaTAXII)
		w.WriteHeader(code)
		if err := json.MarshalWrite(w, v); err != nil {
			s.t.Error(err)
		}
	}
	mux.HandleFunc("GET /taxii2/{$}", func(w http.ResponseWriter, r *http.Request) {
		write(w, 200, Discovery{Title: "fake", APIRoots: []string{"/api1/"}})
	})
	mux.HandleFunc("GET /api1/{$}", func(w http.ResponseWriter, r *http.Request) {
		write(w, 200, APIRoot{Title: "api1", Versions: []string{MediaTAXII}, MaxContentLength: 1 << 20})
	})
	mux.HandleFunc("GET /api1/collections/{$}", func(w http.ResponseWriter, r *http.Request) {
		write(w, 200, Collections{Collections: []Collection{{ID: collID, Title: "c", CanRead: true, CanWrite: true}}})
	})
	mux.HandleFunc("GET /api1/collections/{id}/{$}", func(w http.ResponseWriter, r *http.Request) {
		switch id := r.PathValue("id"); id {
		case collID:
			write(w, 200, Collection{ID: collID, Title: "c", CanRead: true})
		case "proxy":
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			io.WriteString(w, "<html>bad gateway</html>")
		case "a b/c":
			write(w, 200, Collection{ID: id, Title: "escaped"})
		default:
			e := NewError(404, "", "no collection "+id)
			e.ErrorCode = "collection-not-found"
			write(w, 404, e)
		}
	})
	mux.HandleFunc("GET /api1/collections/{id}/objects/{$}", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		f, err := ParseFilter(q, EndpointObjects)
		if err != nil {
			write(w, 400, NewError(400, "", err.Error()))
			return
		}
		start := 0
		if f.Next != "" {
			start, _ = strconv.Atoi(strings.TrimPrefix(f.Next, "p"))
		}
		limit := f.Limit
		if limit == 0 {
			limit = 100
		}
		end := min(start+limit, len(s.objects))
		env := Envelope{Objects: s.objects[start:end], More: end < len(s.objects)}
		if env.More {
			env.Next = "p" + strconv.Itoa(end)
		}
		switch s.badPaging {
		case "no-next":
			env.More, env.Next = true, ""
		case "repeat":
			env.More, env.Next = true, "p1"
		}
		w.Header().Set(HeaderDateAddedFirst, FormatTimestamp(time.Date(2026, 1, 1, 0, 0, start, 0, time.UTC)))
		w.Header().Set(HeaderDateAddedLast, FormatTimestamp(time.Date(2026, 1, 1, 0, 0, end, 0, time.UTC)))
		write(w, 200, env)
	})
	mux.HandleFunc("POST /api1/collections/{id}/objects/{$}", func(w http.ResponseWriter, r *http.Request) {
		if !ContentTypeOK(r.Header.Get("Content-Type"), MediaTAXII) {
			write(w, 415, NewError(415, "", ""))
			return
		}
		body, _ := io.ReadAll(r.Body)
		env, err := DecodeEnvelope(body)
		if err != nil {
			write(w, 400, NewError(400, "", err.Error()))
			return
		}
		s.mu.Lock()
		s.posted = body
		s.mu.Unlock()
		write(w, 202, Status{ID: "st-1", Status: StatusPending, TotalCount: len(env.Objects), PendingCount: len(env.Objects)})
	})
	mux.HandleFunc("GET /api1/status/{id}/{$}", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.statusPolls++
		n := s.statusPolls
		s.mu.Unlock()
		if s.onStatus != nil {
			s.onStatus(n)
		}
		st := Status{ID: r.PathValue("id"), Status: StatusPending, TotalCount: 1, PendingCount: 1}
		if n > s.pendingPolls {
			st = Status{ID: r.PathValue("id"), Status: StatusComplete, TotalCount: 1, SuccessCount: 1,
				Successes: []StatusDetail{{ID: idA, Version: "2016-04-06T20:03:48.000Z"}}}
		}
		write(w, 200, st)
	})
	mux.HandleFunc("GET /api1/collections/{id}/objects/{oid}/{$}", func(w http.ResponseWriter, r *http.Request) {
		if _, err := ParseFilter(r.URL.Query(), EndpointObject); err != nil {
			write(w, 400, NewError(400, "", err.Error()))
			return
		}
		write(w, 200, Envelope{Objects: s.objects[:1]})
	})
	mux.HandleFunc("GET /api1/collections/{id}/objects/{oid}/versions/{$}", func(w http.ResponseWriter, r *http.Request) {
		write(w, 200, Versions{Versions: []string{"2016-04-06T20:03:48.000Z"}})
	})
	mux.HandleFunc("GET /api1/collections/{id}/manifest/{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(HeaderDateAddedLast, "garbage")
		write(w, 200, Manifest{})
	})
	mux.HandleFunc("DELETE /api1/collections/{id}/objects/{oid}/{$}", func(w http.ResponseWriter, r *http.Request) {
		if _, err := ParseFilter(r.URL.Query(), EndpointDeleteObject); err != nil {
			write(w, 400, NewError(400, "", err.Error()))
			return
		}
		w.WriteHeader(200)
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests = append(s.requests, r.Method+" "+r.URL.RequestURI())
		s.mu.Unlock()
		if got := r.Header.Get("Accept"); got != MediaTAXII {
			s.t.Errorf("%s %s: Accept = %q", r.Method, r.URL, got)
		}
		if got := r.Header.Get("User-Agent"); got != "setu-test" {
			s.t.Errorf("User-Agent = %q", got)
		}
		if u, p, ok := r.BasicAuth(); !ok || u != "alice" || p != "s3cret" {
			write(w, 401, NewError(401, "", ""))
			return
		}
		mux.ServeHTTP(w, r)
	})
}

func newTestClient(t *testing.T, s *fakeServer, opts ...ClientOption) (*Client, *httptest.Server) {
	t.Helper()
	s.t = t
	srv := httptest.NewServer(s.handler()) // listens on 127.0.0.1
	t.Cleanup(srv.Close)
	opts = append([]ClientOption{WithHTTPClient(srv.Client()), WithBasicAuth("alice", "s3cret"),
		WithUserAgent("setu-test"), WithPollInterval(time.Millisecond)}, opts...)
	c, err := NewClient(srv.URL, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c, srv
}

func testObjects(n int) []jsontext.Value {
	out := make([]jsontext.Value, n)
	for i := range out {
		out[i] = jsontext.Value(fmt.Sprintf(`{"type":"x-test","id":"x-test--%08d-0000-4000-8000-000000000000","n":%d}`, i, i))
	}
	return out
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestClientResources(t *testing.T) {
	ctx := testCtx(t)
	c, _ := newTestClient(t, &fakeServer{objects: testObjects(1)})

	d, err := c.Discovery(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&Discovery{Title: "fake", APIRoots: []string{"/api1/"}}, d); diff != "" {
		t.Errorf("Discovery (-want +got):\n%s", diff)
	}
	root, err := c.APIRoot(ctx, d.APIRoots[0])
	if err != nil || root.MaxContentLength != 1<<20 {
		t.Fatalf("APIRoot = %+v, %v", root, err)
	}
	cs, err := c.Collections(ctx, "api1") // relative to the base URL, no slash
	if err != nil || len(cs.Collections) != 1 || cs.Collections[0].ID != collID {
		t.Fatalf("Collections = %+v, %v", cs, err)
	}
	col, err := c.Collection(ctx, "/api1/", collID)
	if err != nil || !col.CanRead {
		t.Fatalf("Collection = %+v, %v", col, err)
	}
	col, err = c.Collection(ctx, "/api1/", "a b/c")
	if err != nil || col.Title != "escaped" {
		t.Fatalf("Collection with escaped id = %+v, %v", col, err)
	}
	env, h, err := c.GetObject(ctx, "/api1/", collID, idA, Filter{Versions: VersionMatch{All: true}})
	if err != nil || len(env.Objects) != 1 || !h.DateAddedLast.IsZero() {
		t.Fatalf("GetObject = %+v, %+v, %v", env, h, err)
	}
	vs, _, err := c.Versions(ctx, "/api1/", collID, idA, Filter{Limit: 5})
	if err != nil || len(vs.Versions) != 1 {
		t.Fatalf("Versions = %+v, %v", vs, err)
	}
	if err := c.DeleteObject(ctx, "/api1/", collID, idA, Filter{SpecVersions: []string{"2.1"}}); err != nil {
		t.Fatalf("DeleteObject: %v", err)
	}
	// The client refuses, before any request, a filter the endpoint does not take.
	if err := c.DeleteObject(ctx, "/api1/", collID, idA, Filter{Limit: 1}); !errors.As(err, new(*FilterError)) {
		t.Errorf("DeleteObject with limit: %v, want *FilterError", err)
	}
	if _, _, err := c.Manifest(ctx, "/api1/", collID, Filter{}); err == nil || !strings.Contains(err.Error(), HeaderDateAddedLast) {
		t.Errorf("Manifest with garbled header: %v, want header error", err)
	}
}

func TestClientPaths(t *testing.T) {
	ctx := testCtx(t)
	s := &fakeServer{objects: testObjects(1)}
	c, _ := newTestClient(t, s)
	if _, err := c.Collection(ctx, "/api1/", "a b/c"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Versions(ctx, "/api1", collID, idA, Filter{}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"GET /api1/collections/a%20b%2Fc/",
		"GET /api1/collections/" + collID + "/objects/" + idA + "/versions/",
	}
	if diff := cmp.Diff(want, s.requests); diff != "" {
		t.Errorf("request paths (-want +got):\n%s", diff)
	}
	for _, bad := range []string{"..", ".", ""} {
		if _, err := c.Collection(ctx, "/api1/", bad); err == nil {
			t.Errorf("Collection(%q) succeeded", bad)
		}
	}
	for _, root := range []string{"https://elsewhere.example/api1/", "//elsewhere.example/api1/", "/api1/?x=1"} {
		if _, err := c.APIRoot(ctx, root); err == nil {
			t.Errorf("APIRoot(%q) succeeded, want refusal", root)
		}
	}
	if len(s.requests) != 2 {
		t.Errorf("refused calls reached the server: %q", s.requests)
	}
}

func TestClientErrors(t *testing.T) {
	ctx := testCtx(t)
	c, _ := newTestClient(t, &fakeServer{})

	_, err := c.Collection(ctx, "/api1/", "missing")
	var te *Error
	if !errors.As(err, &te) {
		t.Fatalf("err = %v, want *Error", err)
	}
	if te.StatusCode() != 404 || te.HTTPStatus != "404" || te.ErrorCode != "collection-not-found" {
		t.Errorf("decoded error = %+v", te)
	}

	_, err = c.Collection(ctx, "/api1/", "proxy")
	if !errors.As(err, &te) || te.StatusCode() != 502 || te.Title != "Bad Gateway" {
		t.Errorf("non-TAXII error body: %v", err)
	}

	bad, _ := newTestClient(t, &fakeServer{}, WithBasicAuth("alice", "wrong"))
	if _, err := bad.Discovery(ctx); !errors.As(err, &te) || te.StatusCode() != 401 {
		t.Errorf("wrong password: %v, want 401", err)
	}

	small, _ := newTestClient(t, &fakeServer{objects: testObjects(50)}, WithMaxResponseBytes(100))
	if _, _, err := small.GetObjects(ctx, "/api1/", collID, Filter{}); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("oversized response: %v", err)
	}
}

func TestClientPaging(t *testing.T) {
	ctx := testCtx(t)
	s := &fakeServer{objects: testObjects(7)}
	c, _ := newTestClient(t, s)

	var got []jsontext.Value
	var last time.Time
	pages := 0
	for p, err := range c.AllObjects(ctx, "/api1/", collID, Filter{Limit: 3, Types: []string{"x-test"}}) {
		if err != nil {
			t.Fatal(err)
		}
		pages++
		got = append(got, p.Envelope.Objects...)
		last = p.Headers.DateAddedLast
	}
	if pages != 3 || len(got) != 7 {
		t.Fatalf("pages = %d, objects = %d; want 3, 7", pages, len(got))
	}
	for i := range got {
		if string(got[i]) != string(s.objects[i]) {
			t.Errorf("object %d = %s, want %s", i, got[i], s.objects[i])
		}
	}
	if want := time.Date(2026, 1, 1, 0, 0, 7, 0, time.UTC); !last.Equal(want) {
		t.Errorf("last DateAddedLast = %v, want %v", last, want)
	}
	wantReq := []string{
		"GET /api1/collections/" + collID + "/objects/?limit=3&match%5Btype%5D=x-test",
		"GET /api1/collections/" + collID + "/objects/?limit=3&match%5Btype%5D=x-test&next=p3",
		"GET /api1/collections/" + collID + "/objects/?limit=3&match%5Btype%5D=x-test&next=p6",
	}
	if diff := cmp.Diff(wantReq, s.requests); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}

	// Breaking out of the loop stops the requests.
	s.requests = nil
	for range c.AllObjects(ctx, "/api1/", collID, Filter{Limit: 1}) {
		break
	}
	if len(s.requests) != 1 {
		t.Errorf("after break: %d requests, want 1", len(s.requests))
	}
}

func TestClientPagingBounded(t *testing.T) {
	for _, mode := range []string{"no-next", "repeat"} {
		t.Run(mode, func(t *testing.T) {
			ctx := testCtx(t)
			s := &fakeServer{objects: testObjects(3), badPaging: mode}
			c, _ := newTestClient(t, s)
			var errs []error
			n := 0
			for _, err := range c.AllObjects(ctx, "/api1/", collID, Filter{Limit: 1}) {
				n++
				if n > 10 {
					t.Fatal("iteration did not stop")
				}
				if err != nil {
					errs = append(errs, err)
				}
			}
			if len(errs) != 1 || !errors.Is(errs[0], ErrPagination) {
				t.Errorf("errors = %v, want one ErrPagination", errs)
			}
		})
	}
}

func TestClientAddAndWait(t *testing.T) {
	ctx := testCtx(t)
	s := &fakeServer{pendingPolls: 3}
	c, _ := newTestClient(t, s)

	st, err := c.AddObjects(ctx, "/api1/", collID, testObjects(2)...)
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != StatusPending || st.TotalCount != 2 {
		t.Errorf("AddObjects status = %+v", st)
	}
	env, err := DecodeEnvelope(s.posted)
	if err != nil || len(env.Objects) != 2 {
		t.Fatalf("posted envelope = %s (%v)", s.posted, err)
	}

	raw := []byte(`{"objects":[ {"type":"x-test"} ]}`)
	if _, err := c.AddEnvelope(ctx, "/api1/", collID, raw); err != nil {
		t.Fatal(err)
	}
	if string(s.posted) != string(raw) {
		t.Errorf("AddEnvelope sent %s, want the bytes given", s.posted)
	}

	done, err := c.WaitStatus(ctx, "/api1/", st.ID)
	if err != nil {
		t.Fatal(err)
	}
	if done.Status != StatusComplete || done.SuccessCount != 1 || s.statusPolls != 4 {
		t.Errorf("WaitStatus = %+v after %d polls; want complete after 4", done, s.statusPolls)
	}
}

func TestClientWaitStatusContext(t *testing.T) {
	ctx, cancel := context.WithCancel(testCtx(t))
	// The server cancels the caller's context on the third poll, so the test
	// observes cancellation without depending on timing.
	s := &fakeServer{pendingPolls: 1 << 30, onStatus: func(n int) {
		if n == 3 {
			cancel()
		}
	}}
	c, _ := newTestClient(t, s)
	st, err := c.WaitStatus(ctx, "/api1/", "st-1")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if st != nil && st.Status != StatusPending {
		t.Errorf("last status = %+v", st)
	}
}

func TestClientBearer(t *testing.T) {
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Get("Authorization")
		w.Header().Set("Content-Type", MediaTAXII)
		io.WriteString(w, `{"title":"t"}`)
	}))
	defer srv.Close()
	c, err := NewClient(srv.URL+"/base", WithHTTPClient(srv.Client()), WithBasicAuth("a", "b"), WithBearerToken("tok"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Discovery(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if got != "Bearer tok" {
		t.Errorf("Authorization = %q, want the later option's bearer token", got)
	}
}

func TestNewClientRejects(t *testing.T) {
	for _, u := range []string{"", "ftp://x/", "http://", "https://user:pw@host/", "https://host/?q=1", "https://host/#f", "://bad"} {
		if _, err := NewClient(u); err == nil {
			t.Errorf("NewClient(%q) succeeded", u)
		}
	}
	c, err := NewClient("https://host.example/taxii")
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.root("api1")
	if err != nil || r.String() != "https://host.example/taxii/api1/" {
		t.Errorf("root(api1) = %v, %v", r, err)
	}
}

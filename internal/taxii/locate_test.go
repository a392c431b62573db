package taxii

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/go-json-experiment/json"
	"github.com/google/go-cmp/cmp"
)

// rootServer serves discovery and API roots the way servers in the field
// lay them out: discovery at /taxii2/ (or under a prefix), API roots
// elsewhere, every other path a TAXII 404.
type rootServer struct {
	mu       sync.Mutex
	requests []string
	// discovery is the discovery resource; nil: none is served.
	discovery *Discovery
	prefix    string // where the server's tree starts, e.g. "/taxii/"
	roots     []string
	bare      []string // API roots that list collections and serve nothing else
	cols      []Collection
}

func (s *rootServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests = append(s.requests, r.URL.Path)
	s.mu.Unlock()
	write := func(code int, v any) {
		w.Header().Set("Content-Type", MediaTAXII)
		w.WriteHeader(code)
		json.MarshalWrite(w, v)
	}
	switch p := r.URL.Path; {
	case p == s.prefix+"taxii2/" && s.discovery != nil:
		write(200, s.discovery)
		return
	default:
		for _, root := range s.bare {
			if p == root+"collections/" {
				write(200, Collections{Collections: s.cols})
				return
			}
		}
		for _, root := range s.roots {
			switch p {
			case root:
				write(200, APIRoot{Title: "root " + root, Versions: []string{MediaTAXII}, MaxContentLength: 1 << 20})
				return
			case root + "collections/":
				write(200, Collections{Collections: s.cols})
				return
			}
		}
	}
	write(404, NewError(404, "", "nothing at "+r.URL.Path))
}

func TestFindAPIRoot(t *testing.T) {
	ctx := testCtx(t)
	tests := []struct {
		name      string
		discovery *Discovery
		prefix    string
		roots     []string
		bare      []string
		url       string // path on the test server
		want      string // path of the API root found; "" for an error
		wantReqs  []string
		wantInErr []string
	}{
		{name: "server root, default root", discovery: &Discovery{Title: "d", Default: "/api/", APIRoots: []string{"/other/", "/api/"}},
			roots: []string{"/api/", "/other/"}, url: "/", want: "/api/", wantReqs: []string{"/taxii2/"}},
		{name: "server root, no default: the first listed", discovery: &Discovery{Title: "d", APIRoots: []string{"/a1/", "/a2/"}},
			roots: []string{"/a1/", "/a2/"}, url: "/", want: "/a1/", wantReqs: []string{"/taxii2/"}},
		{name: "discovery URL", discovery: &Discovery{Title: "d", Default: "/api/"},
			roots: []string{"/api/"}, url: "/taxii2/", want: "/api/", wantReqs: []string{"/taxii2/"}},
		{name: "discovery URL without its slash", discovery: &Discovery{Title: "d", Default: "/api/"},
			roots: []string{"/api/"}, url: "/taxii2", want: "/api/", wantReqs: []string{"/taxii2/"}},
		{name: "API root", discovery: &Discovery{Title: "d", Default: "/api/"},
			roots: []string{"/api/"}, url: "/api/", want: "/api/", wantReqs: []string{"/api/"}},
		{name: "API root without discovery", roots: []string{"/feeds/x/"}, url: "/feeds/x/", want: "/feeds/x/", wantReqs: []string{"/feeds/x/"}},
		{name: "server tree under a prefix", discovery: &Discovery{Title: "d", Default: "/taxii/api/"}, prefix: "/taxii/",
			roots: []string{"/taxii/api/"}, url: "/taxii/", want: "/taxii/api/", wantReqs: []string{"/taxii/", "/taxii/collections/", "/taxii/taxii2/"}},
		{name: "API root that only lists collections", bare: []string{"/bare/"}, url: "/bare/", want: "/bare/",
			wantReqs: []string{"/bare/", "/bare/collections/"}},
		{name: "nothing there", discovery: &Discovery{Title: "d", Default: "/api/"}, roots: []string{"/api/"}, url: "/nope/",
			wantReqs:  []string{"/nope/", "/nope/collections/", "/nope/taxii2/"},
			wantInErr: []string{"no TAXII API root at", "/nope/", "GET ", "/nope/taxii2/: 404 Not Found"}},
		{name: "discovery lists no root", discovery: &Discovery{Title: "d"}, url: "/",
			wantReqs:  []string{"/taxii2/", "/"},
			wantInErr: []string{"lists no API root", "/taxii2/"}},
		{name: "default root on another host", discovery: &Discovery{Title: "d", Default: "https://elsewhere.example/api/"}, url: "/taxii2/",
			wantReqs:  []string{"/taxii2/"},
			wantInErr: []string{"elsewhere.example"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &rootServer{discovery: tt.discovery, prefix: tt.prefix, roots: tt.roots, bare: tt.bare}
			if s.prefix == "" {
				s.prefix = "/"
			}
			srv := httptest.NewServer(s)
			defer srv.Close()
			c, err := NewClient(srv.URL+tt.url, WithHTTPClient(srv.Client()))
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.FindAPIRoot(ctx)
			switch {
			case tt.want == "" && err == nil:
				t.Fatalf("found %s, want an error", got)
			case tt.want != "" && err != nil:
				t.Fatal(err)
			case tt.want != "" && got != srv.URL+tt.want:
				t.Errorf("API root %s, want %s", got, srv.URL+tt.want)
			}
			for _, w := range tt.wantInErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if diff := cmp.Diff(tt.wantReqs, s.requests); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFindAPIRootKeepsServerErrors(t *testing.T) {
	ctx := testCtx(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", MediaTAXII)
		w.WriteHeader(401)
		json.MarshalWrite(w, NewError(401, "", "no certificate"))
	}))
	defer srv.Close()
	c, err := NewClient(srv.URL+"/", WithHTTPClient(srv.Client()))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.FindAPIRoot(ctx)
	var te *Error
	if !errors.As(err, &te) || te.StatusCode() != 401 {
		t.Fatalf("err = %v, want one holding the server's 401", err)
	}
	if !strings.Contains(err.Error(), "GET "+srv.URL+"/taxii2/: 401 Unauthorized") {
		t.Errorf("error %q does not name the URL that answered 401", err)
	}
}

func TestFindCollection(t *testing.T) {
	ctx := testCtx(t)
	s := &rootServer{prefix: "/", roots: []string{"/api/"}, cols: []Collection{
		{ID: "11111111-1111-4111-8111-111111111111", Alias: "shared", Title: "Shared"},
		{ID: "22222222-2222-4222-8222-222222222222", Alias: "inbox", Title: "Inbox"},
		{ID: "33333333-3333-4333-8333-333333333333", Title: "Twice"},
		{ID: "44444444-4444-4444-8444-444444444444", Title: "Twice"},
		{ID: "55555555-5555-4555-8555-555555555555", Alias: "inbox-2", Title: "shared"},
	}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	c, err := NewClient(srv.URL+"/", WithHTTPClient(srv.Client()))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, want, inErr string }{
		{name: "22222222-2222-4222-8222-222222222222", want: "22222222-2222-4222-8222-222222222222"},
		{name: "shared", want: "11111111-1111-4111-8111-111111111111"}, // an alias wins over a title
		{name: "Inbox", want: "22222222-2222-4222-8222-222222222222"},
		{name: "Twice", inErr: "2 collections"},
		{name: "missing", inErr: "no collection with id, alias or title \"missing\""},
	} {
		col, err := c.FindCollection(ctx, "/api/", tt.name)
		switch {
		case tt.want != "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.want != "" && col.ID != tt.want:
			t.Errorf("%s: found %s, want %s", tt.name, col.ID, tt.want)
		case tt.want == "" && (err == nil || !strings.Contains(err.Error(), tt.inErr) || !strings.Contains(err.Error(), "alias inbox")):
			t.Errorf("%s: err = %v, want one saying %q and listing the collections", tt.name, err, tt.inErr)
		}
	}
}

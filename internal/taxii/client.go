package taxii

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// Response headers that bound the date_added values of a page.
const (
	HeaderDateAddedFirst = "X-TAXII-Date-Added-First"
	HeaderDateAddedLast  = "X-TAXII-Date-Added-Last"
)

// PageHeaders are the X-TAXII-Date-Added-* headers of a response; a zero
// time means the header was absent. DateAddedLast is what a client resumes
// from with added_after.
type PageHeaders struct {
	DateAddedFirst time.Time
	DateAddedLast  time.Time
}

// Page is one response of AllObjects.
type Page struct {
	Envelope *Envelope
	Headers  PageHeaders
}

// Client talks to one TAXII 2.1 server. Its methods are safe for concurrent
// use; ctx bounds each request (and WaitStatus's polling).
//
// API roots are given as absolute URLs (as discovery lists them), as paths
// absolute on the server ("/api1/"), or as paths relative to the base URL
// ("api1/"). A root on another scheme or host than the base URL is refused,
// so credentials never go to a server the caller did not name.
type Client struct {
	base      *url.URL
	hc        *http.Client
	auth      func(*http.Request)
	userAgent string
	poll      time.Duration
	maxBody   int64
}

// ClientOption configures a Client.
type ClientOption func(*Client)

// WithHTTPClient sets the HTTP client, e.g. one whose transport presents a
// client certificate for mutual TLS. The default is http.DefaultClient.
func WithHTTPClient(hc *http.Client) ClientOption {
	return func(c *Client) { c.hc = hc }
}

// WithBasicAuth sends HTTP Basic credentials, replacing any earlier
// authentication option.
func WithBasicAuth(user, password string) ClientOption {
	return func(c *Client) {
		c.auth = func(r *http.Request) { r.SetBasicAuth(user, password) }
	}
}

// WithBearerToken sends an Authorization: Bearer token, replacing any
// earlier authentication option.
func WithBearerToken(token string) ClientOption {
	return func(c *Client) {
		c.auth = func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) }
	}
}

// WithUserAgent sets the User-Agent header (default "setu-taxii").
func WithUserAgent(ua string) ClientOption {
	return func(c *Client) { c.userAgent = ua }
}

// WithPollInterval sets how long WaitStatus waits between status requests
// (default one second).
func WithPollInterval(d time.Duration) ClientOption {
	return func(c *Client) { c.poll = d }
}

// WithMaxResponseBytes bounds the size of a response body the client reads
// (default 64 MiB); a larger body is an error, not a truncated page.
func WithMaxResponseBytes(n int64) ClientOption {
	return func(c *Client) { c.maxBody = n }
}

// NewClient returns a client for the TAXII server at baseURL, an http or
// https URL without query or fragment. Discovery is at baseURL + "taxii2/".
func NewClient(baseURL string, opts ...ClientOption) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("taxii: base URL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("taxii: base URL %q must be http(s)://host[/path] without credentials, query or fragment", baseURL)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
		if u.RawPath != "" {
			u.RawPath += "/"
		}
	}
	c := &Client{
		base:      u,
		hc:        http.DefaultClient,
		userAgent: "setu-taxii",
		poll:      time.Second,
		maxBody:   64 << 20,
	}
	for _, o := range opts {
		o(c)
	}
	if c.hc == nil {
		c.hc = http.DefaultClient
	}
	return c, nil
}

// root resolves an API root against the base URL, checks its origin and
// returns it with a trailing slash.
func (c *Client) root(apiRoot string) (*url.URL, error) {
	if apiRoot == "" {
		return nil, errors.New("taxii: empty API root")
	}
	ref, err := url.Parse(apiRoot)
	if err != nil {
		return nil, fmt.Errorf("taxii: API root: %w", err)
	}
	if ref.RawQuery != "" || ref.Fragment != "" || ref.User != nil {
		return nil, fmt.Errorf("taxii: API root %q must not carry credentials, a query or a fragment", apiRoot)
	}
	u := c.base.ResolveReference(ref)
	if !strings.EqualFold(u.Scheme, c.base.Scheme) || !strings.EqualFold(u.Host, c.base.Host) {
		return nil, fmt.Errorf("taxii: API root %q is not on %s://%s", apiRoot, c.base.Scheme, c.base.Host)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
		if u.RawPath != "" {
			u.RawPath += "/"
		}
	}
	return u, nil
}

// endpoint returns root followed by the escaped segments, each ending in '/'.
// Segments that would be read as path navigation are refused.
func endpoint(root *url.URL, segs ...string) (*url.URL, error) {
	p := root.EscapedPath()
	for _, s := range segs {
		if s == "" || s == "." || s == ".." {
			return nil, fmt.Errorf("taxii: invalid path segment %q", s)
		}
		p += url.PathEscape(s) + "/"
	}
	path, err := url.PathUnescape(p)
	if err != nil {
		return nil, fmt.Errorf("taxii: %w", err)
	}
	u := *root
	u.Path, u.RawPath = path, p
	return &u, nil
}

func (c *Client) collectionURL(apiRoot, collectionID string, segs ...string) (*url.URL, error) {
	r, err := c.root(apiRoot)
	if err != nil {
		return nil, err
	}
	return endpoint(r, append([]string{"collections", collectionID}, segs...)...)
}

// do sends a request and decodes a 2xx body into out (when out is not nil
// and the body is not empty). A non-2xx answer becomes *Error.
func (c *Client) do(ctx context.Context, method string, u *url.URL, body []byte, out func([]byte) error) (http.Header, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, fmt.Errorf("taxii: %w", err)
	}
	req.Header.Set("Accept", MediaTAXII)
	if body != nil {
		req.Header.Set("Content-Type", MediaTAXII)
	}
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	if c.auth != nil {
		c.auth(req)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("taxii: %s %s: %w", method, u.Redacted(), err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, c.maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("taxii: %s %s: reading response: %w", method, u.Redacted(), err)
	}
	if int64(len(data)) > c.maxBody {
		return nil, fmt.Errorf("taxii: %s %s: response larger than %d bytes", method, u.Redacted(), c.maxBody)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := decodeError(resp.StatusCode, data)
		e.request = method + " " + u.Redacted()
		return nil, e
	}
	// The response Content-Type is not checked: servers in the field label
	// TAXII bodies application/json or leave the version out, and the body
	// is decoded strictly anyway.
	if out != nil {
		if len(bytes.TrimSpace(data)) == 0 {
			return nil, fmt.Errorf("taxii: %s %s: empty response body", method, u.Redacted())
		}
		if err := out(data); err != nil {
			return nil, fmt.Errorf("taxii: %s %s: %w", method, u.Redacted(), err)
		}
	}
	return resp.Header, nil
}

// decodeError reads a TAXII error message from an error response. A body
// that is not one (a proxy's HTML page, nothing) still yields an *Error
// carrying the status, so callers can rely on errors.As.
func decodeError(code int, data []byte) *Error {
	var e Error
	if json.Unmarshal(data, &e) != nil || e.Title == "" {
		e = Error{Title: http.StatusText(code)}
	}
	e.status = code
	return &e
}

func decodeInto(v any) func([]byte) error {
	return func(b []byte) error { return json.Unmarshal(b, v) }
}

func (c *Client) get(ctx context.Context, u *url.URL, v any) error {
	_, err := c.do(ctx, http.MethodGet, u, nil, decodeInto(v))
	return err
}

// Discovery fetches the discovery resource: at taxii2/ under the base URL,
// or at the base URL itself when that is a discovery URL (it ends in
// taxii2/).
func (c *Client) Discovery(ctx context.Context) (*Discovery, error) {
	return c.discoveryAt(ctx, c.discoveryURL())
}

// discoveryURL is where the base URL's discovery resource is.
func (c *Client) discoveryURL() *url.URL {
	if strings.HasSuffix(c.base.Path, "/taxii2/") {
		return c.base
	}
	u, _ := endpoint(c.base, "taxii2") // a fixed, valid segment
	return u
}

func (c *Client) discoveryAt(ctx context.Context, u *url.URL) (*Discovery, error) {
	var d Discovery
	if err := c.get(ctx, u, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// APIRoot fetches the information resource of an API root.
func (c *Client) APIRoot(ctx context.Context, apiRoot string) (*APIRoot, error) {
	u, err := c.root(apiRoot)
	if err != nil {
		return nil, err
	}
	var r APIRoot
	if err := c.get(ctx, u, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// Collections lists the collections of an API root.
func (c *Client) Collections(ctx context.Context, apiRoot string) (*Collections, error) {
	r, err := c.root(apiRoot)
	if err != nil {
		return nil, err
	}
	u, err := endpoint(r, "collections")
	if err != nil {
		return nil, err
	}
	var cs Collections
	if err := c.get(ctx, u, &cs); err != nil {
		return nil, err
	}
	return &cs, nil
}

// Collection fetches one collection resource.
func (c *Client) Collection(ctx context.Context, apiRoot, collectionID string) (*Collection, error) {
	u, err := c.collectionURL(apiRoot, collectionID)
	if err != nil {
		return nil, err
	}
	var col Collection
	if err := c.get(ctx, u, &col); err != nil {
		return nil, err
	}
	return &col, nil
}

// page GETs a paged endpoint with f's parameters and reads the date-added
// headers.
func (c *Client) page(ctx context.Context, u *url.URL, e Endpoint, f Filter, decode func([]byte) error) (PageHeaders, error) {
	q, err := f.Query(e)
	if err != nil {
		return PageHeaders{}, err
	}
	uq := *u
	uq.RawQuery = q.Encode()
	h, err := c.do(ctx, http.MethodGet, &uq, nil, decode)
	if err != nil {
		return PageHeaders{}, err
	}
	return pageHeaders(h)
}

func pageHeaders(h http.Header) (PageHeaders, error) {
	var p PageHeaders
	for _, x := range []struct {
		name string
		dst  *time.Time
	}{{HeaderDateAddedFirst, &p.DateAddedFirst}, {HeaderDateAddedLast, &p.DateAddedLast}} {
		v := h.Get(x.name)
		if v == "" {
			continue
		}
		t, err := ParseTimestamp(v)
		if err != nil {
			// A cursor built on a garbled header would skip or repeat
			// objects, so the page is refused rather than half-used.
			return PageHeaders{}, fmt.Errorf("taxii: header %s: %w", x.name, err)
		}
		*x.dst = t
	}
	return p, nil
}

// GetObjects fetches one page of a collection's objects.
func (c *Client) GetObjects(ctx context.Context, apiRoot, collectionID string, f Filter) (*Envelope, PageHeaders, error) {
	u, err := c.collectionURL(apiRoot, collectionID, "objects")
	if err != nil {
		return nil, PageHeaders{}, err
	}
	return c.envelope(ctx, u, EndpointObjects, f)
}

func (c *Client) envelope(ctx context.Context, u *url.URL, e Endpoint, f Filter) (*Envelope, PageHeaders, error) {
	var env *Envelope
	h, err := c.page(ctx, u, e, f, func(b []byte) error {
		var err error
		env, err = DecodeEnvelope(b)
		return err
	})
	if err != nil {
		return nil, PageHeaders{}, err
	}
	return env, h, nil
}

// AllObjects iterates over the pages of a collection's objects, following
// next until the server reports no more. It stops with an error wrapping
// ErrPagination when the server reports more without a next token or hands
// back a token already followed, so a faulty server cannot keep it looping;
// ctx bounds the rest. f.Limit applies to every page; f.Next, if set, is
// where the iteration resumes. The iteration stops after the first error.
func (c *Client) AllObjects(ctx context.Context, apiRoot, collectionID string, f Filter) iter.Seq2[Page, error] {
	return func(yield func(Page, error) bool) {
		seen := map[string]bool{}
		if f.Next != "" {
			seen[f.Next] = true
		}
		for {
			env, h, err := c.GetObjects(ctx, apiRoot, collectionID, f)
			if err != nil {
				yield(Page{}, err)
				return
			}
			if !yield(Page{Envelope: env, Headers: h}, nil) || !env.More {
				return
			}
			switch {
			case env.Next == "":
				yield(Page{}, fmt.Errorf("%w (more is true, next is absent)", ErrPagination))
				return
			case seen[env.Next]:
				yield(Page{}, fmt.Errorf("%w (next token repeated)", ErrPagination))
				return
			}
			seen[env.Next] = true
			f.Next = env.Next
		}
	}
}

// GetObject fetches the versions of one object that f selects.
func (c *Client) GetObject(ctx context.Context, apiRoot, collectionID, objectID string, f Filter) (*Envelope, PageHeaders, error) {
	u, err := c.collectionURL(apiRoot, collectionID, "objects", objectID)
	if err != nil {
		return nil, PageHeaders{}, err
	}
	return c.envelope(ctx, u, EndpointObject, f)
}

// Manifest fetches one page of a collection's manifest.
func (c *Client) Manifest(ctx context.Context, apiRoot, collectionID string, f Filter) (*Manifest, PageHeaders, error) {
	u, err := c.collectionURL(apiRoot, collectionID, "manifest")
	if err != nil {
		return nil, PageHeaders{}, err
	}
	var m Manifest
	h, err := c.page(ctx, u, EndpointManifest, f, decodeInto(&m))
	if err != nil {
		return nil, PageHeaders{}, err
	}
	return &m, h, nil
}

// Versions fetches one page of the version list of one object.
func (c *Client) Versions(ctx context.Context, apiRoot, collectionID, objectID string, f Filter) (*Versions, PageHeaders, error) {
	u, err := c.collectionURL(apiRoot, collectionID, "objects", objectID, "versions")
	if err != nil {
		return nil, PageHeaders{}, err
	}
	var v Versions
	h, err := c.page(ctx, u, EndpointVersions, f, decodeInto(&v))
	if err != nil {
		return nil, PageHeaders{}, err
	}
	return &v, h, nil
}

// AddEnvelope posts an envelope, given as its encoded bytes, to a
// collection and returns the status resource of the request. The bytes are
// sent as they are.
func (c *Client) AddEnvelope(ctx context.Context, apiRoot, collectionID string, envelope []byte) (*Status, error) {
	u, err := c.collectionURL(apiRoot, collectionID, "objects")
	if err != nil {
		return nil, err
	}
	var s Status
	if _, err := c.do(ctx, http.MethodPost, u, envelope, decodeInto(&s)); err != nil {
		return nil, err
	}
	return &s, nil
}

// AddObjects wraps objects (each one encoded JSON object) in an envelope and
// posts it, like AddEnvelope.
func (c *Client) AddObjects(ctx context.Context, apiRoot, collectionID string, objects ...jsontext.Value) (*Status, error) {
	b, err := json.Marshal(Envelope{Objects: objects})
	if err != nil {
		return nil, fmt.Errorf("taxii: encoding envelope: %w", err)
	}
	return c.AddEnvelope(ctx, apiRoot, collectionID, b)
}

// Status fetches a status resource.
func (c *Client) Status(ctx context.Context, apiRoot, statusID string) (*Status, error) {
	r, err := c.root(apiRoot)
	if err != nil {
		return nil, err
	}
	u, err := endpoint(r, "status", statusID)
	if err != nil {
		return nil, err
	}
	var s Status
	if err := c.get(ctx, u, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// WaitStatus polls a status resource, at the interval WithPollInterval
// sets, until its status is no longer pending. When ctx ends first it
// returns the last status fetched together with ctx's error.
func (c *Client) WaitStatus(ctx context.Context, apiRoot, statusID string) (*Status, error) {
	var t *time.Timer
	for {
		s, err := c.Status(ctx, apiRoot, statusID)
		if err != nil {
			return nil, err
		}
		if s.Status != StatusPending {
			return s, nil
		}
		if t == nil {
			t = time.NewTimer(c.poll)
			defer t.Stop()
		} else {
			t.Reset(c.poll)
		}
		select {
		case <-ctx.Done():
			return s, ctx.Err()
		case <-t.C:
		}
	}
}

// DeleteObject deletes the versions of one object that f selects (f may
// set only Versions and SpecVersions; with neither, every version).
func (c *Client) DeleteObject(ctx context.Context, apiRoot, collectionID, objectID string, f Filter) error {
	u, err := c.collectionURL(apiRoot, collectionID, "objects", objectID)
	if err != nil {
		return err
	}
	q, err := f.Query(EndpointDeleteObject)
	if err != nil {
		return err
	}
	u.RawQuery = q.Encode()
	_, err = c.do(ctx, http.MethodDelete, u, nil, nil)
	return err
}

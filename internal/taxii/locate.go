package taxii

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// LocateError says why no API root (or collection) was found at a URL:
// each request tried, with what it answered. It unwraps to those errors,
// so errors.As still finds a server's *Error (a 401, say).
type LocateError struct {
	URL   string  // the URL the client was given
	What  string  // what was looked for, e.g. "a TAXII API root"
	Tried []error // one per request, in order
}

func (e *LocateError) Error() string {
	msgs := make([]string, len(e.Tried))
	for i, err := range e.Tried {
		msgs[i] = err.Error()
	}
	return fmt.Sprintf("taxii: no %s at %s (%s)", e.What, e.URL, strings.Join(msgs, "; "))
}

func (e *LocateError) Unwrap() []error { return e.Tried }

// FindAPIRoot returns the API root to use at the URL the client was built
// for, as an absolute URL. That URL may be a TAXII server's root
// ("https://host:port/", whose discovery resource is at taxii2/ under it),
// a discovery URL (".../taxii2/") or an API root. Discovery's default API
// root is taken, else the only or first one listed. A URL with another
// path is tried as an API root first (its information resource, else its
// collections), then as the root of a server whose tree starts there; it
// never falls back to another path of the host, which could be another
// service's.
// The error (*LocateError) names every URL tried and what it answered.
func (c *Client) FindAPIRoot(ctx context.Context) (string, error) {
	le := &LocateError{URL: c.base.Redacted(), What: "TAXII API root"}
	fromDiscovery := func(u *url.URL) (string, bool) {
		d, err := c.discoveryAt(ctx, u)
		if err != nil {
			le.Tried = append(le.Tried, err)
			return "", false
		}
		root := d.Default
		if root == "" && len(d.APIRoots) > 0 {
			root = d.APIRoots[0]
		}
		if root == "" {
			le.Tried = append(le.Tried, fmt.Errorf("taxii: GET %s: the discovery resource lists no API root", u.Redacted()))
			return "", false
		}
		r, err := c.root(root)
		if err != nil {
			le.Tried = append(le.Tried, fmt.Errorf("taxii: GET %s: the default API root: %w", u.Redacted(), err))
			return "", false
		}
		return r.String(), true
	}
	asRoot := func(u *url.URL) (string, bool) {
		var r APIRoot
		if err := c.get(ctx, u, &r); err != nil {
			le.Tried = append(le.Tried, err)
			return "", false
		}
		if len(r.Versions) == 0 && r.Title == "" {
			le.Tried = append(le.Tried, fmt.Errorf("taxii: GET %s: not an API root resource (no title, no versions)", u.Redacted()))
			return "", false
		}
		return u.String(), true
	}
	switch {
	case strings.HasSuffix(c.base.Path, "/taxii2/"):
		if root, ok := fromDiscovery(c.base); ok {
			return root, nil
		}
	case c.base.Path == "/":
		if root, ok := fromDiscovery(c.discoveryURL()); ok {
			return root, nil
		}
		if root, ok := asRoot(c.base); ok {
			return root, nil
		}
	default:
		if root, ok := asRoot(c.base); ok {
			return root, nil
		}
		// A server that lists collections without serving the API root
		// resource itself.
		if cols, err := endpoint(c.base, "collections"); err == nil {
			var cs Collections
			if err := c.get(ctx, cols, &cs); err == nil {
				return c.base.String(), nil
			} else {
				le.Tried = append(le.Tried, err)
			}
		}
		// The root of a server whose tree starts under a path.
		if root, ok := fromDiscovery(c.discoveryURL()); ok {
			return root, nil
		}
	}
	return "", le
}

// FindCollection returns the collection of apiRoot that name names: its
// id, else its alias, else its title (which must then be unique among the
// collections the caller may see). The error lists those collections.
func (c *Client) FindCollection(ctx context.Context, apiRoot, name string) (*Collection, error) {
	cs, err := c.Collections(ctx, apiRoot)
	if err != nil {
		return nil, err
	}
	for _, match := range []func(Collection) bool{
		func(col Collection) bool { return col.ID == name },
		func(col Collection) bool { return col.Alias != "" && col.Alias == name },
	} {
		for _, col := range cs.Collections {
			if match(col) {
				return &col, nil
			}
		}
	}
	var titled []Collection
	for _, col := range cs.Collections {
		if col.Title == name {
			titled = append(titled, col)
		}
	}
	if len(titled) == 1 {
		return &titled[0], nil
	}
	r, _ := c.root(apiRoot) // Collections resolved it already
	var known []string
	for _, col := range cs.Collections {
		s := col.ID
		if col.Alias != "" {
			s += " (alias " + col.Alias + ")"
		} else if col.Title != "" {
			s += " (" + col.Title + ")"
		}
		known = append(known, s)
	}
	list := "it lists none to this client"
	if len(known) > 0 {
		list = "it lists " + strings.Join(known, ", ")
	}
	if len(titled) > 1 {
		return nil, fmt.Errorf("taxii: %d collections at %s are titled %q; name one by id or alias: %s", len(titled), r.Redacted(), name, list)
	}
	return nil, fmt.Errorf("taxii: no collection with id, alias or title %q at %s: %w (%s)", name, r.Redacted(), ErrNoCollection, list)
}

// ErrNoCollection: no collection of an API root has the id, alias or
// title asked for.
var ErrNoCollection = errors.New("not found")

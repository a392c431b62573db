package taxiiserver

import (
	"context"
	"errors"
	"net/http"

	"github.com/setu-cti/setu/internal/account"
	"github.com/setu-cti/setu/internal/authn"
	"github.com/setu-cti/setu/internal/store"
	"github.com/setu-cti/setu/internal/taxii"
)

type principalKey struct{}

// PrincipalFrom returns the authenticated principal of a request the server
// handled (for request logging); ok is false before authentication.
func PrincipalFrom(ctx context.Context) (store.Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(*store.Principal)
	if !ok || p == nil {
		return store.Principal{}, false
	}
	return *p, true
}

// WithPrincipalSlot prepares a request context so that the principal found
// by the server can be read back by outer middleware after the handler ran.
func WithPrincipalSlot(ctx context.Context) context.Context {
	return context.WithValue(ctx, principalKey{}, new(store.Principal))
}

// authed authenticates the request and checks that the client accepts the
// TAXII media type, then calls h.
// endpoint names the route for the audit record.
func (s *Server) authed(endpoint string, h func(http.ResponseWriter, *http.Request, store.Principal)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := s.authenticate(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if slot, ok := r.Context().Value(principalKey{}).(*store.Principal); ok && slot != nil {
			*slot = p
		}
		w, r = s.withAudit(w, r, p, endpoint)
		if _, ok := taxii.Negotiate(r.Header.Get("Accept"), taxii.MediaTAXII); !ok {
			s.fail(w, r, errNotAccept)
			return
		}
		h(w, r, p)
	}
}

// authenticate resolves the credentials of r. Every failure is the same 401:
// the answer never says whether a user or token exists.
func (s *Server) authenticate(r *http.Request) (store.Principal, error) {
	if p, ok, err := s.peerPrincipal(r); ok || err != nil {
		return p, err
	}
	p, err := s.auth.Authenticate(r)
	if errors.Is(err, authn.ErrUnauthorized) {
		return p, errUnauthorized
	}
	return p, err
}

// access is what p may do with collection c.
func (s *Server) access(ctx context.Context, p store.Principal, c store.Collection) (read, write bool, err error) {
	if name, ok := peerOf(p); ok {
		return s.peers.PeerAccess(ctx, name, c.ID)
	}
	if p.User.Role == account.Admin {
		return true, true, nil
	}
	g, err := s.cfg.DB.Access(ctx, c.ID, p.Org.ID)
	if err != nil {
		return false, false, err
	}
	return g.Read, g.Write && p.User.Role.CanWrite(), nil
}

// collectionFor finds the collection named in the path and the caller's
// access; a collection the caller can neither read nor write is not found.
func (s *Server) collectionFor(r *http.Request, p store.Principal) (c store.Collection, read, write bool, err error) {
	c, err = s.cfg.DB.Collection(r.Context(), r.PathValue("coll"))
	if err != nil {
		return c, false, false, err
	}
	// TAXII names collections by id; the alias lookup is for the CLI only.
	if c.ID != r.PathValue("coll") {
		return c, false, false, errNotFound
	}
	read, write, err = s.access(r.Context(), p, c)
	if err == nil && !read && !write {
		err = errNotFound
	}
	return c, read, write, err
}

// Package authn authenticates HTTP requests against the node's API tokens:
// HTTP Basic with the user name and a token as password (what TAXII clients
// send), or "Authorization: Bearer TOKEN". Every handler package uses it, so
// there is one way in; each renders the failure in its own error format.
package authn

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/setu-cti/setu/internal/account"
	"github.com/setu-cti/setu/internal/store"
)

// ErrUnauthorized is every authentication failure: missing, unknown, expired
// or revoked credentials, a disabled user, a user name that does not own the
// token. The reasons are not distinguished to the client.
var ErrUnauthorized = errors.New("unauthorized")

// Challenge is the WWW-Authenticate value for a 401.
const Challenge = `Basic realm="setu", Bearer realm="setu"`

// Authenticator checks credentials against the store.
type Authenticator struct {
	Accounts store.Accounts
	Now      func() time.Time // default time.Now
}

// Authenticate returns the principal r's credentials name, or
// ErrUnauthorized; other errors are failures of the store.
func (a *Authenticator) Authenticate(r *http.Request) (store.Principal, error) {
	var user, secret string
	if u, pw, ok := r.BasicAuth(); ok {
		user, secret = u, pw
	} else if h := r.Header.Get("Authorization"); len(h) > 7 && strings.EqualFold(h[:7], "Bearer ") {
		secret = strings.TrimSpace(h[7:])
	}
	if secret == "" {
		return store.Principal{}, ErrUnauthorized
	}
	p, err := a.Accounts.Principal(r.Context(), account.HashToken(secret))
	if errors.Is(err, store.ErrNotFound) {
		return store.Principal{}, ErrUnauthorized
	}
	if err != nil {
		return store.Principal{}, err
	}
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	if p.Token.Check(secret, now()) != nil || p.User.Disabled || (user != "" && user != p.User.Name) {
		return store.Principal{}, ErrUnauthorized
	}
	return p, nil
}

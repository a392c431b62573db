// Package authn authenticates HTTP requests against the node's API tokens:
// HTTP Basic with the user name and a token as password (what TAXII clients
// send), or "Authorization: Bearer TOKEN". Every handler package uses it, so
// there is one way in; each renders the failure in its own error format.
//
// It also checks the token a partner node may be required to present beside
// its client certificate (CheckPeerToken). That token is a second factor
// for a peer already named by its certificate, never a credential alone.
package authn

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
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
	} else {
		secret = bearer(r)
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

// bearer is the token of an "Authorization: Bearer TOKEN" header; "" if r
// has none.
func bearer(r *http.Request) string {
	if h := r.Header.Get("Authorization"); len(h) > 7 && strings.EqualFold(h[:7], "Bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// peerTokenPrefix makes a partner's token recognisable to secret scanners
// and to people, and tells it apart from a user's API token.
const peerTokenPrefix = "setu_peer_"

// NewPeerToken makes a token a partner node will have to present beside its
// certificate: 256 random bits, URL-safe. It returns the secret, to hand to
// the partner's operator once, and its SHA-256, the only form to store.
func NewPeerToken() (secret string, sum []byte, err error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", nil, err
	}
	secret = peerTokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	h := sha256.Sum256([]byte(secret))
	return secret, h[:], nil
}

// CheckPeerToken checks the second factor of a partner node whose client
// certificate has already named it: sum is the SHA-256 of the token the
// peer must present (empty: none is required). The token must come as
// "Authorization: Bearer TOKEN", which is what the sync engine sends; HTTP
// Basic is a user's way in and is not accepted here. Hashes are compared
// in constant time. Every failure is ErrUnauthorized.
func CheckPeerToken(r *http.Request, sum []byte) error {
	if len(sum) == 0 {
		return nil
	}
	tok := bearer(r)
	if tok == "" {
		return ErrUnauthorized
	}
	h := sha256.Sum256([]byte(tok))
	if subtle.ConstantTimeCompare(h[:], sum) != 1 {
		return ErrUnauthorized
	}
	return nil
}

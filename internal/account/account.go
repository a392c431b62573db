// Package account is Setu's identity model: organisations (with country,
// sectors and kind), their users and roles, and API tokens.
//
// Tokens are random 256-bit secrets shown once at creation; only their
// SHA-256 is stored, so a stolen database yields no usable token, and
// checking a token costs one hash (no slow password hash on every request,
// which is safe because the secret has full entropy).
//
// The package holds no state and does no I/O; storage lives behind the store
// contract.
package account

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"
)

// NodeOrg is the id of the node operators' own organisation, created when a
// node is first initialised.
const NodeOrg = "node"

// Kind is what sort of body an organisation is.
type Kind string

const (
	Government   Kind = "government"
	CIOperator   Kind = "critical-infrastructure-operator"
	Business     Kind = "business"
	NationalCERT Kind = "national-cert"
)

// Kinds lists the valid kinds.
var Kinds = []Kind{Government, CIOperator, Business, NationalCERT}

// Role is what a user may do.
type Role string

const (
	// Admin manages the node: organisations, users, collections, grants.
	Admin Role = "admin"
	// OrgAdmin manages the users and tokens of their own organisation.
	OrgAdmin Role = "org-admin"
	// Analyst reads and writes wherever their organisation has grants.
	Analyst Role = "analyst"
	// ReadOnly reads wherever their organisation may read; never writes.
	ReadOnly Role = "read-only"
)

// Roles lists the valid roles.
var Roles = []Role{Admin, OrgAdmin, Analyst, ReadOnly}

// CanWrite reports whether the role may submit objects at all (grants still apply).
func (r Role) CanWrite() bool { return r == Admin || r == OrgAdmin || r == Analyst }

// Org is an organisation on this node.
type Org struct {
	ID      string // short unique name, e.g. "cert-in"
	Name    string
	Country string   // ISO 3166-1 alpha-2, upper case
	Sectors []string // e.g. "energy", "telecommunications"
	Kind    Kind
	Created time.Time
	// Anonymous: the organisation asked that others never see it as the
	// creator of what it submits. The node keeps the truth and serves
	// everyone else its objects with the node's identity as creator.
	Anonymous bool
	// Identity is the organisation's STIX identity id, fixed when it is
	// created (NewIdentityID), so that organisations of the same id on
	// two nodes are two identities. Empty for organisations created
	// before identities were per node: IdentityID then derives the id
	// they have always had from the organisation id alone.
	Identity string
	// AnonymousToPartners: the same towards partner nodes only; readers on
	// this node see the organisation as the creator.
	AnonymousToPartners bool
}

// identityNamespace derives organisations' STIX identity ids, so the same
// organisation id always names the same identity object.
var identityNamespace = uuid.MustParse("5f0a1c52-4c3e-4a4b-9b9e-2c7d8e3f6a10")

// IdentityID is the STIX identity id that stands for the organisation as
// creator of objects: Identity, or for an organisation created before
// identities were per node, the id derived from its id alone.
func (o Org) IdentityID() string {
	if o.Identity != "" {
		return o.Identity
	}
	return "identity--" + uuid.NewSHA1(identityNamespace, []byte(o.ID)).String()
}

// NewIdentityID returns a fresh STIX identity id for an organisation being
// created: random, so unique to the node and the organisation.
func NewIdentityID() string { return "identity--" + uuid.NewString() }

// User belongs to one organisation.
type User struct {
	Name     string // unique login name
	Org      string // Org.ID
	Role     Role
	Disabled bool
	Created  time.Time
}

// Token is an API token as stored: its hash, never the secret.
type Token struct {
	ID      string // public identifier, used to list and revoke
	User    string
	Hash    [32]byte
	Label   string
	Created time.Time
	Expires time.Time // zero: never
	Revoked bool
}

// Errors.
var (
	ErrInvalid      = errors.New("invalid")
	ErrTokenExpired = errors.New("token expired")
	ErrTokenRevoked = errors.New("token revoked")
	ErrUserDisabled = errors.New("user disabled")
	ErrUnauthorized = errors.New("unauthorized")
)

var (
	nameRE    = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)
	countryRE = regexp.MustCompile(`^[A-Z]{2}$`)
	sectorRE  = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
)

// Validate checks an organisation's fields.
func (o Org) Validate() error {
	switch {
	case !nameRE.MatchString(o.ID):
		return fmt.Errorf("%w organisation id %q: use 1-63 lower-case letters, digits, '.', '_' or '-'", ErrInvalid, o.ID)
	case strings.TrimSpace(o.Name) == "":
		return fmt.Errorf("%w organisation %s: name is required", ErrInvalid, o.ID)
	case !countryRE.MatchString(o.Country):
		return fmt.Errorf("%w organisation %s: country %q is not an ISO 3166-1 alpha-2 code", ErrInvalid, o.ID, o.Country)
	}
	ok := false
	for _, k := range Kinds {
		ok = ok || o.Kind == k
	}
	if !ok {
		return fmt.Errorf("%w organisation %s: kind %q is not one of %v", ErrInvalid, o.ID, o.Kind, Kinds)
	}
	for _, s := range o.Sectors {
		if !sectorRE.MatchString(s) {
			return fmt.Errorf("%w organisation %s: sector %q", ErrInvalid, o.ID, s)
		}
	}
	if o.Identity != "" {
		u, ok := strings.CutPrefix(o.Identity, "identity--")
		if _, err := uuid.Parse(u); !ok || err != nil || len(u) != 36 {
			return fmt.Errorf("%w organisation %s: identity %q is not a STIX identity id", ErrInvalid, o.ID, o.Identity)
		}
	}
	return nil
}

// Validate checks a user's fields.
func (u User) Validate() error {
	if !nameRE.MatchString(u.Name) {
		return fmt.Errorf("%w user name %q: use 1-63 lower-case letters, digits, '.', '_' or '-'", ErrInvalid, u.Name)
	}
	if u.Org == "" {
		return fmt.Errorf("%w user %s: organisation is required", ErrInvalid, u.Name)
	}
	for _, r := range Roles {
		if u.Role == r {
			return nil
		}
	}
	return fmt.Errorf("%w user %s: role %q is not one of %v", ErrInvalid, u.Name, u.Role, Roles)
}

// tokenPrefix makes tokens recognisable to secret scanners and humans.
const tokenPrefix = "setu_"

// NewToken makes a fresh token for user: the secret to show once, and the
// record to store.
func NewToken(user, label string, now time.Time, ttl time.Duration) (secret string, t Token, err error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", Token{}, err
	}
	secret = tokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	t = Token{ID: uuid.NewString(), User: user, Hash: HashToken(secret), Label: label, Created: now}
	if ttl > 0 {
		t.Expires = now.Add(ttl)
	}
	return secret, t, nil
}

// TokenFromSecret builds the stored record for a secret chosen by the
// operator (e.g. from the environment, for automation).
func TokenFromSecret(user, secret, label string, now time.Time) (Token, error) {
	if len(secret) < 20 {
		return Token{}, fmt.Errorf("%w token: at least 20 characters", ErrInvalid)
	}
	return Token{ID: uuid.NewString(), User: user, Hash: HashToken(secret), Label: label, Created: now}, nil
}

// HashToken is the stored form of a token secret.
func HashToken(secret string) [32]byte { return sha256.Sum256([]byte(secret)) }

// Check reports whether t is usable at now for the given secret.
func (t Token) Check(secret string, now time.Time) error {
	h := HashToken(secret)
	if subtle.ConstantTimeCompare(h[:], t.Hash[:]) != 1 {
		return ErrUnauthorized
	}
	if t.Revoked {
		return ErrTokenRevoked
	}
	if !t.Expires.IsZero() && !now.Before(t.Expires) {
		return ErrTokenExpired
	}
	return nil
}

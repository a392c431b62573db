package store

import (
	"context"
	"time"

	"github.com/setu-cti/setu/internal/account"
)

// Grant gives an organisation read and/or write access to a collection.
// Org "*" means every organisation on the node.
type Grant struct {
	Collection string
	Org        string
	Read       bool
	Write      bool
}

// AnyOrg in a Grant applies to every organisation.
const AnyOrg = "*"

// Principal is what a token authenticates: the token, its user and the
// user's organisation.
type Principal struct {
	Token account.Token
	User  account.User
	Org   account.Org
}

// Accounts stores organisations, users, tokens and collection grants.
type Accounts interface {
	// CreateOrg: ErrExists if the id is taken.
	CreateOrg(ctx context.Context, o account.Org) error
	Org(ctx context.Context, id string) (account.Org, error)
	Orgs(ctx context.Context) ([]account.Org, error)
	// SetOrgAnonymous sets whether the organisation's later submissions
	// are anonymous (what is stored keeps how it was submitted);
	// ErrNotFound if the org is absent.
	SetOrgAnonymous(ctx context.Context, id string, anonymous bool) error
	// UpdateOrg replaces the name, kind, sectors and anonymity of the
	// organisation with o's id (its country and creation time stay);
	// versions already stored keep the metadata of their first store.
	// ErrNotFound if the org is absent.
	UpdateOrg(ctx context.Context, o account.Org) error

	// CreateUser: ErrExists if the name is taken, ErrNotFound if the org is absent.
	CreateUser(ctx context.Context, u account.User) error
	User(ctx context.Context, name string) (account.User, error)
	// Users lists users, of one organisation when org is not empty.
	Users(ctx context.Context, org string) ([]account.User, error)
	SetUserDisabled(ctx context.Context, name string, disabled bool) error

	// CreateToken stores a token record (its hash only).
	CreateToken(ctx context.Context, t account.Token) error
	// Principal finds the token with this hash and its user and organisation;
	// ErrNotFound if none. Expiry and revocation are the caller's to check.
	Principal(ctx context.Context, hash [32]byte) (Principal, error)
	Tokens(ctx context.Context, user string) ([]account.Token, error)
	RevokeToken(ctx context.Context, id string) error

	// SetGrant creates or replaces the grant for (collection, org); a grant
	// with neither Read nor Write removes it.
	SetGrant(ctx context.Context, g Grant) error
	// Grants lists the grants on a collection.
	Grants(ctx context.Context, collection string) ([]Grant, error)
	// Access returns the effective grant of org on collection (its own grant
	// OR'ed with the AnyOrg grant); a zero Grant when there is none.
	Access(ctx context.Context, collection, org string) (Grant, error)
}

// StatusDetail is one object's entry in a status.
type StatusDetail struct {
	ID      string
	Version string // the object's modified (or created), TAXII timestamp form
	Message string
}

// Status is the durable record of one TAXII POST.
type Status struct {
	ID         string
	Collection string
	User       string
	Created    time.Time
	Total      int
	Successes  []StatusDetail
	Failures   []StatusDetail
	Pendings   []StatusDetail

	// LeaseOwner and Lease, when set on CreateStatus, store the job already
	// leased to that owner for that long, so the instance that accepted the
	// POST works on it at once without a separate claim; another instance
	// takes it over if the lease expires. Reads leave them zero.
	LeaseOwner string
	Lease      time.Duration
}

// Complete reports whether every object has been decided.
func (s *Status) Complete() bool { return len(s.Pendings) == 0 }

// Statuses stores TAXII status resources so any instance can answer for them.
type Statuses interface {
	// CreateStatus stores a new status (usually all pending) together with the
	// job that will decide it: the raw envelope to ingest.
	CreateStatus(ctx context.Context, s Status, envelope []byte) error
	// Status finds a status by id; ErrNotFound if absent or expired.
	Status(ctx context.Context, id string) (Status, error)
	// FinishStatus records the outcome of every pending object and deletes
	// the job.
	FinishStatus(ctx context.Context, s Status) error
	// ClaimJob leases the oldest unfinished job (one whose lease has expired
	// or that was never leased) for d; ErrNotFound if none.
	ClaimJob(ctx context.Context, owner string, d time.Duration) (statusID string, envelope []byte, err error)
	// PurgeStatuses deletes finished statuses created before t.
	PurgeStatuses(ctx context.Context, before time.Time) (int, error)
}

// Secrets keeps node secrets (token-sealing keys, signing keys) in the store,
// so every instance sharing the database uses the same ones.
type Secrets interface {
	// Secret returns the secret named name, creating it with create if
	// absent; concurrent first calls all get the one value that won.
	Secret(ctx context.Context, name string, create func() ([]byte, error)) ([]byte, error)
}

// Deleter removes objects from a collection (TAXII DELETE).
type Deleter interface {
	// Delete removes from the collection the rows of object id whose
	// versions match vf and (when not empty) specVersions; the versions stay
	// stored if other collections list them. It returns the number of rows
	// removed; ErrNotFound when none matched.
	Delete(ctx context.Context, collection, id string, vf VersionFilter, specVersions []string) (int, error)
}

package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/setu-cti/setu/internal/account"
	"github.com/setu-cti/setu/internal/store"
)

var _ store.Accounts = (*DB)(nil)

// keyErr maps the constraint violations the account tables use to the
// storage contract's errors: a unique key taken is store.ErrExists, a
// reference to an absent row (a user's organisation, a token's user) is
// store.ErrNotFound. Other errors are returned unchanged.
func keyErr(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505": // unique_violation
			return store.ErrExists
		case "23503": // foreign_key_violation
			return store.ErrNotFound
		}
	}
	return err
}

// rowErr maps a missing row to store.ErrNotFound.
func rowErr(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return store.ErrNotFound
	}
	return err
}

// utc reads back a stored time in UTC, as every time this store returns.
func utc(t time.Time) time.Time { return t.UTC() }

// CreateOrg stores o; store.ErrExists if its id is taken. A zero Created is
// set to now.
func (db *DB) CreateOrg(ctx context.Context, o account.Org) error {
	if o.Created.IsZero() {
		o.Created = db.now()
	}
	sectors := o.Sectors
	if sectors == nil {
		sectors = []string{}
	}
	_, err := db.pool.Exec(ctx, `
		INSERT INTO orgs (id, name, country, kind, sectors, created, anonymous, identity, anonymous_partners)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		o.ID, o.Name, o.Country, string(o.Kind), sectors, o.Created, o.Anonymous, o.Identity, o.AnonymousToPartners)
	if err != nil {
		return fmt.Errorf("organisation %s: %w", o.ID, keyErr(err))
	}
	return nil
}

const orgColumns = `o.id, o.name, o.country, o.kind, o.sectors, o.created, o.anonymous, o.identity, o.anonymous_partners`

func orgDest(o *account.Org, kind *string) []any {
	return []any{&o.ID, &o.Name, &o.Country, kind, &o.Sectors, &o.Created, &o.Anonymous, &o.Identity, &o.AnonymousToPartners}
}

func scanOrg(row pgx.Row) (account.Org, error) {
	var o account.Org
	var kind string
	err := row.Scan(orgDest(&o, &kind)...)
	o.Kind, o.Created = account.Kind(kind), utc(o.Created)
	return o, err
}

// SetOrgAnonymous sets the organisation's anonymous flag.
func (db *DB) SetOrgAnonymous(ctx context.Context, id string, anonymous bool) error {
	tag, err := db.pool.Exec(ctx, `UPDATE orgs SET anonymous = $2 WHERE id = $1`, id, anonymous)
	if err != nil {
		return fmt.Errorf("postgres: organisation %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("organisation %s: %w", id, store.ErrNotFound)
	}
	return nil
}

// UpdateOrg replaces the name, kind, sectors and anonymity of o.ID.
func (db *DB) UpdateOrg(ctx context.Context, o account.Org) error {
	sectors := o.Sectors
	if sectors == nil {
		sectors = []string{}
	}
	tag, err := db.pool.Exec(ctx, `UPDATE orgs SET name = $2, kind = $3, sectors = $4, anonymous = $5, anonymous_partners = $6 WHERE id = $1`,
		o.ID, o.Name, string(o.Kind), sectors, o.Anonymous, o.AnonymousToPartners)
	if err != nil {
		return fmt.Errorf("postgres: organisation %s: %w", o.ID, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("organisation %s: %w", o.ID, store.ErrNotFound)
	}
	return nil
}

// Org finds an organisation by id; store.ErrNotFound if absent.
func (db *DB) Org(ctx context.Context, id string) (account.Org, error) {
	o, err := scanOrg(db.pool.QueryRow(ctx, `SELECT `+orgColumns+` FROM orgs o WHERE o.id = $1`, id))
	if err != nil {
		return account.Org{}, fmt.Errorf("organisation %s: %w", id, rowErr(err))
	}
	return o, nil
}

// Orgs lists all organisations by id.
func (db *DB) Orgs(ctx context.Context) ([]account.Org, error) {
	rows, _ := db.pool.Query(ctx, `SELECT `+orgColumns+` FROM orgs o ORDER BY o.id`)
	orgs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (account.Org, error) { return scanOrg(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: organisations: %w", err)
	}
	return orgs, nil
}

// CreateUser stores u; store.ErrExists if the name is taken,
// store.ErrNotFound if its organisation is absent. A zero Created is set to
// now.
func (db *DB) CreateUser(ctx context.Context, u account.User) error {
	if u.Created.IsZero() {
		u.Created = db.now()
	}
	_, err := db.pool.Exec(ctx, `
		INSERT INTO users (name, org, role, disabled, created) VALUES ($1, $2, $3, $4, $5)`,
		u.Name, u.Org, string(u.Role), u.Disabled, u.Created)
	if err != nil {
		err = keyErr(err)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("postgres: user %s: organisation %s: %w", u.Name, u.Org, err)
		}
		return fmt.Errorf("postgres: user %s: %w", u.Name, err)
	}
	return nil
}

const userColumns = `u.name, u.org, u.role, u.disabled, u.created`

func userDest(u *account.User, role *string) []any {
	return []any{&u.Name, &u.Org, role, &u.Disabled, &u.Created}
}

func scanUser(row pgx.Row) (account.User, error) {
	var u account.User
	var role string
	err := row.Scan(userDest(&u, &role)...)
	u.Role, u.Created = account.Role(role), utc(u.Created)
	return u, err
}

// User finds a user by name; store.ErrNotFound if absent.
func (db *DB) User(ctx context.Context, name string) (account.User, error) {
	u, err := scanUser(db.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users u WHERE u.name = $1`, name))
	if err != nil {
		return account.User{}, fmt.Errorf("user %s: %w", name, rowErr(err))
	}
	return u, nil
}

// Users lists users by name: all of them, or those of org when it is not
// empty.
func (db *DB) Users(ctx context.Context, org string) ([]account.User, error) {
	rows, _ := db.pool.Query(ctx, `
		SELECT `+userColumns+` FROM users u WHERE $1 = '' OR u.org = $1 ORDER BY u.name`, org)
	us, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (account.User, error) { return scanUser(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: users: %w", err)
	}
	return us, nil
}

// SetUserDisabled disables or re-enables a user; store.ErrNotFound if absent.
func (db *DB) SetUserDisabled(ctx context.Context, name string, disabled bool) error {
	tag, err := db.pool.Exec(ctx, `UPDATE users SET disabled = $2 WHERE name = $1`, name, disabled)
	if err != nil {
		return fmt.Errorf("postgres: user %s: %w", name, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("user %s: %w", name, store.ErrNotFound)
	}
	return nil
}

// CreateToken stores t; store.ErrNotFound if its user is absent,
// store.ErrExists if its id or hash is taken. A zero Expires means the token
// never expires.
func (db *DB) CreateToken(ctx context.Context, t account.Token) error {
	if t.Created.IsZero() {
		t.Created = db.now()
	}
	var expires *time.Time
	if !t.Expires.IsZero() {
		expires = &t.Expires
	}
	_, err := db.pool.Exec(ctx, `
		INSERT INTO tokens (id, user_name, hash, label, created, expires, revoked)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		t.ID, t.User, t.Hash[:], t.Label, t.Created, expires, t.Revoked)
	if err != nil {
		return fmt.Errorf("token %s of %s: %w", t.ID, t.User, keyErr(err))
	}
	return nil
}

const tokenColumns = `t.id, t.user_name, t.hash, t.label, t.created, t.expires, t.revoked`

// tokenScan holds the columns of a token that need converting after Scan.
type tokenScan struct {
	hash    []byte
	expires *time.Time
}

func (ts *tokenScan) dest(t *account.Token) []any {
	return []any{&t.ID, &t.User, &ts.hash, &t.Label, &t.Created, &ts.expires, &t.Revoked}
}

func (ts *tokenScan) finish(t *account.Token) error {
	if len(ts.hash) != len(t.Hash) {
		return fmt.Errorf("stored hash of token %s has %d bytes", t.ID, len(ts.hash))
	}
	copy(t.Hash[:], ts.hash)
	t.Created = utc(t.Created)
	if ts.expires != nil {
		t.Expires = utc(*ts.expires)
	}
	return nil
}

// Principal finds the token with this hash, its user and the user's
// organisation, in one query; store.ErrNotFound if no token has the hash.
// Whether the token is usable (expiry, revocation, a disabled user) is the
// caller's to decide.
func (db *DB) Principal(ctx context.Context, hash [32]byte) (store.Principal, error) {
	var p store.Principal
	var ts tokenScan
	var role, kind string
	dst := append(ts.dest(&p.Token), userDest(&p.User, &role)...)
	dst = append(dst, orgDest(&p.Org, &kind)...)
	err := db.pool.QueryRow(ctx, `
		SELECT `+tokenColumns+`, `+userColumns+`, `+orgColumns+`
		FROM tokens t JOIN users u ON u.name = t.user_name JOIN orgs o ON o.id = u.org
		WHERE t.hash = $1`, hash[:]).Scan(dst...)
	if err == nil {
		err = ts.finish(&p.Token)
	}
	if err != nil {
		return store.Principal{}, fmt.Errorf("principal: %w", rowErr(err))
	}
	p.User.Role, p.User.Created = account.Role(role), utc(p.User.Created)
	p.Org.Kind, p.Org.Created = account.Kind(kind), utc(p.Org.Created)
	return p, nil
}

// Tokens lists the tokens of a user, oldest first; none for an absent user.
func (db *DB) Tokens(ctx context.Context, user string) ([]account.Token, error) {
	rows, _ := db.pool.Query(ctx, `
		SELECT `+tokenColumns+` FROM tokens t WHERE t.user_name = $1 ORDER BY t.created, t.id`, user)
	ts, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (account.Token, error) {
		var t account.Token
		var sc tokenScan
		if err := r.Scan(sc.dest(&t)...); err != nil {
			return t, err
		}
		return t, sc.finish(&t)
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: tokens of %s: %w", user, err)
	}
	return ts, nil
}

// RevokeToken marks a token revoked; store.ErrNotFound if absent. Revoking
// a revoked token succeeds.
func (db *DB) RevokeToken(ctx context.Context, id string) error {
	tag, err := db.pool.Exec(ctx, `UPDATE tokens SET revoked = true WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("postgres: token %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("token %s: %w", id, store.ErrNotFound)
	}
	return nil
}

// SetGrant creates, replaces or (with neither right) removes the grant of
// g.Org on g.Collection (id or alias); store.ErrNotFound if the collection
// is absent. The organisation is not checked: g.Org may be store.AnyOrg.
func (db *DB) SetGrant(ctx context.Context, g store.Grant) error {
	coll, err := db.collectionKey(ctx, g.Collection)
	if err != nil {
		return err
	}
	if !g.Read && !g.Write {
		_, err = db.pool.Exec(ctx, `DELETE FROM grants WHERE collection = $1 AND org = $2`, coll, g.Org)
	} else {
		_, err = db.pool.Exec(ctx, `
			INSERT INTO grants (collection, org, read, write) VALUES ($1, $2, $3, $4)
			ON CONFLICT (collection, org) DO UPDATE SET read = excluded.read, write = excluded.write`,
			coll, g.Org, g.Read, g.Write)
	}
	if err != nil {
		return fmt.Errorf("postgres: grant on %s to %s: %w", g.Collection, g.Org, err)
	}
	return nil
}

// Grants lists the grants on a collection (id or alias) by organisation,
// each naming the collection by its id; store.ErrNotFound if the collection
// is absent.
func (db *DB) Grants(ctx context.Context, collection string) ([]store.Grant, error) {
	coll, err := db.collectionKey(ctx, collection)
	if err != nil {
		return nil, err
	}
	rows, _ := db.pool.Query(ctx, `
		SELECT c.id, g.org, g.read, g.write
		FROM grants g JOIN collections c ON c.pk = g.collection
		WHERE g.collection = $1 ORDER BY g.org`, coll)
	gs, err := pgx.CollectRows(rows, pgx.RowToStructByPos[store.Grant])
	if err != nil {
		return nil, fmt.Errorf("postgres: grants on %s: %w", collection, err)
	}
	return gs, nil
}

// Access returns the rights of org on a collection (id or alias): its own
// grant OR'ed with the store.AnyOrg grant, in one query; a Grant without
// rights when there is neither. store.ErrNotFound if the collection is
// absent.
func (db *DB) Access(ctx context.Context, collection, org string) (store.Grant, error) {
	coll, err := db.collectionKey(ctx, collection)
	if err != nil {
		return store.Grant{}, err
	}
	g := store.Grant{Org: org}
	err = db.pool.QueryRow(ctx, `
		SELECT c.id, coalesce(bool_or(g.read), false), coalesce(bool_or(g.write), false)
		FROM collections c LEFT JOIN grants g ON g.collection = c.pk AND g.org IN ($2, $3)
		WHERE c.pk = $1
		GROUP BY c.id`, coll, org, store.AnyOrg).Scan(&g.Collection, &g.Read, &g.Write)
	if err != nil {
		return store.Grant{}, fmt.Errorf("access of %s to %s: %w", org, collection, rowErr(err))
	}
	return g, nil
}

package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	sqlitedriver "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/setu-cti/setu/internal/account"
	"github.com/setu-cti/setu/internal/store"
)

var _ store.Accounts = (*DB)(nil)

// keyErr maps a uniqueness violation to store.ErrExists.
func keyErr(err error) error {
	var e *sqlitedriver.Error
	if errors.As(err, &e) && (e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY) {
		return store.ErrExists
	}
	return err
}

// rowErr maps a missing row to store.ErrNotFound.
func rowErr(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	return err
}

func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }

// toNanos stores a time; the zero time is stored as 0 and read back as zero.
func toNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromStored(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return fromNanos(n)
}

// CreateOrg stores o; store.ErrExists if its id is taken. A zero Created is
// set to the store's clock.
func (db *DB) CreateOrg(ctx context.Context, o account.Org) error {
	if o.Created.IsZero() {
		o.Created = db.now()
	}
	sectors, err := json.Marshal(append([]string{}, o.Sectors...))
	if err != nil {
		return err
	}
	_, err = db.w.ExecContext(ctx, `INSERT INTO orgs (id, name, country, sectors, kind, created, anonymous, identity, anonymous_partners)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		o.ID, o.Name, o.Country, string(sectors), string(o.Kind), toNanos(o.Created), o.Anonymous, o.Identity, o.AnonymousToPartners)
	if err != nil {
		return fmt.Errorf("organisation %s: %w", o.ID, keyErr(err))
	}
	return nil
}

const orgColumns = `o.id, o.name, o.country, o.sectors, o.kind, o.created, o.anonymous, o.identity, o.anonymous_partners`

func scanOrg(sc interface{ Scan(...any) error }, o *account.Org, extra ...any) error {
	var (
		sectors, kind string
		created       int64
	)
	if err := sc.Scan(append([]any{&o.ID, &o.Name, &o.Country, &sectors, &kind, &created, &o.Anonymous, &o.Identity, &o.AnonymousToPartners}, extra...)...); err != nil {
		return err
	}
	o.Kind = account.Kind(kind)
	o.Created = fromStored(created)
	o.Sectors = nil
	if err := json.Unmarshal([]byte(sectors), &o.Sectors); err != nil {
		return err
	}
	if len(o.Sectors) == 0 {
		o.Sectors = nil
	}
	return nil
}

// SetOrgAnonymous sets the organisation's anonymous flag.
func (db *DB) SetOrgAnonymous(ctx context.Context, id string, anonymous bool) error {
	res, err := db.w.ExecContext(ctx, `UPDATE orgs SET anonymous = ? WHERE id = ?`, anonymous, id)
	if err != nil {
		return wrapErr("organisation "+id, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return fmt.Errorf("organisation %s: %w", id, store.ErrNotFound)
	}
	return nil
}

// UpdateOrg replaces the name, kind, sectors and anonymity of o.ID.
func (db *DB) UpdateOrg(ctx context.Context, o account.Org) error {
	sectors, err := json.Marshal(append([]string{}, o.Sectors...))
	if err != nil {
		return err
	}
	res, err := db.w.ExecContext(ctx, `UPDATE orgs SET name = ?, kind = ?, sectors = ?, anonymous = ?, anonymous_partners = ? WHERE id = ?`,
		o.Name, string(o.Kind), string(sectors), o.Anonymous, o.AnonymousToPartners, o.ID)
	if err != nil {
		return wrapErr("organisation "+o.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return fmt.Errorf("organisation %s: %w", o.ID, store.ErrNotFound)
	}
	return nil
}

// Org finds an organisation by id; store.ErrNotFound if absent.
func (db *DB) Org(ctx context.Context, id string) (account.Org, error) {
	var o account.Org
	if err := scanOrg(db.r.QueryRowContext(ctx, `SELECT `+orgColumns+` FROM orgs o WHERE o.id = ?`, id), &o); err != nil {
		return account.Org{}, fmt.Errorf("organisation %s: %w", id, rowErr(err))
	}
	return o, nil
}

// Orgs lists organisations by id.
func (db *DB) Orgs(ctx context.Context) ([]account.Org, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+orgColumns+` FROM orgs o ORDER BY o.id`)
	if err != nil {
		return nil, wrapErr("organisations", err)
	}
	defer rows.Close()
	var os []account.Org
	for rows.Next() {
		var o account.Org
		if err := scanOrg(rows, &o); err != nil {
			return nil, wrapErr("organisations", err)
		}
		os = append(os, o)
	}
	return os, wrapErr("organisations", rows.Err())
}

// CreateUser stores u; store.ErrExists if the name is taken,
// store.ErrNotFound if its organisation is absent. A zero Created is set to
// the store's clock.
func (db *DB) CreateUser(ctx context.Context, u account.User) error {
	if u.Created.IsZero() {
		u.Created = db.now()
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return wrapErr("create user", err)
	}
	defer tx.Rollback()
	if err := tx.QueryRowContext(ctx, `SELECT 1 FROM orgs WHERE id = ?`, u.Org).Scan(new(int)); err != nil {
		return fmt.Errorf("organisation %s of user %s: %w", u.Org, u.Name, rowErr(err))
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO users (name, org, role, disabled, created) VALUES (?, ?, ?, ?, ?)`,
		u.Name, u.Org, string(u.Role), u.Disabled, toNanos(u.Created)); err != nil {
		return fmt.Errorf("user %s: %w", u.Name, keyErr(err))
	}
	return wrapErr("create user", tx.Commit())
}

const userColumns = `u.name, u.org, u.role, u.disabled, u.created`

func scanUser(sc interface{ Scan(...any) error }, u *account.User, extra ...any) error {
	var (
		role    string
		created int64
	)
	if err := sc.Scan(append([]any{&u.Name, &u.Org, &role, &u.Disabled, &created}, extra...)...); err != nil {
		return err
	}
	u.Role = account.Role(role)
	u.Created = fromStored(created)
	return nil
}

// User finds a user by name; store.ErrNotFound if absent.
func (db *DB) User(ctx context.Context, name string) (account.User, error) {
	var u account.User
	if err := scanUser(db.r.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users u WHERE u.name = ?`, name), &u); err != nil {
		return account.User{}, fmt.Errorf("user %s: %w", name, rowErr(err))
	}
	return u, nil
}

// Users lists users by name, of one organisation when org is not empty.
func (db *DB) Users(ctx context.Context, org string) ([]account.User, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+userColumns+` FROM users u WHERE ?1 = '' OR u.org = ?1 ORDER BY u.name`, org)
	if err != nil {
		return nil, wrapErr("users", err)
	}
	defer rows.Close()
	var us []account.User
	for rows.Next() {
		var u account.User
		if err := scanUser(rows, &u); err != nil {
			return nil, wrapErr("users", err)
		}
		us = append(us, u)
	}
	return us, wrapErr("users", rows.Err())
}

// SetUserDisabled disables or re-enables a user; store.ErrNotFound if absent.
func (db *DB) SetUserDisabled(ctx context.Context, name string, disabled bool) error {
	res, err := db.w.ExecContext(ctx, `UPDATE users SET disabled = ? WHERE name = ?`, disabled, name)
	return affected(res, err, "user "+name)
}

// affected turns an update of no row into store.ErrNotFound.
func affected(res sql.Result, err error, what string) error {
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return nil
}

// CreateToken stores t; store.ErrNotFound if its user is absent,
// store.ErrExists if its id or hash is taken. A zero Expires means the
// token never expires.
func (db *DB) CreateToken(ctx context.Context, t account.Token) error {
	if t.Created.IsZero() {
		t.Created = db.now()
	}
	var expires any
	if !t.Expires.IsZero() {
		expires = t.Expires.UnixNano()
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return wrapErr("create token", err)
	}
	defer tx.Rollback()
	if err := tx.QueryRowContext(ctx, `SELECT 1 FROM users WHERE name = ?`, t.User).Scan(new(int)); err != nil {
		return fmt.Errorf("user %s of token %s: %w", t.User, t.ID, rowErr(err))
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO tokens (id, user, hash, label, created, expires, revoked) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		t.ID, t.User, t.Hash[:], t.Label, toNanos(t.Created), expires, t.Revoked); err != nil {
		return fmt.Errorf("token %s of %s: %w", t.ID, t.User, keyErr(err))
	}
	return wrapErr("create token", tx.Commit())
}

const tokenColumns = `t.id, t.user, t.hash, t.label, t.created, t.expires, t.revoked`

func scanToken(sc interface{ Scan(...any) error }, t *account.Token, extra ...any) error {
	var (
		hash    []byte
		created int64
		expires sql.NullInt64
	)
	if err := sc.Scan(append([]any{&t.ID, &t.User, &hash, &t.Label, &created, &expires, &t.Revoked}, extra...)...); err != nil {
		return err
	}
	if len(hash) != len(t.Hash) {
		return fmt.Errorf("stored hash of token %s has %d bytes", t.ID, len(hash))
	}
	copy(t.Hash[:], hash)
	t.Created = fromStored(created)
	if expires.Valid {
		t.Expires = fromNanos(expires.Int64)
	}
	return nil
}

// Principal finds the token with this hash, its user and the user's
// organisation; store.ErrNotFound if no token has the hash. Whether the
// token may be used (expiry, revocation, a disabled user) is the caller's
// to decide.
func (db *DB) Principal(ctx context.Context, hash [32]byte) (store.Principal, error) {
	row := db.r.QueryRowContext(ctx, `SELECT `+tokenColumns+`, `+userColumns+`, `+orgColumns+`
		FROM tokens t JOIN users u ON u.name = t.user JOIN orgs o ON o.id = u.org
		WHERE t.hash = ?`, hash[:])
	var (
		p                  store.Principal
		uRole              string
		uCreated, oCreated int64
		oSectors, oKind    string
		tHash              []byte
		tCreated           int64
		tExpires           sql.NullInt64
	)
	err := row.Scan(&p.Token.ID, &p.Token.User, &tHash, &p.Token.Label, &tCreated, &tExpires, &p.Token.Revoked,
		&p.User.Name, &p.User.Org, &uRole, &p.User.Disabled, &uCreated,
		&p.Org.ID, &p.Org.Name, &p.Org.Country, &oSectors, &oKind, &oCreated, &p.Org.Anonymous, &p.Org.Identity, &p.Org.AnonymousToPartners)
	if err != nil {
		return store.Principal{}, fmt.Errorf("principal: %w", rowErr(err))
	}
	copy(p.Token.Hash[:], tHash)
	p.Token.Created = fromStored(tCreated)
	if tExpires.Valid {
		p.Token.Expires = fromNanos(tExpires.Int64)
	}
	p.User.Role = account.Role(uRole)
	p.User.Created = fromStored(uCreated)
	p.Org.Kind = account.Kind(oKind)
	p.Org.Created = fromStored(oCreated)
	if err := json.Unmarshal([]byte(oSectors), &p.Org.Sectors); err != nil {
		return store.Principal{}, wrapErr("principal", err)
	}
	if len(p.Org.Sectors) == 0 {
		p.Org.Sectors = nil
	}
	return p, nil
}

// Tokens lists a user's tokens, oldest first.
func (db *DB) Tokens(ctx context.Context, user string) ([]account.Token, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+tokenColumns+` FROM tokens t WHERE t.user = ? ORDER BY t.created, t.id`, user)
	if err != nil {
		return nil, wrapErr("tokens", err)
	}
	defer rows.Close()
	var ts []account.Token
	for rows.Next() {
		var t account.Token
		if err := scanToken(rows, &t); err != nil {
			return nil, wrapErr("tokens", err)
		}
		ts = append(ts, t)
	}
	return ts, wrapErr("tokens", rows.Err())
}

// RevokeToken marks a token revoked; store.ErrNotFound if absent. Revoking
// a revoked token succeeds.
func (db *DB) RevokeToken(ctx context.Context, id string) error {
	res, err := db.w.ExecContext(ctx, `UPDATE tokens SET revoked = 1 WHERE id = ?`, id)
	return affected(res, err, "token "+id)
}

// SetGrant creates or replaces the grant of g.Org on g.Collection (id or
// alias); a grant with neither right removes it. store.ErrNotFound if the
// collection is absent.
func (db *DB) SetGrant(ctx context.Context, g store.Grant) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return wrapErr("grant", err)
	}
	defer tx.Rollback()
	coll, err := collectionPK(ctx, tx, g.Collection)
	if err != nil {
		return err
	}
	if !g.Read && !g.Write {
		_, err = tx.ExecContext(ctx, `DELETE FROM grants WHERE collection = ? AND org = ?`, coll, g.Org)
	} else {
		_, err = tx.ExecContext(ctx, `INSERT INTO grants (collection, org, read, write) VALUES (?, ?, ?, ?)
			ON CONFLICT (collection, org) DO UPDATE SET read = excluded.read, write = excluded.write`,
			coll, g.Org, g.Read, g.Write)
	}
	if err != nil {
		return wrapErr("grant", err)
	}
	return wrapErr("grant", tx.Commit())
}

// Grants lists the grants on a collection (id or alias) by organisation,
// each naming the collection by its id; store.ErrNotFound if the collection
// is absent.
func (db *DB) Grants(ctx context.Context, collection string) ([]store.Grant, error) {
	tx, err := db.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, wrapErr("grants", err)
	}
	defer tx.Rollback()
	coll, err := collectionPK(ctx, tx, collection)
	if err != nil {
		return nil, err
	}
	rows, err := tx.QueryContext(ctx, `SELECT c.id, g.org, g.read, g.write
		FROM grants g JOIN collections c ON c.pk = g.collection WHERE g.collection = ? ORDER BY g.org`, coll)
	if err != nil {
		return nil, wrapErr("grants", err)
	}
	defer rows.Close()
	var gs []store.Grant
	for rows.Next() {
		var g store.Grant
		if err := rows.Scan(&g.Collection, &g.Org, &g.Read, &g.Write); err != nil {
			return nil, wrapErr("grants", err)
		}
		gs = append(gs, g)
	}
	return gs, wrapErr("grants", rows.Err())
}

// Access returns the rights of org on a collection (id or alias): its own
// grant OR'ed with the store.AnyOrg grant; a Grant without rights when there
// is neither. store.ErrNotFound if the collection is absent.
func (db *DB) Access(ctx context.Context, collection, org string) (store.Grant, error) {
	g := store.Grant{Org: org}
	err := db.r.QueryRowContext(ctx, `SELECT c.id, coalesce(max(g.read), 0), coalesce(max(g.write), 0)
		FROM collections c LEFT JOIN grants g ON g.collection = c.pk AND g.org IN (?2, ?3)
		WHERE c.id = ?1 OR c.alias = ?1
		GROUP BY c.pk`, collection, org, store.AnyOrg).Scan(&g.Collection, &g.Read, &g.Write)
	if err != nil {
		return store.Grant{}, fmt.Errorf("access of %s to %s: %w", org, collection, rowErr(err))
	}
	return g, nil
}

package sqlite

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/setu-cti/setu/internal/store"
)

var (
	_ store.Peers   = (*DB)(nil)
	_ store.Origins = (*DB)(nil)
)

// NodeInfo returns the node's identity; store.ErrNotFound if never set.
func (db *DB) NodeInfo(ctx context.Context) (store.NodeInfo, error) {
	var (
		n                store.NodeInfo
		created, updated int64
	)
	err := db.r.QueryRowContext(ctx, `SELECT name, country, created, updated FROM node_info WHERE id = 1`).
		Scan(&n.Name, &n.Country, &created, &updated)
	if err != nil {
		return store.NodeInfo{}, fmt.Errorf("node identity: %w", rowErr(err))
	}
	n.Created, n.Updated = fromStored(created), fromStored(updated)
	return n, nil
}

// SetNodeInfo stores the identity the first time and renames the node
// afterwards; store.ErrConflict if another country is stored.
func (db *DB) SetNodeInfo(ctx context.Context, n store.NodeInfo) (store.NodeInfo, error) {
	if n.Name == "" || n.Country == "" {
		return store.NodeInfo{}, fmt.Errorf("sqlite: node identity: name and country are required")
	}
	now := toNanos(db.now())
	// One immediate write transaction: two first starts at once cannot
	// both find no row and store different countries.
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return store.NodeInfo{}, wrapErr("node identity", err)
	}
	defer tx.Rollback()
	var country, name string
	err = tx.QueryRowContext(ctx, `SELECT name, country FROM node_info WHERE id = 1`).Scan(&name, &country)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		_, err = tx.ExecContext(ctx, `INSERT INTO node_info (id, name, country, created, updated) VALUES (1, ?, ?, ?, ?)`,
			n.Name, n.Country, now, now)
	case err != nil:
	case country != n.Country:
		return store.NodeInfo{}, fmt.Errorf("node country is %s, not %s: %w", country, n.Country, store.ErrConflict)
	case name != n.Name:
		_, err = tx.ExecContext(ctx, `UPDATE node_info SET name = ?, updated = ? WHERE id = 1`, n.Name, now)
	}
	if err != nil {
		return store.NodeInfo{}, wrapErr("node identity", err)
	}
	if err := tx.Commit(); err != nil {
		return store.NodeInfo{}, wrapErr("node identity", err)
	}
	return db.NodeInfo(ctx)
}

// CreatePeer stores p; store.ErrExists if its name or certificate
// fingerprint is taken.
func (db *DB) CreatePeer(ctx context.Context, p store.Peer) error {
	if p.Name == "" {
		return fmt.Errorf("sqlite: peer: a name is required")
	}
	if p.Created.IsZero() {
		p.Created = db.now()
	}
	if err := checkTokenSum(p.InboundTokenSHA256); err != nil {
		return fmt.Errorf("sqlite: peer %s: %w", p.Name, err)
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return wrapErr("peer", err)
	}
	defer tx.Rollback()
	_, err = tx.ExecContext(ctx, `INSERT INTO peers (name, url, cert_sha256, signing_key, token, created, last_contact, country, inbound_token_sha256)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.Name, p.URL, p.CertSHA256[:], nullBytes(p.SigningKey), p.Token, toNanos(p.Created), toNanos(p.LastContact), p.Country,
		nullBytes(p.InboundTokenSHA256))
	if err != nil {
		return fmt.Errorf("peer %s: %w", p.Name, keyErr(err))
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM origins WHERE name = ?`, p.Name); err != nil {
		return wrapErr("peer", err)
	}
	return wrapErr("peer", tx.Commit())
}

// CreateOrigin stores an origin unless a peer or origin has its name.
func (db *DB) CreateOrigin(ctx context.Context, o store.Origin) error {
	if o.Name == "" {
		return fmt.Errorf("sqlite: origin: a name is required")
	}
	if o.Created.IsZero() {
		o.Created = db.now()
	}
	res, err := db.w.ExecContext(ctx, `INSERT INTO origins (name, signing_key, country, created)
		SELECT ?1, ?2, ?3, ?4 WHERE NOT EXISTS (SELECT 1 FROM peers WHERE name = ?1)`,
		o.Name, o.SigningKey, o.Country, toNanos(o.Created))
	if err != nil {
		return fmt.Errorf("origin %s: %w", o.Name, keyErr(err))
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return fmt.Errorf("origin %s: a peer has the name: %w", o.Name, store.ErrExists)
	}
	return nil
}

// Origin finds an origin by name.
func (db *DB) Origin(ctx context.Context, name string) (store.Origin, error) {
	o := store.Origin{Name: name}
	var created int64
	err := db.r.QueryRowContext(ctx, `SELECT signing_key, country, created FROM origins WHERE name = ?`, name).
		Scan(&o.SigningKey, &o.Country, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Origin{}, fmt.Errorf("origin %s: %w", name, store.ErrNotFound)
	}
	if err != nil {
		return store.Origin{}, fmt.Errorf("sqlite: origin %s: %w", name, err)
	}
	o.Created = fromNanos(created)
	return o, nil
}

// ListOrigins lists origins by name.
func (db *DB) ListOrigins(ctx context.Context) ([]store.Origin, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT name, signing_key, country, created FROM origins ORDER BY name`)
	if err != nil {
		return nil, wrapErr("origins", err)
	}
	defer rows.Close()
	var out []store.Origin
	for rows.Next() {
		var o store.Origin
		var created int64
		if err := rows.Scan(&o.Name, &o.SigningKey, &o.Country, &created); err != nil {
			return nil, wrapErr("origins", err)
		}
		o.Created = fromNanos(created)
		out = append(out, o)
	}
	return out, wrapErr("origins", rows.Err())
}

// DeleteOrigin removes an origin.
func (db *DB) DeleteOrigin(ctx context.Context, name string) error {
	res, err := db.w.ExecContext(ctx, `DELETE FROM origins WHERE name = ?`, name)
	return affected(res, err, "origin "+name)
}

// UpdatePeer replaces the peer's URL, fingerprint, signing key, token and
// country.
func (db *DB) UpdatePeer(ctx context.Context, p store.Peer) error {
	res, err := db.w.ExecContext(ctx, `UPDATE peers SET url = ?, cert_sha256 = ?, signing_key = ?, token = ?, country = ? WHERE name = ?`,
		p.URL, p.CertSHA256[:], nullBytes(p.SigningKey), p.Token, p.Country, p.Name)
	if err != nil {
		return fmt.Errorf("peer %s: %w", p.Name, keyErr(err))
	}
	return affected(res, nil, "peer "+p.Name)
}

// SetPeerInboundToken sets or, with nil, removes the token the peer must
// present.
func (db *DB) SetPeerInboundToken(ctx context.Context, name string, sum []byte) error {
	if err := checkTokenSum(sum); err != nil {
		return fmt.Errorf("sqlite: peer %s: %w", name, err)
	}
	res, err := db.w.ExecContext(ctx, `UPDATE peers SET inbound_token_sha256 = ? WHERE name = ?`, nullBytes(sum), name)
	return affected(res, err, "peer "+name)
}

// checkTokenSum refuses a token hash of any length but SHA-256's: no
// token could ever match it, and the peer would be locked out without a
// word as to why.
func checkTokenSum(sum []byte) error {
	if len(sum) != 0 && len(sum) != sha256.Size {
		return fmt.Errorf("inbound token hash has %d bytes, want %d", len(sum), sha256.Size)
	}
	return nil
}

// nullBytes stores an absent key as NULL rather than an empty blob, so
// "unknown" reads back as nil.
func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

const peerColumns = `name, url, cert_sha256, signing_key, token, created, last_contact, country, inbound_token_sha256`

func scanPeer(sc interface{ Scan(...any) error }) (store.Peer, error) {
	var (
		p                store.Peer
		cert             []byte
		created, contact int64
	)
	if err := sc.Scan(&p.Name, &p.URL, &cert, &p.SigningKey, &p.Token, &created, &contact, &p.Country, &p.InboundTokenSHA256); err != nil {
		return p, err
	}
	if len(cert) != len(p.CertSHA256) {
		return p, fmt.Errorf("peer %s: stored certificate fingerprint has %d bytes", p.Name, len(cert))
	}
	copy(p.CertSHA256[:], cert)
	if len(p.SigningKey) == 0 {
		p.SigningKey = nil
	}
	if len(p.InboundTokenSHA256) == 0 {
		p.InboundTokenSHA256 = nil
	}
	p.Created, p.LastContact = fromStored(created), fromStored(contact)
	return p, nil
}

// Peer finds a peer by name; store.ErrNotFound if absent.
func (db *DB) Peer(ctx context.Context, name string) (store.Peer, error) {
	p, err := scanPeer(db.r.QueryRowContext(ctx, `SELECT `+peerColumns+` FROM peers WHERE name = ?`, name))
	if err != nil {
		return store.Peer{}, fmt.Errorf("peer %s: %w", name, rowErr(err))
	}
	return p, nil
}

// ListPeers lists peers by name.
func (db *DB) ListPeers(ctx context.Context) ([]store.Peer, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+peerColumns+` FROM peers ORDER BY name`)
	if err != nil {
		return nil, wrapErr("peers", err)
	}
	defer rows.Close()
	var ps []store.Peer
	for rows.Next() {
		p, err := scanPeer(rows)
		if err != nil {
			return nil, wrapErr("peers", err)
		}
		ps = append(ps, p)
	}
	return ps, wrapErr("peers", rows.Err())
}

// DeletePeer removes a peer; its agreements go with it (ON DELETE CASCADE).
func (db *DB) DeletePeer(ctx context.Context, name string) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return wrapErr("peer", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `DELETE FROM peers WHERE name = ?`, name)
	if err := affected(res, err, "peer "+name); err != nil {
		return err
	}
	// Memberships name the peer by text, not by a foreign key (a member
	// is an organisation, a group or a peer), so they go here.
	if _, err := tx.ExecContext(ctx, `DELETE FROM group_members WHERE member = ?`, "peer:"+name); err != nil {
		return wrapErr("peer", err)
	}
	return wrapErr("peer", tx.Commit())
}

// SetPeerContact moves the peer's last contact forward to t.
func (db *DB) SetPeerContact(ctx context.Context, name string, t time.Time) error {
	res, err := db.w.ExecContext(ctx, `UPDATE peers SET last_contact = max(last_contact, ?) WHERE name = ?`, toNanos(t), name)
	return affected(res, err, "peer "+name)
}

// PutAgreement records an agreement version under the rules of
// store.Peers.PutAgreement.
func (db *DB) PutAgreement(ctx context.Context, a store.Agreement) (bool, error) {
	if a.Applied.IsZero() {
		a.Applied = db.now()
	}
	if a.Body == nil {
		a.Body = []byte{}
	}
	what := fmt.Sprintf("agreement with %s version %d", a.Peer, a.Version)
	// The write transaction is immediate, so the version read below is still
	// the latest when the insert lands.
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return false, wrapErr(what, err)
	}
	defer tx.Rollback()
	if err := tx.QueryRowContext(ctx, `SELECT 1 FROM peers WHERE name = ?`, a.Peer).Scan(new(int)); err != nil {
		return false, fmt.Errorf("peer %s: %w", a.Peer, rowErr(err))
	}
	var hash []byte
	err = tx.QueryRowContext(ctx, `SELECT hash FROM agreements WHERE peer = ? AND version = ?`, a.Peer, a.Version).Scan(&hash)
	switch {
	case err == nil && bytes.Equal(hash, a.Hash[:]):
		return false, nil
	case err == nil:
		return false, fmt.Errorf("%s was applied with other content: %w", what, store.ErrConflict)
	case !errors.Is(err, sql.ErrNoRows):
		return false, wrapErr(what, err)
	}
	var latest int64
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM agreements WHERE peer = ?`, a.Peer).Scan(&latest); err != nil {
		return false, wrapErr(what, err)
	}
	if a.Version < latest {
		return false, fmt.Errorf("%s: version %d is in force: %w", what, latest, store.ErrConflict)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO agreements (peer, version, hash, body, applied) VALUES (?, ?, ?, ?, ?)`,
		a.Peer, a.Version, a.Hash[:], a.Body, toNanos(a.Applied)); err != nil {
		return false, wrapErr(what, err)
	}
	if err := tx.Commit(); err != nil {
		return false, wrapErr(what, err)
	}
	return true, nil
}

const agreementColumns = `peer, version, hash, body, applied`

func scanAgreement(sc interface{ Scan(...any) error }) (store.Agreement, error) {
	var (
		a       store.Agreement
		hash    []byte
		applied int64
	)
	if err := sc.Scan(&a.Peer, &a.Version, &hash, &a.Body, &applied); err != nil {
		return a, err
	}
	copy(a.Hash[:], hash)
	a.Applied = fromStored(applied)
	return a, nil
}

// Agreement returns the version in force; store.ErrNotFound if none.
func (db *DB) Agreement(ctx context.Context, peer string) (store.Agreement, error) {
	a, err := scanAgreement(db.r.QueryRowContext(ctx,
		`SELECT `+agreementColumns+` FROM agreements WHERE peer = ? ORDER BY version DESC LIMIT 1`, peer))
	if err != nil {
		return store.Agreement{}, fmt.Errorf("agreement with %s: %w", peer, rowErr(err))
	}
	return a, nil
}

// AgreementHistory lists a peer's agreement versions, oldest first.
func (db *DB) AgreementHistory(ctx context.Context, peer string) ([]store.Agreement, error) {
	// One read transaction, so the peer's existence and its versions come
	// from the same snapshot.
	tx, err := db.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, wrapErr("agreements with "+peer, err)
	}
	defer tx.Rollback()
	if err := tx.QueryRowContext(ctx, `SELECT 1 FROM peers WHERE name = ?`, peer).Scan(new(int)); err != nil {
		return nil, fmt.Errorf("peer %s: %w", peer, rowErr(err))
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+agreementColumns+` FROM agreements WHERE peer = ? ORDER BY version`, peer)
	if err != nil {
		return nil, wrapErr("agreements with "+peer, err)
	}
	defer rows.Close()
	var as []store.Agreement
	for rows.Next() {
		a, err := scanAgreement(rows)
		if err != nil {
			return nil, wrapErr("agreements with "+peer, err)
		}
		as = append(as, a)
	}
	return as, wrapErr("agreements with "+peer, rows.Err())
}

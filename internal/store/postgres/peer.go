package postgres

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/setu-cti/setu/internal/store"
)

var (
	_ store.Peers   = (*DB)(nil)
	_ store.Origins = (*DB)(nil)
)

// NodeInfo returns the node's identity; store.ErrNotFound if never set.
func (db *DB) NodeInfo(ctx context.Context) (store.NodeInfo, error) {
	var n store.NodeInfo
	err := db.pool.QueryRow(ctx, `SELECT name, country, created, updated FROM node_info WHERE id = 1`).
		Scan(&n.Name, &n.Country, &n.Created, &n.Updated)
	if err != nil {
		return store.NodeInfo{}, fmt.Errorf("node identity: %w", rowErr(err))
	}
	n.Created, n.Updated = utc(n.Created), utc(n.Updated)
	return n, nil
}

// SetNodeInfo stores the identity the first time and renames the node
// afterwards; store.ErrConflict if another country is stored.
func (db *DB) SetNodeInfo(ctx context.Context, n store.NodeInfo) (store.NodeInfo, error) {
	if n.Name == "" || n.Country == "" {
		return store.NodeInfo{}, fmt.Errorf("postgres: node identity: name and country are required")
	}
	now := db.now()
	var out store.NodeInfo
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		// Instances initialising at once race to insert the one row; the
		// loser's insert does nothing and the row lock taken below makes it
		// see the winner's country.
		if _, err := tx.Exec(ctx, `INSERT INTO node_info (id, name, country, created, updated)
			VALUES (1, $1, $2, $3, $3) ON CONFLICT (id) DO NOTHING`, n.Name, n.Country, now); err != nil {
			return err
		}
		var name, country string
		if err := tx.QueryRow(ctx, `SELECT name, country FROM node_info WHERE id = 1 FOR UPDATE`).Scan(&name, &country); err != nil {
			return err
		}
		if country != n.Country {
			return fmt.Errorf("node country is %s, not %s: %w", country, n.Country, store.ErrConflict)
		}
		if name != n.Name {
			if _, err := tx.Exec(ctx, `UPDATE node_info SET name = $1, updated = $2 WHERE id = 1`, n.Name, now); err != nil {
				return err
			}
		}
		err := tx.QueryRow(ctx, `SELECT name, country, created, updated FROM node_info WHERE id = 1`).
			Scan(&out.Name, &out.Country, &out.Created, &out.Updated)
		out.Created, out.Updated = utc(out.Created), utc(out.Updated)
		return err
	})
	if err != nil {
		return store.NodeInfo{}, fmt.Errorf("postgres: node identity: %w", err)
	}
	return out, nil
}

// CreatePeer stores p; store.ErrExists if its name or certificate
// fingerprint is taken.
func (db *DB) CreatePeer(ctx context.Context, p store.Peer) error {
	if p.Name == "" {
		return fmt.Errorf("postgres: peer: a name is required")
	}
	if p.Created.IsZero() {
		p.Created = db.now()
	}
	if err := checkTokenSum(p.InboundTokenSHA256); err != nil {
		return fmt.Errorf("postgres: peer %s: %w", p.Name, err)
	}
	// The peer supersedes an origin of its name, in the same statement.
	_, err := db.pool.Exec(ctx, `WITH o AS (DELETE FROM origins WHERE name = $1)
		INSERT INTO peers (name, url, cert_sha256, signing_key, token, created, last_contact, country, inbound_token_sha256)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		p.Name, p.URL, p.CertSHA256[:], nullBytes(p.SigningKey), p.Token, p.Created, nullTime(p.LastContact), p.Country,
		nullBytes(p.InboundTokenSHA256))
	if err != nil {
		return fmt.Errorf("peer %s: %w", p.Name, keyErr(err))
	}
	return nil
}

// CreateOrigin stores an origin unless a peer or origin has its name.
func (db *DB) CreateOrigin(ctx context.Context, o store.Origin) error {
	if o.Name == "" {
		return fmt.Errorf("postgres: origin: a name is required")
	}
	if o.Created.IsZero() {
		o.Created = db.now()
	}
	tag, err := db.pool.Exec(ctx, `INSERT INTO origins (name, signing_key, country, created)
		SELECT $1, $2, $3, $4 WHERE NOT EXISTS (SELECT 1 FROM peers WHERE name = $1)`,
		o.Name, o.SigningKey, o.Country, o.Created)
	if err != nil {
		return fmt.Errorf("origin %s: %w", o.Name, keyErr(err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("origin %s: a peer has the name: %w", o.Name, store.ErrExists)
	}
	return nil
}

// Origin finds an origin by name.
func (db *DB) Origin(ctx context.Context, name string) (store.Origin, error) {
	o := store.Origin{Name: name}
	err := db.pool.QueryRow(ctx, `SELECT signing_key, country, created FROM origins WHERE name = $1`, name).
		Scan(&o.SigningKey, &o.Country, &o.Created)
	if err != nil {
		return store.Origin{}, fmt.Errorf("origin %s: %w", name, rowErr(err))
	}
	o.Created = o.Created.UTC()
	return o, nil
}

// ListOrigins lists origins by name.
func (db *DB) ListOrigins(ctx context.Context) ([]store.Origin, error) {
	rows, err := db.pool.Query(ctx, `SELECT name, signing_key, country, created FROM origins ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("postgres: origins: %w", err)
	}
	defer rows.Close()
	var out []store.Origin
	for rows.Next() {
		var o store.Origin
		if err := rows.Scan(&o.Name, &o.SigningKey, &o.Country, &o.Created); err != nil {
			return nil, fmt.Errorf("postgres: origins: %w", err)
		}
		o.Created = o.Created.UTC()
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: origins: %w", err)
	}
	return out, nil
}

// DeleteOrigin removes an origin.
func (db *DB) DeleteOrigin(ctx context.Context, name string) error {
	tag, err := db.pool.Exec(ctx, `DELETE FROM origins WHERE name = $1`, name)
	if err != nil {
		return fmt.Errorf("postgres: origin %s: %w", name, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("origin %s: %w", name, store.ErrNotFound)
	}
	return nil
}

// UpdatePeer replaces the peer's URL, fingerprint, signing key, token and
// country.
func (db *DB) UpdatePeer(ctx context.Context, p store.Peer) error {
	tag, err := db.pool.Exec(ctx, `UPDATE peers SET url = $1, cert_sha256 = $2, signing_key = $3, token = $4, country = $5 WHERE name = $6`,
		p.URL, p.CertSHA256[:], nullBytes(p.SigningKey), p.Token, p.Country, p.Name)
	if err != nil {
		return fmt.Errorf("peer %s: %w", p.Name, keyErr(err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("peer %s: %w", p.Name, store.ErrNotFound)
	}
	return nil
}

// SetPeerInboundToken sets or, with nil, removes the token the peer must
// present.
func (db *DB) SetPeerInboundToken(ctx context.Context, name string, sum []byte) error {
	if err := checkTokenSum(sum); err != nil {
		return fmt.Errorf("postgres: peer %s: %w", name, err)
	}
	tag, err := db.pool.Exec(ctx, `UPDATE peers SET inbound_token_sha256 = $1 WHERE name = $2`, nullBytes(sum), name)
	if err != nil {
		return fmt.Errorf("postgres: peer %s: %w", name, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("peer %s: %w", name, store.ErrNotFound)
	}
	return nil
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

// nullBytes stores an absent key as NULL, so "unknown" reads back as nil.
func nullBytes(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

const peerColumns = `name, url, cert_sha256, signing_key, token, created, last_contact, country, inbound_token_sha256`

func scanPeer(row pgx.Row) (store.Peer, error) {
	var (
		p       store.Peer
		cert    []byte
		contact *time.Time
	)
	if err := row.Scan(&p.Name, &p.URL, &cert, &p.SigningKey, &p.Token, &p.Created, &contact, &p.Country, &p.InboundTokenSHA256); err != nil {
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
	p.Created = utc(p.Created)
	if contact != nil {
		p.LastContact = utc(*contact)
	}
	return p, nil
}

// Peer finds a peer by name; store.ErrNotFound if absent.
func (db *DB) Peer(ctx context.Context, name string) (store.Peer, error) {
	p, err := scanPeer(db.pool.QueryRow(ctx, `SELECT `+peerColumns+` FROM peers WHERE name = $1`, name))
	if err != nil {
		return store.Peer{}, fmt.Errorf("peer %s: %w", name, rowErr(err))
	}
	return p, nil
}

// ListPeers lists peers by name.
func (db *DB) ListPeers(ctx context.Context) ([]store.Peer, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+peerColumns+` FROM peers ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("postgres: peers: %w", err)
	}
	defer rows.Close()
	var ps []store.Peer
	for rows.Next() {
		p, err := scanPeer(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres: peers: %w", err)
		}
		ps = append(ps, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: peers: %w", err)
	}
	return ps, nil
}

// DeletePeer removes a peer; its agreements go with it (ON DELETE CASCADE).
func (db *DB) DeletePeer(ctx context.Context, name string) error {
	// Memberships name the peer by text, not by a foreign key (a member
	// is an organisation, a group or a peer), so they go in the same
	// statement.
	var n int
	err := db.pool.QueryRow(ctx, `
		WITH p AS (DELETE FROM peers WHERE name = $1 RETURNING name),
		     m AS (DELETE FROM group_members WHERE member = 'peer:' || $1 AND EXISTS (SELECT 1 FROM p))
		SELECT count(*) FROM p`, name).Scan(&n)
	if err != nil {
		return fmt.Errorf("postgres: peer %s: %w", name, err)
	}
	if n == 0 {
		return fmt.Errorf("peer %s: %w", name, store.ErrNotFound)
	}
	return nil
}

// SetPeerContact moves the peer's last contact forward to t.
func (db *DB) SetPeerContact(ctx context.Context, name string, t time.Time) error {
	tag, err := db.pool.Exec(ctx, `UPDATE peers SET last_contact = greatest(last_contact, $1) WHERE name = $2`, t, name)
	if err != nil {
		return fmt.Errorf("postgres: peer %s: %w", name, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("peer %s: %w", name, store.ErrNotFound)
	}
	return nil
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
	changed := false
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		// Locking the peer row serialises applies for one peer, so the
		// version in force read below is still in force at the insert, and
		// the peer cannot be deleted in between.
		if err := tx.QueryRow(ctx, `SELECT 1 FROM peers WHERE name = $1 FOR UPDATE`, a.Peer).Scan(new(int)); err != nil {
			return fmt.Errorf("peer %s: %w", a.Peer, rowErr(err))
		}
		var hash []byte
		err := tx.QueryRow(ctx, `SELECT hash FROM agreements WHERE peer = $1 AND version = $2`, a.Peer, a.Version).Scan(&hash)
		switch {
		case err == nil && bytes.Equal(hash, a.Hash[:]):
			return nil
		case err == nil:
			return fmt.Errorf("%s was applied with other content: %w", what, store.ErrConflict)
		case !errors.Is(err, pgx.ErrNoRows):
			return err
		}
		var latest int64
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM agreements WHERE peer = $1`, a.Peer).Scan(&latest); err != nil {
			return err
		}
		if a.Version < latest {
			return fmt.Errorf("%s: version %d is in force: %w", what, latest, store.ErrConflict)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO agreements (peer, version, hash, body, applied) VALUES ($1, $2, $3, $4, $5)`,
			a.Peer, a.Version, a.Hash[:], a.Body, a.Applied); err != nil {
			return err
		}
		changed = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("postgres: %w", err)
	}
	return changed, nil
}

const agreementColumns = `peer, version, hash, body, applied`

func scanAgreement(row pgx.Row) (store.Agreement, error) {
	var (
		a    store.Agreement
		hash []byte
	)
	if err := row.Scan(&a.Peer, &a.Version, &hash, &a.Body, &a.Applied); err != nil {
		return a, err
	}
	copy(a.Hash[:], hash)
	a.Applied = utc(a.Applied)
	return a, nil
}

// Agreement returns the version in force; store.ErrNotFound if none.
func (db *DB) Agreement(ctx context.Context, peer string) (store.Agreement, error) {
	a, err := scanAgreement(db.pool.QueryRow(ctx,
		`SELECT `+agreementColumns+` FROM agreements WHERE peer = $1 ORDER BY version DESC LIMIT 1`, peer))
	if err != nil {
		return store.Agreement{}, fmt.Errorf("agreement with %s: %w", peer, rowErr(err))
	}
	return a, nil
}

// AgreementHistory lists a peer's agreement versions, oldest first. The
// peer row is read with its versions in one statement, so an absent peer is
// told apart from one without agreements from one snapshot.
func (db *DB) AgreementHistory(ctx context.Context, peer string) ([]store.Agreement, error) {
	rows, err := db.pool.Query(ctx, `
		SELECT p.name, a.version, a.hash, a.body, a.applied
		FROM peers p LEFT JOIN agreements a ON a.peer = p.name
		WHERE p.name = $1 ORDER BY a.version`, peer)
	if err != nil {
		return nil, fmt.Errorf("postgres: agreements with %s: %w", peer, err)
	}
	defer rows.Close()
	found := false
	var as []store.Agreement
	for rows.Next() {
		found = true
		var (
			a       store.Agreement
			version *int64
			hash    []byte
			applied *time.Time
		)
		if err := rows.Scan(&a.Peer, &version, &hash, &a.Body, &applied); err != nil {
			return nil, fmt.Errorf("postgres: agreements with %s: %w", peer, err)
		}
		if version == nil {
			continue // the peer has no agreement yet
		}
		a.Version = *version
		copy(a.Hash[:], hash)
		a.Applied = utc(*applied)
		as = append(as, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: agreements with %s: %w", peer, err)
	}
	if !found {
		return nil, fmt.Errorf("peer %s: %w", peer, store.ErrNotFound)
	}
	return as, nil
}

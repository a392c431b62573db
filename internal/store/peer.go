package store

import (
	"context"
	"time"
)

// NodeInfo is this node's federation identity as its operator set it: the
// name partner nodes know it by and its country. The keys and certificate
// that go with it are node secrets (Secrets).
type NodeInfo struct {
	Name    string
	Country string    // ISO 3166-1 alpha-2; fixed once set
	Created time.Time // when the identity was first set
	Updated time.Time // when the name last changed (Created if never)
}

// Peer is a partner node this node federates with.
type Peer struct {
	Name string // the name the peer node goes by, as in its provenance
	URL  string // its TAXII API root or discovery URL (HTTPS)
	// CertSHA256 is the SHA-256 of the DER of the certificate the peer
	// presents in mutual TLS, pinned out of band. No two peers share one, so
	// a client certificate names at most one peer.
	CertSHA256 [32]byte
	// SigningKey is the peer's Ed25519 public key (32 bytes), used to verify
	// its provenance and signed agreements; nil while unknown.
	SigningKey []byte
	// Token is the credential this node presents to the peer's TAXII server;
	// empty when the peer needs none beyond the client certificate. It is
	// kept here, like other node secrets, so every instance can use it.
	Token string
	// InboundTokenSHA256 is the SHA-256 (32 bytes) of the token the peer
	// must present as "Authorization: Bearer" beside its certificate when
	// it calls this node; nil when the certificate alone authenticates it.
	// The token itself is never stored: it is shown once, for the operator
	// to hand to the partner out of band.
	InboundTokenSHA256 []byte
	// Country is the peer node's country (ISO 3166-1 alpha-2) as this
	// node's operator declared it; empty when not declared, and then the
	// peer counts as abroad for every residency marking.
	Country string
	Created time.Time
	// LastContact is when a sync with the peer last succeeded; zero if
	// never. Per-collection sync cursors and lag are not part of the record:
	// they belong with the sync state the sync engine keeps per (peer,
	// collection).
	LastContact time.Time
}

// Origin is a node whose provenance signatures this node verifies on the
// objects its peers relay from it, without ever connecting to it: a
// partner's partner, whose key the operator obtained out of band.
type Origin struct {
	Name       string // the name the node goes by, as in its provenance
	SigningKey []byte // its Ed25519 public key (32 bytes)
	Country    string // ISO 3166-1 alpha-2, as declared; empty when not
	Created    time.Time
}

// Origins stores the origins this node knows. A peer supersedes an origin
// of the same name: Peers.CreatePeer removes it, and CreateOrigin refuses
// the name of a peer.
type Origins interface {
	// CreateOrigin stores a new origin; ErrExists if an origin or a peer
	// has the name. A zero Created is set to the store's clock.
	CreateOrigin(ctx context.Context, o Origin) error
	// Origin finds an origin by name; ErrNotFound if absent.
	Origin(ctx context.Context, name string) (Origin, error)
	// ListOrigins lists origins by name.
	ListOrigins(ctx context.Context) ([]Origin, error)
	// DeleteOrigin removes an origin; ErrNotFound if absent.
	DeleteOrigin(ctx context.Context, name string) error
}

// Agreement is one applied version of the sharing agreement with a peer.
// The store keeps every version applied; the highest is the one in force.
type Agreement struct {
	Peer    string
	Version int64
	Hash    [32]byte // SHA-256 of Body
	Body    []byte   // the agreement's canonical JSON (RFC 8785)
	Applied time.Time
}

// Peers stores this node's federation identity, its partner nodes and the
// sharing agreements with them.
type Peers interface {
	// NodeInfo returns the node's identity; ErrNotFound if never set.
	NodeInfo(ctx context.Context) (NodeInfo, error)
	// SetNodeInfo sets the node's identity the first time, or renames the
	// node, and returns what is then stored. ErrConflict if a different
	// country is already stored: a node's country never changes. Created
	// and Updated are set by the store.
	SetNodeInfo(ctx context.Context, n NodeInfo) (NodeInfo, error)

	// CreatePeer stores a new peer; ErrExists if the name or the
	// certificate fingerprint is another peer's. An origin of the same
	// name is removed with it: the peer supersedes it. A zero Created is
	// set to the store's clock.
	CreatePeer(ctx context.Context, p Peer) error
	// UpdatePeer replaces the URL, certificate fingerprint, signing key,
	// token and country of the peer named p.Name; Created, LastContact and
	// InboundTokenSHA256 are kept. ErrNotFound if absent, ErrExists if the
	// fingerprint is another peer's.
	UpdatePeer(ctx context.Context, p Peer) error
	// SetPeerInboundToken sets the SHA-256 of the token the peer must
	// present from now on (32 bytes), or with nil lets its certificate
	// alone authenticate it again. It is apart from UpdatePeer so that an
	// update made from a record read earlier can neither drop a
	// requirement nor bring back a removed one. ErrNotFound if the peer is
	// absent.
	SetPeerInboundToken(ctx context.Context, name string, sum []byte) error
	// Peer finds a peer by name; ErrNotFound if absent.
	Peer(ctx context.Context, name string) (Peer, error)
	// ListPeers lists peers by name.
	ListPeers(ctx context.Context) ([]Peer, error)
	// DeletePeer removes a peer, every version of its agreement and its
	// memberships of sharing groups; ErrNotFound if absent.
	DeletePeer(ctx context.Context, name string) error
	// SetPeerContact records a successful contact with the peer at t; a t
	// before the recorded one leaves it unchanged, so instances reporting
	// out of order never move it back. ErrNotFound if the peer is absent.
	SetPeerContact(ctx context.Context, name string, t time.Time) error

	// PutAgreement records an applied version of a peer's agreement and
	// reports whether anything changed. A version above every recorded one
	// is added and is then in force. A version already recorded with the
	// same Hash changes nothing (applying a file twice is harmless); with a
	// different Hash it is ErrConflict, as is a version below the one in
	// force that was never recorded. ErrNotFound if the peer is absent. A
	// zero Applied is set to the store's clock.
	PutAgreement(ctx context.Context, a Agreement) (changed bool, err error)
	// Agreement returns the version in force for a peer; ErrNotFound if the
	// peer has none.
	Agreement(ctx context.Context, peer string) (Agreement, error)
	// AgreementHistory lists every recorded version for a peer, oldest
	// first; ErrNotFound if the peer is absent.
	AgreementHistory(ctx context.Context, peer string) ([]Agreement, error)
}

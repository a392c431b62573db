package federation

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/setu-cti/setu/internal/store"
)

// signingKeySecret names the node's Ed25519 private key (its 32-byte seed)
// among the node secrets.
const signingKeySecret = "federation-signing-key"

// ErrNoIdentity: the node's name and country were never set.
var ErrNoIdentity = errors.New("the node has no federation identity yet; run `setu node init --name NAME --country CC`")

// IdentityStore is what the node identity needs from the store.
type IdentityStore interface {
	store.Secrets
	NodeInfo(ctx context.Context) (store.NodeInfo, error)
	SetNodeInfo(ctx context.Context, n store.NodeInfo) (store.NodeInfo, error)
}

// Node is this node's federation identity. Its signing key signs
// provenance and exported agreements; its certificate authenticates it in
// mutual TLS, as a server to peers that pull and as a client when it pulls
// or pushes.
//
// The certificate is the node certificate the HTTP server keeps in the
// store (ECDSA P-256, ten years, extended key usages serverAuth and
// clientAuth): one certificate, one fingerprint for partners to pin,
// whichever direction a connection goes. The caller loads it and hands it
// to Init or Load, which check it can serve both roles.
type Node struct {
	Name    string
	Country string

	key  ed25519.PrivateKey
	cert tls.Certificate
	leaf *x509.Certificate
}

// Init sets the node's name and country, or renames it, and makes sure its
// signing key exists. Changing the country of a node that has one is
// refused (store.ErrConflict): objects it released and agreements it signed
// are bound to it. random is the source for a new signing key.
func Init(ctx context.Context, st IdentityStore, name, country string, cert tls.Certificate, random io.Reader) (*Node, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	if err := ValidateCountry(country); err != nil {
		return nil, err
	}
	if cur, err := st.NodeInfo(ctx); err == nil && cur.Country != country {
		return nil, &countryError{have: cur.Country, want: country}
	}
	if _, err := st.SetNodeInfo(ctx, store.NodeInfo{Name: name, Country: country}); err != nil {
		if errors.Is(err, store.ErrConflict) {
			// Another instance set the identity in between.
			if cur, err2 := st.NodeInfo(ctx); err2 == nil {
				return nil, &countryError{have: cur.Country, want: country}
			}
		}
		return nil, err
	}
	return Load(ctx, st, cert, random)
}

// countryError refuses a change of country; it is a store.ErrConflict.
type countryError struct{ have, want string }

func (e *countryError) Error() string {
	return fmt.Sprintf("this node's country is %s and cannot change to %s: what it released and signed is bound to it", e.have, e.want)
}

func (e *countryError) Unwrap() error { return store.ErrConflict }

// Load returns the node's identity: ErrNoIdentity if Init never ran. The
// signing key is created on first use with random; concurrent first uses by
// several instances all end up with the one key the store kept.
func Load(ctx context.Context, st IdentityStore, cert tls.Certificate, random io.Reader) (*Node, error) {
	info, err := st.NodeInfo(ctx)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNoIdentity
	}
	if err != nil {
		return nil, err
	}
	leaf, err := CheckCertificate(cert)
	if err != nil {
		return nil, err
	}
	seed, err := st.Secret(ctx, signingKeySecret, func() ([]byte, error) {
		seed := make([]byte, ed25519.SeedSize)
		if _, err := io.ReadFull(random, seed); err != nil {
			return nil, fmt.Errorf("generating the signing key: %w", err)
		}
		return seed, nil
	})
	if err != nil {
		return nil, err
	}
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("the stored signing key has %d bytes, want %d", len(seed), ed25519.SeedSize)
	}
	return &Node{Name: info.Name, Country: info.Country, key: ed25519.NewKeyFromSeed(seed), cert: cert, leaf: leaf}, nil
}

// CheckCertificate checks that a certificate can identify a node in mutual
// TLS: its leaf parses, has an ECDSA P-256 or Ed25519 key, and lists both
// serverAuth and clientAuth, since peers both connect to the node and
// accept connections from it. It returns the parsed leaf.
func CheckCertificate(cert tls.Certificate) (*x509.Certificate, error) {
	if len(cert.Certificate) == 0 {
		return nil, errors.New("node certificate: empty chain")
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("node certificate: %w", err)
	}
	switch k := leaf.PublicKey.(type) {
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("node certificate: ECDSA key on %s; federation uses P-256", k.Curve.Params().Name)
		}
	case ed25519.PublicKey:
	default:
		return nil, fmt.Errorf("node certificate: %T key; federation uses ECDSA P-256 or Ed25519", leaf.PublicKey)
	}
	for _, u := range []struct {
		eku  x509.ExtKeyUsage
		name string
	}{{x509.ExtKeyUsageServerAuth, "serverAuth"}, {x509.ExtKeyUsageClientAuth, "clientAuth"}} {
		if !slices.Contains(leaf.ExtKeyUsage, u.eku) {
			return nil, fmt.Errorf("node certificate: extended key usage %s is missing; a node certificate needs serverAuth and clientAuth", u.name)
		}
	}
	return leaf, nil
}

// PublicKey is the node's Ed25519 public key, which partners use to verify
// its provenance and signed agreements.
func (n *Node) PublicKey() ed25519.PublicKey { return n.key.Public().(ed25519.PublicKey) }

// KeyFingerprint is the SHA-256 of the public key, to compare out of band.
func (n *Node) KeyFingerprint() Fingerprint { return FingerprintOf(n.PublicKey()) }

// Certificate is the node's certificate and private key, for tls.Config.
func (n *Node) Certificate() tls.Certificate { return n.cert }

// Leaf is the node's parsed certificate.
func (n *Node) Leaf() *x509.Certificate { return n.leaf }

// CertFingerprint is the SHA-256 of the certificate's DER: what partners
// pin with `setu peer add --fingerprint`.
func (n *Node) CertFingerprint() Fingerprint { return FingerprintOf(n.leaf.Raw) }

// CertificatePEM is the certificate (without its key), to hand to partners.
func (n *Node) CertificatePEM() []byte {
	var b bytes.Buffer
	pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: n.leaf.Raw})
	return b.Bytes()
}

// Signer is the node's name and signing key, for provenance and agreements.
func (n *Node) Signer() Signer { return Signer{Name: n.Name, Key: n.key} }

// Signer signs as a node.
type Signer struct {
	Name string
	Key  ed25519.PrivateKey
}

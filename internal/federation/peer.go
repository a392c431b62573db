package federation

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/setu-cti/setu/internal/store"
)

// PeerSpec is what an operator gives to add a peer.
type PeerSpec struct {
	Name string
	URL  string
	// Cert is the peer's certificate (PEM or DER); Fingerprint, the SHA-256
	// of its DER as the partner read it out. Exactly one is given.
	Cert        []byte
	Fingerprint string
	// SigningKey is the peer's Ed25519 public key in base64; optional (it
	// can be learned later from an agreement the peer signed).
	SigningKey string
	// Token is the credential to present to the peer's TAXII server;
	// optional.
	Token string
	// Country is the peer node's country (ISO 3166-1 alpha-2); optional.
	// Objects marked resident in a country reach partner nodes declared
	// to be in it, and no other.
	Country string
}

// SpecOf is the spec NewPeer turns into p (its certificate by
// fingerprint), from which an operator's update starts.
func SpecOf(p store.Peer) PeerSpec {
	s := PeerSpec{Name: p.Name, URL: p.URL, Fingerprint: Fingerprint(p.CertSHA256).String(), Token: p.Token, Country: p.Country}
	if len(p.SigningKey) > 0 {
		s.SigningKey = EncodeSigningKey(p.SigningKey)
	}
	return s
}

// NewPeer validates spec and returns the record to store. self is this
// node's name, which a peer may not share: provenance paths name nodes, and
// a peer under this node's name would turn every loop check around.
func NewPeer(spec PeerSpec, self string, now time.Time) (store.Peer, error) {
	var p store.Peer
	if err := ValidateName(spec.Name); err != nil {
		return p, fmt.Errorf("peer: %w", err)
	}
	if self != "" && spec.Name == self {
		return p, fmt.Errorf("peer %s: that is this node's own name", spec.Name)
	}
	u, err := ParseURL(spec.URL)
	if err != nil {
		return p, fmt.Errorf("peer %s: %w", spec.Name, err)
	}
	var fp Fingerprint
	switch {
	case len(spec.Cert) > 0 && spec.Fingerprint != "":
		return p, fmt.Errorf("peer %s: give the certificate or its fingerprint, not both", spec.Name)
	case len(spec.Cert) > 0:
		if fp, err = CertFingerprint(spec.Cert); err != nil {
			return p, fmt.Errorf("peer %s: %w", spec.Name, err)
		}
	case spec.Fingerprint != "":
		if fp, err = ParseFingerprint(spec.Fingerprint); err != nil {
			return p, fmt.Errorf("peer %s: %w", spec.Name, err)
		}
	default:
		return p, fmt.Errorf("peer %s: its certificate or the SHA-256 fingerprint of it is required, to pin the peer in mutual TLS", spec.Name)
	}
	var key ed25519.PublicKey
	if spec.SigningKey != "" {
		if key, err = ParseSigningKey(spec.SigningKey); err != nil {
			return p, fmt.Errorf("peer %s: %w", spec.Name, err)
		}
	}
	tok, err := ParseToken(spec.Token)
	if err != nil {
		return p, fmt.Errorf("peer %s: %w", spec.Name, err)
	}
	if spec.Country != "" {
		if err := ValidateCountry(spec.Country); err != nil {
			return p, fmt.Errorf("peer %s: %w", spec.Name, err)
		}
	}
	return store.Peer{Name: spec.Name, URL: u, CertSHA256: fp, SigningKey: key, Token: tok, Country: spec.Country, Created: now.UTC()}, nil
}

// ParseURL checks a peer's URL: absolute HTTPS with a host, no user
// information (credentials go in the token) and no fragment. Federation
// traffic is always over mutual TLS, so plain HTTP is refused.
func ParseURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("URL %q: %v", raw, err)
	}
	switch {
	case u.Scheme != "https":
		return "", fmt.Errorf("URL %q: federation uses HTTPS only (mutual TLS)", raw)
	case u.Host == "" || u.Hostname() == "":
		return "", fmt.Errorf("URL %q: no host", raw)
	case u.User != nil:
		return "", fmt.Errorf("URL %q: credentials do not go in the URL; use a token file", raw)
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return "", fmt.Errorf("URL %q: a fragment means nothing to a server", raw)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return "", fmt.Errorf("URL %q: port %q is out of range", raw, p)
		}
	}
	return u.String(), nil
}

// CertFingerprint is the SHA-256 of a certificate's DER, read from PEM (the
// first CERTIFICATE block) or from DER.
func CertFingerprint(b []byte) (Fingerprint, error) {
	der := b
	if blk, _ := pem.Decode(b); blk != nil {
		if blk.Type != "CERTIFICATE" {
			return Fingerprint{}, fmt.Errorf("certificate: PEM block is %q, want CERTIFICATE", blk.Type)
		}
		der = blk.Bytes
	} else if strings.Contains(string(b), "-----BEGIN") {
		return Fingerprint{}, errors.New("certificate: malformed PEM")
	}
	if _, err := x509.ParseCertificate(der); err != nil {
		return Fingerprint{}, fmt.Errorf("certificate: %w", err)
	}
	return FingerprintOf(der), nil
}

// ParseSigningKey reads an Ed25519 public key in base64 (standard or URL
// alphabet, padded or not).
func ParseSigningKey(s string) (ed25519.PublicKey, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		b, err := enc.DecodeString(s)
		if err != nil {
			continue
		}
		if len(b) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("signing key: %d bytes, an Ed25519 public key has %d", len(b), ed25519.PublicKeySize)
		}
		return ed25519.PublicKey(b), nil
	}
	return nil, fmt.Errorf("signing key %q is not base64", s)
}

// EncodeSigningKey is the base64 form ParseSigningKey reads and `setu node
// show` prints.
func EncodeSigningKey(k ed25519.PublicKey) string { return base64.StdEncoding.EncodeToString(k) }

// ParseToken reads a token as it comes from a file: surrounding white space
// (a final newline) is dropped; what remains must be one line of printable
// ASCII, as it goes into an HTTP header.
func ParseToken(s string) (string, error) {
	s = strings.TrimSpace(s)
	if len(s) > 4096 {
		return "", errors.New("token: longer than 4096 bytes")
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c > '~' {
			return "", errors.New("token: only printable ASCII without spaces may go in an HTTP header")
		}
	}
	return s, nil
}

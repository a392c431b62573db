// Package federation holds what sovereign Setu nodes need to share with each
// other under sharing agreements: the node's own identity (node.go), its
// partner nodes (peer.go), the agreements that say what may cross to each
// (agreement.go), and the provenance that travels with every object a node
// releases (provenance.go). The sync engine that pulls and pushes over TAXII
// 2.1 is built on these.
//
// Contracts:
//
//   - A node's identity is a name, an ISO 3166-1 alpha-2 country, an Ed25519
//     signing key and an X.509 certificate for mutual TLS. The key and the
//     certificate are node secrets created once in the store, so every
//     instance sharing the database presents the same identity; the country
//     never changes once set.
//   - A peer is pinned by the SHA-256 of its certificate (DER), exchanged out
//     of band, and optionally known by its Ed25519 public key.
//   - An agreement only withholds: Agreement.Releases answers whether one
//     object version may leave to the peer, after the policy gate has
//     decided as that peer, and never alters an object. TLP:RED never
//     leaves a node, whatever an agreement says.
//   - Provenance is carried beside STIX objects, never inside them, so plain
//     STIX consumers get valid, unchanged objects.
//
// Everything here is pure apart from Init and Load, which read and write the
// store; values are safe for concurrent use once built unless documented
// otherwise. Time and randomness are passed in.
package federation

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Fingerprint is a SHA-256 digest shown to people: of a certificate's DER or
// of an Ed25519 public key.
type Fingerprint [32]byte

// String formats the digest as colon-separated upper-case hex pairs, the
// form browsers and openssl print.
func (f Fingerprint) String() string {
	h := strings.ToUpper(hex.EncodeToString(f[:]))
	var b strings.Builder
	b.Grow(len(h) + len(h)/2)
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(h[i : i+2])
	}
	return b.String()
}

// FingerprintOf is the SHA-256 of b.
func FingerprintOf(b []byte) Fingerprint { return sha256.Sum256(b) }

// ErrFingerprint: a fingerprint is not a SHA-256 digest in hex.
var ErrFingerprint = errors.New("a SHA-256 fingerprint is 64 hex digits, optionally in colon-separated pairs")

// ParseFingerprint reads a SHA-256 fingerprint as people copy it: 64 hex
// digits in either case, either plain or in colon-separated pairs, with an
// optional "sha256:" prefix, or the whole line openssl prints
// ("sha256 Fingerprint=AB:CD:...").
func ParseFingerprint(s string) (Fingerprint, error) {
	var f Fingerprint
	t := strings.TrimSpace(s)
	if p, rest, ok := strings.Cut(t, "="); ok && strings.HasPrefix(strings.ToLower(p), "sha256") {
		t = rest
	}
	if p, rest, ok := strings.Cut(t, ":"); ok && strings.EqualFold(p, "sha256") {
		t = rest
	}
	if strings.Contains(t, ":") {
		parts := strings.Split(t, ":")
		for _, p := range parts {
			if len(p) != 2 {
				return f, fmt.Errorf("fingerprint %q: %w", s, ErrFingerprint)
			}
		}
		t = strings.Join(parts, "")
	}
	if len(t) != 64 {
		return f, fmt.Errorf("fingerprint %q: %w", s, ErrFingerprint)
	}
	if _, err := hex.Decode(f[:], []byte(t)); err != nil {
		return f, fmt.Errorf("fingerprint %q: %w", s, ErrFingerprint)
	}
	return f, nil
}

// nameRE is the charset of node names: they appear in provenance paths,
// audience keys ("peer:NAME"), file names and command lines, so they stay
// plain ASCII without separators or spaces.
var nameRE = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,62}[A-Za-z0-9])?$`)

// ValidateName checks a node or peer name: 1 to 64 ASCII letters, digits,
// '.', '_' and '-', starting and ending with a letter or digit.
func ValidateName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("node name %q: use 1 to 64 letters, digits, '.', '_' or '-', starting and ending with a letter or digit (e.g. IN-CERT)", name)
	}
	return nil
}

var countryRE = regexp.MustCompile(`^[A-Z]{2}$`)

// ValidateCountry checks an ISO 3166-1 alpha-2 code in upper case.
func ValidateCountry(cc string) error {
	if !countryRE.MatchString(cc) {
		return fmt.Errorf("country %q is not an ISO 3166-1 alpha-2 code in upper case (e.g. IN, JP)", cc)
	}
	return nil
}

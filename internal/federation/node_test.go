package federation_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/setu-cti/setu/internal/federation"
	"github.com/setu-cti/setu/internal/httpserver"
	"github.com/setu-cti/setu/internal/store"
	"github.com/setu-cti/setu/internal/store/sqlite"
)

var (
	ctx = context.Background()
	t0  = time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC)
)

// seed is a deterministic source of randomness for keys.
func seed(b byte) *bytes.Reader { return bytes.NewReader(bytes.Repeat([]byte{b}, 64)) }

// makeCert returns a self-signed certificate for key with the given
// extended key usages.
func makeCert(t testing.TB, key crypto.Signer, ekus ...x509.ExtKeyUsage) tls.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "test node"},
		NotBefore:    t0.Add(-time.Hour),
		NotAfter:     t0.AddDate(1, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  ekus,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

var bothEKUs = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}

func p256(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func openStore(t *testing.T, path string) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(ctx, path, store.Options{Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestCheckCertificate(t *testing.T) {
	_, edKey, _ := ed25519.GenerateKey(seed(1))
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	for _, tt := range []struct {
		name    string
		cert    tls.Certificate
		wantErr string
	}{
		{"ECDSA P-256 with both usages", makeCert(t, p256(t), bothEKUs...), ""},
		{"Ed25519 with both usages", makeCert(t, edKey, bothEKUs...), ""},
		{"server only", makeCert(t, p256(t), x509.ExtKeyUsageServerAuth), "clientAuth"},
		{"client only", makeCert(t, p256(t), x509.ExtKeyUsageClientAuth), "serverAuth"},
		{"no extended key usage", makeCert(t, p256(t)), "serverAuth"},
		{"P-384", makeCert(t, p384, bothEKUs...), "P-384"},
		{"RSA", makeCert(t, rsaKey, bothEKUs...), "rsa"},
		{"empty", tls.Certificate{}, "empty chain"},
		{"garbage", tls.Certificate{Certificate: [][]byte{[]byte("nope")}}, "node certificate"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := federation.CheckCertificate(tt.cert)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("CheckCertificate = %v, want an error mentioning %q", err, tt.wantErr)
			}
		})
	}
}

// TestStoreCertificateIsNodeCertificate checks the choice the node identity
// rests on: the certificate the HTTP server creates in the store serves
// mutual TLS in both directions.
func TestStoreCertificateIsNodeCertificate(t *testing.T) {
	db := openStore(t, filepath.Join(t.TempDir(), "setu.db"))
	cert, fp, err := httpserver.NodeCertificate(ctx, db, "", "", t0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.SetNodeInfo(ctx, store.NodeInfo{Name: "IN-CERT", Country: "IN"}); err != nil {
		t.Fatal(err)
	}
	n, err := federation.Load(ctx, db, cert, seed(1))
	if err != nil {
		t.Fatal(err)
	}
	if got := n.CertFingerprint().String(); got != fp {
		t.Errorf("node certificate fingerprint %s, the server shows %s", got, fp)
	}
}

func TestInitAndLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "setu.db")
	a, b := openStore(t, path), openStore(t, path) // two instances, one database
	cert := makeCert(t, p256(t), bothEKUs...)

	if _, err := federation.Load(ctx, a, cert, seed(1)); !errors.Is(err, federation.ErrNoIdentity) {
		t.Fatalf("Load before Init: %v, want ErrNoIdentity", err)
	}
	n, err := federation.Init(ctx, a, "IN-CERT", "IN", cert, seed(1))
	if err != nil {
		t.Fatal(err)
	}
	if n.Name != "IN-CERT" || n.Country != "IN" {
		t.Errorf("Init = %s %s", n.Name, n.Country)
	}
	wantPub, _, _ := ed25519.GenerateKey(seed(1))
	if !n.PublicKey().Equal(wantPub) {
		t.Error("the signing key was not made from the injected randomness")
	}
	if n.KeyFingerprint() != federation.Fingerprint(sha256.Sum256(wantPub)) {
		t.Error("key fingerprint is not the SHA-256 of the public key")
	}
	if n.CertFingerprint() != federation.Fingerprint(sha256.Sum256(cert.Certificate[0])) {
		t.Error("certificate fingerprint is not the SHA-256 of the DER")
	}
	blk, _ := pem.Decode(n.CertificatePEM())
	if blk == nil || blk.Type != "CERTIFICATE" || !bytes.Equal(blk.Bytes, cert.Certificate[0]) {
		t.Error("CertificatePEM does not hold the certificate")
	}

	// Another instance, with other randomness, finds the same identity.
	other, err := federation.Load(ctx, b, cert, seed(2))
	if err != nil {
		t.Fatal(err)
	}
	if other.Name != n.Name || !other.PublicKey().Equal(n.PublicKey()) {
		t.Error("a second instance sees another identity")
	}

	// Renaming keeps the key; the country is fixed.
	renamed, err := federation.Init(ctx, b, "CERT-IN", "IN", cert, seed(3))
	if err != nil {
		t.Fatal(err)
	}
	if renamed.Name != "CERT-IN" || !renamed.PublicKey().Equal(n.PublicKey()) {
		t.Errorf("rename: %s, same key %v", renamed.Name, renamed.PublicKey().Equal(n.PublicKey()))
	}
	if _, err := federation.Init(ctx, a, "CERT-IN", "JP", cert, seed(1)); !errors.Is(err, store.ErrConflict) || !strings.Contains(err.Error(), "cannot change") {
		t.Errorf("changing the country: %v", err)
	}

	for _, tt := range []struct{ name, country, want string }{
		{"bad name!", "IN", "node name"},
		{"IN-CERT", "in", "ISO 3166-1"},
		{"IN-CERT", "IND", "ISO 3166-1"},
	} {
		if _, err := federation.Init(ctx, a, tt.name, tt.country, cert, seed(1)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Init(%q, %q) = %v, want %q", tt.name, tt.country, err, tt.want)
		}
	}
	serverOnly := makeCert(t, p256(t), x509.ExtKeyUsageServerAuth)
	if _, err := federation.Load(ctx, a, serverOnly, seed(1)); err == nil || !strings.Contains(err.Error(), "clientAuth") {
		t.Errorf("Load with a server-only certificate: %v", err)
	}
}

func TestFingerprint(t *testing.T) {
	var f federation.Fingerprint
	for i := range f {
		f[i] = byte(i * 7)
	}
	s := f.String()
	if len(s) != 95 || strings.ToUpper(s) != s || s[2] != ':' {
		t.Errorf("String() = %q", s)
	}
	plain := strings.ReplaceAll(s, ":", "")
	for _, in := range []string{s, strings.ToLower(s), plain, strings.ToLower(plain), "sha256:" + plain,
		"SHA256:" + s, "sha256 Fingerprint=" + s, "  " + s + "\n"} {
		got, err := federation.ParseFingerprint(in)
		if err != nil || got != f {
			t.Errorf("ParseFingerprint(%q) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"", plain[:62], plain + "00", "zz" + plain[2:], s[:len(s)-3] + ":0", strings.Replace(s, ":", "::", 1),
		"md5:" + plain} {
		if _, err := federation.ParseFingerprint(in); !errors.Is(err, federation.ErrFingerprint) {
			t.Errorf("ParseFingerprint(%q) = %v, want ErrFingerprint", in, err)
		}
	}
}

func TestValidateName(t *testing.T) {
	for _, tt := range []struct {
		name string
		ok   bool
	}{
		{"IN-CERT", true}, {"jp.cert_2", true}, {"A", true}, {strings.Repeat("a", 64), true},
		{"", false}, {strings.Repeat("a", 65), false}, {"-IN", false}, {"IN-", false}, {"IN CERT", false},
		{"IN/CERT", false}, {"IN\x00", false}, {"इन", false}, {"IN:CERT", false},
	} {
		if err := federation.ValidateName(tt.name); (err == nil) != tt.ok {
			t.Errorf("ValidateName(%q) = %v, want ok %v", tt.name, err, tt.ok)
		}
	}
}

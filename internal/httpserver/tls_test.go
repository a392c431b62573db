package httpserver_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/setu-cti/setu/internal/httpserver"
	"github.com/setu-cti/setu/internal/store"
	"github.com/setu-cti/setu/internal/store/sqlite"
)

var now = time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC)

// leafFingerprint is the fingerprint operators compare: SHA-256 of the
// leaf's DER.
func leafFingerprint(c tls.Certificate) string {
	sum := sha256.Sum256(c.Certificate[0])
	return httpserver.Fingerprint(sum[:])
}

func TestNodeCertificateCreatedOnce(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "setu.db")
	db, err := sqlite.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cert, fp, err := httpserver.NodeCertificate(ctx, db, "", "", now)
	if err != nil {
		t.Fatal(err)
	}
	if fp != leafFingerprint(cert) || len(fp) != 32*3-1 || strings.ToUpper(fp) != fp {
		t.Errorf("fingerprint %q does not describe the certificate", fp)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := leaf.VerifyHostname("127.0.0.1"); err != nil {
		t.Error(err)
	}
	if err := leaf.VerifyHostname("localhost"); err != nil {
		t.Error(err)
	}
	if leaf.NotBefore.After(now) || leaf.NotAfter.Before(now.AddDate(5, 0, 0)) {
		t.Errorf("validity %v to %v", leaf.NotBefore, leaf.NotAfter)
	}

	// A second call, even at another time, finds the stored one.
	_, fp2, err := httpserver.NodeCertificate(ctx, db, "", "", now.Add(48*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if fp2 != fp {
		t.Errorf("second call: fingerprint %s, first %s", fp2, fp)
	}
	// So does another instance opening the same database.
	db.Close()
	db2, err := sqlite.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	if _, fp3, err := httpserver.NodeCertificate(ctx, db2, "", "", now); err != nil || fp3 != fp {
		t.Errorf("after reopening: %s, %v; want %s", fp3, err, fp)
	}
}

// writePair generates a key and a self-signed certificate for 127.0.0.1
// and writes them as PEM files.
func writePair(t *testing.T, dir, name string) (certFile, keyFile string, der []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(42),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(1, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err = x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, der
}

// countingSecrets records whether the certificate files path touched the
// store's secrets.
type countingSecrets struct{ calls int }

func (c *countingSecrets) Secret(ctx context.Context, name string, create func() ([]byte, error)) ([]byte, error) {
	c.calls++
	return nil, errors.New("no secrets here")
}

func TestNodeCertificateFiles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	certA, keyA, derA := writePair(t, dir, "a")
	certB, keyB, _ := writePair(t, dir, "b")
	sumA := sha256.Sum256(derA)
	for _, tc := range []struct {
		name              string
		certFile, keyFile string
		wantFP            string // "" when an error is expected
	}{
		{"pair", certA, keyA, httpserver.Fingerprint(sumA[:])},
		{"key of another certificate", certA, keyB, ""},
		{"certificate without key", certA, "", ""},
		{"key without certificate", "", keyA, ""},
		{"missing file", filepath.Join(dir, "absent.crt"), keyA, ""},
		{"key given as certificate", keyB, certB, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			secrets := &countingSecrets{}
			cert, fp, err := httpserver.NodeCertificate(ctx, secrets, tc.certFile, tc.keyFile, now)
			if secrets.calls != 0 {
				t.Errorf("given files, NodeCertificate used the store")
			}
			if tc.wantFP == "" {
				if err == nil {
					t.Fatalf("no error (fingerprint %s)", fp)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fp != tc.wantFP || leafFingerprint(cert) != fp {
				t.Errorf("fingerprint %s, want %s", fp, tc.wantFP)
			}
		})
	}
}

func TestFingerprint(t *testing.T) {
	for _, tc := range []struct {
		in   []byte
		want string
	}{
		{nil, ""},
		{[]byte{0x0a}, "0A"},
		{[]byte{0xde, 0xad, 0xbe, 0xef}, "DE:AD:BE:EF"},
	} {
		if got := httpserver.Fingerprint(tc.in); got != tc.want {
			t.Errorf("Fingerprint(%x) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestTLSConfig handshakes with a server on 127.0.0.1 that uses the node's
// TLS policy: TLS 1.2 with AEAD suites and TLS 1.3 succeed; TLS 1.1 and
// earlier, and TLS 1.2 with only CBC suites, are refused.
func TestTLSConfig(t *testing.T) {
	ctx := context.Background()
	cert, _, err := httpserver.NodeCertificate(ctx, openStore(t), "", "", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(leaf)

	start := func(cfg *tls.Config) *httptest.Server {
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
		srv.TLS = cfg
		srv.StartTLS()
		t.Cleanup(srv.Close)
		return srv
	}
	node := start(httpserver.TLSConfig(cert))
	// A server that accepts anything, to show the client settings below can
	// succeed, so a refusal is the node's policy and not the client's.
	lax := start(&tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS10})

	cbc := []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA}
	for _, tc := range []struct {
		name     string
		min, max uint16
		suites   []uint16
		want     uint16 // negotiated version; 0: refused
	}{
		{"TLS 1.0", tls.VersionTLS10, tls.VersionTLS10, nil, 0},
		{"TLS 1.1", tls.VersionTLS11, tls.VersionTLS11, nil, 0},
		{"TLS 1.2 CBC only", tls.VersionTLS12, tls.VersionTLS12, cbc, 0},
		{"TLS 1.2", tls.VersionTLS12, tls.VersionTLS12, nil, tls.VersionTLS12},
		{"TLS 1.3", tls.VersionTLS13, tls.VersionTLS13, nil, tls.VersionTLS13},
		{"client default", 0, 0, nil, tls.VersionTLS13},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := &tls.Config{RootCAs: roots, ServerName: "127.0.0.1", MinVersion: tc.min, MaxVersion: tc.max, CipherSuites: tc.suites}
			dial := func(srv *httptest.Server) (uint16, error) {
				conn, err := tls.Dial("tcp", srv.Listener.Addr().String(), cfg)
				if err != nil {
					return 0, err
				}
				defer conn.Close()
				return conn.ConnectionState().Version, nil
			}
			if tc.want == 0 {
				if _, err := dial(lax); err != nil {
					t.Skipf("this client cannot offer %s at all here: %v", tc.name, err)
				}
			}
			got, err := dial(node)
			if tc.want == 0 {
				if err == nil {
					t.Fatalf("handshake succeeded with version %x", got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("version %x, %v; want %x", got, err, tc.want)
			}
		})
	}
}

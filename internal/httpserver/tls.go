package httpserver

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"strings"
	"time"

	"github.com/setu-cti/setu/internal/store"
)

// selfSignedSecret names the node's generated certificate and key in the
// store, so every instance sharing the database presents the same one.
const selfSignedSecret = "tls-self-signed"

// NodeCertificate returns the certificate to serve: the given PEM files, or
// else the node's self-signed certificate, created in the store on first
// use. fingerprint is the SHA-256 of the leaf certificate (DER), the value
// operators compare out of band.
func NodeCertificate(ctx context.Context, secrets store.Secrets, certFile, keyFile string, now time.Time) (cert tls.Certificate, fingerprint string, err error) {
	switch {
	case certFile != "" && keyFile != "":
		cert, err = tls.LoadX509KeyPair(certFile, keyFile)
	case certFile != "" || keyFile != "":
		return cert, "", errors.New("--tls-cert and --tls-key go together")
	default:
		var pemBytes []byte
		pemBytes, err = secrets.Secret(ctx, selfSignedSecret, func() ([]byte, error) { return selfSigned(now) })
		if err == nil {
			cert, err = tls.X509KeyPair(pemBytes, pemBytes)
		}
	}
	if err != nil {
		return cert, "", fmt.Errorf("TLS certificate: %w", err)
	}
	sum := sha256.Sum256(cert.Certificate[0])
	return cert, Fingerprint(sum[:]), nil
}

// Fingerprint formats a digest as colon-separated upper-case hex pairs.
func Fingerprint(sum []byte) string {
	h := strings.ToUpper(hex.EncodeToString(sum))
	var b strings.Builder
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(h[i : i+2])
	}
	return b.String()
}

// selfSigned makes an ECDSA P-256 certificate valid for loopback names and
// ten years, as PEM (certificate then key).
func selfSigned(now time.Time) ([]byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "setu node", Organization: []string{"Setu"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: der})
	pem.Encode(&b, &pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
	return b.Bytes(), nil
}

// TLSConfig is the server's TLS policy: TLS 1.2 or later, modern AEAD
// suites for 1.2 (1.3 suites are fixed by Go). Go's server never accepts
// 0-RTT early data.
func TLSConfig(cert tls.Certificate) *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
		// Partner nodes present self-signed certificates, pinned by their
		// SHA-256 when a request is authenticated, so the handshake asks
		// for one without checking it against a CA; users without one
		// are unaffected.
		ClientAuth: tls.RequestClientCert,
		CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305,
		},
	}
}

// IsLoopback reports whether a listen address is on a loopback interface
// (plain HTTP is allowed only there).
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

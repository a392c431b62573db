package federation_test

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/setu-cti/setu/internal/federation"
	"github.com/setu-cti/setu/internal/store"
)

func TestNewPeer(t *testing.T) {
	cert := makeCert(t, p256(t), bothEKUs...)
	der := cert.Certificate[0]
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	fp := federation.Fingerprint(sha256.Sum256(der))
	pub, _, _ := ed25519.GenerateKey(seed(9))
	good := federation.PeerSpec{Name: "JP-CERT", URL: "https://jp.example:8443/taxii2/", Fingerprint: fp.String()}
	want := store.Peer{Name: "JP-CERT", URL: "https://jp.example:8443/taxii2/", CertSHA256: fp, Created: t0}

	for _, tt := range []struct {
		name    string
		edit    func(*federation.PeerSpec)
		want    func(*store.Peer)
		wantErr string
	}{
		{"fingerprint", nil, nil, ""},
		{"fingerprint without colons, lower case", func(s *federation.PeerSpec) {
			s.Fingerprint = strings.ToLower(strings.ReplaceAll(fp.String(), ":", ""))
		}, nil, ""},
		{"certificate PEM", func(s *federation.PeerSpec) { s.Fingerprint, s.Cert = "", certPEM }, nil, ""},
		{"certificate DER", func(s *federation.PeerSpec) { s.Fingerprint, s.Cert = "", der }, nil, ""},
		{"signing key, standard base64", func(s *federation.PeerSpec) { s.SigningKey = base64.StdEncoding.EncodeToString(pub) },
			func(p *store.Peer) { p.SigningKey = pub }, ""},
		{"signing key, URL base64 unpadded", func(s *federation.PeerSpec) { s.SigningKey = base64.RawURLEncoding.EncodeToString(pub) },
			func(p *store.Peer) { p.SigningKey = pub }, ""},
		{"token with final newline", func(s *federation.PeerSpec) { s.Token = "abc.DEF-123\n" },
			func(p *store.Peer) { p.Token = "abc.DEF-123" }, ""},

		{"bad name", func(s *federation.PeerSpec) { s.Name = "JP CERT" }, nil, "node name"},
		{"own name", func(s *federation.PeerSpec) { s.Name = "IN-CERT" }, nil, "this node's own name"},
		{"plain HTTP", func(s *federation.PeerSpec) { s.URL = "http://jp.example/taxii2/" }, nil, "HTTPS only"},
		{"no scheme", func(s *federation.PeerSpec) { s.URL = "jp.example/taxii2/" }, nil, "HTTPS only"},
		{"no host", func(s *federation.PeerSpec) { s.URL = "https:///taxii2/" }, nil, "no host"},
		{"credentials in URL", func(s *federation.PeerSpec) { s.URL = "https://u:p@jp.example/" }, nil, "token file"},
		{"fragment", func(s *federation.PeerSpec) { s.URL = "https://jp.example/#x" }, nil, "fragment"},
		{"port out of range", func(s *federation.PeerSpec) { s.URL = "https://jp.example:70000/" }, nil, "port"},
		{"unparsable URL", func(s *federation.PeerSpec) { s.URL = "https://jp example/" }, nil, "URL"},
		{"short fingerprint", func(s *federation.PeerSpec) { s.Fingerprint = "AB:CD" }, nil, "64 hex digits"},
		{"both certificate and fingerprint", func(s *federation.PeerSpec) { s.Cert = certPEM }, nil, "not both"},
		{"neither certificate nor fingerprint", func(s *federation.PeerSpec) { s.Fingerprint = "" }, nil, "is required"},
		{"not a certificate", func(s *federation.PeerSpec) { s.Fingerprint, s.Cert = "", []byte("hello") }, nil, "certificate"},
		{"a key, not a certificate", func(s *federation.PeerSpec) {
			s.Fingerprint, s.Cert = "", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: []byte{1}})
		}, nil, "want CERTIFICATE"},
		{"signing key too short", func(s *federation.PeerSpec) { s.SigningKey = base64.StdEncoding.EncodeToString(pub[:31]) }, nil, "31 bytes"},
		{"signing key not base64", func(s *federation.PeerSpec) { s.SigningKey = "not base64!" }, nil, "not base64"},
		{"token with a space", func(s *federation.PeerSpec) { s.Token = "abc def" }, nil, "printable ASCII"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			spec := good
			if tt.edit != nil {
				tt.edit(&spec)
			}
			got, err := federation.NewPeer(spec, "IN-CERT", t0)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("NewPeer = %v, want an error mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			w := want
			if tt.want != nil {
				tt.want(&w)
			}
			if diff := cmp.Diff(w, got); diff != "" {
				t.Errorf("NewPeer (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSigningKeyRoundTrip(t *testing.T) {
	pub, _, _ := ed25519.GenerateKey(seed(4))
	got, err := federation.ParseSigningKey(federation.EncodeSigningKey(pub))
	if err != nil || !got.Equal(pub) {
		t.Errorf("ParseSigningKey(EncodeSigningKey(k)) = %x, %v", got, err)
	}
}

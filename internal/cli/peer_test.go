package cli

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/setu-cti/setu/internal/federation"
)

// peerCert writes a certificate such as a partner node would hand over and
// returns its path and fingerprint.
func peerCert(t *testing.T) (path, fingerprint string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "partner"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(1, 0, 0),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(t.TempDir(), "partner.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, federation.Fingerprint(sha256.Sum256(der)).String()
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPeerCommands(t *testing.T) {
	dir, _ := initNode(t, "IN-CERT", "IN")
	jpCert, jpFP := peerCert(t)
	krCert, krFP := peerCert(t)
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	token := writeFile(t, "token", "jp-issued-token-123\n")

	code, out, errs := run(t, "", "peer", "add", "JP-CERT", "--data", dir, "--url", "https://jp.example:8443/taxii2/",
		"--cert", jpCert, "--token-file", token, "--country", "JP")
	if code != 0 || !strings.Contains(out, "peer JP-CERT added") || !strings.Contains(out, jpFP) ||
		!strings.Contains(out, "signing key is not known yet") {
		t.Fatalf("peer add JP-CERT: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs = run(t, "", "peer", "add", "--data", dir, "KR-CERT", "--url", "https://kr.example/",
		"--fingerprint", strings.ToLower(strings.ReplaceAll(krFP, ":", "")), "--signing-key", base64.StdEncoding.EncodeToString(pub))
	if code != 0 || strings.Contains(out, "not known yet") {
		t.Fatalf("peer add KR-CERT: exit %d\n%s%s", code, out, errs)
	}

	for _, tt := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"plain HTTP", []string{"US-CERT", "--url", "http://us.example/", "--fingerprint", krFP}, 1, "HTTPS only"},
		{"no URL", []string{"US-CERT", "--fingerprint", krFP}, 2, "--url is required"},
		{"no pin", []string{"US-CERT", "--url", "https://us.example/"}, 1, "fingerprint of it is required"},
		{"certificate and fingerprint", []string{"US-CERT", "--url", "https://us.example/", "--cert", jpCert, "--fingerprint", krFP}, 1, "not both"},
		{"bad fingerprint", []string{"US-CERT", "--url", "https://us.example/", "--fingerprint", "12:34"}, 1, "64 hex digits"},
		{"bad name", []string{"US CERT", "--url", "https://us.example/", "--fingerprint", krFP}, 1, "node name"},
		{"own name", []string{"IN-CERT", "--url", "https://in.example/", "--fingerprint", krFP}, 1, "own name"},
		{"name taken", []string{"JP-CERT", "--url", "https://jp2.example/", "--fingerprint", krFP}, 1, "already exists"},
		{"certificate pinned for another peer", []string{"US-CERT", "--url", "https://us.example/", "--cert", krCert}, 1, "already pinned for another peer"},
		{"missing certificate file", []string{"US-CERT", "--url", "https://us.example/", "--cert", "/nonexistent.pem"}, 1, "nonexistent"},
		{"bad signing key", []string{"US-CERT", "--url", "https://us.example/", "--fingerprint", strings.Repeat("ab", 32), "--signing-key", "AAAA"}, 1, "Ed25519"},
		{"bad country", []string{"US-CERT", "--url", "https://us.example/", "--fingerprint", strings.Repeat("ab", 32), "--country", "usa"}, 1, "country"},
		{"empty token file", []string{"US-CERT", "--url", "https://us.example/", "--fingerprint", strings.Repeat("ab", 32), "--token-file", writeFile(t, "empty", "")}, 1, "empty"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"peer", "add", "--data", dir}, tt.args...)
			if code, out, errs := run(t, "", args...); code != tt.code || !strings.Contains(errs, tt.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d mentioning %q", code, out, errs, tt.code, tt.want)
			}
		})
	}

	code, out, errs = run(t, "", "peer", "list", "--data", dir)
	if code != 0 {
		t.Fatalf("peer list: exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[1], "JP-CERT") || !strings.HasPrefix(lines[2], "KR-CERT") {
		t.Fatalf("peer list:\n%s", out)
	}
	for _, want := range []string{" JP ", "https://jp.example:8443/taxii2/", jpFP, "unknown", "yes"} {
		if !strings.Contains(lines[1], want) {
			t.Errorf("JP-CERT line lacks %q: %s", want, lines[1])
		}
	}
	if !strings.Contains(lines[2], federation.FingerprintOf(pub).String()) {
		t.Errorf("KR-CERT line lacks its key fingerprint: %s", lines[2])
	}
	if strings.Contains(out, "jp-issued-token") {
		t.Error("peer list shows a token")
	}

	code, out, _ = run(t, "", "peer", "status", "--data", dir)
	if code != 0 || !strings.Contains(out, "LAST CONTACT") || !strings.Contains(out, "none") || !strings.Contains(out, "never") {
		t.Errorf("peer status:\n%s", out)
	}

	if code, out, errs := run(t, "", "peer", "remove", "--data", dir, "KR-CERT"); code != 0 || !strings.Contains(out, "removed") {
		t.Errorf("peer remove: exit %d %s%s", code, out, errs)
	}
	if code, _, errs := run(t, "", "peer", "remove", "--data", dir, "KR-CERT"); code != 1 || !strings.Contains(errs, "no peer named KR-CERT") {
		t.Errorf("removing twice: exit %d %s", code, errs)
	}
	if _, out, _ := run(t, "", "peer", "list", "--data", dir); strings.Contains(out, "KR-CERT") {
		t.Errorf("removed peer still listed:\n%s", out)
	}
	// The changes are in the audit log.
	if code, out, errs := run(t, "", "audit", "export", "--data", dir); code != 0 || !strings.Contains(out, "peer.add") || !strings.Contains(out, "peer.remove") {
		t.Errorf("audit export: exit %d, %s; want peer.add and peer.remove\n%s", code, errs, out)
	}
}

// peer update changes what it is given and keeps the rest, the
// agreement included.
func TestPeerUpdate(t *testing.T) {
	dir, _ := initNode(t, "IN-CERT", "IN")
	_, fp := peerCert(t)
	mustRun(t, "peer", "add", "--data", dir, "JP-CERT", "--url", "https://jp.example/taxii2/", "--fingerprint", fp, "--country", "JP")
	f := filepath.Join(t.TempDir(), "agreement.json")
	if err := os.WriteFile(f, []byte(`{"peer": "JP-CERT", "version": 1, "direction": {"outbound": ["default"]}, "max_tlp": "green", "distribution": ["partners"], "anonymise_submitters": false, "mode": "pull", "schedule": "1m"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	mustRun(t, "collection", "add", "--data", dir, "default")
	mustRun(t, "agreement", "apply", "--data", dir, f)
	tok := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tok, []byte("s3cret-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, fp2 := peerCert(t)
	if out := mustRun(t, "peer", "update", "--data", dir, "JP-CERT", "--url", "https://jp2.example/taxii2/", "--token-file", tok, "--fingerprint", fp2); !strings.Contains(out, "jp2.example") {
		t.Errorf("peer update: %q", out)
	}
	list := mustRun(t, "peer", "list", "--data", dir)
	for _, want := range []string{"https://jp2.example/taxii2/", " JP ", "yes"} {
		if !strings.Contains(list, want) {
			t.Errorf("peer list after update lacks %q:\n%s", want, list)
		}
	}
	if strings.Contains(list, "jp.example/") {
		t.Errorf("the old URL is still listed:\n%s", list)
	}
	if out := mustRun(t, "agreement", "show", "--data", dir, "JP-CERT"); !strings.Contains(out, `"version": 1`) {
		t.Errorf("the agreement did not survive the update:\n%s", out)
	}
	mustRun(t, "peer", "update", "--data", dir, "JP-CERT", "--no-token")
	if list := mustRun(t, "peer", "list", "--data", dir); strings.Contains(list, "yes") {
		t.Errorf("a token is still sent after --no-token:\n%s", list)
	}
	for _, tt := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown peer", []string{"KR-CERT", "--country", "KR"}, 1, "no peer named KR-CERT"},
		{"plain http", []string{"JP-CERT", "--url", "http://jp.example/taxii2/"}, 1, "JP-CERT"},
		{"both token flags", []string{"JP-CERT", "--token-file", tok, "--no-token"}, 2, "not both"},
	} {
		code, _, errs := run(t, "", append([]string{"peer", "update", "--data", dir}, tt.args...)...)
		if code != tt.code || !strings.Contains(errs, tt.want) {
			t.Errorf("%s: exit %d, %q; want exit %d naming %q", tt.name, code, errs, tt.code, tt.want)
		}
	}
}

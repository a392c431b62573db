package cli

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"regexp"
	"strings"
	"testing"

	"github.com/setu-cti/setu/internal/federation"
)

// nodeFields reads the "key: value" lines `setu node show` prints.
func nodeFields(t *testing.T, out string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && !strings.HasPrefix(line, " ") {
			m[k] = strings.TrimSpace(v)
		}
	}
	return m
}

// initNode initialises a node in a new data directory and returns it with
// what `node init` printed.
func initNode(t *testing.T, name, country string) (dir string, fields map[string]string) {
	t.Helper()
	dir = t.TempDir()
	code, out, errs := run(t, "", "node", "init", "--data", dir, "--name", name, "--country", country)
	if code != 0 {
		t.Fatalf("node init exit %d: %s%s", code, out, errs)
	}
	return dir, nodeFields(t, out)
}

var fingerprintRE = regexp.MustCompile(`^([0-9A-F]{2}:){31}[0-9A-F]{2}$`)

func TestNodeInitShow(t *testing.T) {
	t.Setenv("SETU_ADDR", "")
	dir := t.TempDir()
	code, _, errs := run(t, "", "node", "show", "--data", dir)
	if code != 1 || !strings.Contains(errs, "setu node init --name NAME --country CC") {
		t.Fatalf("show before init: exit %d, %s", code, errs)
	}

	code, out, errs := run(t, "", "node", "init", "--data", dir, "--name", "IN-CERT", "--country", "IN")
	if code != 0 {
		t.Fatalf("init exit %d: %s", code, errs)
	}
	init := nodeFields(t, out)
	if init["name"] != "IN-CERT" || init["country"] != "IN" {
		t.Errorf("init printed %v", init)
	}
	for _, k := range []string{"certificate SHA-256", "signing key SHA-256"} {
		if !fingerprintRE.MatchString(init[k]) {
			t.Errorf("%s = %q", k, init[k])
		}
	}
	if !strings.Contains(out, "setu peer add IN-CERT --url") {
		t.Errorf("init does not show how partners add the node:\n%s", out)
	}

	_, out, _ = run(t, "", "node", "show", "--data", dir)
	for _, k := range []string{"name", "country", "certificate SHA-256", "signing key", "signing key SHA-256"} {
		if got := nodeFields(t, out)[k]; got != init[k] {
			t.Errorf("show %s = %q, init printed %q", k, got, init[k])
		}
	}

	// The URL partners should use is the server's root, which works as a
	// peer URL and with `setu taxii` as it is.
	if got := nodeFields(t, out)["TAXII URL"]; got != "https://127.0.0.1:8443/" {
		t.Errorf("show TAXII URL = %q, want serve's default address as a server root", got)
	}
	if !strings.Contains(out, "setu peer add IN-CERT --url https://127.0.0.1:8443/ --fingerprint "+init["certificate SHA-256"]) ||
		!strings.Contains(out, "--country IN") {
		t.Errorf("show does not give partners a usable peer add line:\n%s", out)
	}
	for _, tt := range []struct {
		args      []string
		env, want string
	}{
		{[]string{"--url", "https://setu.cert-in.example:8443"}, "", "https://setu.cert-in.example:8443/"},
		{nil, "0.0.0.0:9443", "https://HOST:9443/"},
		{nil, "[::]:9443", "https://HOST:9443/"},
		{nil, "setu.internal:443", "https://setu.internal:443/"},
	} {
		t.Setenv("SETU_ADDR", tt.env)
		_, out, errs := run(t, "", append([]string{"node", "show", "--data", dir}, tt.args...)...)
		if got := nodeFields(t, out)["TAXII URL"]; got != tt.want {
			t.Errorf("%v SETU_ADDR=%q: TAXII URL = %q, want %q (%s)", tt.args, tt.env, got, tt.want, errs)
		}
	}
	if code, _, errs := run(t, "", "node", "show", "--data", dir, "--url", "http://x:1/"); code != 2 || !strings.Contains(errs, "https://HOST:PORT/") {
		t.Errorf("show --url with http: exit %d, %s", code, errs)
	}

	// The PEM is the certificate the fingerprint describes, fit for mutual TLS.
	code, out, errs = run(t, "", "node", "show", "--data", dir, "--cert")
	if code != 0 {
		t.Fatalf("show --cert exit %d: %s", code, errs)
	}
	blk, rest := pem.Decode([]byte(out))
	if blk == nil || blk.Type != "CERTIFICATE" || strings.TrimSpace(string(rest)) != "" {
		t.Fatalf("show --cert printed %q", out)
	}
	if fp := federation.Fingerprint(sha256.Sum256(blk.Bytes)).String(); fp != init["certificate SHA-256"] {
		t.Errorf("PEM fingerprint %s, shown %s", fp, init["certificate SHA-256"])
	}
	leaf, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if len(leaf.ExtKeyUsage) != 2 {
		t.Errorf("certificate usages %v, want serverAuth and clientAuth", leaf.ExtKeyUsage)
	}

	// The key is the signing key's, and its fingerprint matches.
	key, err := federation.ParseSigningKey(init["signing key"])
	if err != nil || federation.FingerprintOf(key).String() != init["signing key SHA-256"] {
		t.Errorf("signing key %q does not match its fingerprint (%v)", init["signing key"], err)
	}

	// Renaming keeps the keys; the country is fixed.
	code, out, errs = run(t, "", "node", "init", "--data", dir, "--name", "CERT-IN", "--country", "IN")
	if code != 0 || !strings.Contains(errs, "renamed from IN-CERT to CERT-IN") {
		t.Fatalf("rename exit %d: %s%s", code, out, errs)
	}
	if f := nodeFields(t, out); f["name"] != "CERT-IN" || f["signing key"] != init["signing key"] || f["certificate SHA-256"] != init["certificate SHA-256"] {
		t.Errorf("after rename: %v", f)
	}
	code, _, errs = run(t, "", "node", "init", "--data", dir, "--name", "CERT-IN", "--country", "JP")
	if code != 1 || !strings.Contains(errs, "country is IN and cannot change to JP") {
		t.Errorf("country change: exit %d, %s", code, errs)
	}
}

func TestNodeInitUsage(t *testing.T) {
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--country", "IN"}, 2, "Usage"},
		{[]string{"--name", "IN-CERT"}, 2, "Usage"},
		{[]string{"--name", "IN CERT", "--country", "IN"}, 1, "node name"},
		{[]string{"--name", "IN-CERT", "--country", "India"}, 1, "ISO 3166-1"},
	} {
		args := append([]string{"node", "init", "--data", t.TempDir()}, tt.args...)
		if code, _, errs := run(t, "", args...); code != tt.code || !strings.Contains(errs, tt.want) {
			t.Errorf("%v: exit %d, %s; want %d, %q", tt.args, code, errs, tt.code, tt.want)
		}
	}
	if code, _, errs := run(t, "", "node"); code != 2 || !strings.Contains(errs, "init|show") {
		t.Errorf("node without a verb: exit %d, %s", code, errs)
	}
}

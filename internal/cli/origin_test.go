package cli

import (
	"strings"
	"testing"
)

// An origin is known by its key alone; a peer of the same name takes it
// over, keeping the key.
func TestOrigins(t *testing.T) {
	dir, _ := initNode(t, "IN-CERT", "IN")
	_, kr := initNode(t, "KR-CERT", "KR")
	key, fp := kr["signing key"], kr["signing key SHA-256"]
	if out := mustRun(t, "origin", "add", "--data", dir, "KR-CERT", "--signing-key", key, "--country", "KR"); !strings.Contains(out, fp) {
		t.Errorf("origin add: %q, want the key's fingerprint %s", out, fp)
	}
	if out := mustRun(t, "origin", "list", "--data", dir); !strings.Contains(out, "KR-CERT") || !strings.Contains(out, fp) {
		t.Errorf("origin list:\n%s", out)
	}
	for _, tt := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"twice", []string{"KR-CERT", "--signing-key", key}, 1, "already exists"},
		{"no key", []string{"SG-CERT"}, 2, "--signing-key is required"},
		{"bad key", []string{"SG-CERT", "--signing-key", "AAAA"}, 2, "SG-CERT"},
		{"own name", []string{"IN-CERT", "--signing-key", key}, 1, "own name"},
		{"bad country", []string{"SG-CERT", "--signing-key", key, "--country", "sgp"}, 2, "SG-CERT"},
	} {
		code, _, errs := run(t, "", append([]string{"origin", "add", "--data", dir}, tt.args...)...)
		if code != tt.code || !strings.Contains(errs, tt.want) {
			t.Errorf("%s: exit %d, %q; want exit %d naming %q", tt.name, code, errs, tt.code, tt.want)
		}
	}

	// The peer keeps the origin's key when given none.
	_, certFP := peerCert(t)
	if out := mustRun(t, "peer", "add", "--data", dir, "KR-CERT", "--url", "https://kr.example/taxii2/", "--fingerprint", certFP); !strings.Contains(out, "becomes a peer") {
		t.Errorf("peer add over an origin: %q", out)
	}
	if out := mustRun(t, "peer", "list", "--data", dir); !strings.Contains(out, fp) {
		t.Errorf("the peer did not keep the origin's key:\n%s", out)
	}
	if out := mustRun(t, "origin", "list", "--data", dir); strings.Contains(out, "KR-CERT") {
		t.Errorf("the origin stayed beside the peer:\n%s", out)
	}
	if code, _, errs := run(t, "", "origin", "add", "--data", dir, "KR-CERT", "--signing-key", key); code != 1 || !strings.Contains(errs, "is a peer") {
		t.Errorf("origin with a peer's name: exit %d, %q", code, errs)
	}
	if code, _, errs := run(t, "", "origin", "remove", "--data", dir, "KR-CERT"); code != 1 || !strings.Contains(errs, "no origin named KR-CERT") {
		t.Errorf("removing an absent origin: exit %d, %q", code, errs)
	}
}

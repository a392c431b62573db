package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"strings"
	"testing"

	"github.com/setu-cti/setu/internal/store"
	"github.com/setu-cti/setu/internal/store/sqlite"
)

// storedInboundSum reads the hash of the token a peer must present, as the
// server will find it.
func storedInboundSum(t *testing.T, dir, peer string) []byte {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(dir, "setu.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p, err := db.Peer(context.Background(), peer)
	if err != nil {
		t.Fatal(err)
	}
	return p.InboundTokenSHA256
}

// peerColumn is a column of a peer's line in `peer list`.
func peerColumn(t *testing.T, dir, peer, column string) string {
	t.Helper()
	code, out, errs := run(t, "", "peer", "list", "--data", dir)
	if code != 0 {
		t.Fatalf("peer list: exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	head := lines[0]
	col := strings.Index(head, column)
	if col < 0 {
		t.Fatalf("peer list has no %s column:\n%s", column, out)
	}
	for _, l := range lines[1:] {
		if strings.HasPrefix(l, peer+" ") && len(l) > col {
			return strings.Fields(l[col:])[0]
		}
	}
	t.Fatalf("peer list has no line for %s:\n%s", peer, out)
	return ""
}

func TestPeerToken(t *testing.T) {
	dir, _ := initNode(t, "IN-CERT", "IN")
	_, jpFP := peerCert(t)
	if code, out, errs := run(t, "", "peer", "add", "JP-CERT", "--data", dir, "--url", "https://jp.example/taxii2/",
		"--fingerprint", jpFP, "--token-file", writeFile(t, "token", "issued-by-jp-123\n")); code != 0 {
		t.Fatalf("peer add: exit %d\n%s%s", code, out, errs)
	}
	if got := peerColumn(t, dir, "JP-CERT", "TOKEN REQUIRED"); got != "no" {
		t.Errorf("before any token: TOKEN REQUIRED %q, want no", got)
	}

	code, out, errs := run(t, "", "peer", "token", "JP-CERT", "--data", dir)
	if code != 0 || !strings.Contains(errs, "shown only once") || strings.Contains(errs, "no longer works") {
		t.Fatalf("peer token: exit %d\nstdout %s\nstderr %s", code, out, errs)
	}
	first := strings.TrimSpace(out)
	if strings.Count(out, "\n") != 1 || !strings.HasPrefix(first, "setu_peer_") || len(first) < len("setu_peer_")+43 {
		t.Fatalf("peer token printed %q; want the token alone on one line", out)
	}
	if strings.Contains(errs, first) {
		t.Error("the token is printed on standard error too")
	}
	sum := sha256.Sum256([]byte(first))
	if got := storedInboundSum(t, dir, "JP-CERT"); hex.EncodeToString(got) != hex.EncodeToString(sum[:]) {
		t.Errorf("stored %x, want the SHA-256 of the printed token %x", got, sum)
	}
	if got := peerColumn(t, dir, "JP-CERT", "TOKEN REQUIRED"); got != "yes" {
		t.Errorf("after peer token: TOKEN REQUIRED %q, want yes", got)
	}
	_, list, _ := run(t, "", "peer", "list", "--data", dir)
	if strings.Contains(list, first) || strings.Contains(strings.ToLower(list), hex.EncodeToString(sum[:])) {
		t.Errorf("peer list shows the token or its hash:\n%s", list)
	}

	// Again: a new token replaces the old one.
	code, out, errs = run(t, "", "peer", "token", "--data", dir, "JP-CERT")
	second := strings.TrimSpace(out)
	if code != 0 || second == first || !strings.Contains(errs, "no longer works") {
		t.Fatalf("second peer token: exit %d, token %q (first %q)\n%s", code, second, first, errs)
	}
	if got, want := storedInboundSum(t, dir, "JP-CERT"), sha256.Sum256([]byte(second)); string(got) != string(want[:]) {
		t.Errorf("after the second token: stored %x, want %x", got, want)
	}

	for _, tt := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown peer", []string{"KR-CERT"}, 1, "no peer named KR-CERT"},
		{"unknown peer, clear", []string{"KR-CERT", "--clear"}, 1, "no peer named KR-CERT"},
		{"no name", nil, 2, "Usage: setu peer token"},
		{"two names", []string{"JP-CERT", "KR-CERT"}, 2, "Usage: setu peer token"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"peer", "token", "--data", dir}, tt.args...)
			if code, out, errs := run(t, "", args...); code != tt.code || !strings.Contains(errs, tt.want) || out != "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d mentioning %q and no output", code, out, errs, tt.code, tt.want)
			}
		})
	}

	code, out, errs = run(t, "", "peer", "token", "JP-CERT", "--clear", "--data", dir)
	if code != 0 || !strings.Contains(out, "no longer required") || strings.Contains(out, "setu_peer_") {
		t.Fatalf("peer token --clear: exit %d\n%s%s", code, out, errs)
	}
	if got := storedInboundSum(t, dir, "JP-CERT"); got != nil {
		t.Errorf("after --clear: stored %x, want none", got)
	}
	if got := peerColumn(t, dir, "JP-CERT", "TOKEN REQUIRED"); got != "no" {
		t.Errorf("after --clear: TOKEN REQUIRED %q, want no", got)
	}
	if code, out, errs := run(t, "", "peer", "token", "JP-CERT", "--clear", "--data", dir); code != 0 || !strings.Contains(out, "not required") {
		t.Errorf("clearing twice: exit %d\n%s%s", code, out, errs)
	}
	// The outgoing token is another credential and is left alone.
	if got := peerColumn(t, dir, "JP-CERT", "TOKEN SENT"); got != "yes" {
		t.Errorf("after --clear: TOKEN SENT %q, want yes", got)
	}

	code, out, errs = run(t, "", "audit", "export", "--data", dir)
	if code != 0 || strings.Count(out, `"peer.token"`) != 2 || strings.Count(out, `"peer.token.clear"`) != 1 {
		t.Errorf("audit export: exit %d, %s; want two peer.token and one peer.token.clear\n%s", code, errs, out)
	}
	if strings.Contains(out, first) || strings.Contains(out, second) {
		t.Error("the audit log holds a token")
	}
}

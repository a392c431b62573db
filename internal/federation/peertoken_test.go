package federation_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/setu-cti/setu/internal/stix"
	"github.com/setu-cti/setu/internal/taxii"
)

// TestInboundPeerToken: IN requires a token from JP beside its
// certificate. Without it JP's rounds fail; with it JP syncs; once IN
// issues a new one JP's cursor shows the 401; once IN clears the
// requirement JP's certificate suffices again. The token alone never
// gets past IN's server.
func TestInboundPeerToken(t *testing.T) {
	t.Parallel()
	in, jp := newNode(t, "IN", "IN"), newNode(t, "JP", "JP")
	in.start()
	jp.start()
	in.peer(jp)
	tok := strings.TrimSpace(in.run("peer", "token", "JP"))
	jp.peer(in)
	in.agreement("JP", 1, []string{"shared"}, "", "pull", "")
	jp.agreement("IN", 1, nil, "from-IN", "pull", "")
	key := func(id string) string { return id + "@" + day0.Format(time.RFC3339Nano) }
	first := newID()
	in.importObjects("shared", []string{indicator(first, day0, []string{stix.TLPGreen}, "")})

	waitFor(t, "JP's rounds without the token to fail", 60*time.Second, func() bool { return jp.counts("IN")["errors"] >= 1 }, in, jp)
	if n := jp.count("from-IN"); n != 0 {
		t.Errorf("JP pulled %d objects without the token", n)
	}
	if out := jp.run("peer", "status"); !regexp.MustCompile(`errors [1-9]`).MatchString(out) {
		t.Errorf("JP's peer status shows no failed round:\n%s", out)
	}
	// Before any collection is listed, the reason shows on the row for
	// IN's server.
	waitFor(t, "JP's status to show the 401 for IN's server", 60*time.Second, func() bool {
		return strings.Contains(serverRow(jp, "IN"), "401 Unauthorized")
	}, in, jp)
	// Both logs say why, once the processes' output has come through.
	waitFor(t, "JP's log to show the 401", 30*time.Second, func() bool { return strings.Contains(jp.logs(), "401 Unauthorized") }, jp)
	waitFor(t, "IN's log to record the refusal", 30*time.Second, func() bool {
		return strings.Contains(in.logs(), "without the token this node requires")
	}, in)

	// The token without JP's certificate is no one's credential.
	var te *taxii.Error
	if _, err := userClient(t, in, tok).Collections(context.Background(), "/api/"); !errors.As(err, &te) || te.StatusCode() != 401 {
		t.Errorf("the peer's token without its certificate: %v, want a 401", err)
	}

	// JP configured with the token, as its operator would be.
	f := filepath.Join(t.TempDir(), "in-token.txt")
	if err := os.WriteFile(f, []byte(tok+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	jp.run("peer", "update", in.name, "--token-file", f)
	waitFor(t, "IN's object on JP with the token", 60*time.Second, func() bool { return ids(jp.versions("from-IN"))[key(first)] == 1 }, in, jp)

	// A new token: the one JP holds stops working, and JP's status says so.
	in.run("peer", "token", "JP")
	second := newID()
	in.importObjects("shared", []string{indicator(second, day0, []string{stix.TLPGreen}, "")})
	waitFor(t, "JP's status to show the 401", 60*time.Second, func() bool {
		return strings.Contains(jp.run("peer", "status"), "401 Unauthorized")
	}, in, jp)
	if ids(jp.versions("from-IN"))[key(second)] != 0 {
		t.Errorf("JP pulled with a replaced token")
	}

	// No requirement: the certificate alone is enough again, and the stale
	// token JP still sends does no harm.
	in.run("peer", "token", "JP", "--clear")
	waitFor(t, "IN's second object on JP by certificate alone", 60*time.Second, func() bool {
		return ids(jp.versions("from-IN"))[key(second)] == 1
	}, in, jp)
}

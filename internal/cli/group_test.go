package cli

import (
	"strings"
	"testing"
)

// TestGroupPeerMembers: a partner node joins a sharing group as
// peer:NAME, only once it is a configured peer, and leaves it like any
// member.
func TestGroupPeerMembers(t *testing.T) {
	dir, _ := initNode(t, "IN-CERT", "IN")
	_, fp := peerCert(t)
	mustRun(t, "peer", "add", "--data", dir, "JP-CERT", "--url", "https://jp.example/taxii2/", "--fingerprint", fp)
	mustRun(t, "group", "create", "--data", dir, "in-jp-telecom", "--name", "IN-JP telecom operators")
	mustRun(t, "group", "create", "--data", dir, "in-jp-all")

	if out := mustRun(t, "group", "add", "--data", dir, "IN-JP telecom operators", "peer:JP-CERT"); out != "in-jp-telecom: peer:JP-CERT added\n" {
		t.Errorf("group add: %q", out)
	}
	mustRun(t, "group", "add", "--data", dir, "in-jp-all", "group:in-jp-telecom")
	for _, tt := range []struct {
		name, member, want string
	}{
		{"unknown peer", "peer:KR-CERT", "peer KR-CERT"},
		{"no name", "peer:", "peer:NAME"},
	} {
		code, out, errs := run(t, "", "group", "add", "--data", dir, "in-jp-telecom", tt.member)
		if code != 1 || !strings.Contains(errs, tt.want) || !strings.Contains(errs, "not found") {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit 1 naming %q", tt.name, code, out, errs, tt.want)
		}
	}
	if out := mustRun(t, "group", "show", "--data", dir, "in-jp-telecom"); !strings.Contains(out, "  peer:JP-CERT\n") {
		t.Errorf("group show does not list the peer:\n%s", out)
	}
	if out := mustRun(t, "group", "remove", "--data", dir, "in-jp-telecom", "peer:JP-CERT"); out != "in-jp-telecom: peer:JP-CERT removed\n" {
		t.Errorf("group remove: %q", out)
	}
	if out := mustRun(t, "group", "show", "--data", dir, "in-jp-telecom"); strings.Contains(out, "peer:JP-CERT") {
		t.Errorf("the peer is still listed after its removal:\n%s", out)
	}
	if code, _, errs := run(t, "", "group", "remove", "--data", dir, "in-jp-telecom", "peer:JP-CERT"); code != 1 {
		t.Errorf("removing a peer that is not a member: exit %d, %s", code, errs)
	}
}

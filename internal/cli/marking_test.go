package cli

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/setu-cti/setu/internal/policy"
	"github.com/setu-cti/setu/internal/stix"
	"github.com/setu-cti/setu/internal/taxii"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the current output")

// golden compares got with testdata/golden/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", name, diff)
	}
}

// TestMarkingCommands: every marking definition the node knows is listed
// with its id and meaning; recipients, group, residency and scope markings
// are created by name and printed with their JSON; unknown names are
// refused.
func TestMarkingCommands(t *testing.T) {
	dir := t.TempDir()
	d := "--data=" + dir
	mustRun(t, "org", "add", "cert-in", "--name", "CERT-In", "--country", "IN", "--kind", "national-cert", d)
	mustRun(t, "user", "add", "alice", "--org", "cert-in", "--role", "analyst", d)
	mustRun(t, "group", "create", "g-energy", "--name", "Energy ISAC", d)

	out := mustRun(t, "marking", "recipients", "cert-in", "user:alice", d)
	rid := policy.Distribution{Recipients: []string{"org:cert-in", "user:alice"}}.MarkingID()
	if !strings.HasPrefix(out, rid+"\nrecipients: TLP:RED recipients org:cert-in, user:alice\n{") {
		t.Errorf("recipients:\n%s", out)
	}
	out = mustRun(t, "marking", "residency", "jp", d)
	if !strings.HasPrefix(out, policy.Distribution{Resident: "JP"}.MarkingID()+"\nresidency:") {
		t.Errorf("residency:\n%s", out)
	}
	out = mustRun(t, "marking", "group", "g-energy", d)
	if !strings.HasPrefix(out, policy.Distribution{Scope: policy.ScopeGroup, Group: "g-energy"}.MarkingID()+"\ngroup:") {
		t.Errorf("group:\n%s", out)
	}
	list := mustRun(t, "marking", "list", d)
	golden(t, "marking-list.txt", list)
	// --json: each definition, one a line, as many as the table lists.
	lines := strings.Split(strings.TrimSpace(mustRun(t, "marking", "list", "--json", d)), "\n")
	if len(lines) != strings.Count(list, "\n")-1 {
		t.Errorf("--json printed %d definitions, the table %d", len(lines), strings.Count(list, "\n")-1)
	}
	for _, l := range lines {
		var md struct{ Type, ID string }
		if err := json.Unmarshal([]byte(l), &md); err != nil || md.Type != "marking-definition" || !strings.Contains(list, md.ID) {
			t.Errorf("--json line %s: %v", l, err)
		}
	}
	golden(t, "marking-show-recipients.txt", mustRun(t, "marking", "show", rid, d))
	golden(t, "marking-tlp-amber.txt", mustRun(t, "marking", "tlp", "amber"))

	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"marking", "recipients", "nobody", d}, 1, `recipient "nobody": no organisation has that id and no user that name`},
		{[]string{"marking", "recipients", "org:nowhere", d}, 1, `org nowhere does not exist`},
		{[]string{"marking", "group", "g-none", d}, 1, `sharing group "g-none" does not exist`},
		{[]string{"marking", "residency", "IND", d}, 1, `not an upper-case ISO 3166-1 alpha-2 code`},
		{[]string{"marking", "scope", "everyone", d}, 1, `unknown scope`},
		{[]string{"marking", "show", "marking-definition--00000000-0000-4000-8000-000000000000", d}, 1, `not known to this node`},
		{[]string{"marking", "tlp", "purple"}, 2, `unknown TLP level`},
		{[]string{"marking", "frobnicate"}, 2, `usage: setu marking`},
	} {
		t.Run(strings.Join(tc.args[:2], " "), func(t *testing.T) {
			code, _, stderr := run(t, "", tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.msg) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, tc.code, tc.msg)
			}
		})
	}
}

// TestMarkingsOverTAXII: the node's marking definitions are a collection
// every authenticated user may read, holding the built-in TLP definitions,
// the Setu distribution markings and those created since.
func TestMarkingsOverTAXII(t *testing.T) {
	dir := t.TempDir()
	n := startServe(t, "--data", dir)
	d := "--data=" + dir
	mustRun(t, "org", "add", "telco", "--name", "A telco", "--country", "IN", "--kind", "business", d)
	mustRun(t, "user", "add", "bob", "--org", "telco", "--role", "read-only", d)
	secret := strings.TrimSpace(mustRun(t, "token", "create", "bob", d))
	mustRun(t, "marking", "recipients", "telco", d)

	c, err := taxii.NewClient(n.url, taxii.WithHTTPClient(n.httpClient(t)), taxii.WithBasicAuth("bob", secret))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cs, err := c.Collections(ctx, n.url+"/api/")
	if err != nil {
		t.Fatal(err)
	}
	var id string
	for _, col := range cs.Collections {
		if col.Alias == "markings" && col.CanRead {
			id = col.ID
		}
	}
	if id == "" {
		t.Fatalf("bob cannot read a markings collection: %+v", cs.Collections)
	}
	got := map[string]bool{}
	for pg, err := range c.AllObjects(ctx, n.url+"/api/", id, taxii.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range pg.Envelope.Objects {
			var h struct {
				ID string `json:"id"`
			}
			if err := json.Unmarshal(o, &h); err != nil {
				t.Fatal(err)
			}
			got[h.ID] = true
		}
	}
	for _, want := range []string{stix.TLPAmber, stix.TLP1Red,
		policy.Distribution{Scope: policy.ScopePartners}.MarkingID(),
		policy.Distribution{Recipients: []string{"org:telco"}}.MarkingID()} {
		if !got[want] {
			t.Errorf("%s is not readable over TAXII (read %d definitions)", want, len(got))
		}
	}
}

// TestOrgIdentityPerNode: the same organisation id on two nodes is two
// STIX identities.
func TestOrgIdentityPerNode(t *testing.T) {
	ids := map[string]bool{}
	for range 2 {
		out := mustRun(t, "org", "add", "cert-in", "--name", "CERT-In", "--country", "IN", "--kind", "national-cert", "--data="+t.TempDir())
		i := strings.Index(out, "identity--")
		if i < 0 {
			t.Fatalf("org add: %s", out)
		}
		ids[strings.TrimRight(out[i:], ")\n")] = true
	}
	if len(ids) != 2 {
		t.Errorf("cert-in on two nodes has identities %v", ids)
	}
}

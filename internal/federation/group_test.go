package federation_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/setu-cti/setu/internal/policy"
	"github.com/setu-cti/setu/internal/stix"
	"github.com/setu-cti/setu/internal/taxii"
)

// groupMarking returns the distribution marking definition of a sharing
// group.
func groupMarking(t *testing.T, group string) (id, body string) {
	t.Helper()
	d := policy.Distribution{Scope: policy.ScopeGroup, Group: group}
	b, err := d.MarkingDefinition()
	if err != nil {
		t.Fatal(err)
	}
	return d.MarkingID(), string(b)
}

// applyAgreement applies an agreement document on n.
func applyAgreement(n *node, doc string) {
	n.t.Helper()
	f := filepath.Join(n.t.TempDir(), "agreement.json")
	if err := os.WriteFile(f, []byte(doc), 0o600); err != nil {
		n.t.Fatal(err)
	}
	n.run("agreement", "apply", f)
}

// TestGroupDistributionCrosses: an object distributed to a sharing group
// reaches a partner node that IN's registry lists in the group, when the
// agreement lets the group cross, and there the group's members read it.
// IN withholds what its terms or its registry do not allow, and JP refuses
// what its own do not: a group it does not know (the marking stays
// unknown), or one it does not count IN a member of.
func TestGroupDistributionCrosses(t *testing.T) {
	t.Parallel()
	in, jp := newNode(t, "IN", "IN"), newNode(t, "JP", "JP")
	peered(in, jp)

	// IN's registry. telecom: JP is a member (through a member group, as
	// an organisation would be) and the agreement lets it cross. finance:
	// JP is a member, not agreed. energy: agreed, JP no member. ops and
	// cert: agreed, JP a member; JP does not know ops, and does not count
	// IN in cert.
	for _, g := range []string{"g-telecom", "g-telecom-jp", "g-finance", "g-energy", "g-ops", "g-cert"} {
		in.run("group", "create", g)
	}
	in.run("group", "add", "g-telecom-jp", "peer:JP")
	in.run("group", "add", "g-telecom", "group:g-telecom-jp")
	for _, g := range []string{"g-finance", "g-ops", "g-cert"} {
		in.run("group", "add", g, "peer:JP")
	}
	// JP's registry: the groups it shares with IN under the same ids.
	for _, g := range []string{"g-telecom", "g-cert"} {
		jp.run("group", "create", g)
	}
	jp.run("group", "add", "g-telecom", "peer:IN")
	jp.run("org", "add", "jp-telco", "--name", "JP Telco", "--country", "JP", "--kind", "critical-infrastructure-operator")
	jp.run("org", "add", "jp-bank", "--name", "JP Bank", "--country", "JP", "--kind", "business")
	jp.run("group", "add", "g-telecom", "jp-telco")

	jp.run("collection", "add", "from-IN")
	applyAgreement(in, `{"peer": "JP", "version": 1, "direction": {"outbound": ["shared"]},
		"max_tlp": "amber", "distribution": ["group", "partners", "nodes", "public"],
		"groups": ["g-telecom", "g-energy", "g-ops", "g-cert"],
		"anonymise_submitters": true, "mode": "pull", "schedule": "1m"}`)
	applyAgreement(jp, `{"peer": "IN", "version": 1, "direction": {"inbound": "from-IN"},
		"max_tlp": "amber", "distribution": ["group", "partners", "nodes", "public"],
		"groups": ["g-telecom", "g-cert"],
		"anonymise_submitters": true, "mode": "pull", "schedule": "1m"}`)

	objs := map[string]string{}
	var imports []string
	for _, g := range []string{"g-telecom", "g-finance", "g-energy", "g-ops", "g-cert"} {
		id, def := groupMarking(t, g)
		objs[g] = newID()
		imports = append(imports, def, indicator(objs[g], day0, []string{stix.TLPGreen, id}, ""))
	}
	in.importObjects("shared", imports)

	// IN decides the whole collection in one batch; JP then decides what
	// it pulled.
	waitFor(t, "IN to withhold the finance and energy objects", 60*time.Second, func() bool {
		c := in.counts("JP")
		return c["withheld:agreement-group"] == 1 && c["withheld:distribution-group"] == 1
	}, in, jp)
	waitFor(t, "JP to decide what IN released", 60*time.Second, func() bool {
		c := jp.counts("IN")
		return c["in"] >= 1 && c["refused:inbound:unknown-marking"] == 1 && c["refused:inbound:distribution-group"] == 1
	}, in, jp)
	at := "@" + day0.Format(time.RFC3339Nano)
	got := ids(jp.versions("from-IN"))
	for g, id := range objs {
		if want := g == "g-telecom"; (got[id+at] == 1) != want {
			t.Errorf("the %s object on JP: %v, want %v", g, got[id+at] == 1, want)
		}
	}
	if c := in.counts("JP"); c["released"] != 3 {
		t.Errorf("IN's counters for JP: %v, want 3 released (telecom, ops, cert)", c)
	}

	// On JP, the group's member organisation reads the object and another
	// does not.
	ctx := context.Background()
	for _, tt := range []struct {
		org  string
		sees bool
	}{{"jp-telco", true}, {"jp-bank", false}} {
		jp.run("user", "add", "u-"+tt.org, "--org", tt.org, "--role", "analyst")
		tok := strings.TrimSpace(jp.run("token", "create", "u-"+tt.org))
		jp.run("collection", "grant", "from-IN", tt.org, "--read")
		cl := userClient(t, jp, tok)
		coll := collectionID(t, cl, "from-IN")
		env, _, err := cl.GetObjects(ctx, "/api/", coll, taxii.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		seen := false
		for _, o := range env.Objects {
			seen = seen || strings.Contains(string(o), objs["g-telecom"])
		}
		if seen != tt.sees {
			t.Errorf("%s reads the telecom object on JP: %v, want %v", tt.org, seen, tt.sees)
		}
	}

	// Membership is part of the terms egress evaluated under: JP joining
	// g-energy on IN releases the energy object without a new agreement.
	in.run("group", "add", "g-energy", "peer:JP")
	waitFor(t, "IN to release the energy object once JP is a member", 60*time.Second, func() bool {
		return in.counts("JP")["released"] == 4
	}, in, jp)

	in.stop()
	jp.stop()
	exp := in.run("audit", "export")
	for _, rule := range []string{"agreement-group", "distribution-group"} {
		if !strings.Contains(exp, rule) {
			t.Errorf("IN's audit log does not record the %s withholding", rule)
		}
	}
}

package cli

import (
	"fmt"
	"strings"
	"testing"

	"github.com/setu-cti/setu/internal/policy"
	"github.com/setu-cti/setu/internal/stix"
)

// An operator's export holds everything; an export --as ORG and policy
// explain follow the sharing policy.
func TestExportAsAndExplain(t *testing.T) {
	dir := t.TempDir()
	if code, _, errs := run(t, "", "org", "add", "cert-a", "--name", "A", "--country", "IN", "--kind", "national-cert", "--data", dir); code != 0 {
		t.Fatalf("org add: %s", errs)
	}
	own := policy.Distribution{Scope: policy.ScopeOrg}
	def, err := own.MarkingDefinition()
	if err != nil {
		t.Fatal(err)
	}
	private := strings.Replace(indicator(2, "2024-01-01T00:00:00.000Z"), `"created":`, `"object_marking_refs":["`+own.MarkingID()+`"],"created":`, 1)
	// Its description is TLP:RED with no recipients: the object is withheld
	// from everyone but its submitter rather than served altered.
	partRed := strings.Replace(indicator(3, "2024-01-01T00:00:00.000Z"), `"created":`,
		`"description":"named source","granular_markings":[{"marking_ref":"`+stix.TLPRed+`","selectors":["description"]}],"created":`, 1)
	input := strings.Join([]string{string(def), indicator(1, "2024-01-01T00:00:00.000Z"), private, partRed}, "\n")
	if code, out, errs := run(t, input, "import", "--data", dir, "-"); code != 0 {
		t.Fatalf("import: %s %s", out, errs)
	}
	if got := countExported(t, dir); got != 4 {
		t.Errorf("operator export: %d objects, want 4", got)
	}
	// cert-a sees the community object and the marking definition, not the
	// object distributed to its submitting organisation only.
	if got := countExported(t, dir, "--as", "cert-a"); got != 2 {
		t.Errorf("export --as cert-a: %d objects, want 2", got)
	}
	code, out, _ := run(t, "", "policy", "explain", "indicator--00000002-0000-4000-8000-000000000000", "--as", "cert-a", "--data", dir)
	if code != 0 || !strings.HasPrefix(out, "DENY") || !strings.Contains(out, "distribution-org") {
		t.Errorf("explain private: %d %q", code, out)
	}
	code, out, _ = run(t, "", "policy", "explain", "indicator--00000001-0000-4000-8000-000000000000", "--as", "cert-a", "--data", dir)
	if code != 0 || !strings.HasPrefix(out, "ALLOW") || !strings.Contains(out, "TLP:AMBER") {
		t.Errorf("explain community: %d %q", code, out)
	}
	if code, _, errs := run(t, "", "policy", "explain", "indicator--00000001-0000-4000-8000-000000000000", "--data", dir); code != 2 {
		t.Errorf("explain without --as: %d %s", code, errs)
	}
	run(t, "", "org", "add", "cert-b", "--name", "B", "--country", "JP", "--kind", "business", "--data", dir)
	code, out, _ = run(t, "", "policy", "explain", "indicator--00000002-0000-4000-8000-000000000000", "--all", "--data", dir)
	if code != 0 || len(strings.Fields(out)) < 10 || !strings.Contains(strings.Join(strings.Fields(out), " "), "cert-a IN deny distribution-org") ||
		!strings.Contains(strings.Join(strings.Fields(out), " "), "cert-b JP deny distribution-org") {
		t.Errorf("explain --all: %d\n%s", code, out)
	}
}

func TestExplainGranular(t *testing.T) {
	dir := t.TempDir()
	run(t, "", "org", "add", "cert-a", "--name", "A", "--country", "IN", "--kind", "national-cert", "--data", dir)
	partRed := strings.Replace(indicator(3, "2024-01-01T00:00:00.000Z"), `"created":`,
		`"description":"named source","granular_markings":[{"marking_ref":"`+stix.TLPRed+`","selectors":["description"]}],"created":`, 1)
	if code, out, errs := run(t, partRed, "import", "--data", dir, "-"); code != 0 {
		t.Fatalf("import: %s %s", out, errs)
	}
	code, out, _ := run(t, "", "policy", "explain", "indicator--00000003-0000-4000-8000-000000000000", "--as", "cert-a", "--data", dir)
	if code != 0 || !strings.HasPrefix(out, "DENY") || !strings.Contains(out, "granular-marking") {
		t.Errorf("explain: %d %q", code, out)
	}
}

// The default TLP is a node setting: shown, set, refused when unknown, and
// applied by explain and export to objects without a TLP marking.
func TestDefaultTLP(t *testing.T) {
	dir := t.TempDir()
	run(t, "", "org", "add", "cert-a", "--name", "A", "--country", "IN", "--kind", "national-cert", "--data", dir)
	if code, out, errs := run(t, indicator(1, "2024-01-01T00:00:00.000Z"), "import", "--data", dir, "-"); code != 0 {
		t.Fatalf("import: %s %s", out, errs)
	}
	explain := func() string {
		_, out, _ := run(t, "", "policy", "explain", "indicator--00000001-0000-4000-8000-000000000000", "--as", "cert-a", "--data", dir)
		return out
	}
	if code, out, _ := run(t, "", "policy", "default-tlp", "--data", dir); code != 0 || out != "TLP:AMBER\n" {
		t.Errorf("default: %d %q", code, out)
	}
	if !strings.HasPrefix(explain(), "ALLOW") {
		t.Errorf("AMBER default: %s", explain())
	}
	if code, _, errs := run(t, "", "policy", "default-tlp", "purple", "--data", dir); code != 2 || !strings.Contains(errs, "unknown TLP level") {
		t.Errorf("unknown level: %d %s", code, errs)
	}
	if code, _, errs := run(t, "", "policy", "default-tlp", "red", "--data", dir); code != 0 {
		t.Fatalf("set red: %s", errs)
	}
	if code, out, _ := run(t, "", "policy", "default-tlp", "--data", dir); code != 0 || out != "TLP:RED\n" {
		t.Errorf("after set: %d %q", code, out)
	}
	if out := explain(); !strings.HasPrefix(out, "DENY") || !strings.Contains(out, "tlp-red") {
		t.Errorf("RED default: %s", out)
	}
	if got := countExported(t, dir, "--as", "cert-a"); got != 0 {
		t.Errorf("export --as cert-a under a RED default: %d objects", got)
	}
}

func TestOrgSetAnonymous(t *testing.T) {
	dir := t.TempDir()
	if code, _, errs := run(t, "", "org", "add", "a", "--name", "A", "--country", "JP", "--kind", "business", "--anonymous", "--data", dir); code != 0 {
		t.Fatalf("org add: %s", errs)
	}
	row := func() string {
		t.Helper()
		_, out, _ := run(t, "", "org", "list", "--data", dir)
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, "a ") {
				// The last column is the organisation's STIX identity id,
				// which no setting changes.
				f := strings.Fields(l)
				if !strings.HasPrefix(f[len(f)-1], "identity--") {
					t.Fatalf("no identity column in %q", l)
				}
				return strings.Join(f[:len(f)-1], " ")
			}
		}
		t.Fatalf("no row for a in:\n%s", out)
		return ""
	}
	if got := row(); !strings.HasSuffix(got, " everyone") {
		t.Errorf("list: %s", got)
	}
	if code, _, errs := run(t, "", "org", "set", "a", "--data", dir); code != 2 || !strings.Contains(errs, "nothing to set") {
		t.Errorf("set nothing: %d %s", code, errs)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--anonymous=false"}, "a A JP business no"},
		{[]string{"--anonymous-to-partners", "--sector", "telecommunications,energy"}, "a A JP business telecommunications,energy partners"},
		{[]string{"--name", "A Telco", "--kind", "critical-infrastructure-operator"}, "a A Telco JP critical-infrastructure-operator telecommunications,energy partners"},
		{[]string{"--sector", "", "--anonymous-to-partners=false"}, "a A Telco JP critical-infrastructure-operator no"},
	} {
		if code, _, errs := run(t, "", append([]string{"org", "set", "a", "--data", dir}, tt.args...)...); code != 0 {
			t.Fatalf("set %v: %s", tt.args, errs)
		}
		if got := row(); got != tt.want {
			t.Errorf("after set %v: %q, want %q", tt.args, got, tt.want)
		}
	}
	if code, _, errs := run(t, "", "org", "set", "a", "--sector", "Not A Sector", "--data", dir); code == 0 || !strings.Contains(errs, "sector") {
		t.Errorf("bad sector: exit %d, %s", code, errs)
	}
	if code, _, _ := run(t, "", "org", "set", "nobody", "--anonymous", "--data", dir); code == 0 {
		t.Error("set on an absent organisation succeeded")
	}
}

// explain --peer decides as the sync engine does: with the country the
// peer was declared in and the sharing groups the registry lists it in.
func TestExplainPeer(t *testing.T) {
	dir, _ := initNode(t, "IN-CERT", "IN")
	_, fp := peerCert(t)
	mustRun(t, "peer", "add", "--data", dir, "JP-CERT", "--url", "https://jp.example/taxii2/", "--fingerprint", fp, "--country", "JP")
	mustRun(t, "group", "create", "--data", dir, "in-jp-telecom")
	var input []string
	for i, d := range []policy.Distribution{{Scope: policy.ScopeGroup, Group: "in-jp-telecom"}, {Resident: "IN"}} {
		def, err := d.MarkingDefinition()
		if err != nil {
			t.Fatal(err)
		}
		input = append(input, string(def), strings.Replace(indicator(i+1, "2024-01-01T00:00:00.000Z"), `"created":`,
			`"object_marking_refs":["`+d.MarkingID()+`","`+stix.TLPGreen+`"],"created":`, 1))
	}
	if code, out, errs := run(t, strings.Join(input, "\n"), "import", "--data", dir, "-"); code != 0 {
		t.Fatalf("import: %s %s", out, errs)
	}
	explain := func(id string) string {
		t.Helper()
		return mustRun(t, "policy", "explain", id, "--peer", "JP-CERT", "--data", dir)
	}
	group, resident := "indicator--00000001-0000-4000-8000-000000000000", "indicator--00000002-0000-4000-8000-000000000000"
	// Without an agreement, nothing is released, whatever the policy says.
	if out := explain(group); !strings.HasPrefix(out, "DENY") || !strings.Contains(out, "rule:   no-agreement") ||
		!strings.Contains(out, "policy alone: deny (distribution-group)") {
		t.Errorf("no agreement:\n%s", out)
	}
	apply := func(version int, extra string) {
		t.Helper()
		doc := fmt.Sprintf(`{"peer": "JP-CERT", "version": %d, "direction": {"outbound": ["shared"]}, "max_tlp": "amber",
			"distribution": ["group", "partners"], "groups": ["in-jp-telecom"], "anonymise_submitters": true,
			"mode": "pull", "schedule": "5m"%s}`, version, extra)
		if code, out, errs := run(t, doc, "agreement", "apply", "--data", dir, "-"); code != 0 {
			t.Fatalf("agreement apply: %s %s", out, errs)
		}
	}
	// The import stored the objects in shared, the outbound collection.
	apply(1, `, "sectors": ["telecommunications"]`)
	if out := explain(group); !strings.HasPrefix(out, "DENY") || !strings.Contains(out, "distribution-group") {
		t.Errorf("group object, JP-CERT not a member:\n%s", out)
	}
	mustRun(t, "group", "add", "--data", dir, "in-jp-telecom", "peer:JP-CERT")
	// The policy lets it go; the agreement's sectors do not: the operators
	// who imported it declared none.
	out := explain(group)
	for _, want := range []string{"DENY", "rule:   agreement-sector", "policy alone: allow (distribution-group)",
		"agreement: version 1; max TLP amber; distribution group,partners; groups in-jp-telecom; sectors telecommunications; submitters anonymised",
		"sectors: none", "names its submitter to peers: no"} {
		if !strings.Contains(out, want) {
			t.Errorf("group object, JP-CERT a member, agreement limited to a sector: no %q in\n%s", want, out)
		}
	}
	apply(2, "")
	if out := explain(group); !strings.HasPrefix(out, "ALLOW") || !strings.Contains(out, "within the agreement with JP-CERT, version 2") {
		t.Errorf("group object, JP-CERT a member:\n%s", out)
	}
	if out := explain(resident); !strings.HasPrefix(out, "DENY") || !strings.Contains(out, "residency") {
		t.Errorf("object resident in IN, for a peer in JP:\n%s", out)
	}
	if code, _, errs := run(t, "", "policy", "explain", group, "--peer", "KR-CERT", "--data", dir); code != 1 || !strings.Contains(errs, "KR-CERT") {
		t.Errorf("explain for an unknown peer: exit %d, %s", code, errs)
	}
}

// What the node's operators import carries the sectors of the node
// operators' organisation as they were at the import: sharing agreements
// limited to sectors read them.
func TestImportCarriesNodeSectors(t *testing.T) {
	dir, _ := initNode(t, "IN-CERT", "IN")
	_, fp := peerCert(t)
	mustRun(t, "peer", "add", "--data", dir, "JP-CERT", "--url", "https://jp.example/", "--fingerprint", fp, "--country", "JP")
	mustRun(t, "org", "add", "--data", dir, "node", "--name", "Node operators", "--country", "IN", "--kind", "national-cert")
	sectorsOf := func(i int) string {
		t.Helper()
		out := mustRun(t, "policy", "explain", fmt.Sprintf("indicator--%08x-0000-4000-8000-000000000000", i), "--peer", "JP-CERT", "--data", dir)
		for _, l := range strings.Split(out, "\n") {
			if _, rest, ok := strings.Cut(l, "sectors: "); ok {
				return strings.SplitN(rest, ";", 2)[0]
			}
		}
		t.Fatalf("explain shows no sectors:\n%s", out)
		return ""
	}
	importOne := func(i int) {
		t.Helper()
		if code, out, errs := run(t, indicator(i, "2024-01-01T00:00:00.000Z"), "import", "--data", dir, "-"); code != 0 {
			t.Fatalf("import: %s %s", out, errs)
		}
	}
	importOne(1)
	mustRun(t, "org", "set", "--data", dir, "node", "--sector", "energy,telecommunications")
	importOne(2)
	if got := sectorsOf(1); got != "none" {
		t.Errorf("imported before the node declared sectors: %q", got)
	}
	if got := sectorsOf(2); got != "energy,telecommunications" {
		t.Errorf("imported after: %q", got)
	}
}

package cli

import (
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

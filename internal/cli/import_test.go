package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestImportReport: the import says what happened to each object a user
// must look at — rejections and warnings with the line they start on and
// their number counted from 1, the NDJSON line that is not JSON, a hint
// for a MISP event — and sums up by collection.
func TestImportReport(t *testing.T) {
	warned := strings.Replace(indicator(2, "2024-01-01T00:00:00.000Z"), `"created":`,
		`"external_references":[{"source_name":"capec","url":" https://example.com/a"}],"created":`, 1)
	misp, err := os.ReadFile(filepath.Join("testdata", "misp-event.json"))
	if err != nil {
		t.Fatal(err)
	}
	input := strings.Join([]string{
		indicator(1, "2024-01-01T00:00:00.000Z"),
		"",
		`{"type": "indicator", "id": `,
		warned,
		strings.TrimSpace(string(misp)),
		strings.Replace(indicator(1, "2024-01-01T00:00:00.000Z"), "10.0.0.1", "10.9.9.9", 1),
	}, "\n") + "\n"
	dir := t.TempDir()
	code, out, errs := run(t, input, "import", "-q", "--data", dir, "-")
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	golden(t, "import-report.txt", "stdout:\n"+out+"stderr:\n"+errs)

	// Keeping conflicts: the stored content stays, nothing is refused.
	code, out, errs = run(t, input, "import", "-q", "--on-conflict", "keep", "--data", dir, "-")
	golden(t, "import-report-keep.txt", "stdout:\n"+out+"stderr:\n"+errs)
	if code != 1 { // the bad line and the MISP event are still rejected
		t.Errorf("exit %d, want 1", code)
	}
	if code, _, errs := run(t, "", "import", "--on-conflict", "replace", "--data", dir, "-"); code != 2 || !strings.Contains(errs, "want reject or keep") {
		t.Errorf("--on-conflict replace: exit %d %s", code, errs)
	}
}

// TestImportHandling: --tlp and --share assign handling to what is
// imported, without changing the objects, and the default collection is
// the shared one every organisation reads.
func TestImportHandling(t *testing.T) {
	dir := t.TempDir()
	d := "--data=" + dir
	for _, o := range []string{"telco", "bank"} {
		mustRun(t, "org", "add", o, "--name", o, "--country", "IN", "--kind", "business", d)
	}
	obj := indicator(1, "2024-01-01T00:00:00.000Z")
	if code, out, errs := run(t, obj, "import", "-q", "--tlp", "red", "--share", "org:telco", d, "-"); code != 0 || !strings.Contains(out, "into collection shared") {
		t.Fatalf("import: %d %s %s", code, out, errs)
	}
	if got := countExported(t, dir, "--as", "telco"); got != 1 {
		t.Errorf("the named recipient reads %d objects, want 1", got)
	}
	if got := countExported(t, dir, "--as", "bank"); got != 0 {
		t.Errorf("another organisation reads %d objects, want 0", got)
	}
	_, exported, _ := run(t, "", "export", "--format", "ndjson", d)
	if got := objectsOf(t, exported); len(got) != 1 || strings.Contains(exported, "marking") || strings.Contains(exported, "created_by_ref") {
		t.Errorf("stored object changed: %s", exported)
	}
	for _, tc := range []struct{ flag, val, msg string }{
		{"--tlp", "purple", "unknown TLP level"},
		{"--share", "everyone", `share "everyone"`},
		{"--share", "group:g-none", "g-none"},
	} {
		code, _, errs := run(t, obj, "import", "-q", tc.flag, tc.val, d, "-")
		if code == 0 || !strings.Contains(errs, tc.msg) {
			t.Errorf("%s %s: exit %d, %s", tc.flag, tc.val, code, errs)
		}
	}
}

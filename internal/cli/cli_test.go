package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// run executes the setu command line in-process.
func run(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

// objectsOf decodes a bundle's or an NDJSON stream's objects as generic values.
func objectsOf(t *testing.T, data string) []any {
	t.Helper()
	data = strings.TrimSpace(data)
	if strings.HasPrefix(data, `{"type":"bundle"`) || strings.HasPrefix(data, "{\n") {
		var b struct {
			Objects []any `json:"objects"`
		}
		if err := json.Unmarshal([]byte(data), &b); err != nil {
			t.Fatalf("decoding bundle: %v", err)
		}
		return b.Objects
	}
	var objs []any
	for _, line := range strings.Split(data, "\n") {
		if line == "" {
			continue
		}
		var o any
		if err := json.Unmarshal([]byte(line), &o); err != nil {
			t.Fatalf("decoding NDJSON line: %v", err)
		}
		objs = append(objs, o)
	}
	return objs
}

func byID(objs []any) map[string]any {
	m := map[string]any{}
	for _, o := range objs {
		m[o.(map[string]any)["id"].(string)] = o
	}
	return m
}

func TestImportExportRoundTrip(t *testing.T) {
	for _, file := range []string{"indicator-for-malicious-url.json", "poisonivy.json"} {
		t.Run(file, func(t *testing.T) {
			dir := t.TempDir()
			src := filepath.Join("testdata", file)
			raw, err := os.ReadFile(src)
			if err != nil {
				t.Fatal(err)
			}
			want := byID(objectsOf(t, string(raw)))

			code, out, errs := run(t, "", "import", "--data", dir, "--collection", "c1", src)
			if code != 0 {
				t.Fatalf("import exit %d: %s%s", code, out, errs)
			}
			if wantLine := fmt.Sprintf("accepted %d (new %d, duplicate 0), rejected 0", len(want), len(want)); !strings.Contains(out, wantLine) {
				t.Errorf("summary %q lacks %q", out, wantLine)
			}
			// Importing again is a success: every object is an exact duplicate.
			code, out, errs = run(t, "", "import", "--data", dir, "--collection", "c1", src)
			if code != 0 || !strings.Contains(out, fmt.Sprintf("new 0, duplicate %d", len(want))) {
				t.Fatalf("re-import exit %d: %s%s", code, out, errs)
			}

			for _, format := range []string{"bundle", "ndjson"} {
				code, out, errs = run(t, "", "export", "--data", dir, "--collection", "c1", "--format", format)
				if code != 0 {
					t.Fatalf("export exit %d: %s", code, errs)
				}
				got := byID(objectsOf(t, out))
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("%s export differs from the imported objects (-want +got):\n%s", format, diff)
				}
			}
		})
	}
}

// indicator returns a valid STIX 2.1 indicator with a deterministic id.
func indicator(i int, modified string) string {
	return fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":"indicator--%08x-0000-4000-8000-000000000000",`+
		`"created":"2024-01-01T00:00:00.000Z","modified":%q,"pattern":"[ipv4-addr:value = '10.%d.%d.%d']",`+
		`"pattern_type":"stix","valid_from":"2024-01-01T00:00:00Z"}`, i, modified, i>>16&255, i>>8&255, i&255)
}

func bundle(objs []string) string {
	return `{"type":"bundle","id":"bundle--11111111-2222-4333-8444-555555555555","objects":[` + strings.Join(objs, ",") + "]}"
}

func countExported(t *testing.T, dir string, args ...string) int {
	t.Helper()
	code, out, errs := run(t, "", append([]string{"export", "--data", dir, "--format", "ndjson"}, args...)...)
	if code != 0 {
		t.Fatalf("export exit %d: %s", code, errs)
	}
	return len(objectsOf(t, out))
}

func TestImportBadInput(t *testing.T) {
	n := 100000
	if testing.Short() {
		n = 5000
	}
	big := make([]string, n)
	for i := range big {
		big[i] = indicator(i, "2024-01-01T00:00:00.000Z")
	}
	bad := `{"type":"indicator","spec_version":"2.1","id":"indicator--aaaaaaaa-0000-4000-8000-000000000000","created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:00.000Z","pattern":"[ipv4-addr:value = '1.2.3.4']","valid_from":"2024-01-01T00:00:00Z"}`
	withBad := append(append(append([]string{}, big[:n/2]...), bad), big[n/2:]...)

	tests := []struct {
		name      string
		input     string
		wantCode  int
		stored    int      // objects in the collection afterwards
		wantInErr []string // substrings of stderr
	}{
		{"one invalid object in the middle of a large bundle", bundle(withBad), 1, n,
			[]string{"indicator--aaaaaaaa-0000-4000-8000-000000000000", "pattern_type"}},
		{"truncated JSON keeps what came before", bundle(big[:10])[:len(bundle(big[:10]))-40], 1, 9,
			[]string{"offset"}},
		{"wrong property type", bundle([]string{big[0], strings.Replace(big[1], `"pattern_type":"stix"`, `"pattern_type":7`, 1), big[2]}), 1, 2,
			[]string{"indicator--00000001-0000-4000-8000-000000000000", "pattern_type"}},
		{"same id and modified with different content", bundle([]string{big[0], strings.Replace(big[0], "10.0.0.0", "10.9.9.9", 1), big[1]}), 1, 2,
			[]string{"indicator--00000000-0000-4000-8000-000000000000", "conflict"}},
		{"invalid UTF-8 in one object", bundle([]string{big[0], strings.Replace(big[1], "10.0.0.1", "10.0.0.1\xff", 1), big[2]}), 1, 2,
			[]string{"indicator--00000001", "UTF-8"}},
		{"duplicate member names", bundle([]string{big[0], strings.Replace(big[1], `"pattern_type":"stix"`, `"pattern_type":"stix","pattern_type":"stix"`, 1)}), 1, 1,
			[]string{"indicator--00000001", "duplicate"}},
		{"NDJSON with a broken line", big[0] + "\n{\"type\": \n" + big[1] + "\n", 1, 2, nil},
		{"plain JSON array", "[" + big[0] + "," + big[1] + "]", 0, 2, nil},
		{"not JSON at all", "hello", 1, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			code, out, errs := run(t, tt.input, "import", "--data", dir, "-")
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d; stdout %q stderr %q", code, tt.wantCode, out, truncate(errs))
			}
			for _, s := range tt.wantInErr {
				if !strings.Contains(strings.ToLower(errs), strings.ToLower(s)) {
					t.Errorf("stderr lacks %q: %s", s, truncate(errs))
				}
			}
			if tt.stored > 0 || tt.wantCode == 0 {
				if got := countExported(t, dir); got != tt.stored {
					t.Errorf("stored %d objects, want %d", got, tt.stored)
				}
			}
			// Whatever was valid is stored exactly once: importing the same
			// input again adds nothing new.
			_, out, _ = run(t, tt.input, "import", "--data", dir, "-")
			if !strings.Contains(out, "(new 0,") {
				t.Errorf("second import stored new objects: %s", out)
			}
		})
	}
}

func truncate(s string) string {
	if len(s) > 2000 {
		return s[:2000] + "..."
	}
	return s
}

func TestExportFilters(t *testing.T) {
	dir := t.TempDir()
	objs := []string{
		indicator(1, "2024-01-01T00:00:00.000Z"),
		indicator(1, "2024-02-01T00:00:00.000Z"),
		indicator(2, "2024-01-01T00:00:00.000Z"),
		`{"type":"ipv4-addr","spec_version":"2.1","id":"ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd","value":"198.51.100.3"}`,
	}
	code, out, errs := run(t, strings.Join(objs, "\n"), "import", "--data", dir, "-")
	if code != 0 {
		t.Fatalf("import exit %d: %s %s", code, out, errs)
	}
	tests := []struct {
		args []string
		want int
	}{
		{nil, 3},
		{[]string{"--all-versions"}, 4},
		{[]string{"--type", "indicator"}, 2},
		{[]string{"--type", "ipv4-addr,indicator", "--all-versions"}, 4},
		{[]string{"--added-after", "2999-01-01T00:00:00Z"}, 0},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			if got := countExported(t, dir, tt.args...); got != tt.want {
				t.Errorf("exported %d, want %d", got, tt.want)
			}
		})
	}
	t.Run("empty bundle has no empty list", func(t *testing.T) {
		_, out, _ := run(t, "", "export", "--data", dir, "--type", "malware")
		if strings.Contains(out, "[]") || strings.Contains(out, "objects") {
			t.Errorf("empty export %q", out)
		}
	})
	t.Run("unknown collection", func(t *testing.T) {
		if code, _, errs := run(t, "", "export", "--data", dir, "--collection", "nope"); code == 0 || !strings.Contains(errs, "not found") {
			t.Errorf("exit %d, stderr %q", code, errs)
		}
	})
}

func TestVersionAndMigrate(t *testing.T) {
	if code, out, _ := run(t, "", "version"); code != 0 || !strings.HasPrefix(out, "setu ") {
		t.Errorf("version: %d %q", code, out)
	}
	dir := t.TempDir()
	code, out, errs := run(t, "", "migrate", "--data", dir)
	if code != 0 || !strings.Contains(out, "schema version") {
		t.Errorf("migrate: %d %q %q", code, out, errs)
	}
	if code, _, _ := run(t, "", "nonsense"); code != 2 {
		t.Errorf("unknown command exit %d, want 2", code)
	}
}

func TestFlagsFirst(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"a", "--read", "b"}, "[--read -- a b]"},
		{[]string{"--org", "x", "alice"}, "[--org x -- alice]"},
		{[]string{"alice", "--org", "x", "--role=analyst"}, "[--org x --role=analyst -- alice]"},
		{[]string{"--read"}, "[--read]"},
		{[]string{"a", "--", "--read"}, "[-- a --read]"},
		{[]string{"-", "--collection", "c"}, "[--collection c -- -]"},
	}
	for _, tt := range tests {
		fs := newFlags(&env{stderr: io.Discard}, "t", "")
		fs.Bool("read", false, "")
		fs.String("org", "", "")
		fs.String("role", "", "")
		fs.String("collection", "", "")
		if got := fmt.Sprint(flagsFirst(fs, tt.args)); got != tt.want {
			t.Errorf("flagsFirst(%q) = %s, want %s", tt.args, got, tt.want)
		}
	}
}

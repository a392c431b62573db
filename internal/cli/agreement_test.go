package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// example is the agreement file the README shows.
var example = filepath.Join("..", "..", "examples", "agreement-in-jp.json")

// exampleWith returns the example agreement with some members replaced,
// written to a file.
func exampleWith(t *testing.T, edit map[string]any) string {
	t.Helper()
	raw, err := os.ReadFile(example)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	for k, v := range edit {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, "agreement.json", string(b))
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errs := run(t, "", args...)
	if code != 0 {
		t.Fatalf("%v: exit %d\n%s%s", args, code, out, errs)
	}
	return out
}

// indiaNode sets up the IN node of the README: identity, the collections
// and sharing group the example agreement names, and JP-CERT as a peer.
func indiaNode(t *testing.T) (dir string, fields map[string]string) {
	t.Helper()
	dir, fields = initNode(t, "IN-CERT", "IN")
	mustRun(t, "collection", "add", "--data", dir, "shared")
	mustRun(t, "collection", "add", "--data", dir, "from-jp")
	mustRun(t, "group", "create", "--data", dir, "in-jp-telecom", "--name", "IN-JP telecom operators")
	_, fp := peerCert(t)
	mustRun(t, "peer", "add", "--data", dir, "JP-CERT", "--url", "https://jp.example/taxii2/", "--fingerprint", fp)
	return dir, fields
}

func TestAgreementApplyShow(t *testing.T) {
	dir, _ := indiaNode(t)
	for _, tt := range []struct {
		name string
		file string
		code int
		want string // in stdout, or in stderr when code != 0
	}{
		{"first version", example, 0, "agreement with JP-CERT: version 1 applied\n"},
		{"same again", example, 0, "version 1 is already in force; nothing changed"},
		{"same version, other terms", exampleWith(t, map[string]any{"max_tlp": "green"}), 1, "raise the version to 2"},
		{"next version", exampleWith(t, map[string]any{"version": 2, "max_tlp": "green"}), 0, "version 2 applied (was version 1)"},
		{"the old file again", example, 0, "version 1 was applied before and is superseded by version 2"},
		{"an old number never applied", exampleWith(t, map[string]any{"version": 1, "max_tlp": "clear"}), 1, "raise the version to 3"},
		{"TLP:RED", exampleWith(t, map[string]any{"version": 3, "max_tlp": "red"}), 1, "$.max_tlp: TLP:RED never leaves a node"},
		{"unknown field", exampleWith(t, map[string]any{"version": 3, "maxTLP": "red"}), 1, `$.maxTLP: unknown field`},
		{"unknown collection and group", exampleWith(t, map[string]any{"version": 3,
			"direction": map[string]any{"outbound": []any{"shared", "nope"}}, "groups": []any{"IN-JP telecom operators"}}), 1,
			`$.direction.outbound[1]: no collection "nope"`},
		{"unknown peer", exampleWith(t, map[string]any{"peer": "KR-CERT"}), 1, `$.peer: no peer named "KR-CERT"`},
		{"missing file", filepath.Join(t.TempDir(), "none.json"), 1, "no such file"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := run(t, "", "agreement", "apply", "--data", dir, tt.file)
			got := out
			if tt.code != 0 {
				got = errs
			}
			if code != tt.code || !strings.Contains(got, tt.want) {
				t.Errorf("exit %d\nstdout %s\nstderr %s\nwant exit %d with %q", code, out, errs, tt.code, tt.want)
			}
		})
	}
	// A file on standard input.
	b, _ := os.ReadFile(exampleWith(t, map[string]any{"version": 3}))
	if code, out, errs := run(t, string(b), "agreement", "apply", "--data", dir, "-"); code != 0 || !strings.Contains(out, "version 3 applied") {
		t.Errorf("apply from stdin: exit %d %s%s", code, out, errs)
	}

	out := mustRun(t, "agreement", "show", "--data", dir, "JP-CERT")
	var shown map[string]any
	if err := json.Unmarshal([]byte(out), &shown); err != nil {
		t.Fatalf("show printed no JSON: %v\n%s", err, out)
	}
	if shown["version"] != 3.0 || shown["peer"] != "JP-CERT" || shown["schedule"] != "5m" {
		t.Errorf("show: %v", shown)
	}
	// What show prints applies as it is.
	if code, out, errs := run(t, out, "agreement", "apply", "--data", dir, "-"); code != 0 || !strings.Contains(out, "already in force") {
		t.Errorf("re-applying what show printed: exit %d %s%s", code, out, errs)
	}
	out = mustRun(t, "agreement", "show", "--data", dir, "JP-CERT", "--version", "2")
	if !strings.Contains(out, `"max_tlp": "green"`) {
		t.Errorf("show --version 2:\n%s", out)
	}
	out = mustRun(t, "agreement", "show", "--data", dir, "JP-CERT", "--history")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 4 || !strings.HasPrefix(lines[3], "3 ") || !strings.Contains(lines[3], "in force") {
		t.Errorf("history:\n%s", out)
	}
	if code, _, errs := run(t, "", "agreement", "show", "--data", dir, "KR-CERT"); code != 1 || !strings.Contains(errs, "no agreement with KR-CERT") {
		t.Errorf("show for a peer without one: exit %d %s", code, errs)
	}
	out = mustRun(t, "peer", "status", "--data", dir)
	if !strings.Contains(out, "version 3") || !strings.Contains(out, "both") || !strings.Contains(out, "5m") {
		t.Errorf("peer status after apply:\n%s", out)
	}
	if out := mustRun(t, "audit", "export", "--data", dir, "--action", "agreement.apply"); strings.Count(out, "agreement.apply") != 3 {
		t.Errorf("want 3 agreement.apply audit records (versions 1, 2, 3):\n%s", out)
	}
}

// TestAgreementExportVerify runs the exchange between two nodes: IN exports
// its agreement signed, JP verifies it, learning IN's key from the
// fingerprint given out of band.
func TestAgreementExportVerify(t *testing.T) {
	in, inFields := indiaNode(t)
	mustRun(t, "agreement", "apply", "--data", in, example)
	signed := filepath.Join(t.TempDir(), "in-jp.signed.json")
	if out := mustRun(t, "agreement", "export", "--data", in, "JP-CERT", "--out", signed); !strings.Contains(out, "signed by IN-CERT") {
		t.Errorf("export: %s", out)
	}
	if stdout := mustRun(t, "agreement", "export", "--data", in, "JP-CERT"); !strings.Contains(stdout, `"signature"`) {
		t.Errorf("export to stdout: %s", stdout)
	}

	jp, _ := initNode(t, "JP-CERT", "JP")
	mustRun(t, "peer", "add", "--data", jp, "IN-CERT", "--url", "https://in.example/taxii2/",
		"--fingerprint", inFields["certificate SHA-256"])
	keyFP := inFields["signing key SHA-256"]

	verify := func(file string, extra ...string) (int, string, string) {
		return run(t, "", append([]string{"agreement", "verify", "--data", jp, file, "--peer", "IN-CERT"}, extra...)...)
	}
	code, _, errs := verify(signed)
	if code != 1 || !strings.Contains(errs, "no signing key is known for IN-CERT") || !strings.Contains(errs, keyFP) {
		t.Fatalf("verify without a key: exit %d %s", code, errs)
	}
	code, _, errs = verify(signed, "--trust-key", strings.Repeat("AB", 32))
	if code != 1 || !strings.Contains(errs, "not signed by the key you were given") {
		t.Fatalf("verify with another fingerprint: exit %d %s", code, errs)
	}
	code, out, errs := verify(signed, "--trust-key", keyFP)
	if code != 0 || !strings.Contains(out, "signature valid: agreement version 1 for peer JP-CERT, signed by IN-CERT (IN)") ||
		!strings.Contains(out, "learned the signing key of IN-CERT") {
		t.Fatalf("verify learning the key: exit %d\n%s%s", code, out, errs)
	}
	if out := mustRun(t, "peer", "list", "--data", jp); !strings.Contains(out, keyFP) {
		t.Errorf("the learned key is not on the peer:\n%s", out)
	}
	// Now the key is known, no fingerprint is needed.
	if code, out, errs := verify(signed); code != 0 || strings.Contains(out, "learned") {
		t.Errorf("verify with the known key: exit %d %s%s", code, out, errs)
	}

	// A changed term breaks the signature.
	raw, _ := os.ReadFile(signed)
	tampered := writeFile(t, "tampered.json", strings.Replace(string(raw), `"max_tlp": "amber"`, `"max_tlp": "green"`, 1))
	if string(raw) == mustRead(t, tampered) {
		t.Fatal("the test did not change the document")
	}
	if code, _, errs := verify(tampered); code != 1 || !strings.Contains(errs, "signature does not verify") {
		t.Errorf("tampered: exit %d %s", code, errs)
	}
	if code, _, errs := verify(signed, "--trust-key", strings.Repeat("cd", 32)); code != 1 || !strings.Contains(errs, "not the signing key already known") {
		t.Errorf("contradicting the known key: exit %d %s", code, errs)
	}
	if code, _, errs := run(t, "", "agreement", "verify", "--data", jp, signed); code != 2 || !strings.Contains(errs, "--peer is required") {
		t.Errorf("verify without --peer: exit %d %s", code, errs)
	}
	if code, _, errs := run(t, "", "agreement", "export", "--data", jp, "IN-CERT"); code != 1 || !strings.Contains(errs, "no agreement with IN-CERT") {
		t.Errorf("export without an agreement: exit %d %s", code, errs)
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

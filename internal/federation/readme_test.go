package federation_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/setu-cti/setu/internal/federation"
)

// walkthroughStep is one command of the README's federation walkthrough
// and the node whose operator runs it.
type walkthroughStep struct {
	node, cmd string
}

var onRE = regexp.MustCompile(`^# on (\S+)$`)

// readmeWalkthrough reads the commands of the README's "Federation setup"
// section that belong to the walkthrough: the code blocks that start with
// "# on NODE", in order, continuation lines joined.
func readmeWalkthrough(t *testing.T) []walkthroughStep {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	start := strings.Index(doc, "\n## Federation setup\n")
	if start < 0 {
		t.Fatal(`README has no "## Federation setup" section`)
	}
	section := doc[start+1:]
	if end := strings.Index(section, "\n## "); end >= 0 {
		section = section[:end]
	}
	var steps []walkthroughStep
	inBlock, node := false, ""
	cont := ""
	for _, line := range strings.Split(section, "\n") {
		switch {
		case strings.HasPrefix(line, "```"):
			inBlock, node = !inBlock, ""
			continue
		case !inBlock:
			continue
		}
		if m := onRE.FindStringSubmatch(line); m != nil && node == "" {
			node = m[1]
			continue
		}
		if node == "" || strings.TrimSpace(line) == "" || strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		if l, ok := strings.CutSuffix(line, "\\"); ok {
			cont += l
			continue
		}
		steps = append(steps, walkthroughStep{node: node, cmd: strings.Join(strings.Fields(cont+line), " ")})
		cont = ""
	}
	return steps
}

// TestREADMEFederation follows the README's federation walkthrough as
// written, with two `setu serve` processes on this machine: the URL forms
// it gives, the example agreements applied unchanged, every command as
// printed (run by a shell, in a directory holding examples/). The only
// changes are those a single machine needs: each server listens on a
// port of its own, and the host names stand for those addresses. A
// TLP:GREEN indicator must cross and a TLP:RED one stay.
func TestREADMEFederation(t *testing.T) {
	t.Parallel()
	steps := readmeWalkthrough(t)
	// The walkthrough must still be the one this test checks.
	joined := ""
	for _, s := range steps {
		joined += s.node + ": " + s.cmd + "\n"
	}
	for _, want := range []string{
		"IN-CERT: setu peer add JP-CERT --url https://setu.jpcert.example:8443/ ",
		"JP-CERT: setu peer add IN-CERT --url https://setu.cert-in.example:8443/ ",
		"IN-CERT: setu agreement apply examples/agreement-in-jp.json",
		"JP-CERT: setu agreement apply examples/agreement-jp-in.json",
		"IN-CERT: SETU_TAXII_TOKEN=$(cat telco-token.txt) setu taxii push https://setu.cert-in.example:8443/ ",
		"JP-CERT: setu export --collection from-in",
	} {
		if !strings.Contains(joined, want) {
			t.Fatalf("the README's walkthrough has no %q; it reads:\n%s", want, joined)
		}
	}

	examples, err := filepath.Abs(filepath.Join("..", "..", "examples"))
	if err != nil {
		t.Fatal(err)
	}
	hosts := map[string]string{"IN-CERT": "setu.cert-in.example:8443", "JP-CERT": "setu.jpcert.example:8443"}
	nodes := map[string]*node{}
	work := map[string]string{}
	for name, country := range map[string]string{"IN-CERT": "IN", "JP-CERT": "JP"} {
		n := &node{t: t, name: name, country: country, dir: t.TempDir()}
		t.Cleanup(n.stop)
		nodes[name] = n
		work[name] = t.TempDir()
		if err := os.Symlink(examples, filepath.Join(work[name], "examples")); err != nil {
			t.Fatal(err)
		}
	}
	vars := map[string]string{} // IN_FP, IN_KEY, JP_FP, JP_KEY
	serveRE := regexp.MustCompile(`^setu serve --addr \S+ &$`)
	shell := func(n *node, line string) (string, error) {
		cmd := exec.Command("sh", "-c", line)
		cmd.Dir = work[n.name]
		cmd.Env = append(n.env(), "PATH="+filepath.Dir(setuBin)+string(os.PathListSeparator)+os.Getenv("PATH"))
		for k, v := range vars {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		if err != nil {
			return stdout.String() + stderr.String(), err
		}
		return stdout.String(), nil
	}
	resolve := func(line string) string {
		for name, host := range hosts {
			if strings.Contains(line, host) {
				if nodes[name].addr == "" {
					t.Fatalf("%q names %s before it serves", line, name)
				}
				line = strings.ReplaceAll(line, host, nodes[name].addr)
			}
		}
		return line
	}
	var export walkthroughStep
	for _, s := range steps {
		n := nodes[s.node]
		if n == nil {
			t.Fatalf("the walkthrough runs %q on %s, which it does not set up", s.cmd, s.node)
		}
		if serveRE.MatchString(s.cmd) {
			n.start()
			continue
		}
		out, err := shell(n, resolve(s.cmd))
		if err != nil {
			t.Fatalf("on %s: %s: %v\n%s\n%s log:\n%s", s.node, s.cmd, err, out, s.node, n.logs())
		}
		if strings.HasPrefix(s.cmd, "setu node show") {
			prefix := strings.TrimSuffix(s.node, "-CERT")
			vars[prefix+"_FP"] = field(t, out, "certificate SHA-256:")
			vars[prefix+"_KEY"] = field(t, out, "signing key:")
			if want := "https://" + n.addr + "/"; field(t, out, "TAXII URL:") != want {
				t.Errorf("%s's node show gives partners %q, want %q", s.node, field(t, out, "TAXII URL:"), want)
			}
		}
		if strings.HasPrefix(s.cmd, "setu export") {
			export = s
		}
	}

	const green, red = "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "indicator--0b7f3c52-6a1e-4d8b-b2f4-7e9c1a3d5f60"
	in, jp := nodes["IN-CERT"], nodes["JP-CERT"]
	var exported string
	waitFor(t, "the TLP:GREEN indicator in JP-CERT's export", 90*time.Second, func() bool {
		out, err := shell(jp, resolve(export.cmd))
		exported = out
		return err == nil && strings.Contains(out, green)
	}, in, jp)
	waitFor(t, "IN-CERT to withhold the TLP:RED indicator", 60*time.Second, func() bool {
		return in.counts("JP-CERT")["withheld:tlp-red"] >= 1
	}, in, jp)
	if strings.Contains(exported, red) {
		t.Errorf("the TLP:RED indicator crossed to JP-CERT:\n%s", exported)
	}
	// The submitter is anonymous towards partners, and the agreements
	// read its sector on both sides.
	if c := jp.counts("IN-CERT"); c["refused:inbound:agreement-sector"] != 0 || c["refused:inbound:agreement-tlp"] != 0 {
		t.Errorf("JP-CERT refused objects of IN-CERT: %v", c)
	}
	// The operators' organisation takes the country node init gave.
	for _, l := range strings.Split(in.run("org", "list"), "\n") {
		if f := strings.Fields(l); len(f) > 0 && f[0] == "node" && !strings.Contains(l, " IN ") {
			t.Errorf("IN-CERT's operators' organisation: %q", l)
		}
	}
	for _, v := range jp.versions("from-in") {
		if v.ID == green && v.Submitter != federation.NodeSubmitter("IN-CERT") {
			t.Errorf("the indicator on JP-CERT is owned by %s", v.Submitter)
		}
	}
}

package cli

import (
	"regexp"
	"strings"
	"testing"
)

// TestHelp: "setu COMMAND -h" and "setu COMMAND VERB -h" exit 0 for every
// command and verb, and say how to use them; a command with verbs
// describes every verb.
func TestHelp(t *testing.T) {
	verbRE := regexp.MustCompile(`(?m)^Usage: setu (\S+) (\S+)`)
	for name := range commands {
		t.Run(name, func(t *testing.T) {
			code, out, errs := run(t, "", name, "-h")
			if code != 0 || !strings.Contains(out+errs, "Usage: setu "+name) {
				t.Fatalf("setu %s -h: exit %d\n%s%s", name, code, out, errs)
			}
			for _, m := range verbRE.FindAllStringSubmatch(out, -1) {
				if m[1] != name || strings.HasPrefix(m[2], "[") || strings.HasPrefix(m[2], "-") || strings.ToUpper(m[2]) == m[2] {
					continue // not a verb
				}
				code, vout, verrs := run(t, "", name, m[2], "-h")
				if code != 0 || !strings.Contains(vout+verrs, "Usage: setu "+name+" "+m[2]) {
					t.Errorf("setu %s %s -h: exit %d\n%s%s", name, m[2], code, vout, verrs)
				}
			}
		})
	}
	if code, _, errs := run(t, "", "org"); code != 2 || !strings.Contains(errs, "setu org -h") {
		t.Errorf("setu org: exit %d %s", code, errs)
	}
}

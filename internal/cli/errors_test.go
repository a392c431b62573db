package cli

import (
	"strings"
	"testing"
)

// TestErrorMessages: a command that names something absent says so once,
// in the user's terms: no storage backend, no id repeated.
func TestErrorMessages(t *testing.T) {
	dir := t.TempDir()
	d := "--data=" + dir
	mustRun(t, "org", "add", "cert-in", "--name", "CERT-In", "--country", "IN", "--kind", "national-cert", d)
	mustRun(t, "collection", "add", "feeds", d)
	const obj = "indicator--00000000-0000-4000-8000-000000000000"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"export", "--collection", "nope", d}, `setu: collection "nope": not found`},
		{[]string{"collection", "grant", "nope", "cert-in", "--read", d}, `setu: collection "nope": not found`},
		{[]string{"policy", "explain", obj, "--as", "cert-in", d}, "setu: object " + obj + ": not found"},
		{[]string{"group", "add", "nogroup", "org:cert-in", d}, `setu: group "nogroup": not found`},
		{[]string{"token", "list", "nobody", d}, "nobody: not found"},
		{[]string{"org", "set", "nope", "--anonymous=true", d}, "setu: organisation nope: not found"},
		{[]string{"collection", "add", "feeds", d}, `setu: collection "feeds": already exists`},
	} {
		t.Run(strings.Join(tc.args[:2], " "), func(t *testing.T) {
			code, _, errs := run(t, "", tc.args...)
			if code == 0 || !strings.Contains(errs, tc.want) {
				t.Errorf("exit %d, stderr %q; want %q", code, errs, tc.want)
			}
			for _, backend := range []string{"sqlite", "postgres"} {
				if strings.Contains(errs, backend) {
					t.Errorf("stderr names the backend: %q", errs)
				}
			}
			for _, word := range strings.Fields(errs) {
				word = strings.Trim(word, `":`)
				if len(word) > 8 && strings.Count(errs, word) > 1 {
					t.Errorf("stderr repeats %q: %q", word, errs)
				}
			}
		})
	}
}

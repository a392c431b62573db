package cli

import (
	"strings"
	"testing"
)

func TestPatternCheck(t *testing.T) {
	long := "[" + strings.Repeat("a:x = 1 OR ", 30) + "a:y = 2 AND AND]"
	tests := []struct {
		name      string
		stdin     string
		args      []string
		code      int
		out, err  string // exact stdout; stderr must contain err
		errAbsent string
	}{
		{
			name: "tree",
			args: []string{"pattern", "check", "[file:name = 'a' AND file:size > 5] FOLLOWEDBY [b:c = 1] WITHIN 5 SECONDS"},
			out: `pattern
  FOLLOWEDBY
    observation [ ]
      AND
        file:name = 'a'
        file:size > 5
    qualified WITHIN 5 SECONDS
      observation [ ]
        b:c = 1
`,
		},
		{
			name: "canonical flag after the pattern",
			args: []string{"pattern", "check", "[ file:hashes.'MD5'=='x' ]", "--canonical"},
			out:  "[file:hashes.MD5 = 'x']\n",
		},
		{
			name:  "stdin",
			stdin: "[a:x = 1]\n",
			args:  []string{"pattern", "check", "--canonical", "-"},
			out:   "[a:x = 1]\n",
		},
		{
			name: "syntax error with caret",
			args: []string{"pattern", "check", "[a:x = 1 AND AND]"},
			code: 1,
			err: "setu: invalid pattern: 1:14: expected an object path, EXISTS or '(' but found 'AND'\n" +
				"  [a:x = 1 AND AND]\n" +
				"               ^\n",
		},
		{
			name:  "error on a later line keeps tabs under the caret",
			stdin: "[a:x = 1]\nAND\t[b:y = 'ü' AND ~]",
			args:  []string{"pattern", "check", "-"},
			code:  1,
			err: "setu: invalid pattern: 2:20: unexpected character '~'\n" +
				"  AND\t[b:y = 'ü' AND ~]\n" +
				"     \t               ^\n",
		},
		{
			name: "error at the end",
			args: []string{"pattern", "check", "[a:x = 1"},
			code: 1,
			err:  "1:9: expected AND, OR or ']' but found end of pattern\n  [a:x = 1\n          ^\n",
		},
		{
			name: "long line is cut around the error",
			args: []string{"pattern", "check", long},
			code: 1,
			err:  "1:344: expected an object path, EXISTS or '(' but found 'AND'\n  …1 OR a:x",
		},
		{name: "no pattern", args: []string{"pattern", "check"}, code: 2, err: "Usage: setu pattern check"},
		{name: "two patterns", args: []string{"pattern", "check", "[a:x = 1]", "[b:x = 1]"}, code: 2, err: "Usage: setu pattern check"},
		{name: "no verb", args: []string{"pattern"}, code: 2, err: "usage: setu pattern {check|match}"},
		{name: "unknown verb", args: []string{"pattern", "nope"}, code: 2, err: "usage: setu pattern {check|match}"},
		{name: "help", args: []string{"pattern", "check", "-h"}, code: 0, err: "-canonical"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := run(t, tt.stdin, tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, out, errs)
			}
			if tt.code == 0 && tt.out != "" && out != tt.out {
				t.Errorf("stdout:\n%s\nwant:\n%s", out, tt.out)
			}
			if tt.code != 0 && out != "" {
				t.Errorf("stdout not empty on failure: %s", out)
			}
			if !strings.Contains(errs, tt.err) {
				t.Errorf("stderr:\n%s\nwant it to contain:\n%s", errs, tt.err)
			}
		})
	}
}

// TestPatternCheckCaretWindow checks the caret stays under the offending
// token when a long line is cut.
func TestPatternCheckCaretWindow(t *testing.T) {
	long := "[" + strings.Repeat("a:x = 1 OR ", 30) + "a:y = 2 AND AND]"
	_, _, errs := run(t, "", "pattern", "check", long)
	lines := strings.Split(errs, "\n")
	if len(lines) < 3 {
		t.Fatalf("stderr: %q", errs)
	}
	text, caret := []rune(lines[1]), []rune(lines[2])
	i := len(caret) - 1
	if caret[i] != '^' || i+3 > len(text) || string(text[i:i+3]) != "AND" || text[i-1] != ' ' || string(text[i-4:i-1]) != "AND" {
		t.Errorf("caret not under the second AND:\n%s\n%s", lines[1], lines[2])
	}
}

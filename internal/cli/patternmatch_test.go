package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// matchBundle21 is observed data in the STIX 2.1 form: SCOs beside the
// observed-data that lists them.
const matchBundle21 = `{"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d","objects":[
 {"type":"ipv4-addr","spec_version":"2.1","id":"ipv4-addr--efcd5e80-570d-5131-8c60-a0b4b2a8a2c8","value":"198.51.100.58"},
 {"type":"network-traffic","spec_version":"2.1","id":"network-traffic--2568d22a-8998-58eb-99ec-3c8ca74f527d","dst_ref":"ipv4-addr--efcd5e80-570d-5131-8c60-a0b4b2a8a2c8","dst_port":443,"protocols":["tcp"]},
 {"type":"observed-data","spec_version":"2.1","id":"observed-data--b67d30ff-02ac-498a-92f9-32f845f448cf","created":"2016-04-06T19:58:16.000Z","modified":"2016-04-06T19:58:16.000Z","first_observed":"2015-12-21T19:00:00Z","last_observed":"2015-12-21T19:00:00Z","number_observed":2,
  "object_refs":["ipv4-addr--efcd5e80-570d-5131-8c60-a0b4b2a8a2c8","network-traffic--2568d22a-8998-58eb-99ec-3c8ca74f527d"]}
]}`

// matchList20 is observed data in the STIX 2.0 form, objects embedded.
const matchList20 = `[
 {"type":"observed-data","id":"observed-data--1","first_observed":"2017-01-01T00:00:00Z","last_observed":"2017-01-01T00:00:00Z","number_observed":1,
  "objects":{"0":{"type":"file","name":"setup.exe","hashes":{"MD5":"79054025255fb1a26e4bc422aef54eb4"}}}},
 {"type":"observed-data","id":"observed-data--2","first_observed":"2017-01-01T00:01:00Z","last_observed":"2017-01-01T00:01:00Z","number_observed":1,
  "objects":{"0":{"type":"windows-registry-key","key":"HKEY_LOCAL_MACHINE\\foo\\bar"}}}
]`

func TestPatternMatch(t *testing.T) {
	dir := t.TempDir()
	bundle := filepath.Join(dir, "bundle.json")
	if err := os.WriteFile(bundle, []byte(matchBundle21), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		stdin    string
		args     []string
		code     int
		out, err string // exact stdout; stderr must contain err
	}{
		{
			name: "2.1 bundle from a file, through a reference, counted",
			args: []string{"pattern", "match", "[network-traffic:dst_ref.value ISSUBSET '198.51.100.0/24' AND network-traffic:dst_port = 443] REPEATS 2 TIMES", bundle},
			out: "true\n" +
				"  [network-traffic:dst_ref.value ISSUBSET '198.51.100.0/24' AND network-traffic:dst_port = 443]\n" +
				"    observed-data--b67d30ff-02ac-498a-92f9-32f845f448cf x2: network-traffic--2568d22a-8998-58eb-99ec-3c8ca74f527d\n",
		},
		{
			name: "2.1 bundle, no match",
			args: []string{"pattern", "match", "[network-traffic:dst_port = 443] REPEATS 3 TIMES", bundle},
			code: 1,
			out:  "false\n",
		},
		{
			name:  "2.0 list on standard input with -",
			stdin: matchList20,
			args:  []string{"pattern", "match", "([file:hashes.MD5 = '79054025255fb1a26e4bc422aef54eb4'] FOLLOWEDBY [windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\\\foo\\\\bar']) WITHIN 300 SECONDS", "-"},
			out: "true\n" +
				"  [file:hashes.MD5 = '79054025255fb1a26e4bc422aef54eb4']\n" +
				"    observed-data--1: 0\n" +
				"  [windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\\\foo\\\\bar']\n" +
				"    observed-data--2: 0\n",
		},
		{
			name:  "standard input when FILE is absent",
			stdin: matchList20,
			args:  []string{"pattern", "match", "[windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\\\foo\\\\bar'] FOLLOWEDBY [file:name = 'setup.exe']"},
			code:  1,
			out:   "false\n",
		},
		{
			name: "syntax error with caret",
			args: []string{"pattern", "match", "[a:x = 1 AND AND]", bundle},
			code: 2,
			err:  "setu: invalid pattern: 1:14: expected an object path, EXISTS or '(' but found 'AND'\n  [a:x = 1 AND AND]\n               ^\n",
		},
		{
			name: "regular expression Go cannot run",
			args: []string{"pattern", "match", "[file:name MATCHES '(a)\\\\1']", bundle},
			code: 2,
			err:  "setu: pattern cannot be evaluated: match: MATCHES",
		},
		{
			// The OASIS reference matcher's 2.1 input: a JSON list of
			// bundles, references resolved within each bundle (the same
			// SCO id means another address in the second bundle).
			name: "JSON list of bundles",
			stdin: `[` + matchBundle21 + `,{"type":"bundle","id":"bundle--00000000-0000-4000-8000-000000000002","objects":[
 {"type":"ipv4-addr","spec_version":"2.1","id":"ipv4-addr--efcd5e80-570d-5131-8c60-a0b4b2a8a2c8","value":"203.0.113.9"},
 {"type":"observed-data","spec_version":"2.1","id":"observed-data--00000000-0000-4000-8000-000000000003","created":"2016-04-06T19:58:16.000Z","modified":"2016-04-06T19:58:16.000Z","first_observed":"2015-12-21T19:00:00Z","last_observed":"2015-12-21T19:00:00Z","number_observed":1,
  "object_refs":["ipv4-addr--efcd5e80-570d-5131-8c60-a0b4b2a8a2c8"]}]}]`,
			args: []string{"pattern", "match", "[ipv4-addr:value = '203.0.113.9']"},
			out: "true\n" +
				"  [ipv4-addr:value = '203.0.113.9']\n" +
				"    observed-data--00000000-0000-4000-8000-000000000003: ipv4-addr--efcd5e80-570d-5131-8c60-a0b4b2a8a2c8\n",
		},
		{
			name: "one observed-data (2.0 form), not in a list",
			stdin: `{"type":"observed-data","id":"observed-data--1","first_observed":"2017-01-01T00:00:00Z","last_observed":"2017-01-01T00:00:00Z","number_observed":1,
  "objects":{"0":{"type":"file","name":"setup.exe"}}}`,
			args: []string{"pattern", "match", "[file:name = 'setup.exe']"},
			out:  "true\n  [file:name = 'setup.exe']\n    observed-data--1: 0\n",
		},
		{
			name:  "no observed data at all",
			stdin: `{"type":"bundle","id":"bundle--00000000-0000-4000-8000-000000000004","objects":[{"type":"ipv4-addr","spec_version":"2.1","id":"ipv4-addr--efcd5e80-570d-5131-8c60-a0b4b2a8a2c8","value":"203.0.113.9"}]}`,
			args:  []string{"pattern", "match", "[ipv4-addr:value = '203.0.113.9']"},
			code:  2,
			err:   "setu: <stdin>: no observed-data to match against",
		},
		{
			name:  "empty list",
			stdin: `[]`,
			args:  []string{"pattern", "match", "[ipv4-addr:value = '203.0.113.9']"},
			code:  2,
			err:   "no observed-data to match against",
		},
		{
			name:  "input not JSON",
			stdin: "{not json",
			args:  []string{"pattern", "match", "[a:x = 1]"},
			code:  2,
			err:   "setu: <stdin>: match: invalid observation input",
		},
		{
			name:  "dangling object_refs",
			stdin: `[{"type":"observed-data","id":"observed-data--9","first_observed":"2017-01-01T00:00:00Z","last_observed":"2017-01-01T00:00:00Z","number_observed":1,"object_refs":["file--1"]}]`,
			args:  []string{"pattern", "match", "[a:x = 1]"},
			code:  2,
			err:   "observed-data--9 refers to file--1, which is not in the input",
		},
		{
			name: "missing file",
			args: []string{"pattern", "match", "[a:x = 1]", filepath.Join(dir, "absent.json")},
			code: 2,
			err:  "setu: reading " + filepath.Join(dir, "absent.json"),
		},
		{name: "no pattern", args: []string{"pattern", "match"}, code: 2, err: "Usage: setu pattern match PATTERN [FILE|-]"},
		{name: "too many arguments", args: []string{"pattern", "match", "[a:x = 1]", "a", "b"}, code: 2, err: "Usage: setu pattern match"},
		{name: "help", args: []string{"pattern", "match", "-h"}, code: 0, err: "Usage: setu pattern match"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := run(t, tt.stdin, tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, out, errs)
			}
			if out != tt.out {
				t.Errorf("stdout:\n%s\nwant:\n%s", out, tt.out)
			}
			if !strings.Contains(errs, tt.err) {
				t.Errorf("stderr:\n%s\nwant it to contain:\n%s", errs, tt.err)
			}
		})
	}
}

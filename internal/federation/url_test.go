package federation_test

import (
	"strings"
	"testing"
	"time"

	"github.com/setu-cti/setu/internal/stix"
)

// TestPeerURLForms: a peer's URL may be its server's root (what `setu node
// show` prints), its discovery URL or its API root; the engine finds the
// API root by TAXII discovery. A URL where no TAXII server answers is
// named in the error peer status shows.
func TestPeerURLForms(t *testing.T) {
	t.Parallel()
	in, jp := newNode(t, "IN", "IN"), newNode(t, "JP", "JP")
	in.start()
	jp.start()
	in.run("peer", "add", "JP", "--url", "https://"+jp.addr+"/", "--fingerprint", jp.fp, "--signing-key", jp.key, "--country", "JP")
	jp.run("peer", "add", "IN", "--url", "https://"+in.addr+"/taxii2/", "--fingerprint", in.fp, "--signing-key", in.key, "--country", "IN")
	in.agreement("JP", 1, []string{"shared"}, "from-JP", "pull", "")
	jp.agreement("IN", 1, []string{"shared"}, "from-IN", "pull", "")

	toJP, toIN := newID(), newID()
	in.importObjects("shared", []string{indicator(toJP, day0, []string{stix.TLPGreen}, "")})
	jp.importObjects("shared", []string{indicator(toIN, day0, []string{stix.TLPGreen}, "")})
	waitFor(t, "IN's object on JP (IN's discovery URL)", 60*time.Second, func() bool { return jp.count("from-IN") == 1 }, in, jp)
	waitFor(t, "JP's object on IN (JP's server root)", 60*time.Second, func() bool { return in.count("from-JP") == 1 }, in, jp)

	bad := "https://" + in.addr + "/nowhere/"
	jp.run("peer", "update", "IN", "--url", bad)
	waitFor(t, "JP's status to name the URL that failed", 60*time.Second, func() bool {
		row := serverRow(jp, "IN")
		return strings.Contains(row, bad) && strings.Contains(row, "404")
	}, jp)

	// Put right, the row goes: the server answers again.
	jp.run("peer", "update", "IN", "--url", "https://"+in.addr+"/api/")
	later := newID()
	in.importObjects("shared", []string{indicator(later, day0, []string{stix.TLPGreen}, "")})
	waitFor(t, "IN's later object on JP (IN's API root)", 60*time.Second, func() bool { return jp.count("from-IN") == 2 }, in, jp)
	waitFor(t, "the failure to leave JP's status", 60*time.Second, func() bool { return serverRow(jp, "IN") == "" }, jp)
}

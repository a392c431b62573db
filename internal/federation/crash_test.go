package federation_test

import (
	"strings"
	"testing"
	"time"

	"github.com/setu-cti/setu/internal/stix"
	"github.com/setu-cti/setu/internal/store"
)

// TestPartnerDownThenBack: while IN is down JP keeps failing against it,
// backing off, and keeps syncing with KR; when IN is back, JP catches up
// with what IN stored meanwhile.
func TestPartnerDownThenBack(t *testing.T) {
	t.Parallel()
	in, jp, kr := newNode(t, "IN", "IN"), newNode(t, "JP", "JP"), newNode(t, "KR", "KR")
	pair(t, in, jp, "pull")
	kr.start()
	kr.peer(jp)
	jp.peer(kr)
	kr.agreement("JP", 1, []string{"shared"}, "from-JP", "pull", "")
	jp.agreement("KR", 1, []string{"shared"}, "from-KR", "pull", "")

	before := newID()
	in.importObjects("shared", []string{indicator(before, day0, []string{stix.TLPGreen}, "")})
	waitFor(t, "the first object on JP", 60*time.Second, func() bool { return jp.count("from-IN") == 1 }, in, jp)

	in.stop()
	waitFor(t, "JP to notice IN is down", 60*time.Second, func() bool { return jp.counts("IN")["errors"] >= 1 }, jp)
	// peer status says why, on the row for IN's server as a whole: once a
	// page fails JP lists IN's collections again, which fails too.
	waitFor(t, "JP's status to say it cannot reach IN", 60*time.Second, func() bool {
		return strings.Contains(serverRow(jp, "IN"), "connection refused")
	}, jp)
	// IN stores objects while down (its database is usable without the
	// server); KR's objects still reach JP meanwhile.
	var during []string
	var objs []string
	for i := range 50 {
		id := newID()
		during = append(during, id)
		objs = append(objs, indicator(id, day0.Add(time.Duration(i)*time.Minute), []string{stix.TLPGreen}, ""))
	}
	in.importObjects("shared", objs)
	fromKR := newID()
	kr.importObjects("shared", []string{indicator(fromKR, day0, []string{stix.TLPGreen}, "")})
	waitFor(t, "KR's object on JP while IN is down", 60*time.Second, func() bool { return jp.count("from-KR") == 1 }, jp, kr)
	if n := jp.count("from-IN"); n != 1 {
		t.Fatalf("JP has %d objects from IN while IN is down, want 1", n)
	}

	in.start()
	waitFor(t, "JP to catch up with IN", 2*time.Minute, func() bool { return jp.count("from-IN") == 51 }, in, jp)
	if row := serverRow(jp, "IN"); row != "" {
		t.Errorf("JP's status for IN's server after IN is back still shows a row: %q", row)
	}
	got := ids(jp.versions("from-IN"))
	for k, n := range got {
		if n != 1 {
			t.Errorf("%s stored %d times", k, n)
		}
	}
}

// serverRow is the row of n's peer status about reaching peer's server at
// all; "" if there is none.
func serverRow(n *node, peer string) string {
	section := false
	for _, l := range strings.Split(n.run("peer", "status"), "\n") {
		switch {
		case l == peer:
			section = true
		case l == "":
			section = false
		case section && strings.Contains(l, "(server)"):
			return strings.TrimSpace(l)
		}
	}
	return ""
}

// TestKilledMidSync: both ends of a large sync are killed with SIGKILL in
// the middle of it and restarted; every object ends up on the receiver
// exactly once.
func TestKilledMidSync(t *testing.T) {
	t.Parallel()
	total := 100000
	if testing.Short() {
		total = 5000
	}
	in, jp := newNode(t, "IN", "IN"), newNode(t, "JP", "JP")
	objs := make([]string, total)
	for i := range objs {
		objs[i] = indicator(newID(), day0.Add(time.Duration(i)*time.Millisecond), []string{stix.TLPGreen}, "")
	}
	in.importObjects("shared", objs)
	pair(t, in, jp, "pull")

	// IN dies while filling JP's view.
	waitFor(t, "IN's egress under way", 5*time.Minute, func() bool { return in.moved("JP", store.SyncOut) >= int64(total/5) }, in)
	in.kill()
	in.start()
	// JP dies while pulling.
	waitFor(t, "JP's pull under way", 5*time.Minute, func() bool { return jp.moved("IN", store.SyncIn) >= int64(total/2) }, in, jp)
	jp.kill()
	jp.start()
	// The cursor may count an object twice when a kill fell between
	// storing a page and moving the cursor past it; the collection is the
	// truth, read once the cursor says everything went.
	waitFor(t, "every object on JP", 10*time.Minute, func() bool {
		return jp.moved("IN", store.SyncIn) >= int64(total) && jp.count("from-IN") >= total
	}, in, jp)

	got := ids(jp.versions("from-IN"))
	if len(got) != total {
		t.Errorf("JP has %d distinct versions from IN, want %d", len(got), total)
	}
	for k, n := range got {
		if n != 1 {
			t.Errorf("%s listed %d times", k, n)
		}
	}
	if n := in.count("view-JP"); n != total {
		t.Errorf("JP's view on IN has %d rows, want %d", n, total)
	}
}

package federation_test

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/setu-cti/setu/internal/account"
	"github.com/setu-cti/setu/internal/policy"
	"github.com/setu-cti/setu/internal/stix"
)

// distribution returns the Setu distribution marking definition of scope.
func distribution(t *testing.T, s policy.Scope) (id, body string) {
	t.Helper()
	d := policy.Distribution{Scope: s}
	b, err := d.MarkingDefinition()
	if err != nil {
		t.Fatal(err)
	}
	return d.MarkingID(), string(b)
}

// pair starts two nodes that peer with each other: each releases its
// "shared" collection to the other, which stores it in "from-NAME".
func pair(t *testing.T, a, b *node, mode string) {
	t.Helper()
	peered(a, b)
	a.agreement(b.name, 1, []string{"shared"}, "from-"+b.name, mode, "")
	b.agreement(a.name, 1, []string{"shared"}, "from-"+a.name, mode, "")
}

// peered starts a and b, each with the other as a peer.
func peered(a, b *node) {
	a.t.Helper()
	a.start()
	b.start()
	a.peer(b)
	b.peer(a)
}

func TestTwoNodesSyncBothWays(t *testing.T) {
	t.Parallel()
	in, jp := newNode(t, "IN", "IN"), newNode(t, "JP", "JP")
	pair(t, in, jp, "pull")

	green, amber, red, strict, clear, resident := newID(), newID(), newID(), newID(), newID(), newID()
	partnersID, partnersDef := distribution(t, policy.ScopePartners)
	res := policy.Distribution{Resident: "IN"}
	resDef, err := res.MarkingDefinition()
	if err != nil {
		t.Fatal(err)
	}
	in.importObjects("shared", []string{
		partnersDef,
		string(resDef),
		indicator(resident, day0, []string{stix.TLPClear, res.MarkingID()}, ""),
		indicator(green, day0, []string{stix.TLPGreen}, ""),
		indicator(amber, day0, []string{stix.TLPAmber, partnersID}, ""),
		indicator(red, day0, []string{stix.TLPRed}, ""),
		indicator(strict, day0, []string{stix.TLPAmberStrict}, ""),
		indicator(clear, day0, []string{stix.TLPClear}, ""),
	})
	fromJP := newID()
	jp.importObjects("shared", []string{indicator(fromJP, day0, []string{stix.TLPGreen}, "")})

	// The anonymous organisation's submission goes through TAXII, as a
	// user of IN would send it.
	acmeID := identityIn(t, in.run("org", "add", "acme", "--name", "Acme", "--country", "IN", "--kind", "business", "--anonymous"))
	nodeID := nodeIdentity(in)
	in.run("user", "add", "alice", "--org", "acme", "--role", "analyst")
	tok := strings.TrimSpace(in.run("token", "create", "alice"))
	in.run("collection", "grant", "shared", "acme", "--read", "--write")
	cl := userClient(t, in, tok)
	ctx := context.Background()
	shared := collectionID(t, cl, "shared")
	anon := newID()
	// It names its organisation as creator: that is what anonymity hides.
	st, err := cl.AddObjects(ctx, "/api/", shared, jsontext.Value(indicator(anon, day0, []string{stix.TLPGreen}, `, "created_by_ref": "`+acmeID+`"`)))
	if err != nil {
		t.Fatal(err)
	}
	if st, err = cl.WaitStatus(ctx, "/api/", st.ID); err != nil || st.SuccessCount != 1 {
		t.Fatalf("anonymous submission: %+v, %v", st, err)
	}

	waitFor(t, "IN's releasable objects on JP", 60*time.Second, func() bool {
		got := ids(jp.versions("from-IN"))
		for _, id := range []string{green, amber, clear, anon} {
			if got[id+"@"+day0.Format(time.RFC3339Nano)] != 1 {
				return false
			}
		}
		return true
	}, in, jp)
	waitFor(t, "JP's object on IN", 60*time.Second, func() bool {
		return ids(in.versions("from-JP"))[fromJP+"@"+day0.Format(time.RFC3339Nano)] == 1
	}, in, jp)

	got := jp.versions("from-IN")
	for _, v := range got {
		switch v.ID {
		case red, strict, resident:
			t.Errorf("%s crossed to JP", v.ID)
		case anon:
			if strings.Contains(string(v.Body), acmeID) {
				t.Errorf("the anonymous submitter is named on JP: %s", v.Body)
			}
			if !strings.Contains(string(v.Body), nodeID) {
				t.Errorf("the anonymous submission does not name IN's node identity on JP: %s", v.Body)
			}
		}
		if v.Submitter != "node:IN" && v.Type != "marking-definition" {
			t.Errorf("%s on JP is owned by %q, want node:IN", v.ID, v.Submitter)
		}
	}
	// No loop: JP never sends IN's objects back.
	for _, v := range in.versions("from-JP") {
		if v.ID != fromJP {
			t.Errorf("%s came back to IN from JP", v.ID)
		}
	}
	// IN's egress has evaluated everything once its cursor caught up.
	waitFor(t, "IN's egress to catch up", 30*time.Second, func() bool { return behindZero(in.run("peer", "status")) }, in)
	c := in.counts("JP")
	if c["withheld:tlp-red"] != 1 || c["withheld:tlp-amber-strict"] != 1 || c["withheld:residency"] != 1 {
		t.Errorf("IN's counters for JP: %v, want one tlp-red, one tlp-amber-strict and one residency withheld", c)
	}
	out := in.run("peer", "status")
	if !strings.Contains(out, "withheld:tlp-red 1") || !strings.Contains(out, "out ") {
		t.Errorf("peer status:\n%s", out)
	}

	// A node of IN's own country is released the resident object too;
	// still nothing RED or AMBER+STRICT.
	inb := newNode(t, "INB", "IN")
	inb.start()
	in.peer(inb)
	inb.peer(in)
	in.agreement("INB", 1, []string{"shared"}, "", "pull", "")
	inb.agreement("IN", 1, nil, "from-IN", "pull", "")
	waitFor(t, "the resident object on a node of its country", 60*time.Second, func() bool {
		return ids(inb.versions("from-IN"))[resident+"@"+day0.Format(time.RFC3339Nano)] == 1
	}, in, inb)
	for _, v := range inb.versions("from-IN") {
		if v.ID == red || v.ID == strict {
			t.Errorf("%s crossed to INB", v.ID)
		}
	}
	inb.stop()

	// A new version and a revocation propagate like objects.
	in.importObjects("shared", []string{
		indicator(green, day0.Add(time.Hour), []string{stix.TLPGreen}, ""),
		indicator(clear, day0.Add(time.Hour), []string{stix.TLPClear}, `, "revoked": true`),
	})
	waitFor(t, "the new version and the revocation on JP", 60*time.Second, func() bool {
		got := ids(jp.versions("from-IN"))
		h := day0.Add(time.Hour).Format(time.RFC3339Nano)
		return got[green+"@"+h] == 1 && got[clear+"@"+h] == 1
	}, in, jp)

	// The audit log records releases and refusals.
	in.stop()
	jp.stop()
	exp := in.run("audit", "export")
	for _, want := range []string{"release", "withhold", "tlp-red"} {
		if !strings.Contains(exp, want) {
			t.Errorf("IN's audit log has no %q", want)
		}
	}
}

func TestThreeNodesLineAndTriangle(t *testing.T) {
	t.Parallel()
	a, b, c := newNode(t, "AA", "IN"), newNode(t, "BB", "JP"), newNode(t, "CC", "KR")
	for _, n := range []*node{a, b, c} {
		n.start()
	}
	// A line: A - B - C. B releases what it received from A onward to C.
	a.peer(b)
	b.peer(a)
	b.peer(c)
	c.peer(b)
	// C never connects to A, but knows A's key, to verify A's origin.
	c.run("origin", "add", a.name, "--signing-key", a.key, "--country", a.country)
	a.agreement("BB", 1, []string{"shared"}, "from-BB", "pull", "")
	b.agreement("AA", 1, []string{"shared"}, "from-AA", "pull", "")
	b.agreement("CC", 1, []string{"shared", "from-AA"}, "from-CC", "pull", "")
	c.agreement("BB", 1, []string{"shared"}, "from-BB", "pull", "")

	nodesID, nodesDef := distribution(t, policy.ScopeNodes)
	onward, oneHop := newID(), newID()
	a.importObjects("shared", []string{
		nodesDef,
		indicator(onward, day0, []string{stix.TLPGreen, nodesID}, ""),
		// GREEN without a distribution marking goes to partners, one hop.
		indicator(oneHop, day0, []string{stix.TLPGreen}, ""),
	})
	key := func(id string) string { return id + "@" + day0.Format(time.RFC3339Nano) }
	waitFor(t, "A's objects on B", 60*time.Second, func() bool {
		got := ids(b.versions("from-AA"))
		return got[key(onward)] == 1 && got[key(oneHop)] == 1
	}, a, b)
	waitFor(t, "A's nodes-distributed object on C through B", 60*time.Second, func() bool {
		return ids(c.versions("from-BB"))[key(onward)] == 1
	}, a, b, c)
	// B has evaluated everything for C; the one-hop object stayed on B.
	waitFor(t, "B's egress to C to catch up", 30*time.Second, func() bool {
		return b.counts("CC")["withheld:distribution-partners"] >= 1
	}, b)
	if ids(c.versions("from-BB"))[key(oneHop)] != 0 {
		t.Errorf("a partners-only object received from A went onward from B to C")
	}
	for _, v := range c.versions("from-BB") {
		if v.ID == onward && v.Submitter != "node:AA" {
			t.Errorf("on C, A's object is owned by %q, want node:AA", v.Submitter)
		}
	}

	// Close the triangle: A and C peer directly too (A, an origin on C,
	// becomes C's peer). The object that reaches C by two paths is stored
	// once, and nothing comes back to A.
	c.peer(a)
	a.peer(c)
	a.agreement("CC", 1, []string{"shared"}, "from-CC", "pull", "")
	c.agreement("AA", 1, []string{"shared"}, "from-AA", "pull", "")
	c.agreement("BB", 2, []string{"shared", "from-AA"}, "from-BB", "pull", "")
	b.agreement("CC", 2, []string{"shared", "from-AA", "from-CC"}, "from-CC", "pull", "")
	fresh := newID()
	a.importObjects("shared", []string{indicator(fresh, day0, []string{stix.TLPGreen, nodesID}, "")})
	waitFor(t, "the new object on C directly from A", 60*time.Second, func() bool {
		return ids(c.versions("from-AA"))[key(fresh)] == 1
	}, a, b, c)
	// Every egress cursor caught up: what was to be released is released.
	waitFor(t, "egress to catch up", 30*time.Second, func() bool {
		return behindZero(a.run("peer", "status")) && behindZero(b.run("peer", "status")) && behindZero(c.run("peer", "status"))
	}, a, b, c)

	// B has it too, from A or through C, whichever came first; it never
	// goes back along the path it came by.
	waitFor(t, "the new object on B", 60*time.Second, func() bool {
		return ids(b.versions("from-AA"))[key(fresh)]+ids(b.versions("from-CC"))[key(fresh)] >= 1
	}, a, b, c)
	waitFor(t, "egress to catch up again", 30*time.Second, func() bool {
		return behindZero(a.run("peer", "status")) && behindZero(b.run("peer", "status")) && behindZero(c.run("peer", "status"))
	}, a, b, c)

	db := c.openStore()
	st, err := db.Stats(context.Background())
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	// C stores each version once, whatever the number of rows listing it.
	vs := append(c.versions("from-AA"), c.versions("from-BB")...)
	distinct := ids(vs)
	if int64(len(distinct)) > st.Versions {
		t.Errorf("C: %d distinct versions received, %d stored", len(distinct), st.Versions)
	}
	for _, v := range c.versions("from-BB") {
		if v.ID == fresh || v.ID == onward {
			continue
		}
		if v.Type != "marking-definition" {
			t.Errorf("unexpected %s on C from B", v.ID)
		}
	}
	// Nothing of A's came back to A.
	for _, coll := range []string{"from-BB", "from-CC"} {
		for _, v := range a.versions(coll) {
			if v.Type != "marking-definition" {
				t.Errorf("A received %s back in %s", v.ID, coll)
			}
		}
	}
	// Exactly one row per version in each inbound collection.
	for _, n := range []*node{a, b, c} {
		for _, coll := range []string{"from-AA", "from-BB", "from-CC"} {
			for k, m := range ids(n.versions(coll)) {
				if m != 1 {
					t.Errorf("%s %s: %s listed %d times", n.name, coll, k, m)
				}
			}
		}
	}
}

// behindZero reports whether no egress or push cursor in a `peer status`
// output has rows waiting.
func behindZero(status string) bool {
	for _, line := range strings.Split(status, "\n") {
		f := strings.Fields(line)
		if len(f) >= 4 && (f[0] == "out" || f[0] == "push") && f[3] != "0" {
			return false
		}
	}
	return true
}

// TestPushBetweenNodes: in push mode IN sends its view to the inbound
// collection JP names for it, with provenance, and JP decides the objects
// as it would pulled ones.
func TestPushBetweenNodes(t *testing.T) {
	t.Parallel()
	in, jp := newNode(t, "IN", "IN"), newNode(t, "JP", "JP")
	peered(in, jp)
	in.agreement("JP", 1, []string{"shared"}, "", "push", "")
	jp.agreement("IN", 1, nil, "from-IN", "push", "")
	ok, red := newID(), newID()
	in.importObjects("shared", []string{
		indicator(ok, day0, []string{stix.TLPGreen}, ""),
		indicator(red, day0, []string{stix.TLPRed}, ""),
	})
	waitFor(t, "IN's object pushed to JP", 60*time.Second, func() bool { return jp.count("from-IN") == 1 }, in, jp)
	for _, v := range jp.versions("from-IN") {
		if v.ID != ok || v.Submitter != "node:IN" {
			t.Errorf("JP has %s owned by %q, want only %s owned by node:IN", v.ID, v.Submitter, ok)
		}
	}
	// The counters are stored just after the objects.
	waitFor(t, "JP's counters", 30*time.Second, func() bool { return jp.counts("IN")["in"] == 1 }, jp)

	// /metrics shows the sync series. IN records its push cursor once JP
	// has answered the push, which may be just after JP counted it.
	wants := []string{`setu_sync_objects_total{peer="JP",kind="released"} 1`, `setu_sync_refusals_total{peer="JP",direction="out",reason="tlp-red"} 1`, `setu_sync_lag_seconds{peer="JP",direction="push"`}
	waitFor(t, "IN's sync series in /metrics: "+strings.Join(wants, ", "), 30*time.Second, func() bool {
		resp, err := insecureClient().Get("https://" + in.addr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range wants {
			if !strings.Contains(string(b), w) {
				return false
			}
		}
		return true
	}, in)
}

// nodeIdentity is n's STIX identity id (its operators' organisation's),
// as org list shows it.
func nodeIdentity(n *node) string {
	n.t.Helper()
	for _, line := range strings.Split(n.run("org", "list"), "\n") {
		if strings.HasPrefix(line, account.NodeOrg+" ") {
			return identityIn(n.t, line)
		}
	}
	n.t.Fatalf("org list shows no %s organisation", account.NodeOrg)
	return ""
}

// identityIn finds the STIX identity id a command printed.
func identityIn(t *testing.T, out string) string {
	t.Helper()
	i := strings.Index(out, "identity--")
	if i < 0 || len(out) < i+46 {
		t.Fatalf("no identity id in %q", out)
	}
	return out[i : i+46]
}

package federation_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/setu-cti/setu/internal/policy"
	"github.com/setu-cti/setu/internal/stix"
	"github.com/setu-cti/setu/internal/store"
	"github.com/setu-cti/setu/internal/taxii"
)

// orgUser creates an organisation on n with a user and a token, and lets
// it write to the shared collection; it returns the organisation's STIX
// identity as `org add` printed it, and the token.
func orgUser(n *node, org string, args ...string) (identity, token string) {
	n.t.Helper()
	out := n.run(append([]string{"org", "add", org, "--name", org, "--country", n.country, "--kind", "business"}, args...)...)
	i := strings.Index(out, "identity--")
	if i < 0 {
		n.t.Fatalf("org add printed no identity: %s", out)
	}
	identity = strings.TrimRight(strings.Fields(out[i:])[0], ")")
	n.run("user", "add", "u-"+org, "--org", org, "--role", "analyst")
	token = strings.TrimSpace(n.run("token", "create", "u-"+org))
	n.run("collection", "grant", "shared", org, "--read", "--write")
	return identity, token
}

// post sends objects to n's shared collection as the token's user and
// waits until they are stored.
func post(t *testing.T, n *node, token string, objs ...string) {
	t.Helper()
	ctx := context.Background()
	cl := userClient(t, n, token)
	vals := make([]jsontext.Value, len(objs))
	for i, o := range objs {
		vals[i] = jsontext.Value(o)
	}
	st, err := cl.AddObjects(ctx, "/api/", collectionID(t, cl, "shared"), vals...)
	if err != nil {
		t.Fatal(err)
	}
	if st, err = cl.WaitStatus(ctx, "/api/", st.ID); err != nil || st.SuccessCount != len(objs) {
		t.Fatalf("posting: %+v, %v", st, err)
	}
}

// storedFacts returns the policy facts n keeps beside the version of id.
func storedFacts(t *testing.T, n *node, id string) (policy.Facts, store.Version) {
	t.Helper()
	db := n.openStore()
	defer db.Close()
	v, err := db.Current(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return policy.DecodeFacts(v.Facts, v.Submitter), v
}

// TestAgreementTerms: every term of an agreement has its effect, on both
// sides. sectors reads the sectors of the organisation that submitted an
// object, fixed when it was stored and sent beside it; anonymise_submitters
// withholds what names its submitter, and an organisation anonymous
// towards partners crosses in its one released form; an unmarked object
// crosses under the TLP the origin's default gave it, not the receiver's.
// When the receiver's agreement changes, it pulls again what it refused.
func TestAgreementTerms(t *testing.T) {
	t.Parallel()
	in, jp := newNode(t, "IN", "IN"), newNode(t, "JP", "JP")
	in.run("policy", "default-tlp", "green") // JP keeps AMBER
	peered(in, jp)

	telcoID, telco := orgUser(in, "telco", "--sector", "telecommunications")
	anonID, anon := orgUser(in, "anon-telco", "--sector", "telecommunications", "--anonymous-to-partners")
	bankID, bank := orgUser(in, "bank", "--sector", "finance", "--anonymous-to-partners")
	in.agreement("JP", 1, []string{"shared"}, "", "pull", `, "sectors": ["telecommunications", "energy"]`)
	jp.agreement("IN", 1, nil, "from-IN", "pull", `, "sectors": ["energy"]`)

	by := func(identity string) string { return `, "created_by_ref": "` + identity + `"` }
	named, anonObj, bankObj, operator := newID(), newID(), newID(), newID()
	post(t, in, telco, indicator(named, day0, nil, by(telcoID)))
	post(t, in, anon, indicator(anonObj, day0, nil, by(anonID)))
	post(t, in, bank, indicator(bankObj, day0, nil, by(bankID)))
	in.importObjects("shared", []string{indicator(operator, day0, []string{stix.TLPGreen}, "")})

	waitFor(t, "IN to withhold by sector and by anonymity", 60*time.Second, func() bool {
		c := in.counts("JP")
		return c["withheld:agreement-sector"] == 2 && c["withheld:agreement-anonymise"] == 1 && c["released"] == 1
	}, in, jp)
	// JP's own agreement reads the sectors IN sent: telecommunications is
	// not among JP's.
	waitFor(t, "JP to refuse by sector", 60*time.Second, func() bool {
		return jp.counts("IN")["refused:inbound:agreement-sector"] == 1
	}, in, jp)
	if n := jp.count("from-IN"); n != 0 {
		t.Fatalf("JP stored %d objects from IN, want none", n)
	}

	// JP's new agreement lets the sector in: JP pulls again from the start
	// and takes what it refused.
	jp.agreement("IN", 2, nil, "from-IN", "pull", `, "sectors": ["energy", "telecommunications"]`)
	at := "@" + day0.Format(time.RFC3339Nano)
	waitFor(t, "the refused object on JP once its agreement allows it", 60*time.Second, func() bool {
		return ids(jp.versions("from-IN"))[anonObj+at] == 1
	}, in, jp)
	f, v := storedFacts(t, jp, anonObj)
	if f.TLP != stix.TLPLevelGreen || !slices.Equal(f.Sectors, []string{"telecommunications"}) || v.Submitter != "node:IN" {
		t.Errorf("JP keeps beside the object TLP %v, sectors %v, submitter %s; want IN's GREEN default and its submitter's sectors", f.TLP, f.Sectors, v.Submitter)
	}
	if strings.Contains(string(v.Body), anonID) || !strings.Contains(string(v.Body), nodeIdentity(in)) {
		t.Errorf("the organisation anonymous towards partners is named on JP: %s", v.Body)
	}
	// On IN, it is anonymous towards partners only.
	cl := userClient(t, in, bank)
	env, _, err := cl.GetObject(context.Background(), "/api/", collectionID(t, cl, "shared"), anonObj, taxii.Filter{})
	if err != nil || len(env.Objects) != 1 || !strings.Contains(string(env.Objects[0]), anonID) {
		t.Errorf("another organisation of IN reads %v, %v; want the submitter named", env, err)
	}

	// The named organisation turns anonymous towards partners: what it
	// submits from then on crosses, in the one released form.
	in.run("org", "set", "telco", "--anonymous-to-partners")
	later := newID()
	post(t, in, telco, indicator(later, day0, nil, by(telcoID)))
	waitFor(t, "the named organisation's later object on JP", 60*time.Second, func() bool {
		return ids(jp.versions("from-IN"))[later+at] == 1
	}, in, jp)
	for _, v := range jp.versions("from-IN") {
		switch v.ID {
		case named, bankObj, operator:
			t.Errorf("%s crossed to JP", v.ID)
		case later:
			if strings.Contains(string(v.Body), telcoID) {
				t.Errorf("telco is named on JP: %s", v.Body)
			}
		}
	}
}

// TestPushReoffer: in push mode the receiver never pulls, and the sender
// has long passed what the receiver refused; when the receiver's terms
// change, it pulls the sender's view once from the start.
func TestPushReoffer(t *testing.T) {
	t.Parallel()
	in, jp := newNode(t, "IN", "IN"), newNode(t, "JP", "JP")
	peered(in, jp)
	in.agreement("JP", 1, []string{"shared"}, "", "push", "")
	jp.agreement("IN", 1, nil, "from-IN", "push", `, "types": ["malware"]`)
	obj := newID()
	in.importObjects("shared", []string{indicator(obj, day0, []string{stix.TLPGreen}, "")})
	waitFor(t, "JP to refuse the pushed indicator", 60*time.Second, func() bool {
		return jp.counts("IN")["refused:inbound:agreement-type"] >= 1
	}, in, jp)
	jp.agreement("IN", 2, nil, "from-IN", "push", "")
	waitFor(t, "the refused indicator on JP once its agreement allows it", 60*time.Second, func() bool {
		return jp.count("from-IN") == 1
	}, in, jp)
	// Nothing is shown as a sync position for the re-offer.
	if out := jp.run("peer", "status"); strings.Contains(out, "(terms)") {
		t.Errorf("peer status shows the terms record:\n%s", out)
	}
}

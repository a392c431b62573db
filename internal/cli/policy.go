package cli

import (
	"context"
	"fmt"

	"github.com/setu-cti/setu/internal/policy"
)

func init() {
	register("policy", "explain sharing decisions: explain", runPolicy)
}

func runPolicy(ctx context.Context, e *env, args []string) int {
	return subcommands(ctx, e, "policy", args, map[string]func(context.Context, *env, []string) int{
		"explain": policyExplain,
	})
}

// policyExplain shows who may see an object and why, as the gate decides it
// for a reader of the given organisation (or a partner node).
func policyExplain(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "policy explain", "OBJECT-ID --as ORG [--user NAME] | --peer NODE")
	var sf storeFlags
	sf.register(fs, e)
	as := fs.String("as", "", "decide for a user of this organisation `id`")
	user := fs.String("user", "", "the user's `name` (matters for TLP:RED recipients)")
	peer := fs.String("peer", "", "decide for this partner `node` instead")
	id, code, ok := oneArg(fs, args)
	if !ok {
		return code
	}
	if (*as == "") == (*peer == "") {
		errorf(e, "give exactly one of --as ORG or --peer NODE")
		return 2
	}
	return withAccounts(ctx, e, &sf, func(db nodeDB) error {
		v, err := db.Current(ctx, id)
		if err != nil {
			return fmt.Errorf("object %s: %w", id, err)
		}
		r := policy.Reader{Peer: *peer}
		if *as != "" {
			if r, err = orgReader(ctx, db, *as, *user); err != nil {
				return err
			}
		}
		d := policy.NewGate(db, nodePolicy).Explain(r, v)
		verdict := "DENY"
		if d.Allow {
			verdict = "ALLOW"
		}
		who := "organisation " + r.Org
		if r.IsPeer() {
			who = "partner node " + r.Peer
		}
		fmt.Fprintf(e.stdout, "%s %s@%s for %s\n  rule:   %s\n  reason: %s\n", verdict, v.ID, v.VersionTime.UTC().Format("2006-01-02T15:04:05.000Z"), who, d.Rule, d.Reason)
		fmt.Fprintf(e.stdout, "  submitter: %s\n  audience keys: %v\n", v.Submitter, nodePolicy.Audience(policy.DecodeFacts(v.Facts, v.Submitter)))
		return nil
	})
}

// nodePolicy is the node's policy configuration, the same for serve, export
// and explain (the default TLP is AMBER until it becomes configurable).
var nodePolicy = policy.Config{}

// orgReader is the policy's reader for a user of an organisation on this
// node, with the sharing groups the organisation belongs to.
func orgReader(ctx context.Context, db nodeDB, org, user string) (policy.Reader, error) {
	o, err := db.Org(ctx, org)
	if err != nil {
		return policy.Reader{}, fmt.Errorf("organisation %s: %w", org, err)
	}
	groups, err := db.OrgGroups(ctx, o.ID)
	if err != nil {
		return policy.Reader{}, err
	}
	return policy.Reader{User: user, Org: o.ID, Country: o.Country, Groups: groups}, nil
}

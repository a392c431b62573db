package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/setu-cti/setu/internal/federation"
	"github.com/setu-cti/setu/internal/policy"
	"github.com/setu-cti/setu/internal/stix"
	"github.com/setu-cti/setu/internal/store"
)

func init() {
	register("policy", "sharing policy: explain, default-tlp", runPolicy)
}

func runPolicy(ctx context.Context, e *env, args []string) int {
	return subcommands(ctx, e, "policy", args, map[string]func(context.Context, *env, []string) int{
		"explain":     policyExplain,
		"default-tlp": policyDefaultTLP,
	})
}

// policyExplain shows who may see an object and why, as the gate decides it
// for a reader of the given organisation (or a partner node).
func policyExplain(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "policy explain", "OBJECT-ID --as ORG [--user NAME] | --peer NODE | --all")
	var sf storeFlags
	sf.register(fs, e)
	as := fs.String("as", "", "decide for a user of this organisation `id`")
	user := fs.String("user", "", "the user's `name` (matters for TLP:RED recipients)")
	peer := fs.String("peer", "", "decide for this partner `node` instead")
	all := fs.Bool("all", false, "decide for every organisation on the node")
	id, code, ok := oneArg(fs, args)
	if !ok {
		return code
	}
	given := 0
	for _, set := range []bool{*as != "", *peer != "", *all} {
		if set {
			given++
		}
	}
	if given != 1 {
		errorf(e, "give exactly one of --as ORG, --peer NODE or --all")
		return 2
	}
	if *all {
		return withAccounts(ctx, e, &sf, func(db nodeDB) error { return explainAll(ctx, e, db, id) })
	}
	return withAccounts(ctx, e, &sf, func(db nodeDB) error {
		v, err := db.Current(ctx, id)
		if err != nil {
			return err
		}
		var r policy.Reader
		if *as != "" {
			r, err = orgReader(ctx, db, *as, *user)
		} else {
			r, err = peerReader(ctx, db, *peer)
		}
		if err != nil {
			return err
		}
		pol, err := policy.LoadConfig(ctx, db)
		if err != nil {
			return err
		}
		if r.IsPeer() {
			return explainPeer(ctx, e, db, pol, r, v)
		}
		d := policy.NewGate(db, pol).Explain(r, v)
		verdict := "DENY"
		if d.Allow {
			verdict = "ALLOW"
		}
		who := "organisation " + r.Org
		if r.IsPeer() {
			who = "partner node " + r.Peer
		}
		fmt.Fprintf(e.stdout, "%s %s@%s for %s\n  rule:   %s\n  reason: %s\n", verdict, v.ID, v.VersionTime.UTC().Format("2006-01-02T15:04:05.000Z"), who, d.Rule, d.Reason)
		fmt.Fprintf(e.stdout, "  submitter: %s\n  audience keys: %v\n", v.Submitter, pol.Audience(policy.DecodeFacts(v.Facts, v.Submitter)))
		return nil
	})
}

// explainPeer shows the decision egress makes for a partner node: the
// policy gate as the peer, then every term of the agreement in force with
// it; without an agreement nothing is released to the peer.
func explainPeer(ctx context.Context, e *env, db nodeDB, pol policy.Config, r policy.Reader, v store.Version) error {
	ps, ok := db.(store.Peers)
	if !ok {
		return errors.New("this store does not support federation")
	}
	gate := policy.NewGate(db, pol).Explain(r, v)
	var d policy.Decision
	terms := "none in force: nothing is released to " + r.Peer
	rec, err := ps.Agreement(ctx, r.Peer)
	switch {
	case errors.Is(err, store.ErrNotFound):
		d = policy.Decision{Rule: "no-agreement", Reason: "no agreement with " + r.Peer + " is in force, so egress releases nothing to it"}
	case err != nil:
		return err
	default:
		a, err := federation.ParseAgreement(rec.Body)
		if err != nil {
			return fmt.Errorf("agreement with %s: %w", r.Peer, err)
		}
		d = a.Decide(pol, r.Country, r.Groups, &v)
		terms = agreementTerms(a)
	}
	verdict := "DENY"
	if d.Allow {
		verdict = "ALLOW"
	}
	o := federation.ObjectOf(&v)
	fmt.Fprintf(e.stdout, "%s %s@%s for partner node %s\n  rule:   %s\n  reason: %s\n", verdict, v.ID,
		v.VersionTime.UTC().Format("2006-01-02T15:04:05.000Z"), r.Peer, d.Rule, d.Reason)
	fmt.Fprintf(e.stdout, "  policy alone: %s (%s)\n", map[bool]string{true: "allow", false: "deny"}[gate.Allow], gate.Rule)
	fmt.Fprintf(e.stdout, "  agreement: %s\n", terms)
	fmt.Fprintf(e.stdout, "  submitter: %s; sectors: %s; names its submitter to peers: %s\n", v.Submitter,
		orNone(strings.Join(o.Sectors, ",")), map[bool]string{true: "yes", false: "no"}[o.Named])
	fmt.Fprintf(e.stdout, "  audience keys: %v\n", pol.Audience(o.Facts))
	return nil
}

// agreementTerms summarises what an agreement lets cross.
func agreementTerms(a *federation.Agreement) string {
	scopes := make([]string, len(a.Distribution))
	for i, s := range a.Distribution {
		scopes[i] = string(s)
	}
	parts := []string{fmt.Sprintf("version %d", a.Version), "max TLP " + strings.ToLower(strings.TrimPrefix(a.MaxTLP.String(), "TLP:")),
		"distribution " + strings.Join(scopes, ",")}
	for _, l := range []struct {
		name string
		list []string
	}{{"groups", a.Groups}, {"types", a.Types}, {"sectors", a.Sectors}, {"residency honoured", a.Residency}, {"never released", a.NeverRelease}, {"released anyway", a.ReleaseAnyway}} {
		if len(l.list) > 0 {
			parts = append(parts, l.name+" "+strings.Join(l.list, ","))
		}
	}
	if a.AnonymiseSubmitters {
		parts = append(parts, "submitters anonymised")
	}
	return strings.Join(parts, "; ")
}

// policyDefaultTLP shows or sets the TLP that objects without a TLP marking
// are treated as. Running servers read it when they start.
func policyDefaultTLP(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "policy default-tlp", "[clear|green|amber|amber+strict|red]")
	var sf storeFlags
	sf.register(fs, e)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 1 {
		errorf(e, "policy default-tlp: at most one level")
		return 2
	}
	var level stix.TLP
	if fs.NArg() == 1 {
		var err error
		if level, err = policy.ParseTLP(fs.Arg(0)); err != nil {
			errorf(e, "%v", err)
			return 2
		}
	}
	return withAccounts(ctx, e, &sf, func(db nodeDB) error {
		if level != 0 {
			if err := policy.SaveDefaultTLP(ctx, db, level); err != nil {
				return err
			}
			if err := logAdmin(ctx, db, "policy.default-tlp", "setting:"+policy.SettingDefaultTLP); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "default TLP set to %s; running servers apply it when restarted\n", level)
			return nil
		}
		pol, err := policy.LoadConfig(ctx, db)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%s\n", pol.DefaultLevel())
		return nil
	})
}

// orgReader is the policy's reader for a user of an organisation on this
// node, with the sharing groups the organisation belongs to.
func orgReader(ctx context.Context, db nodeDB, org, user string) (policy.Reader, error) {
	o, err := db.Org(ctx, org)
	if err != nil {
		return policy.Reader{}, err
	}
	groups, err := db.OrgGroups(ctx, o.ID)
	if err != nil {
		return policy.Reader{}, err
	}
	return policy.Reader{User: user, Org: o.ID, Country: o.Country, Groups: groups}, nil
}

// peerReader is the partner node name as the sync engine reads for it:
// with the country its operator declared and the sharing groups the
// registry lists it in.
func peerReader(ctx context.Context, db nodeDB, name string) (policy.Reader, error) {
	r := policy.Reader{Peer: name}
	if ps, ok := db.(store.Peers); ok {
		p, err := ps.Peer(ctx, name)
		if err != nil {
			return policy.Reader{}, fmt.Errorf("peer %s: %w", name, err)
		}
		r.Country = p.Country
	}
	groups, err := db.PeerGroups(ctx, name)
	if err != nil {
		return policy.Reader{}, err
	}
	r.Groups = groups
	return r, nil
}

// explainAll shows the decision for a user of every organisation.
func explainAll(ctx context.Context, e *env, db nodeDB, id string) error {
	v, err := db.Current(ctx, id)
	if err != nil {
		return err
	}
	pol, err := policy.LoadConfig(ctx, db)
	if err != nil {
		return err
	}
	orgs, err := db.Orgs(ctx)
	if err != nil {
		return err
	}
	gate := policy.NewGate(db, pol)
	fmt.Fprintf(e.stdout, "%s@%s, submitted by %s\n", v.ID, v.VersionTime.UTC().Format("2006-01-02T15:04:05.000Z"), v.Submitter)
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ORGANISATION\tCOUNTRY\tDECISION\tRULE\tREASON")
	for _, o := range orgs {
		r, err := orgReader(ctx, db, o.ID, "")
		if err != nil {
			return err
		}
		d := gate.Explain(r, v)
		verdict := "deny"
		if d.Allow {
			verdict = "allow"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", o.ID, o.Country, verdict, d.Rule, d.Reason)
	}
	return tw.Flush()
}

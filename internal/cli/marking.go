package cli

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/setu-cti/setu/internal/account"
	"github.com/setu-cti/setu/internal/ingest"
	"github.com/setu-cti/setu/internal/policy"
	"github.com/setu-cti/setu/internal/stix"
	"github.com/setu-cti/setu/internal/store"
)

func init() {
	register("marking", "list, show and create marking definitions: list, show, recipients, group, residency, scope, tlp", runMarking)
}

func runMarking(ctx context.Context, e *env, args []string) int {
	return subcommands(ctx, e, "marking", args, map[string]func(context.Context, *env, []string) int{
		"list":       markingList,
		"show":       markingShow,
		"recipients": markingRecipients,
		"group":      markingGroup,
		"residency":  markingResidency,
		"scope":      markingScope,
		"tlp":        markingTLP,
	})
}

// ensureMarkings lists in the markings collection every marking definition
// the node knows: the built-in TLP ones, the Setu distribution markings of
// every fixed scope, of residency in the node's country and of every
// sharing group in the registry, and every definition stored in another
// collection (a node that stored some before the collection existed). It
// is idempotent: definitions already listed are duplicates.
func ensureMarkings(ctx context.Context, db nodeDB) error {
	if err := ensureCollections(ctx, db, time.Now().UTC()); err != nil {
		return err
	}
	mc, err := db.Collection(ctx, ingest.MarkingsAlias)
	if err != nil {
		return err
	}
	var defs [][]byte
	for _, id := range tlpIDs {
		b, _ := stix.TLPDefinition(id)
		defs = append(defs, b)
	}
	ds := []policy.Distribution{}
	for _, sc := range policy.Scopes {
		if sc != policy.ScopeGroup {
			ds = append(ds, policy.Distribution{Scope: sc})
		}
	}
	if o, err := db.Org(ctx, account.NodeOrg); err == nil && o.Country != "" && o.Country != "ZZ" {
		ds = append(ds, policy.Distribution{Resident: o.Country})
	}
	gs, err := db.ListGroups(ctx)
	if err != nil {
		return err
	}
	for _, g := range gs {
		ds = append(ds, policy.Distribution{Scope: policy.ScopeGroup, Group: g.ID})
	}
	for _, d := range ds {
		b, err := d.MarkingDefinition()
		if err != nil {
			return err
		}
		defs = append(defs, b)
	}
	colls, err := db.Collections(ctx)
	if err != nil {
		return err
	}
	for _, c := range colls {
		if c.ID == mc.ID {
			continue
		}
		q := store.Query{Collection: c.ID, Types: []string{"marking-definition"}, Versions: store.VersionFilter{All: true}, Limit: 1000}
		for {
			p, err := db.Query(ctx, q)
			if err != nil {
				return err
			}
			for _, v := range p.Versions {
				defs = append(defs, v.Body)
			}
			if !p.More {
				break
			}
			q.After = p.Last
		}
	}
	w := ingest.Operator
	w.Audit = cliWrite("cli:marking", mc.ID)
	items, err := ingest.New(db, 0, ingest.WithGroups(db), ingest.WithWriter(w)).Objects(ctx, mc.ID, defs)
	if err != nil {
		return err
	}
	for _, it := range items {
		if it.Outcome == ingest.Rejected {
			return fmt.Errorf("listing marking definition %s: %v", it.ID, it.Err)
		}
	}
	return nil
}

// tlpIDs are the built-in TLP definitions, TLP 2.0 first.
var tlpIDs = []string{stix.TLPClear, stix.TLPGreen, stix.TLPAmber, stix.TLPAmberStrict, stix.TLPRed,
	stix.TLP1White, stix.TLP1Green, stix.TLP1Amber, stix.TLP1Red}

// knownMarking is one definition as the marking commands show it.
type knownMarking struct {
	ID   string
	Kind string // tlp, statement, distribution, group, recipients, residency, other
	What string // what it means, in a few words
	Body []byte
}

// describe says what a marking definition means to this node.
func describe(id string, body []byte) knownMarking {
	kind, what := policy.Describe(id, body)
	return knownMarking{ID: id, Kind: kind, What: what, Body: body}
}

// knownMarkings returns every definition listed in the markings collection,
// TLP first, then by kind and id.
func knownMarkings(ctx context.Context, db nodeDB) ([]knownMarking, error) {
	if err := ensureMarkings(ctx, db); err != nil {
		return nil, err
	}
	var out []knownMarking
	q := store.Query{Collection: ingest.MarkingsAlias, Limit: 1000}
	for {
		p, err := db.Query(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, v := range p.Versions {
			out = append(out, describe(v.ID, v.Body))
		}
		if !p.More {
			break
		}
		q.After = p.Last
	}
	order := map[string]int{"tlp": 0, "distribution": 1, "residency": 2, "group": 3, "recipients": 4, "statement": 5, "other": 6}
	slices.SortFunc(out, func(a, b knownMarking) int {
		if a.Kind != b.Kind {
			return order[a.Kind] - order[b.Kind]
		}
		if a.Kind == "tlp" {
			return slices.Index(tlpIDs, a.ID) - slices.Index(tlpIDs, b.ID)
		}
		return strings.Compare(a.What+a.ID, b.What+b.ID)
	})
	return out, nil
}

func markingList(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "marking list", "[--json]  (every marking definition this node knows)")
	var sf storeFlags
	sf.register(fs, e)
	asJSON := fs.Bool("json", false, "print the definitions, one JSON object a line")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return 2
	}
	return withAccounts(ctx, e, &sf, func(db nodeDB) error {
		ms, err := knownMarkings(ctx, db)
		if err != nil {
			return err
		}
		if *asJSON {
			for _, m := range ms {
				fmt.Fprintf(e.stdout, "%s\n", m.Body)
			}
			return nil
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tKIND\tMEANING")
		for _, m := range ms {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", m.ID, m.Kind, m.What)
		}
		return tw.Flush()
	})
}

func markingShow(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "marking show", "MARKING-ID")
	var sf storeFlags
	sf.register(fs, e)
	id, code, ok := oneArg(fs, args)
	if !ok {
		return code
	}
	return withAccounts(ctx, e, &sf, func(db nodeDB) error {
		ms, err := knownMarkings(ctx, db)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(ms, func(m knownMarking) bool { return m.ID == id })
		if i < 0 {
			return fmt.Errorf("marking %s is not known to this node (setu marking list shows those it knows)", id)
		}
		return printMarking(e.stdout, ms[i])
	})
}

// printMarking prints a definition's id, meaning and indented JSON.
func printMarking(w io.Writer, m knownMarking) error {
	v := jsontext.Value(m.Body)
	if err := v.Indent(jsontext.WithIndent("  ")); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%s\n%s: %s\n%s\n", m.ID, m.Kind, m.What, v)
	return err
}

// storeMarking stores the distribution marking definition that build
// returns (from what the store holds) in the markings collection, and
// prints it.
func storeMarking(ctx context.Context, e *env, sf *storeFlags, build func(nodeDB) (policy.Distribution, error)) int {
	return withAccounts(ctx, e, sf, func(db nodeDB) error {
		d, err := build(db)
		if err != nil {
			return err
		}
		if err := d.Validate(); err != nil {
			return err
		}
		if err := ensureCollections(ctx, db, time.Now().UTC()); err != nil {
			return err
		}
		mc, err := db.Collection(ctx, ingest.MarkingsAlias)
		if err != nil {
			return err
		}
		b, err := d.MarkingDefinition()
		if err != nil {
			return err
		}
		w := ingest.Operator
		w.Audit = cliWrite("cli:marking", mc.ID)
		items, err := ingest.New(db, 0, ingest.WithGroups(db), ingest.WithWriter(w)).Objects(ctx, mc.ID, [][]byte{b})
		if err != nil {
			return err
		}
		if items[0].Outcome == ingest.Rejected {
			return items[0].Err
		}
		return printMarking(e.stdout, describe(d.MarkingID(), b))
	})
}

// fixed is a build function for a distribution that needs nothing stored.
func fixed(d policy.Distribution) func(nodeDB) (policy.Distribution, error) {
	return func(nodeDB) (policy.Distribution, error) { return d, nil }
}

func markingRecipients(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "marking recipients", "ORG|USER|org:ID|user:NAME...  (the TLP:RED recipients marking naming them)")
	var sf storeFlags
	sf.register(fs, e)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	return storeMarking(ctx, e, &sf, func(db nodeDB) (policy.Distribution, error) {
		var rs []string
		for _, a := range fs.Args() {
			r, err := recipient(ctx, db, a)
			if err != nil {
				return policy.Distribution{}, err
			}
			if !slices.Contains(rs, r) {
				rs = append(rs, r)
			}
		}
		return policy.Distribution{Recipients: rs}, nil
	})
}

// recipient names a TLP:RED recipient: "org:ID" or "user:NAME" as given
// (which must exist), or a bare name, an organisation if one has that id,
// else a user.
func recipient(ctx context.Context, db nodeDB, a string) (string, error) {
	kind, name, ok := strings.Cut(a, ":")
	if !ok {
		if _, err := db.Org(ctx, a); err == nil {
			return "org:" + a, nil
		}
		if _, err := db.User(ctx, a); err == nil {
			return "user:" + a, nil
		}
		return "", fmt.Errorf("recipient %q: no organisation has that id and no user that name", a)
	}
	var err error
	switch kind {
	case "org":
		_, err = db.Org(ctx, name)
	case "user":
		_, err = db.User(ctx, name)
	default:
		return "", fmt.Errorf("recipient %q: want ORG, USER, org:ID or user:NAME", a)
	}
	if err != nil {
		return "", fmt.Errorf("recipient %q: %s %s does not exist", a, kind, name)
	}
	return a, nil
}

func markingGroup(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "marking group", "GROUP  (the distribution marking of a sharing group, by id or name)")
	var sf storeFlags
	sf.register(fs, e)
	g, code, ok := oneArg(fs, args)
	if !ok {
		return code
	}
	return storeMarking(ctx, e, &sf, func(db nodeDB) (policy.Distribution, error) {
		grp, err := db.Group(ctx, g)
		if err != nil {
			return policy.Distribution{}, fmt.Errorf("sharing group %q does not exist", g)
		}
		return policy.Distribution{Scope: policy.ScopeGroup, Group: grp.ID}, nil
	})
}

func markingResidency(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "marking residency", "CC  (the residency marking of a country: objects never leave it)")
	var sf storeFlags
	sf.register(fs, e)
	cc, code, ok := oneArg(fs, args)
	if !ok {
		return code
	}
	return storeMarking(ctx, e, &sf, fixed(policy.Distribution{Resident: strings.ToUpper(cc)}))
}

func markingScope(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "marking scope", "org|community|partners|nodes|public  (a Setu distribution marking)")
	var sf storeFlags
	sf.register(fs, e)
	sc, code, ok := oneArg(fs, args)
	if !ok {
		return code
	}
	if policy.Scope(sc) == policy.ScopeGroup {
		errorf(e, "a group's marking: setu marking group GROUP")
		return 2
	}
	return storeMarking(ctx, e, &sf, fixed(policy.Distribution{Scope: policy.Scope(sc)}))
}

func markingTLP(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "marking tlp", "clear|green|amber|amber+strict|red  (the TLP 2.0 marking definition)")
	level, code, ok := oneArg(fs, args)
	if !ok {
		return code
	}
	t, err := policy.ParseTLP(level)
	if err != nil {
		errorf(e, "%v", err)
		return 2
	}
	id := tlpIDs[int(t)-1]
	b, _ := stix.TLPDefinition(id)
	if err := printMarking(e.stdout, describe(id, b)); err != nil {
		errorf(e, "%v", err)
		return 1
	}
	return 0
}

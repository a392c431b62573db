package cli

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/setu-cti/setu/internal/account"
)

func init() {
	register("org", "manage organisations: add, list, set", runOrg)
}

func runOrg(ctx context.Context, e *env, args []string) int {
	return subcommands(ctx, e, "org", args, map[string]func(context.Context, *env, []string) int{
		"add":  orgAdd,
		"list": orgList,
		"set":  orgSet,
	})
}

// subcommands dispatches "setu NOUN VERB ...". "setu NOUN -h" (or --help,
// or help) prints the help of every verb to standard output and exits 0;
// a missing or unknown verb prints a one-line usage and exits 2.
func subcommands(ctx context.Context, e *env, noun string, args []string, verbs map[string]func(context.Context, *env, []string) int) int {
	names := make([]string, 0, len(verbs))
	for v := range verbs {
		names = append(names, v)
	}
	names = sorted(names)
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
		fmt.Fprintf(e.stdout, "setu %s: %s\n", noun, commands[noun].summary)
		for _, v := range names {
			// Each verb prints its own usage and flags for -h, without
			// touching the store.
			var help strings.Builder
			verbs[v](ctx, &env{stdin: e.stdin, stdout: &help, stderr: &help, getenv: e.getenv}, []string{"-h"})
			fmt.Fprintf(e.stdout, "\n%s", help.String())
		}
		return 0
	}
	if len(args) == 0 || verbs[args[0]] == nil {
		errorf(e, "usage: setu %s {%s} ... (setu %s -h describes each)", noun, strings.Join(names, "|"), noun)
		return 2
	}
	return verbs[args[0]](ctx, e, args[1:])
}

func orgAdd(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "org add", "ID --name NAME --country CC --kind KIND [--sector S,...] [--anonymous | --anonymous-to-partners]")
	var sf storeFlags
	sf.register(fs, e)
	name := fs.String("name", "", "display `name`")
	country := fs.String("country", "", "ISO 3166-1 alpha-2 `code`")
	kind := fs.String("kind", "", "one of government, critical-infrastructure-operator, business, national-cert")
	sectors := fs.String("sector", "", "`sectors`, comma-separated (e.g. energy,telecommunications); fixed with each object it submits, for agreements that share some sectors only")
	anonymous := fs.Bool("anonymous", false, "serve the organisation's objects to others with the node's identity as creator")
	partners := fs.Bool("anonymous-to-partners", false, "serve the organisation's objects to partner nodes with the node's identity as creator")
	id, code, ok := oneArg(fs, args)
	if !ok {
		return code
	}
	o := account.Org{ID: id, Name: *name, Country: strings.ToUpper(*country), Kind: account.Kind(*kind),
		Sectors: splitList(*sectors), Created: time.Now().UTC(), Anonymous: *anonymous, AnonymousToPartners: *partners,
		Identity: account.NewIdentityID()}
	if err := o.Validate(); err != nil {
		errorf(e, "%v", err)
		return 2
	}
	return withAccounts(ctx, e, &sf, func(db nodeDB) error {
		if err := db.CreateOrg(ctx, o); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "organisation %s created (STIX identity %s)\n", o.ID, o.IdentityID())
		return logAdmin(ctx, db, "org.create", "org:"+o.ID)
	})
}

// anonymity names how an organisation's objects name it to others.
func anonymity(o account.Org) string {
	switch {
	case o.Anonymous:
		return "everyone"
	case o.AnonymousToPartners:
		return "partners"
	}
	return "no"
}

func orgList(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "org list", "")
	var sf storeFlags
	sf.register(fs, e)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	return withAccounts(ctx, e, &sf, func(db nodeDB) error {
		orgs, err := db.Orgs(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tCOUNTRY\tKIND\tSECTORS\tANONYMOUS TO\tSTIX IDENTITY")
		for _, o := range orgs {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", o.ID, o.Name, o.Country, o.Kind, strings.Join(o.Sectors, ","), anonymity(o), o.IdentityID())
		}
		return tw.Flush()
	})
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// orgSet changes an organisation's settings. Sectors and anonymity apply
// to what the organisation submits from then on; what is stored keeps how
// it was submitted.
func orgSet(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "org set", "ID [--name NAME] [--kind KIND] [--sector S,...] [--anonymous=true|false] [--anonymous-to-partners=true|false]")
	var sf storeFlags
	sf.register(fs, e)
	name := fs.String("name", "", "display `name`")
	kind := fs.String("kind", "", "one of government, critical-infrastructure-operator, business, national-cert")
	sectors := fs.String("sector", "", "`sectors`, comma-separated; empty (--sector '') for none")
	anonymous := fs.Bool("anonymous", false, "serve the organisation's later submissions to others with the node's identity as creator")
	partners := fs.Bool("anonymous-to-partners", false, "serve the organisation's later submissions to partner nodes with the node's identity as creator")
	id, code, ok := oneArg(fs, args)
	if !ok {
		return code
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if !set["name"] && !set["kind"] && !set["sector"] && !set["anonymous"] && !set["anonymous-to-partners"] {
		errorf(e, "org set: nothing to set; give --name, --kind, --sector, --anonymous or --anonymous-to-partners")
		return 2
	}
	return withAccounts(ctx, e, &sf, func(db nodeDB) error {
		o, err := db.Org(ctx, id)
		if err != nil {
			return err
		}
		if set["name"] {
			o.Name = *name
		}
		if set["kind"] {
			o.Kind = account.Kind(*kind)
		}
		if set["sector"] {
			o.Sectors = splitList(*sectors)
		}
		if set["anonymous"] {
			o.Anonymous = *anonymous
		}
		if set["anonymous-to-partners"] {
			o.AnonymousToPartners = *partners
		}
		if err := o.Validate(); err != nil {
			return err
		}
		if err := db.UpdateOrg(ctx, o); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "organisation %s: sectors %s, anonymous to %s\n", id, orNone(strings.Join(o.Sectors, ",")), anonymity(o))
		return logAdmin(ctx, db, "org.update", "org:"+id)
	})
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

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
	fs := newFlags(e, "org add", "ID --name NAME --country CC --kind KIND [--sector S,...]")
	var sf storeFlags
	sf.register(fs, e)
	name := fs.String("name", "", "display `name`")
	country := fs.String("country", "", "ISO 3166-1 alpha-2 `code`")
	kind := fs.String("kind", "", "one of government, critical-infrastructure-operator, business, national-cert")
	sectors := fs.String("sector", "", "`sectors`, comma-separated (e.g. energy,telecommunications)")
	anonymous := fs.Bool("anonymous", false, "serve the organisation's objects to others with the node's identity as creator")
	id, code, ok := oneArg(fs, args)
	if !ok {
		return code
	}
	o := account.Org{ID: id, Name: *name, Country: strings.ToUpper(*country), Kind: account.Kind(*kind),
		Sectors: splitList(*sectors), Created: time.Now().UTC(), Anonymous: *anonymous, Identity: account.NewIdentityID()}
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
		fmt.Fprintln(tw, "ID\tNAME\tCOUNTRY\tKIND\tSECTORS\tANONYMOUS\tSTIX IDENTITY")
		for _, o := range orgs {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%v\t%s\n", o.ID, o.Name, o.Country, o.Kind, strings.Join(o.Sectors, ","), o.Anonymous, o.IdentityID())
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

// orgSet changes an organisation's settings. Anonymity applies to what the
// organisation submits from then on; what is stored keeps how it was
// submitted.
func orgSet(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "org set", "ID --anonymous=true|false")
	var sf storeFlags
	sf.register(fs, e)
	anonymous := fs.Bool("anonymous", false, "serve the organisation's later submissions to others with the node's identity as creator")
	id, code, ok := oneArg(fs, args)
	if !ok {
		return code
	}
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == "anonymous" })
	if !set {
		errorf(e, "org set: nothing to set; give --anonymous=true or --anonymous=false")
		return 2
	}
	return withAccounts(ctx, e, &sf, func(db nodeDB) error {
		if err := db.SetOrgAnonymous(ctx, id, *anonymous); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "organisation %s: anonymous %v\n", id, *anonymous)
		return logAdmin(ctx, db, "org.update", "org:"+id)
	})
}

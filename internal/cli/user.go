package cli

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/setu-cti/setu/internal/account"
)

func init() {
	register("user", "manage users: add, list, disable, enable", runUser)
}

func runUser(ctx context.Context, e *env, args []string) int {
	return subcommands(ctx, e, "user", args, map[string]func(context.Context, *env, []string) int{
		"add":     userAdd,
		"list":    userList,
		"disable": func(ctx context.Context, e *env, a []string) int { return userSetDisabled(ctx, e, a, true) },
		"enable":  func(ctx context.Context, e *env, a []string) int { return userSetDisabled(ctx, e, a, false) },
	})
}

func userAdd(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "user add", "NAME --org ORG --role admin|org-admin|analyst|read-only")
	var sf storeFlags
	sf.register(fs, e)
	org := fs.String("org", "", "organisation `id`")
	role := fs.String("role", string(account.Analyst), "`role`: admin, org-admin, analyst or read-only")
	name, code, ok := oneArg(fs, args)
	if !ok {
		return code
	}
	u := account.User{Name: name, Org: *org, Role: account.Role(*role), Created: time.Now().UTC()}
	if err := u.Validate(); err != nil {
		errorf(e, "%v", err)
		return 2
	}
	return withAccounts(ctx, e, &sf, func(db nodeDB) error {
		if err := db.CreateUser(ctx, u); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "user %s (%s) created in %s\n", u.Name, u.Role, u.Org)
		return logAdmin(ctx, db, "user.create", "user:"+u.Name)
	})
}

func userList(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "user list", "[--org ORG]")
	var sf storeFlags
	sf.register(fs, e)
	org := fs.String("org", "", "only this organisation's users")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	return withAccounts(ctx, e, &sf, func(db nodeDB) error {
		us, err := db.Users(ctx, *org)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tORG\tROLE\tDISABLED")
		for _, u := range us {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%v\n", u.Name, u.Org, u.Role, u.Disabled)
		}
		return tw.Flush()
	})
}

func userSetDisabled(ctx context.Context, e *env, args []string, disabled bool) int {
	verb := "enable"
	if disabled {
		verb = "disable"
	}
	fs := newFlags(e, "user "+verb, "NAME")
	var sf storeFlags
	sf.register(fs, e)
	name, code, ok := oneArg(fs, args)
	if !ok {
		return code
	}
	return withAccounts(ctx, e, &sf, func(db nodeDB) error {
		if err := db.SetUserDisabled(ctx, name, disabled); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "user %s %sd\n", name, verb)
		return logAdmin(ctx, db, "user."+verb, "user:"+name)
	})
}

package cli

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/setu-cti/setu/internal/account"
)

func init() {
	register("token", "manage API tokens: create, list, revoke", runToken)
}

func runToken(ctx context.Context, e *env, args []string) int {
	return subcommands(ctx, e, "token", args, map[string]func(context.Context, *env, []string) int{
		"create": tokenCreate,
		"list":   tokenList,
		"revoke": tokenRevoke,
	})
}

func tokenCreate(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "token create", "USER [--label L] [--ttl DURATION]")
	var sf storeFlags
	sf.register(fs, e)
	label := fs.String("label", "", "a `label` to recognise the token by")
	ttl := fs.Duration("ttl", 0, "lifetime, e.g. 720h (0: no expiry)")
	user, code, ok := oneArg(fs, args)
	if !ok {
		return code
	}
	return withAccounts(ctx, e, &sf, func(db nodeDB) error {
		if _, err := db.User(ctx, user); err != nil {
			return err
		}
		secret, t, err := account.NewToken(user, *label, time.Now().UTC(), *ttl)
		if err != nil {
			return err
		}
		if err := db.CreateToken(ctx, t); err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "token %s created for %s; the secret below is shown only once\n", t.ID, user)
		fmt.Fprintln(e.stdout, secret)
		return logAdmin(ctx, db, "token.create", "token:"+t.ID, "user:"+user)
	})
}

func tokenList(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "token list", "USER")
	var sf storeFlags
	sf.register(fs, e)
	user, code, ok := oneArg(fs, args)
	if !ok {
		return code
	}
	return withAccounts(ctx, e, &sf, func(db nodeDB) error {
		if _, err := db.User(ctx, user); err != nil {
			return err // an empty list would say the user has no tokens
		}
		ts, err := db.Tokens(ctx, user)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tLABEL\tCREATED\tEXPIRES\tREVOKED")
		for _, t := range ts {
			exp := "never"
			if !t.Expires.IsZero() {
				exp = t.Expires.Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\n", t.ID, t.Label, t.Created.Format(time.RFC3339), exp, t.Revoked)
		}
		return tw.Flush()
	})
}

func tokenRevoke(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "token revoke", "TOKEN-ID")
	var sf storeFlags
	sf.register(fs, e)
	id, code, ok := oneArg(fs, args)
	if !ok {
		return code
	}
	return withAccounts(ctx, e, &sf, func(db nodeDB) error {
		if err := db.RevokeToken(ctx, id); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "token %s revoked\n", id)
		return logAdmin(ctx, db, "token.revoke", "token:"+id)
	})
}

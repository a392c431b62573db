package cli

import (
	"context"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/setu-cti/setu/internal/federation"
	"github.com/setu-cti/setu/internal/store"
)

func init() {
	register("origin", "nodes known by their signing keys alone: add, list, remove", runOrigin)
}

// An origin is a partner's partner: this node never connects to it, but
// verifies its signature on the objects its peers relay from it.
func runOrigin(ctx context.Context, e *env, args []string) int {
	return subcommands(ctx, e, "origin", args, map[string]func(context.Context, *env, []string) int{
		"add":    originAdd,
		"list":   originList,
		"remove": originRemove,
	})
}

func originAdd(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "origin add", "NAME --signing-key BASE64 [--country CC]")
	var sf storeFlags
	sf.register(fs, e)
	key := fs.String("signing-key", "", "the node's Ed25519 public `key` (base64), from its `setu node show`, obtained out of band")
	country := fs.String("country", "", "the node's `country` (ISO 3166-1 alpha-2)")
	name, code, ok := oneArg(fs, args)
	if !ok {
		return code
	}
	if *key == "" {
		errorf(e, "origin add: --signing-key is required")
		return 2
	}
	o := store.Origin{Name: name, Country: *country}
	if err := federation.ValidateName(name); err != nil {
		errorf(e, "origin %s: %v", name, err)
		return 2
	}
	k, err := federation.ParseSigningKey(*key)
	if err != nil {
		errorf(e, "origin %s: %v", name, err)
		return 2
	}
	o.SigningKey = k
	if *country != "" {
		if err := federation.ValidateCountry(*country); err != nil {
			errorf(e, "origin %s: %v", name, err)
			return 2
		}
	}
	return withFederation(ctx, e, &sf, func(db fedDB) error {
		if self, err := db.NodeInfo(ctx); err == nil && self.Name == name {
			return fmt.Errorf("origin %s: that is this node's own name", name)
		}
		if _, err := db.Peer(ctx, name); err == nil {
			return fmt.Errorf("%s is a peer; its key is on the peer's record", name)
		}
		if err := db.CreateOrigin(ctx, o); err != nil {
			if errors.Is(err, store.ErrExists) {
				return fmt.Errorf("origin %s already exists; remove it first to change it", name)
			}
			return err
		}
		fmt.Fprintf(e.stdout, "origin %s added: signing key SHA-256 %s\n", name, federation.FingerprintOf(o.SigningKey))
		return logAdmin(ctx, db, "origin.add", "origin:"+name)
	})
}

func originList(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "origin list", "")
	var sf storeFlags
	sf.register(fs, e)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	return withFederation(ctx, e, &sf, func(db fedDB) error {
		list, err := db.ListOrigins(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tCOUNTRY\tSIGNING KEY SHA-256\tADDED")
		for _, o := range list {
			country := o.Country
			if country == "" {
				country = "-"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", o.Name, country, federation.FingerprintOf(o.SigningKey), o.Created.Format(time.RFC3339))
		}
		return tw.Flush()
	})
}

func originRemove(ctx context.Context, e *env, args []string) int {
	return removeNamed(ctx, e, args, "origin", "", func(db fedDB, name string) error { return db.DeleteOrigin(ctx, name) })
}

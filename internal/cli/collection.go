package cli

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"

	"github.com/setu-cti/setu/internal/store"
)

func init() {
	register("collection", "manage TAXII collections and grants: add, list, grant, grants", runCollection)
}

func runCollection(ctx context.Context, e *env, args []string) int {
	return subcommands(ctx, e, "collection", args, map[string]func(context.Context, *env, []string) int{
		"add":    collectionAdd,
		"list":   collectionList,
		"grant":  collectionGrant,
		"grants": collectionGrants,
	})
}

func collectionAdd(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "collection add", "ALIAS [--title T] [--description D] [--id UUID]")
	var sf storeFlags
	sf.register(fs, e)
	title := fs.String("title", "", "`title` (default: the alias)")
	desc := fs.String("description", "", "`description`")
	id := fs.String("id", "", "collection `UUID` (default: random)")
	alias, code, ok := oneArg(fs, args)
	if !ok {
		return code
	}
	c := store.Collection{ID: *id, Alias: alias, Title: *title, Description: *desc,
		MediaTypes: []string{"application/stix+json;version=2.1"}, Created: time.Now().UTC()}
	if c.ID == "" {
		c.ID = uuid.NewString()
	} else if _, err := uuid.Parse(c.ID); err != nil {
		errorf(e, "--id: %v", err)
		return 2
	}
	if c.Title == "" {
		c.Title = alias
	}
	return withAccounts(ctx, e, &sf, func(db nodeDB) error {
		if err := db.CreateCollection(ctx, c); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "collection %s created with id %s\n", alias, c.ID)
		return logAdmin(ctx, db, "collection.create", "collection:"+c.ID)
	})
}

func collectionList(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "collection list", "")
	var sf storeFlags
	sf.register(fs, e)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	return withAccounts(ctx, e, &sf, func(db nodeDB) error {
		cs, err := db.Collections(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tALIAS\tTITLE")
		for _, c := range cs {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", c.ID, c.Alias, c.Title)
		}
		return tw.Flush()
	})
}

func collectionGrant(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "collection grant", "COLLECTION ORG|'*' [--read] [--write]   (neither flag removes the grant)")
	var sf storeFlags
	sf.register(fs, e)
	read := fs.Bool("read", false, "may read")
	write := fs.Bool("write", false, "may write")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() != 2 {
		fs.Usage()
		return 2
	}
	return withAccounts(ctx, e, &sf, func(db nodeDB) error {
		c, err := db.Collection(ctx, fs.Arg(0))
		if err != nil {
			return err
		}
		org := fs.Arg(1)
		if org != store.AnyOrg {
			if _, err := db.Org(ctx, org); err != nil {
				return err
			}
		}
		if err := db.SetGrant(ctx, store.Grant{Collection: c.ID, Org: org, Read: *read, Write: *write}); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%s on %s: read=%v write=%v\n", org, c.Alias, *read, *write)
		return logAdmin(ctx, db, "grant.set", "collection:"+c.ID, "org:"+org, fmt.Sprintf("read=%v,write=%v", *read, *write))
	})
}

func collectionGrants(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "collection grants", "COLLECTION")
	var sf storeFlags
	sf.register(fs, e)
	name, code, ok := oneArg(fs, args)
	if !ok {
		return code
	}
	return withAccounts(ctx, e, &sf, func(db nodeDB) error {
		c, err := db.Collection(ctx, name)
		if err != nil {
			return err
		}
		gs, err := db.Grants(ctx, c.ID)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ORG\tREAD\tWRITE")
		for _, g := range gs {
			fmt.Fprintf(tw, "%s\t%v\t%v\n", g.Org, g.Read, g.Write)
		}
		return tw.Flush()
	})
}

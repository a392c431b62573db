package cli

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/setu-cti/setu/internal/store"
)

func init() {
	register("group", "manage sharing groups: create, list, show, add, remove", runGroup)
}

func runGroup(ctx context.Context, e *env, args []string) int {
	return subcommands(ctx, e, "group", args, map[string]func(context.Context, *env, []string) int{
		"create": groupCreate,
		"list":   groupList,
		"show":   groupShow,
		"add":    func(ctx context.Context, e *env, a []string) int { return groupMember(ctx, e, a, true) },
		"remove": func(ctx context.Context, e *env, a []string) int { return groupMember(ctx, e, a, false) },
	})
}

func groupCreate(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "group create", "ID --name NAME [--description D]")
	var sf storeFlags
	sf.register(fs, e)
	name := fs.String("name", "", "display `name` (unique)")
	desc := fs.String("description", "", "`description`")
	id, code, ok := oneArg(fs, args)
	if !ok {
		return code
	}
	if *name == "" {
		*name = id
	}
	return withAccounts(ctx, e, &sf, func(db nodeDB) error {
		g := store.Group{ID: id, Name: *name, Description: *desc, Created: time.Now().UTC()}
		if err := db.CreateGroup(ctx, g); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "sharing group %s (%s) created\n", g.ID, g.Name)
		return logAdmin(ctx, db, "group.create", "group:"+g.ID)
	})
}

func groupList(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "group list", "")
	var sf storeFlags
	sf.register(fs, e)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	return withAccounts(ctx, e, &sf, func(db nodeDB) error {
		gs, err := db.ListGroups(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tDESCRIPTION")
		for _, g := range gs {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", g.ID, g.Name, g.Description)
		}
		return tw.Flush()
	})
}

func groupShow(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "group show", "GROUP")
	var sf storeFlags
	sf.register(fs, e)
	name, code, ok := oneArg(fs, args)
	if !ok {
		return code
	}
	return withAccounts(ctx, e, &sf, func(db nodeDB) error {
		g, err := db.Group(ctx, name)
		if err != nil {
			return err
		}
		ms, err := db.GroupMembers(ctx, g.ID)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%s (%s)\n", g.ID, g.Name)
		for _, m := range ms {
			fmt.Fprintf(e.stdout, "  %s\n", m)
		}
		return nil
	})
}

// groupMember adds or removes a member: an organisation id (or "org:ID"),
// another group as "group:ID", or a partner node as "peer:NAME" (it hosts
// members of the group, so what is distributed to the group may go to it).
func groupMember(ctx context.Context, e *env, args []string, add bool) int {
	verb := "remove"
	if add {
		verb = "add"
	}
	fs := newFlags(e, "group "+verb, "GROUP ORG|org:ID|group:ID|peer:NAME")
	var sf storeFlags
	sf.register(fs, e)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() != 2 {
		fs.Usage()
		return 2
	}
	member := fs.Arg(1)
	if !strings.HasPrefix(member, "org:") && !strings.HasPrefix(member, "group:") && !strings.HasPrefix(member, "peer:") {
		member = "org:" + member
	}
	return withAccounts(ctx, e, &sf, func(db nodeDB) error {
		g, err := db.Group(ctx, fs.Arg(0))
		if err != nil {
			return err
		}
		if add {
			err = db.AddGroupMember(ctx, g.ID, member)
		} else {
			err = db.RemoveGroupMember(ctx, g.ID, member)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%s: %s %sed\n", g.ID, member, strings.TrimSuffix(verb, "e"))
		return logAdmin(ctx, db, "group."+verb, "group:"+g.ID, member)
	})
}

package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/setu-cti/setu/internal/store"
)

var _ store.Groups = (*DB)(nil)

// groupLock serialises the writers that must see every other group write
// before their own: creating a group (ids and names share a namespace that
// no unique constraint spans) and adding a member (two adds that are each
// acyclic on their own, a in b and b in a, close a loop together, and under
// READ COMMITTED neither would see the other's row). It is keyed by schema,
// like the other locks of this store, so stores sharing a cluster do not
// wait on each other. Removing a member cannot break either rule and does
// not take it.
const groupLock = `SELECT pg_advisory_xact_lock(hashtextextended('setu.groups.' || current_schema(), 0))`

// Member prefixes; a member is stored as written, prefix included, so one
// column holds every kind and the walks below can join on it.
const (
	orgPrefix   = "org:"
	groupPrefix = "group:"
	peerPrefix  = "peer:"
)

// splitMember returns a member's kind prefix and id. Anything that is not
// "org:ID", "group:ID" or "peer:NAME" with a non-empty ID names nothing
// this store holds, hence store.ErrNotFound.
func splitMember(m store.GroupMember) (prefix, id string, err error) {
	for _, p := range []string{orgPrefix, groupPrefix, peerPrefix} {
		if id, ok := strings.CutPrefix(m, p); ok && id != "" {
			return p, id, nil
		}
	}
	return "", "", fmt.Errorf("group member %q is not org:ID, group:ID or peer:NAME: %w", m, store.ErrNotFound)
}

// CreateGroup stores g; store.ErrExists if its id or name is the id or name
// of another group. A zero Created is set to now.
func (db *DB) CreateGroup(ctx context.Context, g store.Group) error {
	if g.ID == "" || g.Name == "" {
		return fmt.Errorf("postgres: group %q named %q: id and name are required", g.ID, g.Name)
	}
	if g.Created.IsZero() {
		g.Created = db.now()
	}
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, groupLock); err != nil {
			return fmt.Errorf("postgres: create group: %w", err)
		}
		// Group looks a group up by id or name, so an id equal to another
		// group's name (or the reverse) would make that lookup ambiguous.
		var taken bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM groups WHERE id IN ($1, $2) OR name IN ($1, $2))`,
			g.ID, g.Name).Scan(&taken); err != nil {
			return fmt.Errorf("postgres: create group: %w", err)
		}
		if taken {
			return fmt.Errorf("group %s (%q): %w", g.ID, g.Name, store.ErrExists)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO groups (id, name, description, created) VALUES ($1, $2, $3, $4)`,
			g.ID, g.Name, g.Description, g.Created); err != nil {
			return fmt.Errorf("group %s: %w", g.ID, keyErr(err))
		}
		return nil
	})
}

const groupColumns = `id, name, description, created`

func scanGroup(row pgx.Row) (store.Group, error) {
	var g store.Group
	err := row.Scan(&g.ID, &g.Name, &g.Description, &g.Created)
	g.Created = utc(g.Created)
	return g, err
}

// Group finds a group by id or name; store.ErrNotFound if absent.
func (db *DB) Group(ctx context.Context, idOrName string) (store.Group, error) {
	g, err := scanGroup(db.pool.QueryRow(ctx, `SELECT `+groupColumns+` FROM groups WHERE id = $1 OR name = $1`, idOrName))
	if err != nil {
		return store.Group{}, fmt.Errorf("group %q: %w", idOrName, rowErr(err))
	}
	return g, nil
}

// ListGroups lists groups by name, the order people read them in.
func (db *DB) ListGroups(ctx context.Context) ([]store.Group, error) {
	rows, _ := db.pool.Query(ctx, `SELECT `+groupColumns+` FROM groups ORDER BY name`)
	gs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Group, error) { return scanGroup(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: groups: %w", err)
	}
	return gs, nil
}

// AddGroupMember adds member to the group with id group. store.ErrNotFound
// if the group or the member is absent or the member is malformed;
// store.ErrCycle if the group would then contain itself. Adding a present
// member is a no-op.
func (db *DB) AddGroupMember(ctx context.Context, group string, member store.GroupMember) error {
	prefix, id, err := splitMember(member)
	if err != nil {
		return err
	}
	what := fmt.Sprintf("add %s to group %s", member, group)
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		// Taken first, so that the reads below, each a statement of its own
		// under READ COMMITTED, see every membership committed by the
		// writers before.
		if _, err := tx.Exec(ctx, groupLock); err != nil {
			return fmt.Errorf("postgres: %s: %w", what, err)
		}
		if err := tx.QueryRow(ctx, `SELECT 1 FROM groups WHERE id = $1`, group).Scan(new(int)); err != nil {
			return fmt.Errorf("group %s: %w", group, rowErr(err))
		}
		switch prefix {
		case orgPrefix:
			if err := tx.QueryRow(ctx, `SELECT 1 FROM orgs WHERE id = $1`, id).Scan(new(int)); err != nil {
				return fmt.Errorf("%s: organisation %s: %w", what, id, rowErr(err))
			}
		case peerPrefix:
			if err := tx.QueryRow(ctx, `SELECT 1 FROM peers WHERE name = $1`, id).Scan(new(int)); err != nil {
				return fmt.Errorf("%s: peer %s: %w", what, id, rowErr(err))
			}
		case groupPrefix:
			if err := tx.QueryRow(ctx, `SELECT 1 FROM groups WHERE id = $1`, id).Scan(new(int)); err != nil {
				return fmt.Errorf("%s: group %s: %w", what, id, rowErr(err))
			}
			// group would contain itself if it is the new member or a
			// member of it, at any depth: walk down from the new member
			// through the groups among the members. UNION, not UNION ALL,
			// so the walk ends even on a graph that already has a loop.
			var cycle bool
			err := tx.QueryRow(ctx, `
				WITH RECURSIVE below (id) AS (
					SELECT $1::text
					UNION
					SELECT substr(m.member, length($3) + 1)
					FROM group_members m JOIN below b ON m.group_id = b.id
					WHERE starts_with(m.member, $3)
				)
				SELECT EXISTS (SELECT 1 FROM below WHERE id = $2)`, id, group, groupPrefix).Scan(&cycle)
			if err != nil {
				return fmt.Errorf("postgres: %s: %w", what, err)
			}
			if cycle {
				return fmt.Errorf("%s: group %s would contain itself: %w", what, group, store.ErrCycle)
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO group_members (group_id, member) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
			group, member); err != nil {
			return fmt.Errorf("postgres: %s: %w", what, err)
		}
		return nil
	})
}

// RemoveGroupMember removes a direct member; store.ErrNotFound if it is not
// one (including when the group is absent).
func (db *DB) RemoveGroupMember(ctx context.Context, group string, member store.GroupMember) error {
	tag, err := db.pool.Exec(ctx, `DELETE FROM group_members WHERE group_id = $1 AND member = $2`, group, member)
	if err != nil {
		return fmt.Errorf("postgres: member %s of group %s: %w", member, group, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("member %s of group %s: %w", member, group, store.ErrNotFound)
	}
	return nil
}

// GroupMembers lists the direct members of the group with id group, sorted;
// store.ErrNotFound if the group is absent. One query answers both, so a
// group with no members is told apart from an absent one without a second
// read that could see a different state.
func (db *DB) GroupMembers(ctx context.Context, group string) ([]store.GroupMember, error) {
	rows, _ := db.pool.Query(ctx, `
		SELECT m.member FROM groups g LEFT JOIN group_members m ON m.group_id = g.id
		WHERE g.id = $1 ORDER BY m.member`, group)
	found, err := pgx.CollectRows(rows, pgx.RowTo[*string])
	if err != nil {
		return nil, fmt.Errorf("postgres: members of group %s: %w", group, err)
	}
	if len(found) == 0 {
		return nil, fmt.Errorf("group %s: %w", group, store.ErrNotFound)
	}
	var ms []store.GroupMember
	for _, m := range found {
		if m != nil { // the one row of a group without members
			ms = append(ms, *m)
		}
	}
	return ms, nil
}

// OrgGroups lists, sorted, the ids of the groups org belongs to: those
// naming it, then those naming any of them, and so on up. An organisation
// in no group, or an unknown one, belongs to none.
func (db *DB) OrgGroups(ctx context.Context, org string) ([]string, error) {
	return db.memberGroups(ctx, orgPrefix+org, "organisation "+org)
}

// PeerGroups lists, sorted, the ids of the groups the partner node peer
// belongs to, walked up like an organisation's.
func (db *DB) PeerGroups(ctx context.Context, peer string) ([]string, error) {
	return db.memberGroups(ctx, peerPrefix+peer, "peer "+peer)
}

// memberGroups lists, sorted, the ids of the groups naming member, then
// those naming any of them, and so on up.
func (db *DB) memberGroups(ctx context.Context, member, what string) ([]string, error) {
	rows, _ := db.pool.Query(ctx, `
		WITH RECURSIVE above (id) AS (
			SELECT group_id FROM group_members WHERE member = $1
			UNION
			SELECT m.group_id FROM group_members m JOIN above a ON m.member = $2 || a.id
		)
		SELECT id FROM above ORDER BY id`, member, groupPrefix)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("postgres: groups of %s: %w", what, err)
	}
	return ids, nil
}

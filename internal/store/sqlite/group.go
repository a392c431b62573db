package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/setu-cti/setu/internal/store"
)

var _ store.Groups = (*DB)(nil)

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
// of another group. A zero Created is set to the store's clock.
func (db *DB) CreateGroup(ctx context.Context, g store.Group) error {
	if g.ID == "" || g.Name == "" {
		return fmt.Errorf("sqlite: group %q named %q: id and name are required", g.ID, g.Name)
	}
	if g.Created.IsZero() {
		g.Created = db.now()
	}
	// The writer's transactions are immediate, so the check below and the
	// insert see no other writer in between.
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return wrapErr("create group", err)
	}
	defer tx.Rollback()
	// Group looks a group up by id or name, so an id equal to another
	// group's name (or the reverse) would make that lookup ambiguous; the
	// unique constraints only compare within one column.
	var taken bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM groups WHERE id IN (?1, ?2) OR name IN (?1, ?2))`,
		g.ID, g.Name).Scan(&taken); err != nil {
		return wrapErr("create group", err)
	}
	if taken {
		return fmt.Errorf("group %s (%q): %w", g.ID, g.Name, store.ErrExists)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO groups (id, name, description, created) VALUES (?, ?, ?, ?)`,
		g.ID, g.Name, g.Description, toNanos(g.Created)); err != nil {
		return fmt.Errorf("group %s: %w", g.ID, keyErr(err))
	}
	return wrapErr("create group", tx.Commit())
}

const groupColumns = `id, name, description, created`

func scanGroup(sc interface{ Scan(...any) error }) (store.Group, error) {
	var (
		g       store.Group
		created int64
	)
	err := sc.Scan(&g.ID, &g.Name, &g.Description, &created)
	g.Created = fromStored(created)
	return g, err
}

// Group finds a group by id or name; store.ErrNotFound if absent.
func (db *DB) Group(ctx context.Context, idOrName string) (store.Group, error) {
	g, err := scanGroup(db.r.QueryRowContext(ctx, `SELECT `+groupColumns+` FROM groups WHERE id = ?1 OR name = ?1`, idOrName))
	if err != nil {
		return store.Group{}, fmt.Errorf("group %q: %w", idOrName, rowErr(err))
	}
	return g, nil
}

// ListGroups lists groups by name, the order people read them in.
func (db *DB) ListGroups(ctx context.Context) ([]store.Group, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+groupColumns+` FROM groups ORDER BY name`)
	if err != nil {
		return nil, wrapErr("groups", err)
	}
	defer rows.Close()
	var gs []store.Group
	for rows.Next() {
		g, err := scanGroup(rows)
		if err != nil {
			return nil, wrapErr("groups", err)
		}
		gs = append(gs, g)
	}
	return gs, wrapErr("groups", rows.Err())
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
	// One write transaction for the checks and the insert: with a single
	// writer, no other change to membership can land between the cycle
	// check and the insert and close a loop the check did not see.
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return wrapErr(what, err)
	}
	defer tx.Rollback()
	if err := tx.QueryRowContext(ctx, `SELECT 1 FROM groups WHERE id = ?`, group).Scan(new(int)); err != nil {
		return fmt.Errorf("group %s: %w", group, rowErr(err))
	}
	switch prefix {
	case orgPrefix:
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM orgs WHERE id = ?`, id).Scan(new(int)); err != nil {
			return fmt.Errorf("%s: organisation %s: %w", what, id, rowErr(err))
		}
	case peerPrefix:
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM peers WHERE name = ?`, id).Scan(new(int)); err != nil {
			return fmt.Errorf("%s: peer %s: %w", what, id, rowErr(err))
		}
	case groupPrefix:
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM groups WHERE id = ?`, id).Scan(new(int)); err != nil {
			return fmt.Errorf("%s: group %s: %w", what, id, rowErr(err))
		}
		// group would contain itself if it is the new member or a member
		// of it, at any depth: walk down from the new member through the
		// groups among the members. UNION, not UNION ALL, so the walk ends
		// even on a graph that already has a loop.
		var cycle bool
		err := tx.QueryRowContext(ctx, `
			WITH RECURSIVE below (id) AS (
				SELECT ?1
				UNION
				SELECT substr(m.member, length(?3) + 1)
				FROM group_members m JOIN below b ON m.group_id = b.id
				WHERE substr(m.member, 1, length(?3)) = ?3
			)
			SELECT EXISTS (SELECT 1 FROM below WHERE id = ?2)`, id, group, groupPrefix).Scan(&cycle)
		if err != nil {
			return wrapErr(what, err)
		}
		if cycle {
			return fmt.Errorf("%s: group %s would contain itself: %w", what, group, store.ErrCycle)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO group_members (group_id, member) VALUES (?, ?) ON CONFLICT DO NOTHING`,
		group, member); err != nil {
		return wrapErr(what, err)
	}
	return wrapErr(what, tx.Commit())
}

// RemoveGroupMember removes a direct member; store.ErrNotFound if it is not
// one (including when the group is absent).
func (db *DB) RemoveGroupMember(ctx context.Context, group string, member store.GroupMember) error {
	res, err := db.w.ExecContext(ctx, `DELETE FROM group_members WHERE group_id = ? AND member = ?`, group, member)
	return affected(res, err, fmt.Sprintf("member %s of group %s", member, group))
}

// GroupMembers lists the direct members of the group with id group, sorted;
// store.ErrNotFound if the group is absent. One query answers both, so a
// group with no members is told apart from an absent one without a second
// read that could see a different state.
func (db *DB) GroupMembers(ctx context.Context, group string) ([]store.GroupMember, error) {
	rows, err := db.r.QueryContext(ctx, `
		SELECT m.member FROM groups g LEFT JOIN group_members m ON m.group_id = g.id
		WHERE g.id = ? ORDER BY m.member`, group)
	if err != nil {
		return nil, wrapErr("members of group "+group, err)
	}
	defer rows.Close()
	found := false
	var ms []store.GroupMember
	for rows.Next() {
		found = true
		var m sql.NullString
		if err := rows.Scan(&m); err != nil {
			return nil, wrapErr("members of group "+group, err)
		}
		if m.Valid {
			ms = append(ms, m.String)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, wrapErr("members of group "+group, err)
	}
	if !found {
		return nil, fmt.Errorf("group %s: %w", group, store.ErrNotFound)
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
	rows, err := db.r.QueryContext(ctx, `
		WITH RECURSIVE above (id) AS (
			SELECT group_id FROM group_members WHERE member = ?1
			UNION
			SELECT m.group_id FROM group_members m JOIN above a ON m.member = ?2 || a.id
		)
		SELECT id FROM above ORDER BY id`, member, groupPrefix)
	if err != nil {
		return nil, wrapErr("groups of "+what, err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, wrapErr("groups of "+what, err)
		}
		ids = append(ids, id)
	}
	return ids, wrapErr("groups of "+what, rows.Err())
}

package store

import (
	"context"
	"errors"
	"time"
)

// ErrCycle: adding the member would make a sharing group contain itself.
var ErrCycle = errors.New("sharing group membership would be circular")

// Group is a named sharing group: organisations, possibly in several
// countries (e.g. "IN-JP telecom operators"), and other groups.
type Group struct {
	ID          string // opaque, stable; what distribution markings name
	Name        string
	Description string
	Created     time.Time
}

// GroupMember is an organisation ("org:ID") or a group ("group:ID").
type GroupMember = string

// Groups stores sharing groups and their membership.
type Groups interface {
	// CreateGroup: ErrExists if the id or name is taken.
	CreateGroup(ctx context.Context, g Group) error
	// Group finds a group by id or name; ErrNotFound if absent.
	Group(ctx context.Context, idOrName string) (Group, error)
	ListGroups(ctx context.Context) ([]Group, error)
	// AddGroupMember adds "org:ID" or "group:ID" to a group. ErrNotFound if
	// the group, the organisation or the member group does not exist;
	// ErrCycle if a group would contain itself, directly or through others.
	// Adding a present member is a no-op.
	AddGroupMember(ctx context.Context, group string, member GroupMember) error
	// RemoveGroupMember: ErrNotFound if it is not a member.
	RemoveGroupMember(ctx context.Context, group string, member GroupMember) error
	// GroupMembers lists a group's direct members.
	GroupMembers(ctx context.Context, group string) ([]GroupMember, error)
	// OrgGroups lists the ids of every group org belongs to, directly or
	// through groups that are members of other groups.
	OrgGroups(ctx context.Context, org string) ([]string, error)
}

package store

import (
	"context"
	"errors"
	"time"
)

// ErrCycle: adding the member would make a sharing group contain itself.
var ErrCycle = errors.New("sharing group membership would be circular")

// Group is a named sharing group: organisations, possibly in several
// countries (e.g. "IN-JP telecom operators"), other groups, and the
// partner nodes that host members of it.
type Group struct {
	ID          string // opaque, stable; what distribution markings name
	Name        string
	Description string
	Created     time.Time
}

// GroupMember is an organisation ("org:ID"), a group ("group:ID") or a
// partner node ("peer:NAME"). A partner node as a member stands for the
// members the group has on that node: this node knows its own
// organisations, not the partner's, so what is distributed to the group
// may go to that node, whose own registry then says who there reads it.
type GroupMember = string

// Groups stores sharing groups and their membership.
type Groups interface {
	// CreateGroup: ErrExists if the id or name is taken.
	CreateGroup(ctx context.Context, g Group) error
	// Group finds a group by id or name; ErrNotFound if absent.
	Group(ctx context.Context, idOrName string) (Group, error)
	ListGroups(ctx context.Context) ([]Group, error)
	// AddGroupMember adds "org:ID", "group:ID" or "peer:NAME" to a group.
	// ErrNotFound if the group, the organisation, the member group or the
	// peer does not exist; ErrCycle if a group would contain itself,
	// directly or through others. Adding a present member is a no-op.
	AddGroupMember(ctx context.Context, group string, member GroupMember) error
	// RemoveGroupMember: ErrNotFound if it is not a member.
	RemoveGroupMember(ctx context.Context, group string, member GroupMember) error
	// GroupMembers lists a group's direct members.
	GroupMembers(ctx context.Context, group string) ([]GroupMember, error)
	// OrgGroups lists the ids of every group org belongs to, directly or
	// through groups that are members of other groups.
	OrgGroups(ctx context.Context, org string) ([]string, error)
	// PeerGroups lists the ids of every group the partner node named peer
	// belongs to, directly or through groups that are members of other
	// groups, as OrgGroups does for an organisation.
	PeerGroups(ctx context.Context, peer string) ([]string, error)
}

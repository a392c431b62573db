package ingest

import (
	"slices"

	"github.com/setu-cti/setu/internal/account"
	"github.com/setu-cti/setu/internal/policy"
)

// Received is what a partner node's origin fixed beside an object it
// released, as the provenance it came with vouches for: the handling the
// origin released it under and the sectors of the organisation that
// submitted it there. The write path keeps both with the version, as it
// keeps the submitter: the object itself is never changed.
type Received struct {
	Handling policy.Handling
	Sectors  []string
}

// metadata fixes into f what is kept beside a version rather than in the
// object: the sectors of the submitting organisation; for an object
// received from a partner, the handling and sectors its origin sent with
// it (handling assigned on top of what its markings say here, so that it
// is handled as its origin decided, never more widely, also when its facts
// are computed again after a late marking definition).
func metadata(f *policy.Facts, w Writer, recv *Received) {
	if recv != nil {
		*f = f.Assign(recv.Handling)
		f.Sectors = slices.Clone(recv.Sectors)
		return
	}
	f.Sectors = slices.Clone(w.Sectors)
}

// OrgWriter is the writer for a user of organisation o: under o's
// identity, anonymous as o asked, with o's sectors; relay lets it store
// objects created by others unchanged (node admins).
func OrgWriter(o account.Org, relay bool) Writer {
	return Writer{Org: o.ID, Identity: o.IdentityID(), Relay: relay, Anonymous: o.Anonymous,
		AnonymousToPartners: o.AnonymousToPartners, Sectors: slices.Clone(o.Sectors)}
}

// OperatorWriter is Operator with the identity and sectors of the node
// operators' organisation (account.NodeOrg) as node: what the operators
// import counts as that organisation's submission.
func OperatorWriter(node account.Org) Writer {
	w := Operator
	w.Identity = node.IdentityID()
	w.Sectors = slices.Clone(node.Sectors)
	return w
}

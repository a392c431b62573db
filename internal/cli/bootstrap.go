package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/setu-cti/setu/internal/account"
	"github.com/setu-cti/setu/internal/ingest"
	"github.com/setu-cti/setu/internal/store"
)

// The node's own organisation and first administrator.
const (
	nodeOrgID = account.NodeOrg
	adminUser = "admin"
)

// defaultCollection is where commands that store objects put them when
// not told otherwise (import, taxii pull, match --report) and what export
// reads: the collection every organisation may read, so that what the
// operator imports is served over TAXII to whom its markings allow.
const defaultCollection = "shared"

// nodeCollections are the collections every node has, with their grants:
// an inbox every organisation may write to, the shared collection every
// organisation may read, and the markings collection listing every marking
// definition the node knows (ingest.MarkingsAlias), which every
// organisation may read.
var nodeCollections = []struct {
	alias, title, desc string
	grant              store.Grant
}{
	{"inbox", "Inbox", "Every organisation may submit here.", store.Grant{Org: store.AnyOrg, Write: true}},
	{defaultCollection, "Shared", "Shared with every organisation on this node.", store.Grant{Org: store.AnyOrg, Read: true}},
	{ingest.MarkingsAlias, "Marking definitions", "Every marking definition this node knows: TLP, statements, Setu distribution markings.",
		store.Grant{Org: store.AnyOrg, Read: true}},
}

// ensureCollections creates the node's collections that are missing, with
// their grants. It is idempotent and safe when several instances run it.
func ensureCollections(ctx context.Context, db nodeDB, now time.Time) error {
	for _, c := range nodeCollections {
		col := store.Collection{ID: uuid.NewString(), Alias: c.alias, Title: c.title, Description: c.desc,
			MediaTypes: []string{"application/stix+json;version=2.1"}, Created: now}
		err := db.CreateCollection(ctx, col)
		if errors.Is(err, store.ErrExists) {
			continue
		}
		if err != nil {
			return err
		}
		g := c.grant
		g.Collection = col.ID
		if err := db.SetGrant(ctx, g); err != nil {
			return err
		}
	}
	return nil
}

type bootResult struct {
	secret string // the admin token to print once; empty if not created now
}

// bootstrap initialises a fresh node: its operator organisation, the admin
// user and token, and the default collections (an inbox every organisation
// may write to, and a shared collection every organisation may read). It is
// idempotent and safe when several instances start at once: whoever creates
// the admin user creates the token.
func bootstrap(ctx context.Context, db nodeDB, country, adminToken string, now time.Time) (bootResult, error) {
	var res bootResult
	if _, err := db.User(ctx, adminUser); err == nil {
		return res, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return res, err
	}
	org := account.Org{ID: nodeOrgID, Name: "Node operators", Country: country, Kind: account.NationalCERT, Created: now,
		Identity: account.NewIdentityID()}
	if err := org.Validate(); err != nil {
		return res, err
	}
	if err := db.CreateOrg(ctx, org); err != nil && !errors.Is(err, store.ErrExists) {
		return res, err
	}
	if err := ensureCollections(ctx, db, now); err != nil {
		return res, err
	}
	err := db.CreateUser(ctx, account.User{Name: adminUser, Org: nodeOrgID, Role: account.Admin, Created: now})
	if errors.Is(err, store.ErrExists) {
		return res, nil // another instance won
	}
	if err != nil {
		return res, err
	}
	var tok account.Token
	if adminToken != "" {
		tok, err = account.TokenFromSecret(adminUser, adminToken, "bootstrap", now)
	} else {
		res.secret, tok, err = account.NewToken(adminUser, "bootstrap", now, 0)
	}
	if err != nil {
		return res, fmt.Errorf("admin token: %w", err)
	}
	return res, db.CreateToken(ctx, tok)
}

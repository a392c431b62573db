package restapi

import (
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/setu-cti/setu/internal/account"
	"github.com/setu-cti/setu/internal/store"
)

type orgJSON struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	Country    string   `json:"country"`
	Kind       string   `json:"kind"`
	Sectors    []string `json:"sectors,omitempty"`
	IdentityID string   `json:"identity_id,omitempty"`
	Created    string   `json:"created,omitempty"`
	// Anonymous: others are served the organisation's objects with the
	// node's identity as creator.
	Anonymous bool `json:"anonymous"`
	// AnonymousToPartners: partner nodes are served them so.
	AnonymousToPartners bool `json:"anonymous_to_partners"`
}

func orgOut(o account.Org) orgJSON {
	return orgJSON{ID: o.ID, Name: o.Name, Country: o.Country, Kind: string(o.Kind), Sectors: o.Sectors,
		IdentityID: o.IdentityID(), Created: o.Created.UTC().Format(time.RFC3339), Anonymous: o.Anonymous,
		AnonymousToPartners: o.AnonymousToPartners}
}

type userJSON struct {
	Name     string `json:"name"`
	Org      string `json:"org"`
	Role     string `json:"role"`
	Disabled bool   `json:"disabled"`
}

func userOut(u account.User) userJSON {
	return userJSON{Name: u.Name, Org: u.Org, Role: string(u.Role), Disabled: u.Disabled}
}

func (a *API) whoami(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	writeJSON(w, http.StatusOK, map[string]any{"user": userOut(p.User), "org": orgOut(p.Org)})
	return nil
}

func (a *API) listOrgs(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	if !isAdmin(p) {
		writeJSON(w, http.StatusOK, map[string]any{"orgs": []orgJSON{orgOut(p.Org)}})
		return nil
	}
	orgs, err := a.cfg.DB.Orgs(r.Context())
	if err != nil {
		return err
	}
	out := make([]orgJSON, 0, len(orgs))
	for _, o := range orgs {
		out = append(out, orgOut(o))
	}
	writeJSON(w, http.StatusOK, map[string]any{"orgs": out})
	return nil
}

func (a *API) createOrg(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	if !isAdmin(p) {
		return errForbidden
	}
	var in orgJSON
	if err := decode(r, &in); err != nil {
		return err
	}
	o := account.Org{ID: in.ID, Name: in.Name, Country: in.Country, Kind: account.Kind(in.Kind),
		Sectors: in.Sectors, Created: a.cfg.Now().UTC(), Anonymous: in.Anonymous, AnonymousToPartners: in.AnonymousToPartners,
		Identity: account.NewIdentityID()}
	if err := o.Validate(); err != nil {
		return err
	}
	if err := a.cfg.DB.CreateOrg(r.Context(), o); err != nil {
		return err
	}
	if err := a.record(r, p, "org.create", "org:"+o.ID); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, orgOut(o))
	return nil
}

func (a *API) listUsers(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	org := r.URL.Query().Get("org")
	switch {
	case isAdmin(p):
	case p.User.Role == account.OrgAdmin:
		if org != "" && org != p.Org.ID {
			return errNotFound
		}
		org = p.Org.ID
	default:
		writeJSON(w, http.StatusOK, map[string]any{"users": []userJSON{userOut(p.User)}})
		return nil
	}
	us, err := a.cfg.DB.Users(r.Context(), org)
	if err != nil {
		return err
	}
	out := make([]userJSON, 0, len(us))
	for _, u := range us {
		out = append(out, userOut(u))
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": out})
	return nil
}

func (a *API) createUser(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	var in userJSON
	if err := decode(r, &in); err != nil {
		return err
	}
	u := account.User{Name: in.Name, Org: in.Org, Role: account.Role(in.Role), Created: a.cfg.Now().UTC()}
	if !canManageOrg(p, u.Org) {
		return errForbidden
	}
	if u.Role == account.Admin && !isAdmin(p) {
		return errForbidden
	}
	if err := u.Validate(); err != nil {
		return err
	}
	if err := a.cfg.DB.CreateUser(r.Context(), u); err != nil {
		return err
	}
	if err := a.record(r, p, "user.create", "user:"+u.Name); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, userOut(u))
	return nil
}

// managedUser finds a user the caller may manage; others are not found.
// An org-admin sees the node admins of their own organisation but may not
// manage them: minting or revoking an admin's token would hand an org-admin
// the node, so that is forbidden like disabling one.
func (a *API) managedUser(r *http.Request, p store.Principal, self bool) (account.User, error) {
	u, err := a.cfg.DB.User(r.Context(), r.PathValue("name"))
	if err != nil {
		return u, err
	}
	if self && u.Name == p.User.Name {
		return u, nil
	}
	if !canManageOrg(p, u.Org) {
		return u, errNotFound
	}
	if u.Role == account.Admin && !isAdmin(p) {
		return u, errForbidden
	}
	return u, nil
}

func (a *API) setDisabled(disabled bool) func(http.ResponseWriter, *http.Request, store.Principal) error {
	return func(w http.ResponseWriter, r *http.Request, p store.Principal) error {
		u, err := a.managedUser(r, p, false)
		if err != nil {
			return err
		}
		if err := a.cfg.DB.SetUserDisabled(r.Context(), u.Name, disabled); err != nil {
			return err
		}
		u.Disabled = disabled
		action := "user.enable"
		if disabled {
			action = "user.disable"
		}
		if err := a.record(r, p, action, "user:"+u.Name); err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, userOut(u))
		return nil
	}
}

// maxTokenTTL is the longest token lifetime, in seconds: ten years.
const maxTokenTTL = 10 * 366 * 24 * 60 * 60

type tokenJSON struct {
	ID      string `json:"id"`
	Label   string `json:"label,omitempty"`
	Created string `json:"created"`
	Expires string `json:"expires,omitempty"`
	Revoked bool   `json:"revoked"`
	Secret  string `json:"secret,omitempty"` // only in the creation response
}

func tokenOut(t account.Token) tokenJSON {
	out := tokenJSON{ID: t.ID, Label: t.Label, Created: t.Created.UTC().Format(time.RFC3339), Revoked: t.Revoked}
	if !t.Expires.IsZero() {
		out.Expires = t.Expires.UTC().Format(time.RFC3339)
	}
	return out
}

func (a *API) listTokens(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	u, err := a.managedUser(r, p, true)
	if err != nil {
		return err
	}
	ts, err := a.cfg.DB.Tokens(r.Context(), u.Name)
	if err != nil {
		return err
	}
	out := make([]tokenJSON, 0, len(ts))
	for _, t := range ts {
		out = append(out, tokenOut(t))
	}
	writeJSON(w, http.StatusOK, map[string]any{"tokens": out})
	return nil
}

func (a *API) createToken(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	u, err := a.managedUser(r, p, true)
	if err != nil {
		return err
	}
	var in struct {
		Label      string `json:"label"`
		TTLSeconds int64  `json:"ttl_seconds"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	// The bound keeps the product with time.Second inside a Duration: an
	// overflow would wrap to a negative TTL, i.e. a token that never expires.
	if in.TTLSeconds < 0 || in.TTLSeconds > maxTokenTTL {
		return bad("ttl_seconds must be between 0 and %d", maxTokenTTL)
	}
	secret, t, err := account.NewToken(u.Name, in.Label, a.cfg.Now().UTC(), time.Duration(in.TTLSeconds)*time.Second)
	if err != nil {
		return err
	}
	if err := a.cfg.DB.CreateToken(r.Context(), t); err != nil {
		return err
	}
	out := tokenOut(t)
	out.Secret = secret
	if err := a.record(r, p, "token.create", "token:"+t.ID, "user:"+u.Name); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func (a *API) revokeToken(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	u, err := a.managedUser(r, p, true)
	if err != nil {
		return err
	}
	ts, err := a.cfg.DB.Tokens(r.Context(), u.Name)
	if err != nil {
		return err
	}
	for _, t := range ts {
		if t.ID == r.PathValue("id") {
			if err := a.cfg.DB.RevokeToken(r.Context(), t.ID); err != nil {
				return err
			}
			t.Revoked = true
			if err := a.record(r, p, "token.revoke", "token:"+t.ID, "user:"+u.Name); err != nil {
				return err
			}
			writeJSON(w, http.StatusOK, tokenOut(t))
			return nil
		}
	}
	return errNotFound
}

type collectionJSON struct {
	ID          string   `json:"id"`
	Alias       string   `json:"alias,omitempty"`
	Title       string   `json:"title"`
	Description string   `json:"description,omitempty"`
	MediaTypes  []string `json:"media_types,omitempty"`
}

func (a *API) listCollections(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	if !isAdmin(p) {
		return errForbidden
	}
	cs, err := a.cfg.DB.Collections(r.Context())
	if err != nil {
		return err
	}
	out := make([]collectionJSON, 0, len(cs))
	for _, c := range cs {
		out = append(out, collectionJSON{ID: c.ID, Alias: c.Alias, Title: c.Title, Description: c.Description, MediaTypes: c.MediaTypes})
	}
	writeJSON(w, http.StatusOK, map[string]any{"collections": out})
	return nil
}

func (a *API) createCollection(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	if !isAdmin(p) {
		return errForbidden
	}
	var in collectionJSON
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.ID == "" {
		in.ID = uuid.NewString()
	} else if _, err := uuid.Parse(in.ID); err != nil {
		return bad("id must be a UUID")
	}
	if in.Title == "" {
		return bad("title is required")
	}
	if len(in.MediaTypes) == 0 {
		in.MediaTypes = []string{"application/stix+json;version=2.1"}
	}
	c := store.Collection{ID: in.ID, Alias: in.Alias, Title: in.Title, Description: in.Description,
		MediaTypes: in.MediaTypes, Created: a.cfg.Now().UTC()}
	if err := a.cfg.DB.CreateCollection(r.Context(), c); err != nil {
		return err
	}
	if err := a.record(r, p, "collection.create", "collection:"+c.ID); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, in)
	return nil
}

type grantJSON struct {
	Org   string `json:"org"`
	Read  bool   `json:"read"`
	Write bool   `json:"write"`
}

func (a *API) listGrants(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	if !isAdmin(p) {
		return errForbidden
	}
	c, err := a.cfg.DB.Collection(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	gs, err := a.cfg.DB.Grants(r.Context(), c.ID)
	if err != nil {
		return err
	}
	out := make([]grantJSON, 0, len(gs))
	for _, g := range gs {
		out = append(out, grantJSON{Org: g.Org, Read: g.Read, Write: g.Write})
	}
	writeJSON(w, http.StatusOK, map[string]any{"grants": out})
	return nil
}

func (a *API) setGrant(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	if !isAdmin(p) {
		return errForbidden
	}
	c, err := a.cfg.DB.Collection(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	var in struct {
		Read  bool `json:"read"`
		Write bool `json:"write"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	org := r.PathValue("org")
	if org != store.AnyOrg {
		if _, err := a.cfg.DB.Org(r.Context(), org); err != nil {
			return err
		}
	}
	if err := a.cfg.DB.SetGrant(r.Context(), store.Grant{Collection: c.ID, Org: org, Read: in.Read, Write: in.Write}); err != nil {
		return err
	}
	if err := a.record(r, p, "grant.set", "collection:"+c.ID, "org:"+org, fmt.Sprintf("read=%v,write=%v", in.Read, in.Write)); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, grantJSON{Org: org, Read: in.Read, Write: in.Write})
	return nil
}

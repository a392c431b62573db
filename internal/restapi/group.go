package restapi

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/setu-cti/setu/internal/store"
)

// Sharing groups are node-wide policy: only node admins manage them.

type groupJSON struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Created     string `json:"created,omitempty"`
}

func groupOut(g store.Group) groupJSON {
	return groupJSON{ID: g.ID, Name: g.Name, Description: g.Description, Created: g.Created.UTC().Format(time.RFC3339)}
}

func (a *API) listGroups(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	if !isAdmin(p) {
		return errForbidden
	}
	gs, err := a.cfg.DB.ListGroups(r.Context())
	if err != nil {
		return err
	}
	out := make([]groupJSON, 0, len(gs))
	for _, g := range gs {
		out = append(out, groupOut(g))
	}
	writeJSON(w, http.StatusOK, map[string]any{"groups": out})
	return nil
}

func (a *API) createGroup(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	if !isAdmin(p) {
		return errForbidden
	}
	var in groupJSON
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.ID == "" || in.Name == "" {
		return bad("id and name are required")
	}
	in.Created = ""
	g := store.Group{ID: in.ID, Name: in.Name, Description: in.Description, Created: a.cfg.Now().UTC()}
	if err := a.cfg.DB.CreateGroup(r.Context(), g); err != nil {
		return err
	}
	if err := a.record(r, p, "group.create", "group:"+g.ID); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, groupOut(g))
	return nil
}

func (a *API) listMembers(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	if !isAdmin(p) {
		return errForbidden
	}
	g, err := a.cfg.DB.Group(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	ms, err := a.cfg.DB.GroupMembers(r.Context(), g.ID)
	if err != nil {
		return err
	}
	if ms == nil {
		ms = []string{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"group": g.ID, "members": ms})
	return nil
}

// setMember adds (PUT) or removes (DELETE) a member: "org:ID" or "group:ID";
// a bare id means an organisation.
func (a *API) setMember(add bool) func(http.ResponseWriter, *http.Request, store.Principal) error {
	return func(w http.ResponseWriter, r *http.Request, p store.Principal) error {
		if !isAdmin(p) {
			return errForbidden
		}
		g, err := a.cfg.DB.Group(r.Context(), r.PathValue("id"))
		if err != nil {
			return err
		}
		m := r.PathValue("member")
		if !strings.HasPrefix(m, "org:") && !strings.HasPrefix(m, "group:") {
			m = "org:" + m
		}
		if add {
			err = a.cfg.DB.AddGroupMember(r.Context(), g.ID, m)
		} else {
			err = a.cfg.DB.RemoveGroupMember(r.Context(), g.ID, m)
		}
		if errors.Is(err, store.ErrCycle) {
			return &apiError{http.StatusConflict, err.Error()}
		}
		if err != nil {
			return err
		}
		action := "group.remove"
		if add {
			action = "group.add"
		}
		if err := a.record(r, p, action, "group:"+g.ID, m); err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, map[string]any{"group": g.ID, "member": m, "present": add})
		return nil
	}
}

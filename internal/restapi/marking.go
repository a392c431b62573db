package restapi

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/setu-cti/setu/internal/account"
	"github.com/setu-cti/setu/internal/ingest"
	"github.com/setu-cti/setu/internal/policy"
	"github.com/setu-cti/setu/internal/stix"
	"github.com/setu-cti/setu/internal/store"
)

// markingJSON is one marking definition as the API shows it.
type markingJSON struct {
	ID         string         `json:"id"`
	Kind       string         `json:"kind"`
	Meaning    string         `json:"meaning"`
	Definition jsontext.Value `json:"definition"`
}

// reader is the caller as the policy sees them.
func (a *API) reader(r *http.Request, p store.Principal) (policy.Reader, error) {
	groups, err := a.cfg.DB.OrgGroups(r.Context(), p.Org.ID)
	if err != nil {
		return policy.Reader{}, err
	}
	return policy.Reader{User: p.User.Name, Org: p.Org.ID, Country: p.Org.Country, Groups: groups}, nil
}

// listMarkings answers every marking definition the node knows that the
// caller may read: those listed in the markings collection.
func (a *API) listMarkings(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	rd, err := a.reader(r, p)
	if err != nil {
		return err
	}
	gate := policy.NewGate(a.cfg.DB, a.cfg.Policy)
	out := []markingJSON{}
	q := store.Query{Collection: ingest.MarkingsAlias, Limit: 1000}
	for {
		pg, err := gate.Query(r.Context(), rd, q)
		if errors.Is(err, store.ErrNotFound) {
			break // a node that has not made its markings collection yet
		}
		if err != nil {
			return err
		}
		for _, v := range pg.Versions {
			kind, meaning := policy.Describe(v.ID, v.Body)
			out = append(out, markingJSON{ID: v.ID, Kind: kind, Meaning: meaning, Definition: v.Body})
		}
		if !pg.More {
			break
		}
		q.After = pg.Last
	}
	writeJSON(w, http.StatusOK, map[string]any{"markings": out})
	return nil
}

// markingRequest names the Setu distribution marking to create: exactly
// one of its fields.
type markingRequest struct {
	Recipients []string `json:"recipients,omitempty"` // "org:ID", "user:NAME"
	Group      string   `json:"group,omitempty"`
	Resident   string   `json:"resident,omitempty"`
	Scope      string   `json:"scope,omitempty"`
}

// createMarking makes the Setu distribution marking definition the request
// names known to the node (listed in the markings collection) and answers
// it. Recipients are taken as given: the API does not say which users or
// organisations exist.
func (a *API) createMarking(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	if p.User.Role == account.ReadOnly {
		return errForbidden
	}
	var in markingRequest
	if err := decode(r, &in); err != nil {
		return err
	}
	set := 0
	for _, b := range []bool{len(in.Recipients) > 0, in.Group != "", in.Resident != "", in.Scope != ""} {
		if b {
			set++
		}
	}
	if set != 1 {
		return bad("name exactly one of recipients, group, resident and scope")
	}
	d := policy.Distribution{Recipients: in.Recipients, Resident: strings.ToUpper(in.Resident), Scope: policy.Scope(in.Scope)}
	if in.Group != "" {
		d = policy.Distribution{Scope: policy.ScopeGroup, Group: in.Group}
	}
	if err := d.Validate(); err != nil {
		return bad("%v", err)
	}
	body, err := d.MarkingDefinition()
	if err != nil {
		return bad("%v", err)
	}
	c, err := a.cfg.DB.Collection(r.Context(), ingest.MarkingsAlias)
	if err != nil {
		return err
	}
	wr := ingest.Writer{Org: p.Org.ID, Identity: p.Org.IdentityID(), Relay: isAdmin(p)}
	if a.cfg.Audit != nil {
		rec := a.recordOf(r, p, "marking.create")
		wr.Audit = &rec
	}
	items, err := a.ingester().ObjectsAs(r.Context(), wr, c.ID, [][]byte{body})
	if err != nil {
		return err
	}
	if it := items[0]; it.Outcome == ingest.Rejected {
		if errors.Is(it.Err, store.ErrNotFound) {
			return bad("sharing group %q does not exist", in.Group)
		}
		return bad("%v", it.Err)
	}
	kind, meaning := policy.Describe(d.MarkingID(), body)
	writeJSON(w, http.StatusOK, markingJSON{ID: d.MarkingID(), Kind: kind, Meaning: meaning, Definition: body})
	return nil
}

// maxImportBody bounds an import through the API; larger sets belong to
// `setu import` or TAXII.
const maxImportBody = 64 << 20

// maxImportNotes bounds the objects an import answer describes one by one.
const maxImportNotes = 1000

// importNote is one object of an import the answer describes: rejected,
// kept as stored, or accepted with warnings.
type importNote struct {
	Number   int      `json:"number"` // 1-based position in the body
	Line     int      `json:"line,omitempty"`
	ID       string   `json:"id,omitempty"`
	Outcome  string   `json:"outcome"`
	Kept     bool     `json:"kept,omitempty"`
	Error    string   `json:"error,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
}

type importAnswer struct {
	Collection string       `json:"collection"`
	Added      int          `json:"added"`
	Duplicate  int          `json:"duplicate"`
	Kept       int          `json:"kept"`
	Rejected   int          `json:"rejected"`
	Warnings   int          `json:"warnings"`
	Objects    []importNote `json:"objects"`
	Truncated  bool         `json:"truncated,omitempty"`
}

// importObjects stores the STIX objects of the body (a bundle, a JSON
// array or one object) into a collection the caller may write, as its
// organisation (node admins relay), through the write path. ?tlp=LEVEL and
// ?share=LIST assign handling as `setu import --tlp --share` does;
// ?on_conflict=keep keeps the stored content of a version sent again with
// other content. A collection the caller may neither read nor write is
// 404; one it may only read, 403.
func (a *API) importObjects(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	ctx := r.Context()
	if !p.User.Role.CanWrite() {
		return errForbidden
	}
	c, err := a.cfg.DB.Collection(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	g, err := a.cfg.DB.Access(ctx, c.ID, p.Org.ID)
	if err != nil {
		return err
	}
	if !isAdmin(p) && !g.Write {
		if !g.Read {
			return errNotFound
		}
		return errForbidden
	}
	q := r.URL.Query()
	var h policy.Handling
	if v := q.Get("tlp"); v != "" {
		if h.TLP, err = policy.ParseTLP(v); err != nil {
			return bad("tlp: %v", err)
		}
	}
	if h.Distribution, err = policy.ParseShare(q.Get("share")); err != nil {
		return bad("%v", err)
	}
	for _, d := range h.Distribution {
		if d.Scope == policy.ScopeGroup {
			if grp, err := a.cfg.DB.Group(ctx, d.Group); err != nil || grp.ID != d.Group {
				return bad("share: sharing group %q does not exist", d.Group)
			}
		}
	}
	keep := false
	switch v := q.Get("on_conflict"); v {
	case "", "reject":
	case "keep":
		keep = true
	default:
		return bad("on_conflict: want reject or keep, not %q", v)
	}
	body := http.MaxBytesReader(nil, r.Body, maxImportBody)
	wr := ingest.OrgWriter(p.Org, isAdmin(p))
	wr.Handling, wr.KeepStored = h, keep
	if a.cfg.Audit != nil {
		rec := a.recordOf(r, p, "write")
		rec.Collection = c.ID
		wr.Audit = &rec
	}
	ans := importAnswer{Collection: c.ID, Objects: []importNote{}}
	in := a.ingester(ingest.WithWriter(wr))
	sum, err := in.Stream(ctx, c.ID, body, func(it ingest.Item) {
		if it.Outcome != ingest.Rejected && !it.Kept && len(it.Warnings) == 0 {
			return
		}
		if len(ans.Objects) == maxImportNotes {
			ans.Truncated = true
			return
		}
		n := importNote{Number: it.Index + 1, Line: it.Line, ID: it.ID, Outcome: it.Outcome.String(), Kept: it.Kept, Warnings: it.Warnings}
		if it.Err != nil {
			n.Error = it.Err.Error()
		}
		ans.Objects = append(ans.Objects, n)
	})
	ans.Added, ans.Duplicate, ans.Kept, ans.Rejected, ans.Warnings = sum.Added, sum.Duplicate-sum.Kept, sum.Kept, sum.Rejected, sum.Warnings
	if err != nil {
		if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
			return &apiError{http.StatusRequestEntityTooLarge, fmt.Sprintf("request body exceeds %d bytes; what came before is stored", mbe.Limit)}
		}
		var fe *stix.FrameError
		if errors.As(err, &fe) {
			// Malformed JSON stops the body; everything before it is stored
			// and said so.
			ans.Objects = append(ans.Objects, importNote{Number: sum.Added + sum.Duplicate + sum.Rejected + 1, Outcome: "rejected", Error: err.Error()})
			writeJSON(w, http.StatusBadRequest, ans)
			return nil
		}
		return err
	}
	slices.SortFunc(ans.Objects, func(x, y importNote) int { return x.Number - y.Number })
	writeJSON(w, http.StatusOK, ans)
	return nil
}

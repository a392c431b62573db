package taxiiserver

import (
	"context"
	"net/http"
	"strings"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/setu-cti/setu/internal/policy"
	"github.com/setu-cti/setu/internal/store"
	"github.com/setu-cti/setu/internal/taxii"
)

func (s *Server) baseURL(r *http.Request) string {
	scheme := "https"
	if r.TLS == nil {
		scheme = "http"
	}
	return scheme + "://" + r.Host
}

func (s *Server) discovery(w http.ResponseWriter, r *http.Request, p store.Principal) {
	if !s.method(w, r, http.MethodGet) {
		return
	}
	root := s.baseURL(r) + "/" + s.cfg.APIRoot + "/"
	s.write(w, http.StatusOK, taxii.Discovery{
		Title: s.cfg.Title, Description: s.cfg.Description, Contact: s.cfg.Contact,
		Default: root, APIRoots: []string{root},
	})
}

func (s *Server) apiRoot(w http.ResponseWriter, r *http.Request, p store.Principal) {
	if !s.method(w, r, http.MethodGet) {
		return
	}
	s.write(w, http.StatusOK, taxii.APIRoot{
		Title: s.cfg.Title, Description: s.cfg.Description,
		Versions: []string{taxii.MediaTAXII}, MaxContentLength: s.cfg.MaxContentLength,
	})
}

// method answers 405 (as a TAXII error, with Allow) unless r uses one of ms.
func (s *Server) method(w http.ResponseWriter, r *http.Request, ms ...string) bool {
	for _, m := range ms {
		if r.Method == m || (m == http.MethodGet && r.Method == http.MethodHead) {
			return true
		}
	}
	w.Header().Set("Allow", strings.Join(ms, ", "))
	s.fail(w, r, newErr(http.StatusMethodNotAllowed, "Method Not Allowed", "Use %s.", strings.Join(ms, " or ")))
	return false
}

// reader is the policy's view of an authenticated principal, with the
// sharing groups its organisation belongs to.
func (s *Server) reader(ctx context.Context, p store.Principal) (policy.Reader, error) {
	if name, ok := peerOf(p); ok {
		return peerReader(name, p.Org.Country), nil
	}
	groups, err := s.cfg.DB.OrgGroups(ctx, p.Org.ID)
	if err != nil {
		return policy.Reader{}, err
	}
	return policy.Reader{User: p.User.Name, Org: p.Org.ID, Country: p.Org.Country, Groups: groups}, nil
}

func wireCollection(c store.Collection, read, write bool) taxii.Collection {
	return taxii.Collection{ID: c.ID, Title: c.Title, Description: c.Description, Alias: c.Alias,
		CanRead: read, CanWrite: write, MediaTypes: c.MediaTypes}
}

func (s *Server) collections(w http.ResponseWriter, r *http.Request, p store.Principal) {
	if !s.method(w, r, http.MethodGet) {
		return
	}
	cs, err := s.cfg.DB.Collections(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var out taxii.Collections
	for _, c := range cs {
		read, write, err := s.access(r.Context(), p, c)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if read || write { // collections the caller cannot use are not revealed
			out.Collections = append(out.Collections, wireCollection(c, read, write))
		}
	}
	s.write(w, http.StatusOK, out)
}

func (s *Server) collection(w http.ResponseWriter, r *http.Request, p store.Principal) {
	if !s.method(w, r, http.MethodGet) {
		return
	}
	c, read, write, err := s.collectionFor(r, p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.write(w, http.StatusOK, wireCollection(c, read, write))
}

// page runs the store query for a paged endpoint: it parses the filters,
// opens the next token, clamps the limit and returns the page with the
// token for the following one.
func (s *Server) page(r *http.Request, p store.Principal, c store.Collection, ep taxii.Endpoint, q store.Query) (store.Page, string, error) {
	f, err := taxii.ParseFilter(r.URL.Query(), ep)
	if err != nil {
		return store.Page{}, "", err
	}
	if len(f.Ignored) > 0 {
		s.cfg.Log.Debug("ignored TAXII query parameters", "params", f.Ignored)
	}
	bind := cursor{Collection: c.ID, Reader: p.User.Name, Filter: f.Hash(), Endpoint: int(ep), Object: r.PathValue("obj")}
	if f.Next != "" {
		if q.After, err = s.seal.open(f.Next, bind); err != nil {
			return store.Page{}, "", err
		}
	}
	q.Collection = c.ID
	q.AddedAfter = f.AddedAfter
	if len(q.IDs) == 0 {
		q.IDs = f.IDs
	}
	q.Types = f.Types
	q.SpecVersions = f.SpecVersions
	if q.Versions.IsZero() {
		q.Versions = store.VersionFilter{Last: f.Versions.Last, First: f.Versions.First, All: f.Versions.All, At: f.Versions.At}
	}
	q.Limit = s.cfg.DefaultLimit
	if f.Limit > 0 {
		q.Limit = min(f.Limit, s.cfg.MaxLimit)
	}
	rd, err := s.reader(r.Context(), p)
	if err != nil {
		return store.Page{}, "", err
	}
	query := s.gate.Query
	if rd.IsPeer() {
		// A partner reads only its view, which holds what was released
		// to it: it may see nearly every row.
		query = s.gate.QueryDense
	}
	gp, err := query(r.Context(), rd, q)
	if err != nil {
		return store.Page{}, "", err
	}
	pg := gp.Page
	rules := make([]string, len(gp.Decisions))
	for i, d := range gp.Decisions {
		rules[i] = d.Rule
	}
	released(r.Context(), pg.Versions, rules)
	next := ""
	if pg.More {
		bind.Pos = pg.Last
		next = s.seal.seal(bind)
	}
	return pg, next, nil
}

// dateHeaders sets the date-added headers: the date_added of the first and
// the last object of the page. An empty page names no object. When the
// request was bounded by added_after alone (no next), both headers of an
// empty page carry that bound, so that a client which advances its cursor
// from X-TAXII-Date-Added-Last keeps it where it was (nothing was added
// after it) rather than finding the header missing. An empty page reached
// through next carries none: its bound is a position, not a date, and the
// client already holds the date of the page before.
func dateHeaders(w http.ResponseWriter, r *http.Request, pg store.Page) {
	if len(pg.Versions) == 0 {
		q := r.URL.Query()
		if q.Has(taxii.ParamNext) || q.Get(taxii.ParamAddedAfter) == "" {
			return
		}
		t, err := taxii.ParseTimestamp(q.Get(taxii.ParamAddedAfter))
		if err != nil {
			return // page() refuses such a request before this
		}
		w.Header().Set(taxii.HeaderDateAddedFirst, taxii.FormatTimestamp(t))
		w.Header().Set(taxii.HeaderDateAddedLast, taxii.FormatTimestamp(t))
		return
	}
	w.Header().Set(taxii.HeaderDateAddedFirst, taxii.FormatTimestamp(pg.Versions[0].DateAdded))
	w.Header().Set(taxii.HeaderDateAddedLast, taxii.FormatTimestamp(pg.Versions[len(pg.Versions)-1].DateAdded))
}

func envelope(pg store.Page, next string) taxii.Envelope {
	env := taxii.Envelope{More: pg.More, Next: next}
	for _, v := range pg.Versions {
		env.Objects = append(env.Objects, jsontext.Value(v.Body))
	}
	return env
}

func (s *Server) objects(w http.ResponseWriter, r *http.Request, p store.Principal) {
	if !s.method(w, r, http.MethodGet, http.MethodPost) {
		return
	}
	c, read, write, err := s.collectionFor(r, p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if r.Method == http.MethodPost {
		if !write {
			s.fail(w, r, errNoWrite)
			return
		}
		s.add(w, r, p, c)
		return
	}
	if !read {
		s.fail(w, r, errNoRead)
		return
	}
	pg, next, err := s.page(r, p, c, taxii.EndpointObjects, store.Query{})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	dateHeaders(w, r, pg)
	env, err := s.peerEnvelope(r.Context(), p, pg, envelope(pg, next))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.write(w, http.StatusOK, env)
}

func (s *Server) object(w http.ResponseWriter, r *http.Request, p store.Principal) {
	if !s.method(w, r, http.MethodGet, http.MethodDelete) {
		return
	}
	c, read, write, err := s.collectionFor(r, p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !read {
		s.fail(w, r, errNoRead)
		return
	}
	id := r.PathValue("obj")
	if r.Method == http.MethodDelete {
		if !write {
			s.fail(w, r, errNoWrite)
			return
		}
		s.delete(w, r, c, id)
		return
	}
	pg, next, err := s.page(r, p, c, taxii.EndpointObject, store.Query{IDs: []string{id}})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(pg.Versions) == 0 && r.URL.Query().Get(taxii.ParamNext) == "" {
		s.fail(w, r, errNotFound)
		return
	}
	dateHeaders(w, r, pg)
	s.write(w, http.StatusOK, envelope(pg, next))
}

func (s *Server) delete(w http.ResponseWriter, r *http.Request, c store.Collection, id string) {
	f, err := taxii.ParseFilter(r.URL.Query(), taxii.EndpointDeleteObject)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	vf := store.VersionFilter{Last: f.Versions.Last, First: f.Versions.First, All: f.Versions.All, At: f.Versions.At}
	if vf.IsZero() { // without match[version], DELETE removes every version
		vf.All = true
	}
	if _, err := s.cfg.DB.Delete(r.Context(), c.ID, id, vf, f.SpecVersions); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// readable answers a GET on a collection the caller must be able to read:
// it checks the method and access and returns the collection, or writes the
// error and returns false.
func (s *Server) readable(w http.ResponseWriter, r *http.Request, p store.Principal) (store.Collection, bool) {
	if !s.method(w, r, http.MethodGet) {
		return store.Collection{}, false
	}
	c, read, _, err := s.collectionFor(r, p)
	if err == nil && !read {
		err = errNoRead
	}
	if err != nil {
		s.fail(w, r, err)
		return c, false
	}
	return c, true
}

func (s *Server) manifest(w http.ResponseWriter, r *http.Request, p store.Principal) {
	c, ok := s.readable(w, r, p)
	if !ok {
		return
	}
	pg, next, err := s.page(r, p, c, taxii.EndpointManifest, store.Query{NoBody: true})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := taxii.Manifest{More: pg.More, Next: next}
	for _, v := range pg.Versions {
		out.Objects = append(out.Objects, taxii.ManifestRecord{
			ID: v.ID, DateAdded: taxii.Timestamp(v.DateAdded), Version: versionString(v),
			MediaType: "application/stix+json;version=2.1",
		})
	}
	dateHeaders(w, r, pg)
	s.write(w, http.StatusOK, out)
}

func (s *Server) versions(w http.ResponseWriter, r *http.Request, p store.Principal) {
	c, ok := s.readable(w, r, p)
	if !ok {
		return
	}
	pg, next, err := s.page(r, p, c, taxii.EndpointVersions,
		store.Query{IDs: []string{r.PathValue("obj")}, Versions: store.VersionFilter{All: true}, NoBody: true})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(pg.Versions) == 0 && r.URL.Query().Get(taxii.ParamNext) == "" {
		s.fail(w, r, errNotFound)
		return
	}
	out := taxii.Versions{More: pg.More, Next: next}
	for _, v := range pg.Versions {
		out.Versions = append(out.Versions, versionString(v))
	}
	dateHeaders(w, r, pg)
	s.write(w, http.StatusOK, out)
}

// versionString formats a version time as STIX does: UTC, at least
// millisecond precision, more digits only when the value has them.
func versionString(v store.Version) string { return store.FormatVersionTime(v.VersionTime) }

func (s *Server) status(w http.ResponseWriter, r *http.Request, p store.Principal) {
	if !s.method(w, r, http.MethodGet) {
		return
	}
	st, err := s.cfg.DB.Status(r.Context(), r.PathValue("status"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// A status belongs to whoever posted; to anyone else it does not exist.
	if st.User != p.User.Name && p.User.Role != "admin" {
		s.fail(w, r, errNotFound)
		return
	}
	s.write(w, http.StatusOK, wireStatus(st))
}

func wireStatus(st store.Status) taxii.Status {
	conv := func(ds []store.StatusDetail) []taxii.StatusDetail {
		var out []taxii.StatusDetail
		for _, d := range ds {
			out = append(out, taxii.StatusDetail{ID: d.ID, Version: d.Version, Message: d.Message})
		}
		return out
	}
	ws := taxii.Status{
		ID: st.ID, Status: taxii.StatusPending, RequestTimestamp: taxii.Timestamp(st.Created),
		TotalCount: st.Total, SuccessCount: len(st.Successes), Successes: conv(st.Successes),
		FailureCount: len(st.Failures), Failures: conv(st.Failures),
		PendingCount: len(st.Pendings), Pendings: conv(st.Pendings),
	}
	if st.Complete() {
		ws.Status = taxii.StatusComplete
	}
	return ws
}

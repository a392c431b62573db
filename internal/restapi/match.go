package restapi

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/setu-cti/setu/internal/account"
	"github.com/setu-cti/setu/internal/detect"
	"github.com/setu-cti/setu/internal/ingest"
	"github.com/setu-cti/setu/internal/match"
	"github.com/setu-cti/setu/internal/policy"
	"github.com/setu-cti/setu/internal/stix"
	"github.com/setu-cti/setu/internal/store"
)

// maxMatchBody bounds a match request: a batch of observations, larger
// than a management request.
const maxMatchBody = 16 << 20

// maxObservables bounds the observables of one "observables" request.
const maxObservables = 100000

// observable is one value to match: an SCO type and its properties, e.g.
// {"type":"domain-name","value":"evil.example"}.
type observable map[string]any

type matchRequest struct {
	Observables []observable `json:"observables"`
}

type matchHit struct {
	// Observation is the observed-data id matched, or "observables[N]".
	Observation string `json:"observation"`
	detect.Hit  `json:",inline"`
}

type matchResponse struct {
	// Applied is the change-log position the index reflects.
	Applied      int64      `json:"applied"`
	Observations int        `json:"observations"`
	Matches      []matchHit `json:"matches"`
	// Sightings is how many sightings ?report=true recorded or updated.
	Sightings int `json:"sightings,omitempty"`
}

// matchObservations matches a batch against the indicators the caller may
// see. The body is either STIX (a bundle, a JSON array or one object)
// whose observed-data, in the 2.1 or the 2.0 form, are the observations, or
// {"observables":[{"type":...,...}]}, each observable an observation of
// its own. With ?report=true (not for read-only users), the hits are
// recorded as sightings of the caller's organisation, aggregated per
// indicator and day, in the collection named by ?collection= (default
// "shared"), through the write path as that organisation.
func (a *API) matchObservations(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	if a.cfg.Detect == nil {
		return &apiError{http.StatusServiceUnavailable, "matching is not enabled on this node"}
	}
	if !a.cfg.Detect.Ready() {
		w.Header().Set("Retry-After", "10")
		return &apiError{http.StatusServiceUnavailable, "the indicator index is still loading"}
	}
	report := false
	if v := r.URL.Query().Get("report"); v != "" {
		var err error
		if report, err = strconv.ParseBool(v); err != nil {
			return bad("report: want true or false")
		}
	}
	if report && p.User.Role == account.ReadOnly {
		return errForbidden
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxMatchBody))
	if err != nil {
		if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
			return &apiError{http.StatusRequestEntityTooLarge, fmt.Sprintf("request body exceeds %d bytes", mbe.Limit)}
		}
		return bad("reading the request: %v", err)
	}
	obs, names, err := observationsOf(body)
	if err != nil {
		return err
	}
	groups, err := a.cfg.DB.OrgGroups(r.Context(), p.Org.ID)
	if err != nil {
		return err
	}
	reader := policy.Reader{User: p.User.Name, Org: p.Org.ID, Country: p.Org.Country, Groups: groups}
	now := a.cfg.Now()
	resp := matchResponse{Applied: a.cfg.Detect.Applied(), Observations: len(obs), Matches: []matchHit{}}
	var sightings *detect.Sightings
	if report {
		sightings = detect.NewSightings(p.Org.IdentityID(), 24*time.Hour, []string{stix.TLPGreen})
	}
	var released []string
	ats := make([]time.Time, len(obs))
	for i := range obs {
		if ats[i] = obs[i].FirstObserved; ats[i].IsZero() {
			ats[i] = now
		}
	}
	// The whole batch is matched together: its values are looked up a
	// chunk at a time (match.Index.MatchAll).
	all := a.cfg.Detect.MatchAll(&reader, obs, ats)
	for i := range obs {
		at := ats[i]
		for _, h := range all[i] {
			resp.Matches = append(resp.Matches, matchHit{Observation: names[i], Hit: h})
			released = append(released, h.Indicator.ID)
			if sightings != nil {
				sightings.Add(h, &obs[i], at)
			}
		}
	}
	if sightings != nil && sightings.Len() > 0 {
		n, err := a.recordSightings(r, p, sightings)
		if err != nil {
			return err
		}
		resp.Sightings = n
	}
	if err := a.record(r, p, "match", released...); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// observationsOf reads a match request body.
func observationsOf(body []byte) ([]match.Observation, []string, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return nil, nil, bad("empty request: send STIX observed-data or {\"observables\":[...]}")
	}
	if trimmed[0] == '{' {
		var probe struct {
			Observables jsontext.Value `json:"observables"`
		}
		if json.Unmarshal(trimmed, &probe, json.RejectUnknownMembers(false)) == nil && probe.Observables != nil {
			var req matchRequest
			if err := json.Unmarshal(trimmed, &req, json.RejectUnknownMembers(true)); err != nil {
				return nil, nil, bad("invalid observables request: %v", err)
			}
			if len(req.Observables) > maxObservables {
				return nil, nil, bad("at most %d observables per request", maxObservables)
			}
			obs := make([]match.Observation, len(req.Observables))
			names := make([]string, len(req.Observables))
			for i, o := range req.Observables {
				typ, _ := o["type"].(string)
				if typ == "" {
					return nil, nil, bad("observables[%d]: \"type\" is required", i)
				}
				names[i] = fmt.Sprintf("observables[%d]", i)
				ref := typ + "--observable-" + strconv.Itoa(i)
				obs[i] = match.NewObservation(names[i], time.Time{}, time.Time{}, 1, []match.Object{{Ref: ref, Type: typ, Props: o}})
			}
			return obs, names, nil
		}
	}
	objs, err := match.DecodeObjects(trimmed)
	if err != nil {
		return nil, nil, bad("%v", err)
	}
	obs, err := match.Observations(objs)
	if err != nil {
		return nil, nil, bad("%v", err)
	}
	if len(obs) == 0 {
		return nil, nil, bad("no observed-data in the request")
	}
	names := make([]string, len(obs))
	for i := range obs {
		names[i] = obs[i].ID
	}
	return obs, names, nil
}

// recordSightings stores aggregated sightings as the caller's organisation.
func (a *API) recordSightings(r *http.Request, p store.Principal, s *detect.Sightings) (int, error) {
	ctx := r.Context()
	name := r.URL.Query().Get("collection")
	if name == "" {
		name = "shared"
	}
	c, err := a.cfg.DB.Collection(ctx, name)
	if err != nil {
		return 0, err
	}
	if g, err := a.cfg.DB.Access(ctx, c.ID, p.Org.ID); err != nil {
		return 0, err
	} else if !g.Write && !isAdmin(p) {
		return 0, errForbidden
	}
	objs, err := s.Objects(ctx, a.cfg.DB, a.cfg.Now())
	if err != nil {
		return 0, err
	}
	in := a.ingester()
	wr := ingest.OrgWriter(p.Org, false)
	if a.cfg.Audit != nil {
		// Recorded with the sightings, in their transaction.
		rec := a.recordOf(r, p, "sighting.report")
		wr.Audit = &rec
	}
	items, err := in.ObjectsAs(ctx, wr, c.ID, objs)
	if err != nil {
		return 0, err
	}
	for _, it := range items {
		if it.Outcome == ingest.Rejected {
			a.cfg.Log.Error("sighting rejected", "id", it.ID, "err", it.Err)
			return 0, fmt.Errorf("recording sightings: %s: %w", it.ID, it.Err)
		}
	}
	return s.Len(), nil
}

package taxiiserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/google/uuid"

	"github.com/setu-cti/setu/internal/account"
	"github.com/setu-cti/setu/internal/audit"
	"github.com/setu-cti/setu/internal/ingest"
	"github.com/setu-cti/setu/internal/store"
	"github.com/setu-cti/setu/internal/taxii"
)

// add handles POST to a collection's objects: the envelope is stored with a
// pending status as a job, and the 202 goes out before any object is decided.
func (s *Server) add(w http.ResponseWriter, r *http.Request, p store.Principal, c store.Collection) {
	if !taxii.ContentTypeOK(r.Header.Get("Content-Type"), taxii.MediaTAXII) {
		s.fail(w, r, newErr(http.StatusUnsupportedMediaType, "Unsupported Media Type",
			"Send the envelope as %s.", taxii.MediaTAXII))
		return
	}
	if r.ContentLength > s.cfg.MaxContentLength {
		s.fail(w, r, &http.MaxBytesError{Limit: s.cfg.MaxContentLength})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxContentLength))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	env, err := taxii.DecodeEnvelope(body)
	if err != nil {
		s.fail(w, r, newErr(http.StatusBadRequest, "Bad Request", "The body is not a TAXII envelope: %v", err))
		return
	}
	if len(env.Objects) == 0 {
		s.fail(w, r, newErr(http.StatusBadRequest, "Bad Request", "The envelope has no objects."))
		return
	}
	st := store.Status{ID: uuid.NewString(), Collection: c.ID, User: p.User.Name,
		Created: s.cfg.Now().UTC(), Total: len(env.Objects)}
	raws := make([][]byte, 0, len(env.Objects))
	for _, o := range env.Objects {
		h, ok := peek(o)
		d := detail(h)
		if ok {
			raws = append(raws, o)
		}
		if !ok {
			d.Message = "not a STIX object with a string id and type"
			st.Failures = append(st.Failures, d)
			continue
		}
		st.Pendings = append(st.Pendings, d)
	}
	rec := auditRecord(r.Context())
	rec.Action, rec.Rule = "submit", "collection-write"
	for _, d := range st.Pendings {
		rec.Objects = append(rec.Objects, d.ID+"@"+d.Version)
	}
	// The job is leased to this instance as it is stored and handed to the
	// local worker, which saves a claim; when the local queue is full it is
	// left for any instance to claim.
	leased := false
	select {
	case s.slots <- struct{}{}:
		leased = true
		st.LeaseOwner, st.Lease = s.cfg.Instance, s.cfg.Lease
	default:
	}
	if err := s.cfg.DB.CreateStatus(r.Context(), st, body); err != nil {
		if leased {
			<-s.slots
		}
		s.fail(w, r, err)
		return
	}
	if !leased {
		s.Wake()
		s.write(w, http.StatusAccepted, wireStatus(st))
		return
	}
	// Never blocks: the queue holds as many jobs as there are slots.
	j := localJob{st: st, body: body, raws: raws, done: make(chan struct{})}
	s.local <- j
	// A job finished within the bound is answered with its final status,
	// as the reference server answers complete; a larger one goes on in
	// the background and the client polls, as TAXII provides.
	if s.cfg.CompleteWithin > 0 {
		t := time.NewTimer(s.cfg.CompleteWithin)
		defer t.Stop()
		select {
		case <-j.done:
			if fin, err := s.cfg.DB.Status(r.Context(), st.ID); err == nil && fin.Complete() {
				st = fin
			}
		case <-t.C:
		case <-r.Context().Done():
		}
	}
	s.write(w, http.StatusAccepted, wireStatus(st))
}

// head is the little of an object a status names it by.
type head struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Created  string `json:"created"`
	Modified string `json:"modified"`
}

func (h head) version() string {
	if h.Modified != "" {
		return h.Modified
	}
	return h.Created
}

// maxDetailLen bounds what a status echoes of an unvalidated object: a
// STIX id is at most 288 bytes and a timestamp far less.
const maxDetailLen = 300

// detail is the status entry naming an object by what it claims before
// validation; an object whose claim needed cleaning fails validation
// anyway, under this entry.
func detail(h head) store.StatusDetail {
	return store.StatusDetail{ID: storable(h.ID, maxDetailLen), Version: storable(h.version(), maxDetailLen)}
}

// storable makes client text fit for a status row on every backend
// (PostgreSQL text holds neither NUL nor invalid UTF-8) and at most n
// bytes. A status that cannot be stored would fail the POST, or leave its
// job to be retried forever.
func storable(s string, n int) string {
	s = strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", "\uFFFD"), "\uFFFD")
	if len(s) > n {
		s = strings.ToValidUTF8(s[:n], "")
	}
	return s
}

// peek reads an object's id and version without validating it; validation is
// the write path's. Lenient decoding keeps an object with, say, a duplicate
// name addressable, so its failure is reported under its id.
func peek(o jsontext.Value) (head, bool) {
	var h head
	err := json.Unmarshal(o, &h, jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true),
		json.RejectUnknownMembers(false))
	if err != nil {
		// Fall back to the id alone, for the failure message.
		var idOnly struct {
			ID string `json:"id"`
		}
		json.Unmarshal(o, &idOnly, jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
		return head{ID: idOnly.ID}, false
	}
	return h, h.ID != "" && h.Type != ""
}

// writer is who a status's poster writes as: their organisation, under its
// identity, anonymously if the organisation asked; node admins relay (store
// objects created by others unchanged).
func (s *Server) writer(ctx context.Context, user string) (ingest.Writer, error) {
	u, err := s.cfg.DB.User(ctx, user)
	if err != nil {
		return ingest.Writer{}, fmt.Errorf("poster %s: %w", user, err)
	}
	o, err := s.cfg.DB.Org(ctx, u.Org)
	if err != nil {
		return ingest.Writer{}, fmt.Errorf("poster %s: organisation %s: %w", user, u.Org, err)
	}
	return ingest.OrgWriter(o, u.Role == account.Admin), nil
}

// Wake asks the worker to look for jobs now.
func (s *Server) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run works on POST jobs until ctx is done: those this instance accepted (it
// is woken at once) and those of other instances whose lease expired. It
// also purges expired statuses.
func (s *Server) Run(ctx context.Context) {
	poll := time.NewTicker(s.cfg.Lease / 4)
	defer poll.Stop()
	lastPurge := time.Time{}
	for {
		for ctx.Err() == nil {
			worked, err := s.work(ctx)
			if err != nil && ctx.Err() == nil {
				s.cfg.Log.Error("taxii job", "err", err)
				break
			}
			if !worked {
				break
			}
		}
		if now := s.cfg.Now(); now.Sub(lastPurge) > time.Hour {
			lastPurge = now
			if n, err := s.cfg.DB.PurgeStatuses(ctx, now.Add(-s.cfg.StatusTTL)); err != nil && ctx.Err() == nil {
				s.cfg.Log.Error("purging statuses", "err", err)
			} else if n > 0 {
				s.cfg.Log.Info("purged statuses", "count", n)
			}
		}
		select {
		case <-ctx.Done():
			// Jobs handed over but not started are leased to this instance:
			// finish them rather than leave them to wait out their lease.
			for {
				select {
				case j := <-s.local:
					s.runLocal(context.WithoutCancel(ctx), j)
				default:
					return
				}
			}
		case j := <-s.local:
			s.runLocal(ctx, j)
		case <-s.wake:
		case <-poll.C:
		}
	}
}

// localJob is a POST this instance accepted and leased to itself.
type localJob struct {
	st   store.Status
	body []byte
	raws [][]byte // the pending objects, in order
	// done, when not nil, is closed once the job is decided (or failed):
	// the POST waiting to answer with the final status reads it then.
	done chan struct{}
}

func (s *Server) runLocal(ctx context.Context, j localJob) {
	defer func() { <-s.slots }()
	if j.done != nil {
		defer close(j.done)
	}
	if err := s.decide(context.WithoutCancel(ctx), j.st, j.body, j.raws); err != nil {
		s.cfg.Log.Error("taxii job", "status", j.st.ID, "err", err)
	}
}

// work claims and decides one job; false when there was none. A job once
// claimed is finished even if ctx ends meanwhile (shutdown): it is bounded by
// max_content_length, and finishing it spares the next instance waiting for
// the lease to expire.
func (s *Server) work(ctx context.Context) (bool, error) {
	if ctx.Err() != nil {
		return false, nil
	}
	id, body, err := s.cfg.DB.ClaimJob(ctx, s.cfg.Instance, s.cfg.Lease)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	ctx = context.WithoutCancel(ctx)
	st, err := s.cfg.DB.Status(ctx, id)
	if err != nil {
		return true, fmt.Errorf("status %s of a claimed job: %w", id, err)
	}
	return true, s.decide(ctx, st, body, nil)
}

// decide ingests a leased job's objects and completes its status. raws are
// the pending objects when the caller has them at hand (a POST this instance
// accepted); otherwise they are read again from the stored envelope.
func (s *Server) decide(ctx context.Context, st store.Status, body []byte, raws [][]byte) error {
	id := st.ID
	if raws == nil {
		env, err := taxii.DecodeEnvelope(body)
		if err != nil {
			return fmt.Errorf("job %s: stored envelope: %w", id, err)
		}
		// The pendings are the objects peek accepted, in envelope order.
		raws = make([][]byte, 0, len(st.Pendings))
		for _, o := range env.Objects {
			if _, ok := peek(o); ok {
				raws = append(raws, o)
			}
		}
	}
	if len(raws) != len(st.Pendings) {
		return fmt.Errorf("job %s: %d objects for %d pendings", id, len(raws), len(st.Pendings))
	}
	if name, ok := strings.CutPrefix(st.User, peerPrefix); ok && s.peers != nil {
		return s.decidePeer(ctx, name, st, body)
	}
	start := time.Now()
	w, err := s.writer(ctx, st.User)
	if err != nil {
		return fmt.Errorf("job %s: %w", id, err)
	}
	if s.cfg.Audit != nil {
		// Each batch the job stores is recorded in its own transaction.
		w.Audit = &audit.Record{Actor: st.User, Org: w.Org, Action: "write", Path: "taxii:objects",
			Collection: st.Collection, Status: http.StatusOK, Rule: "write"}
	}
	items, err := s.cfg.Ingest.ObjectsAs(ctx, w, st.Collection, raws)
	if err != nil {
		return fmt.Errorf("job %s: %w", id, err)
	}
	var added, dup, rej int
	for i, it := range items {
		d := st.Pendings[i]
		switch it.Outcome {
		case ingest.Added:
			added++
			if len(it.Warnings) > 0 {
				// Accepted with remarks (e.g. a marking this node cannot
				// interpret yet): the status says so.
				d.Message = storable("accepted with warnings: "+strings.Join(it.Warnings, "; "), 4096)
			}
			st.Successes = append(st.Successes, d)
		case ingest.Duplicate:
			dup++
			d.Message = "duplicate: this version is already in the collection"
			st.Successes = append(st.Successes, d)
		default:
			rej++
			d.Message = storable(it.Err.Error(), 4096)
			st.Failures = append(st.Failures, d)
		}
	}
	st.Pendings = nil
	if err := s.cfg.DB.FinishStatus(ctx, st); err != nil {
		return err
	}
	if s.metrics != nil {
		s.metrics.Ingested(added, dup, rej, time.Since(start))
	}
	return nil
}

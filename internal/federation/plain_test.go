package federation_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/setu-cti/setu/internal/federation"
	"github.com/setu-cti/setu/internal/policy"
	"github.com/setu-cti/setu/internal/stix"
)

// plainTAXII is a minimal TAXII 2.1 server that knows nothing of Setu: one
// collection to read ("feed"), one to write ("inbox"), paging by
// added_after and next, and statuses that complete at once. extra, when
// set, adds members to every envelope it serves (a hostile peer's
// provenance).
type plainTAXII struct {
	srv *httptest.Server

	mu     sync.Mutex
	feed   []feedEntry
	inbox  []json.RawMessage
	posts  [][]byte // raw envelopes posted
	extra  func(objs []string) map[string]any
	client [][32]byte // fingerprints of client certificates seen
}

type feedEntry struct {
	added time.Time
	obj   string
}

const (
	feedID  = "5a3f0a0e-1111-4a55-9d3b-000000000001"
	inboxID = "5a3f0a0e-2222-4a55-9d3b-000000000002"
	media   = "application/taxii+json;version=2.1"
)

func newPlainTAXII(t *testing.T) *plainTAXII {
	p := &plainTAXII{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/collections/", func(w http.ResponseWriter, r *http.Request) {
		p.write(w, 200, map[string]any{"collections": []map[string]any{
			{"id": feedID, "title": "feed", "can_read": true, "can_write": false},
			{"id": inboxID, "title": "inbox", "can_read": false, "can_write": true},
		}})
	})
	mux.HandleFunc("GET /api/collections/"+feedID+"/objects/", p.objects)
	mux.HandleFunc("POST /api/collections/"+inboxID+"/objects/", p.post)
	mux.HandleFunc("GET /api/status/{id}/", func(w http.ResponseWriter, r *http.Request) {
		p.write(w, 200, map[string]any{"id": r.PathValue("id"), "status": "complete", "total_count": 0,
			"success_count": 0, "failure_count": 0, "pending_count": 0})
	})
	p.srv = httptest.NewUnstartedServer(mux)
	p.srv.TLS = &tls.Config{ClientAuth: tls.RequestClientCert}
	p.srv.StartTLS()
	t.Cleanup(p.srv.Close)
	return p
}

func (p *plainTAXII) url() string { return p.srv.URL + "/api/" }

func (p *plainTAXII) fingerprint() string {
	return federation.FingerprintOf(p.srv.Certificate().Raw).String()
}

func (p *plainTAXII) add(objs ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, o := range objs {
		added := time.Now().UTC().Truncate(time.Microsecond)
		if n := len(p.feed); n > 0 && !added.After(p.feed[n-1].added) {
			added = p.feed[n-1].added.Add(time.Microsecond)
		}
		p.feed = append(p.feed, feedEntry{added: added, obj: o})
	}
}

func (p *plainTAXII) write(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", media)
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func (p *plainTAXII) objects(w http.ResponseWriter, r *http.Request) {
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		p.mu.Lock()
		p.client = append(p.client, sha256.Sum256(r.TLS.PeerCertificates[0].Raw))
		p.mu.Unlock()
	}
	q := r.URL.Query()
	var after time.Time
	if v := q.Get("added_after"); v != "" {
		var err error
		if after, err = time.Parse(time.RFC3339Nano, v); err != nil {
			p.write(w, 400, map[string]any{"title": "bad added_after"})
			return
		}
	}
	start := 0
	if v := q.Get("next"); v != "" {
		start, _ = strconv.Atoi(v)
	}
	const limit = 40 // smaller than the client asks: next must be followed
	p.mu.Lock()
	var page []feedEntry
	i := start
	for ; i < len(p.feed) && len(page) < limit; i++ {
		if p.feed[i].added.After(after) {
			page = append(page, p.feed[i])
		}
	}
	for i < len(p.feed) && !p.feed[i].added.After(after) {
		i++
	}
	more := i < len(p.feed)
	extra := p.extra
	p.mu.Unlock()
	env := map[string]any{"more": more}
	if more {
		env["next"] = strconv.Itoa(i)
	}
	var objs []json.RawMessage
	var raw []string
	for _, e := range page {
		objs = append(objs, json.RawMessage(e.obj))
		raw = append(raw, e.obj)
	}
	if len(objs) > 0 {
		env["objects"] = objs
		w.Header().Set("X-TAXII-Date-Added-First", page[0].added.Format("2006-01-02T15:04:05.000000Z"))
		w.Header().Set("X-TAXII-Date-Added-Last", page[len(page)-1].added.Format("2006-01-02T15:04:05.000000Z"))
	}
	if extra != nil && len(raw) > 0 {
		for k, v := range extra(raw) {
			env[k] = v
		}
	}
	p.write(w, 200, env)
}

func (p *plainTAXII) post(w http.ResponseWriter, r *http.Request) {
	var env struct {
		Objects []json.RawMessage `json:"objects"`
	}
	var body []byte
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Body.Read(buf)
		body = append(body, buf[:n]...)
		if err != nil {
			break
		}
	}
	if err := json.Unmarshal(body, &env); err != nil {
		p.write(w, 400, map[string]any{"title": "bad envelope"})
		return
	}
	p.mu.Lock()
	p.inbox = append(p.inbox, env.Objects...)
	p.posts = append(p.posts, body)
	p.mu.Unlock()
	p.write(w, 202, map[string]any{"id": "status-" + strconv.Itoa(len(p.posts)), "status": "complete",
		"total_count": len(env.Objects), "success_count": len(env.Objects), "failure_count": 0, "pending_count": 0})
}

func (p *plainTAXII) received() (objs []json.RawMessage, posts [][]byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]json.RawMessage(nil), p.inbox...), append([][]byte(nil), p.posts...)
}

// TestPlainTAXIIServer shows that a node pulls from and pushes to a TAXII
// 2.1 server without Setu's extras: no provenance either way, mutual TLS
// with the server's certificate pinned.
func TestPlainTAXIIServer(t *testing.T) {
	t.Parallel()
	feed := newPlainTAXII(t)
	var feedIDs []string
	for i := range 100 {
		id := newID()
		feedIDs = append(feedIDs, id)
		feed.add(indicator(id, day0.Add(time.Duration(i)*time.Second), []string{stix.TLPGreen}, ""))
	}
	jp := newNode(t, "JP", "JP")
	jp.start()
	jp.run("peer", "add", "FEED", "--url", feed.url(), "--fingerprint", feed.fingerprint())
	jp.agreement("FEED", 1, []string{"shared"}, "from-FEED", "both", "")
	mine := newID()
	jp.importObjects("shared", []string{indicator(mine, day0, []string{stix.TLPGreen}, "")})

	waitFor(t, "the feed on JP", 60*time.Second, func() bool { return jp.count("from-FEED") == 100 }, jp)
	waitFor(t, "JP's object at the server", 60*time.Second, func() bool {
		objs, _ := feed.received()
		return len(objs) == 1
	}, jp)
	for _, v := range jp.versions("from-FEED") {
		if v.Submitter != "node:FEED" {
			t.Errorf("%s from the feed is owned by %q, want node:FEED", v.ID, v.Submitter)
		}
	}
	objs, posts := feed.received()
	if !strings.Contains(string(objs[0]), mine) {
		t.Errorf("pushed %s, want %s", objs[0], mine)
	}
	for _, p := range posts {
		if strings.Contains(string(p), federation.EnvelopeProperty) {
			t.Errorf("provenance was pushed to a server that is not a Setu peer: %s", p)
		}
	}
	// Later additions arrive by added_after, and nothing twice.
	late := newID()
	feed.add(indicator(late, day0, []string{stix.TLPGreen}, ""))
	waitFor(t, "the feed's later object on JP", 60*time.Second, func() bool { return jp.count("from-FEED") == 101 }, jp)
	for k, n := range ids(jp.versions("from-FEED")) {
		if n != 1 {
			t.Errorf("%s stored %d times", k, n)
		}
	}
	feed.mu.Lock()
	sawCert := len(feed.client) > 0 && feed.client[0] == mustFP(t, jp.fp)
	feed.mu.Unlock()
	if !sawCert {
		t.Errorf("JP did not present its node certificate to the server")
	}
}

func mustFP(t *testing.T, s string) [32]byte {
	fp, err := federation.ParseFingerprint(s)
	if err != nil {
		t.Fatal(err)
	}
	return fp
}

// TestForgedVersionRefused: a partner that serves a later version of an
// object another node owns is refused, whether it signs as itself (the
// store refuses a version by a non-owner) or forges the owner's
// signature (provenance does not verify); both are counted and audited.
func TestForgedVersionRefused(t *testing.T) {
	t.Parallel()
	in, jp := newNode(t, "IN", "IN"), newNode(t, "JP", "JP")
	pair(t, in, jp, "pull")
	x := newID()
	in.importObjects("shared", []string{indicator(x, day0, []string{stix.TLPGreen}, "")})
	key := func(id string, at time.Time) string { return id + "@" + at.Format(time.RFC3339Nano) }
	waitFor(t, "IN's object on JP", 60*time.Second, func() bool { return ids(jp.versions("from-IN"))[key(x, day0)] == 1 }, in, jp)

	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	evil := newPlainTAXII(t)
	later := day0.Add(time.Hour)
	forgedOwn := indicator(x, later, []string{stix.TLPGreen}, `, "description": "forged by EVIL"`)
	forgedIN := indicator(x, later.Add(time.Hour), []string{stix.TLPGreen}, `, "description": "forged as IN"`)
	evil.add(forgedOwn, forgedIN)
	evil.extra = func(objs []string) map[string]any {
		m := map[string]any{}
		for _, o := range objs {
			obj, err := stix.Parse([]byte(o))
			if err != nil {
				t.Error(err)
				continue
			}
			signer := federation.Signer{Name: "EVIL", Key: priv}
			if strings.Contains(o, "forged as IN") {
				signer.Name = "IN"
			}
			ps, err := federation.Sign(signer, time.Now(), [][]byte{obj.Canonical})
			if err != nil {
				t.Error(err)
				continue
			}
			b, _ := ps[0].Encode()
			m[federation.Key(obj.ID, obj.Modified)] = json.RawMessage(b)
		}
		return map[string]any{federation.EnvelopeProperty: m}
	}
	jp.run("peer", "add", "EVIL", "--url", evil.url(), "--fingerprint", evil.fingerprint(),
		"--signing-key", base64.StdEncoding.EncodeToString(pub))
	jp.agreement("EVIL", 1, nil, "from-EVIL", "pull", "")

	waitFor(t, "both forgeries refused", 60*time.Second, func() bool {
		c := jp.counts("EVIL")
		return c["refused:not-owner"] == 1 && c["refused:provenance-signature"] == 1
	}, jp)
	for _, coll := range []string{"from-IN", "from-EVIL"} {
		for _, v := range jp.versions(coll) {
			if v.ID == x && !v.VersionTime.Equal(day0) {
				t.Errorf("a forged version of %s is stored in %s: %s", x, coll, v.Body)
			}
		}
	}
	jp.stop()
	exp := jp.run("audit", "export")
	for _, want := range []string{"not-owner", "provenance-signature"} {
		if !strings.Contains(exp, want) {
			t.Errorf("JP's audit log does not record the %s refusal", want)
		}
	}
}

// TestRedNeverLeaves: whatever the agreement says, TLP:RED and objects
// distributed to their submitting organisation only stay on the node.
func TestRedNeverLeaves(t *testing.T) {
	t.Parallel()
	in, jp := newNode(t, "IN", "IN"), newNode(t, "JP", "JP")
	pair(t, in, jp, "pull")
	orgID, orgDef := distribution(t, policy.ScopeOrg)
	red, orgOnly, ok := newID(), newID(), newID()
	in.importObjects("shared", []string{
		orgDef,
		indicator(red, day0, []string{stix.TLPRed}, ""),
		indicator(orgOnly, day0, []string{stix.TLPGreen, orgID}, ""),
		indicator(ok, day0, []string{stix.TLPGreen}, ""),
	})
	waitFor(t, "the releasable object on JP", 60*time.Second, func() bool { return jp.count("from-IN") >= 1 }, in, jp)
	waitFor(t, "IN's egress to catch up", 30*time.Second, func() bool { return behindZero(in.run("peer", "status")) }, in)
	for _, v := range jp.versions("from-IN") {
		if v.ID == red || v.ID == orgOnly {
			t.Errorf("%s left IN", v.ID)
		}
	}
	c := in.counts("JP")
	if c["withheld:tlp-red"] != 1 || c["withheld:distribution-org"] != 1 {
		t.Errorf("IN's counters: %v", c)
	}
}

// TestPinMismatch: a server whose certificate is not the one pinned for
// the peer gets no request past the handshake.
func TestPinMismatch(t *testing.T) {
	t.Parallel()
	feed := newPlainTAXII(t)
	feed.add(indicator(newID(), day0, []string{stix.TLPGreen}, ""))
	jp := newNode(t, "JP", "JP")
	jp.start()
	wrong := strings.Repeat("AB:", 31) + "AB"
	jp.run("peer", "add", "FEED", "--url", feed.url(), "--fingerprint", wrong)
	jp.agreement("FEED", 1, nil, "from-FEED", "pull", "")
	waitFor(t, "JP to fail against the unpinned server", 60*time.Second, func() bool { return jp.counts("FEED")["errors"] >= 1 }, jp)
	if n := jp.count("from-FEED"); n != 0 {
		t.Errorf("JP stored %d objects from a server with another certificate", n)
	}
	feed.mu.Lock()
	defer feed.mu.Unlock()
	if len(feed.client) != 0 {
		t.Errorf("a request reached the server past the pin check")
	}
}

package bench

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/setu-cti/setu/internal/account"
	"github.com/setu-cti/setu/internal/httpserver"
	"github.com/setu-cti/setu/internal/ingest"
	"github.com/setu-cti/setu/internal/match"
	"github.com/setu-cti/setu/internal/store"
	"github.com/setu-cti/setu/internal/store/sqlite"
	"github.com/setu-cti/setu/internal/taxii"
	"github.com/setu-cti/setu/internal/taxiiserver"
)

// TAXII targets and fixed parameters.
const (
	targetPostRate   = 10_000 // objects/s over all POSTs, each until its status is complete
	targetPostSteady = 0.80   // rate of the last POST / rate of the first
	readerPage       = 100    // page size of the concurrent readers
	apiRoot          = "api/" // the server's single API root, relative to its base URL
	// statusPoll is how often a client asks whether its POST is complete. A
	// POST is counted until the first status that says so, so the interval
	// bounds how much a batch's time can be overstated; it is short next to
	// the ~100 ms a batch of 1,000 takes at the target rate.
	statusPoll = 2 * time.Millisecond
	// requestTimeout bounds every HTTP exchange and every wait for a status,
	// so a stuck server fails the run instead of hanging it.
	requestTimeout = 2 * time.Minute
)

// taxiiStats is what the TAXII phases observed, beyond the printed figures;
// tests check it.
type taxiiStats struct {
	Posted      int // objects posted in the throughput phase and reported successes
	Pulled      int // objects in the full pull of the large collection
	PulledSmall int // objects in each full pull of the small collection
	Lookups     int // match[id] lookups answered with exactly the object asked for
	Reads       int // pages read by the concurrent readers
	Written     int // objects the writer posted during the concurrent reads
	Errors      int // failed requests or wrong answers while reading concurrently
}

// node is a running TAXII server as a deployment runs one: taxiiserver with
// its POST worker, behind the node's root handler, over TLS with the node's
// certificate, on a loopback port; with one account that may read and write
// the collections it was started for.
type node struct {
	url          string
	roots        *x509.CertPool // trusts the node's certificate
	user, secret string
	identity     string // the account's organisation as creator of objects
	srv          *http.Server
	stopWork     context.CancelFunc
	worked       chan struct{} // closed when the worker has returned
	served       chan error
}

// startNode creates organisation, user, token and grants named name in db,
// and serves db's TAXII API until close. name must be new to db.
func startNode(ctx context.Context, db taxiiserver.DB, name string, stderr io.Writer, collections ...string) (*node, error) {
	now := time.Now().UTC()
	org := account.Org{ID: name, Name: "Benchmark " + name, Country: "ZZ", Kind: account.Business, Created: now}
	if err := db.CreateOrg(ctx, org); err != nil {
		return nil, fmt.Errorf("creating organisation %s: %w", name, err)
	}
	// An analyst: the least role that may both read and write, so the
	// server does the grant checks a member organisation's client costs it.
	if err := db.CreateUser(ctx, account.User{Name: name, Org: name, Role: account.Analyst, Created: now}); err != nil {
		return nil, fmt.Errorf("creating user %s: %w", name, err)
	}
	secret, tok, err := account.NewToken(name, "setu-bench", now, 0)
	if err != nil {
		return nil, err
	}
	if err := db.CreateToken(ctx, tok); err != nil {
		return nil, err
	}
	for _, c := range collections {
		if err := db.SetGrant(ctx, store.Grant{Collection: c, Org: name, Read: true, Write: true}); err != nil {
			return nil, err
		}
	}
	ts, err := taxiiserver.New(ctx, taxiiserver.Config{DB: db, Ingest: ingest.New(db, 0, ingest.WithPatterns(match.DefaultWarninglist())), Instance: "setu-bench-" + name})
	if err != nil {
		return nil, err
	}
	cert, _, err := httpserver.NodeCertificate(ctx, db, "", "", now)
	if err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	n := &node{
		url:   "https://" + ln.Addr().String() + "/",
		roots: roots, user: name, secret: secret, identity: org.IdentityID(),
		srv: &http.Server{
			Handler:           httpserver.New(httpserver.Config{Store: db, TAXII: ts}),
			ReadHeaderTimeout: 10 * time.Second,
			TLSConfig:         httpserver.TLSConfig(cert),
			ErrorLog:          log.New(stderr, "setu-bench: server: ", 0),
		},
		worked: make(chan struct{}),
		served: make(chan error, 1),
	}
	// The worker outlives a cancelled ctx until close, as serve's does, so
	// shutting down never strands a request waiting on it.
	workCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	n.stopWork = stop
	go func() { defer close(n.worked); ts.Run(workCtx) }()
	go func() { n.served <- n.srv.Serve(tls.NewListener(ln, n.srv.TLSConfig)) }()
	return n, nil
}

// close stops serving, waits for requests in flight, then stops the worker.
func (n *node) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := n.srv.Shutdown(ctx)
	n.stopWork()
	<-n.worked
	if serr := <-n.served; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}

// client returns a TAXII client of the node's account with a transport of
// its own: each client has its own connections and TLS sessions, as separate
// clients on the network would. Call the returned function when done.
func (n *node) client() (*taxii.Client, func(), error) {
	tr := &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: n.roots, MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     time.Minute,
	}
	c, err := taxii.NewClient(n.url,
		taxii.WithHTTPClient(&http.Client{Transport: tr, Timeout: requestTimeout}),
		taxii.WithBasicAuth(n.user, n.secret), taxii.WithPollInterval(statusPoll))
	if err != nil {
		return nil, nil, err
	}
	return c, tr.CloseIdleConnections, nil
}

// post sends one envelope and waits until its status is no longer pending;
// every object must have succeeded as a new one.
func post(ctx context.Context, c *taxii.Client, coll string, env []byte, want int) error {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	st, err := c.AddEnvelope(ctx, apiRoot, coll, env)
	if err != nil {
		return err
	}
	if st.Status == taxii.StatusPending {
		id := st.ID
		if st, err = c.WaitStatus(ctx, apiRoot, id); err != nil {
			return fmt.Errorf("status %s: %w", id, err)
		}
	}
	if st.Status != taxii.StatusComplete || st.SuccessCount != want || st.FailureCount != 0 {
		first := ""
		if len(st.Failures) > 0 {
			first = ": " + st.Failures[0].Message
		}
		return fmt.Errorf("status %s is %s with %d successes and %d failures of %d objects%s",
			st.ID, st.Status, st.SuccessCount, st.FailureCount, want, first)
	}
	for _, d := range st.Successes {
		// A duplicate was not new; a success with warnings (a
		// warninglisted value in a pattern) was stored all the same.
		if strings.HasPrefix(d.Message, "duplicate") {
			return fmt.Errorf("status %s: %s %s", st.ID, d.ID, d.Message)
		}
	}
	return nil
}

// batch returns indicators from..from+n-1 both as the raw objects the store
// baseline ingests and as the TAXII envelope that carries the same bytes.
func batch(gen Indicators, from, n int) (raws [][]byte, env []byte) {
	raws = make([][]byte, n)
	env = make([]byte, 0, n*(objectSize+32)+32)
	env = append(env, `{"objects":[`...)
	for k := range n {
		if k > 0 {
			env = append(env, ',')
		}
		start := len(env)
		env = gen.Append(env, from+k)
		raws[k] = env[start:len(env):len(env)]
	}
	return raws, append(env, "]}"...)
}

// taxii runs the TAXII phases: POST throughput into fresh SQLite stores (and
// PostgreSQL when configured), then paging, lookups and concurrent reading
// through servers over the large and small stores the run imported.
func (r *runner) taxii(ctx context.Context, largeDB, smallDB string) error {
	gen := Indicators{Seed: r.cfg.Seed, Size: objectSize}
	if err := r.taxiiPosts(ctx, gen); err != nil {
		return err
	}
	return r.taxiiReads(ctx, gen, largeDB, smallDB)
}

// taxiiPosts measures POST throughput on the backends the run covers.
func (r *runner) taxiiPosts(ctx context.Context, gen Indicators) error {
	baseDB := filepath.Join(r.cfg.Dir, "post-baseline.db")
	nodeDB := filepath.Join(r.cfg.Dir, "post-taxii.db")
	for _, p := range []string{baseDB, nodeDB} {
		if err := removeDB(p); err != nil {
			return err
		}
	}
	base, err := sqlite.Open(ctx, baseDB, store.Options{})
	if err != nil {
		return err
	}
	defer base.Close()
	db, err := sqlite.Open(ctx, nodeDB, store.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	// Separate fresh stores take the same objects: the baseline's input is
	// byte for byte what the server receives.
	if err := r.postThroughput(ctx, "sqlite", "the same objects into a fresh store", base, db, "bench", gen, 0, 0); err != nil {
		return err
	}
	if r.cfg.PostgresDSN != "" {
		pg, err := openStore(ctx, "postgres", r.cfg.PostgresDSN)
		if err != nil {
			return err
		}
		defer pg.Close()
		pdb, ok := pg.(taxiiserver.DB)
		if !ok {
			return errors.New("the postgres store cannot run a TAXII server")
		}
		// One database holds both sides and persists between runs, where an
		// object is stored once however many collections list it. Objects
		// new to it (a seed from the clock) and distinct between the sides
		// (two index ranges) keep both sides doing the same work.
		stamp := time.Now().UTC()
		pgen := Indicators{Seed: uint64(stamp.UnixNano()), Size: objectSize}
		total := r.cfg.Posts * r.cfg.PostSize
		if err := r.postThroughput(ctx, "postgres", "as many other new objects into another new collection", pg, pdb, "bench-"+stamp.Format("20060102t150405"), pgen, 0, total); err != nil {
			return err
		}
	}
	return nil
}

// postThroughput POSTs Posts envelopes of PostSize indicators to a
// collection of db, timing each until the client sees its status complete,
// and ingests the same number of objects a batch at a time straight into
// base (the store-level baseline), alternating so that drift in the machine
// affects both alike. Baseline objects are indices baseFrom..., posted ones
// nodeFrom....
func (r *runner) postThroughput(ctx context.Context, backend, baseWhat string, base store.Store, db taxiiserver.DB, name string, gen Indicators, baseFrom, nodeFrom int) error {
	posts, size := r.cfg.Posts, r.cfg.PostSize
	mkColl := func(st store.Store, alias string) (store.Collection, error) {
		c := store.Collection{ID: uuid.NewString(), Alias: alias, Title: alias,
			MediaTypes: []string{taxii.MediaSTIX}, Created: time.Now().UTC()}
		return c, st.CreateCollection(ctx, c)
	}
	bc, err := mkColl(base, name+"-baseline")
	if err != nil {
		return err
	}
	nc, err := mkColl(db, name+"-taxii")
	if err != nil {
		return err
	}
	n, err := startNode(ctx, db, name, r.cfg.Stderr, nc.ID)
	if err != nil {
		return err
	}
	defer n.close()
	// A member organisation publishes what it creates; the baseline stores
	// the same bytes.
	gen.Creator = n.identity
	c, done, err := n.client()
	if err != nil {
		return err
	}
	defer done()
	// The TLS handshake and the first authentication are a client's once
	// per session, not per batch; do them before the clock starts.
	if _, err := c.Collection(ctx, apiRoot, nc.ID); err != nil {
		return err
	}
	in := ingest.New(base, 0)
	baseT := make([]time.Duration, posts)
	postT := make([]time.Duration, posts)
	for k := range posts {
		raws, _ := batch(gen, baseFrom+k*size, size)
		start := time.Now()
		items, err := in.Objects(ctx, bc.ID, raws)
		baseT[k] = time.Since(start)
		if err != nil {
			return err
		}
		for _, it := range items {
			if it.Outcome != ingest.Added {
				return fmt.Errorf("baseline batch %d, object %d: %v %v", k+1, it.Index, it.Outcome, it.Err)
			}
		}
		_, env := batch(gen, nodeFrom+k*size, size)
		start = time.Now()
		err = post(ctx, c, nc.ID, env, size)
		postT[k] = time.Since(start)
		if err != nil {
			return fmt.Errorf("POST %d of %d: %w", k+1, posts, err)
		}
		r.stats.Posted += size
	}
	total := posts * size
	sum := func(ds []time.Duration) time.Duration {
		var t time.Duration
		for _, d := range ds {
			t += d
		}
		return t
	}
	got, baseRate := rate(total, sum(postT)), rate(total, sum(baseT))
	r.figure(true, got >= targetPostRate,
		"post      TAXII over HTTPS, %s, %d POSTs of %s indicators, each until its status is complete: %s = %s obj/s (target >= %s) = %.0f%% of baseline; baseline store-level ingest.Ingester of %s %s = %s obj/s",
		backend, posts, comma(size), secs(sum(postT)), comma(int(got)), comma(targetPostRate), 100*got/baseRate,
		baseWhat, secs(sum(baseT)), comma(int(baseRate)))
	first, last := rate(size, postT[0]), rate(size, postT[posts-1])
	steady := last / first
	r.figure(true, steady >= targetPostSteady,
		"steady    TAXII POST, %s, batch %d vs batch 1 (baseline): %s vs %s obj/s = %.0f%% (target >= %.0f%%); store-level: %.0f%%",
		backend, posts, comma(int(last)), comma(int(first)), 100*steady, 100*targetPostSteady,
		100*rate(size, baseT[posts-1])/rate(size, baseT[0]))
	rates := make([]string, posts)
	for k, d := range postT {
		rates[k] = comma(int(rate(size, d)))
	}
	r.printf("          %s TAXII obj/s by POST: %s", backend, strings.Join(rates, " "))
	return nil
}

// readTarget is one of the two servers the read phases compare.
type readTarget struct {
	st    store.Store
	node  *node
	c     *taxii.Client
	done  func()
	coll  string
	n     int
	pages []time.Duration
	gets  []time.Duration
}

// openReadTarget serves the collection "bench" of the SQLite store at path,
// which holds n objects.
func (r *runner) openReadTarget(ctx context.Context, path string, n int) (*readTarget, error) {
	db, err := sqlite.Open(ctx, path, store.Options{})
	if err != nil {
		return nil, err
	}
	c, err := db.Collection(ctx, "bench")
	if err != nil {
		db.Close()
		return nil, err
	}
	nd, err := startNode(ctx, db, "reader", r.cfg.Stderr, c.ID)
	if err != nil {
		db.Close()
		return nil, err
	}
	cl, done, err := nd.client()
	if err != nil {
		nd.close()
		db.Close()
		return nil, err
	}
	return &readTarget{st: db, node: nd, c: cl, done: done, coll: c.ID, n: n}, nil
}

func (t *readTarget) close() {
	t.done()
	t.node.close()
	t.st.Close()
}

// taxiiReads pulls whole collections, looks objects up by id and reads
// concurrently while writing, through servers over the two stores.
func (r *runner) taxiiReads(ctx context.Context, gen Indicators, largeDB, smallDB string) error {
	lt, err := r.openReadTarget(ctx, largeDB, r.cfg.N)
	if err != nil {
		return err
	}
	defer lt.close()
	sm, err := r.openReadTarget(ctx, smallDB, r.cfg.Small)
	if err != nil {
		return err
	}
	defer sm.close()
	for _, t := range []*readTarget{lt, sm} {
		if _, err := t.c.Collection(ctx, apiRoot, t.coll); err != nil {
			return err
		}
	}
	if err := r.pull(ctx, lt, sm); err != nil {
		return err
	}
	if err := r.lookups(ctx, gen, lt, sm); err != nil {
		return err
	}
	return r.concurrent(ctx, gen, lt)
}

// puller follows next through a whole collection, page by page.
type puller struct {
	t     *readTarget
	next  string
	got   int // objects so far in the current pull
	pages int // pages so far in the current pull
	pulls int // pulls completed
}

// step reads one page, timing it; at the end of a pull it checks the count
// and starts over.
func (p *puller) step(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	start := time.Now()
	env, _, err := p.t.c.GetObjects(ctx, apiRoot, p.t.coll, taxii.Filter{Limit: pageSize, Next: p.next})
	d := time.Since(start)
	if err != nil {
		return err
	}
	p.t.pages = append(p.t.pages, d)
	p.got += len(env.Objects)
	p.pages++
	switch {
	case len(env.Objects) > pageSize || env.More && len(env.Objects) != pageSize:
		return fmt.Errorf("page %d of a pull: %d objects (more: %v)", p.pages, len(env.Objects), env.More)
	case env.More && env.Next == "":
		return fmt.Errorf("page %d of a pull: more without next", p.pages)
	case env.More:
		p.next = env.Next
		// Bounds the loop even against a server that never says the end.
		if p.pages > p.t.n/pageSize+1 {
			return fmt.Errorf("pull of %s objects still going after %d pages", comma(p.t.n), p.pages)
		}
	case p.got != p.t.n:
		return fmt.Errorf("pull returned %d objects, want %d", p.got, p.t.n)
	default:
		p.next, p.got, p.pages = "", 0, 0
		p.pulls++
	}
	return nil
}

// pull reads the whole large collection once at pageSize a page, taking a
// page of the small collection after each (pulling it again and again), so
// both are timed side by side over the same stretch of the run.
func (r *runner) pull(ctx context.Context, lt, sm *readTarget) error {
	lp, sp := &puller{t: lt}, &puller{t: sm}
	start := time.Now()
	var took time.Duration
	for lp.pulls == 0 {
		s := time.Now()
		if err := lp.step(ctx); err != nil {
			return fmt.Errorf("TAXII pull of %s objects: %w", comma(lt.n), err)
		}
		took += time.Since(s)
		if err := sp.step(ctx); err != nil {
			return fmt.Errorf("TAXII pull of %s objects: %w", comma(sm.n), err)
		}
	}
	r.stats.Pulled = lt.n
	r.stats.PulledSmall = sm.n
	pl, ps := median(lt.pages), median(sm.pages)
	ratio := float64(pl) / float64(max(ps, 1))
	r.figure(true, ratio <= targetScale,
		"pull      TAXII over HTTPS, sqlite, whole collection by next, limit %s: median page %s at %s vs %s at %s (baseline) = %.2f× (target <= %.0f×); %s pages, all %s objects in %s = %s obj/s (%s with the interleaved small pages)",
		comma(pageSize), dur(pl), comma(lt.n), dur(ps), comma(sm.n), ratio, targetScale,
		comma(len(lt.pages)), comma(lt.n), secs(took), comma(int(rate(lt.n, took))), secs(time.Since(start)))
	return nil
}

// lookups times GET objects/?match[id]=X for random ids in both
// collections, alternating, the first tenth as warm-up.
func (r *runner) lookups(ctx context.Context, gen Indicators, lt, sm *readTarget) error {
	rng := rand.New(rand.NewPCG(r.cfg.Seed, 0x7a11))
	get := func(t *readTarget, record bool) error {
		ctx, cancel := context.WithTimeout(ctx, requestTimeout)
		defer cancel()
		id := gen.ID(rng.IntN(t.n))
		start := time.Now()
		env, _, err := t.c.GetObjects(ctx, apiRoot, t.coll, taxii.Filter{IDs: []string{id}})
		d := time.Since(start)
		if err != nil {
			return fmt.Errorf("match[id]=%s: %w", id, err)
		}
		if len(env.Objects) != 1 || objectID(env.Objects[0]) != id {
			return fmt.Errorf("match[id]=%s: %d objects", id, len(env.Objects))
		}
		if record {
			t.gets = append(t.gets, d)
			r.stats.Lookups++
		}
		return nil
	}
	samples := r.cfg.Samples
	for i := range samples + samples/10 {
		for _, t := range []*readTarget{lt, sm} {
			if err := get(t, i >= samples/10); err != nil {
				return err
			}
		}
	}
	gl, gs := median(lt.gets), median(sm.gets)
	ratio := float64(gl) / float64(max(gs, 1))
	r.figure(true, ratio <= targetScale,
		"lookup    TAXII over HTTPS, sqlite, GET objects/?match[id]=: median %s at %s vs %s at %s (baseline) = %.2f× (target <= %.0f×), %s samples at random ids",
		dur(gl), comma(lt.n), dur(gs), comma(sm.n), ratio, targetScale, comma(len(lt.gets)))
	return nil
}

func objectID(raw []byte) string {
	var o struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(raw, &o) != nil {
		return ""
	}
	return o.ID
}

// readLoad is the outcome of a spell of reading.
type readLoad struct {
	lat     []time.Duration // successful pages
	errs    int
	firstEr error
	took    time.Duration
	cpu     time.Duration // this process's, server and clients alike
}

// concurrent reads pages of readerPage objects from the large collection
// with Readers clients at once while one more client POSTs batches, and
// compares the page latency with that of a single client reading alone. Both
// spells are bounded by ReadFor and, when set, ReadRequests per reader.
func (r *runner) concurrent(ctx context.Context, gen Indicators, lt *readTarget) error {
	// Readers start from random added_after times across the collection.
	p, err := lt.st.Query(ctx, store.Query{Collection: lt.coll, Limit: 1, NoBody: true})
	if err != nil || len(p.Versions) == 0 {
		return fmt.Errorf("first row of the large collection: %v", err)
	}
	lo := p.Versions[0].DateAdded
	s, err := lt.st.Stats(ctx)
	if err != nil {
		return err
	}
	p, err = lt.st.Query(ctx, store.Query{Collection: lt.coll, After: s.LastSeq - 1, Limit: 1, NoBody: true})
	if err != nil || len(p.Versions) == 0 {
		return fmt.Errorf("last row of the large collection: %v", err)
	}
	hi := p.Versions[0].DateAdded

	alone, err := r.readSpell(ctx, lt, 1, lo, hi, nil)
	if err != nil {
		return err
	}
	var w writeLoad
	many, err := r.readSpell(ctx, lt, r.cfg.Readers, lo, hi, func(ctx context.Context, stop <-chan struct{}) {
		w = r.write(ctx, gen, lt, stop)
	})
	if err != nil {
		return err
	}
	errs := many.errs + w.errs
	r.stats.Reads = len(many.lat)
	r.stats.Written = w.objects
	r.stats.Errors = errs + alone.errs
	why := ""
	for _, e := range []error{many.firstEr, w.firstEr, alone.firstEr} {
		if e != nil {
			why = fmt.Sprintf(" (first: %v)", e)
			break
		}
	}
	p50, p99 := quantile(many.lat, 0.50), quantile(many.lat, 0.99)
	b50, b99 := quantile(alone.lat, 0.50), quantile(alone.lat, 0.99)
	r.figure(true, errs == 0 && alone.errs == 0,
		"readers   TAXII over HTTPS, sqlite, %d clients reading pages of %d at random added_after or by next for %s, while one more POSTs batches of %s: %d errors (target 0)%s; %s pages = %s/s, p50 %s p99 %s vs one client alone (baseline) %s pages = %s/s, p50 %s p99 %s = %.1f× p50, %.1f× p99; writer %d batches, %s obj/s, %d errors",
		r.cfg.Readers, readerPage, secs(many.took), comma(r.cfg.PostSize), errs+alone.errs, why,
		comma(len(many.lat)), comma(int(rate(len(many.lat), many.took))), dur(p50), dur(p99),
		comma(len(alone.lat)), comma(int(rate(len(alone.lat), alone.took))), dur(b50), dur(b99),
		float64(p50)/float64(max(b50, 1)), float64(p99)/float64(max(b99, 1)),
		w.batches, comma(int(rate(w.objects, max(w.took, 1)))), w.errs)
	// Server and clients share this process: its CPU time per page tells
	// work that grows with concurrency from waiting, on a lock or on other
	// load of the machine (which the load average shows).
	r.printf("          process CPU (server, readers and writer): %s per page over %s wall together, %s per page over %s wall alone; %d CPUs%s",
		dur(many.cpu/time.Duration(max(len(many.lat), 1))), secs(many.took),
		dur(alone.cpu/time.Duration(max(len(alone.lat), 1))), secs(alone.took), runtime.NumCPU(), loadAvg())
	return nil
}

// readSpell runs readers clients until ReadFor has passed or each has made
// ReadRequests requests, with side (if not nil) running alongside until the
// readers stop. A reader that fails goes on reading: errors are counted, not
// fatal, so one failure does not hide how many there were.
func (r *runner) readSpell(ctx context.Context, t *readTarget, readers int, lo, hi time.Time,
	side func(ctx context.Context, stop <-chan struct{})) (readLoad, error) {
	clients := make([]*taxii.Client, readers)
	for i := range clients {
		c, done, err := t.node.client()
		if err != nil {
			return readLoad{}, err
		}
		defer done()
		clients[i] = c
	}
	// Connect every client before the clock starts, as clients that poll a
	// server keep their connections.
	for _, c := range clients {
		if _, err := c.Collection(ctx, apiRoot, t.coll); err != nil {
			return readLoad{}, err
		}
	}
	stop := make(chan struct{})
	var sideDone sync.WaitGroup
	if side != nil {
		sideDone.Add(1)
		go func() { defer sideDone.Done(); side(ctx, stop) }()
	}
	deadline := time.Now().Add(r.cfg.ReadFor)
	cpu := selfCPU()
	start := time.Now()
	loads := make([]readLoad, readers)
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(r.cfg.Seed, uint64(i)))
			loads[i] = readPages(ctx, c, t.coll, rng, lo, hi, deadline, r.cfg.ReadRequests)
		}()
	}
	wg.Wait()
	took := time.Since(start)
	close(stop)
	sideDone.Wait()
	var out readLoad
	out.took = took
	out.cpu = selfCPU() - cpu
	for _, l := range loads {
		out.lat = append(out.lat, l.lat...)
		out.errs += l.errs
		if out.firstEr == nil {
			out.firstEr = l.firstEr
		}
	}
	return out, ctx.Err()
}

// readPages is one reader: a page at a random added_after, then usually the
// next page or two by the server's next token, then a new random start; as
// clients that poll from where they were and clients that start afresh mix.
func readPages(ctx context.Context, c *taxii.Client, coll string, rng *rand.Rand, lo, hi, deadline time.Time, maxReq int) readLoad {
	var l readLoad
	fail := func(err error) {
		l.errs++
		if l.firstEr == nil {
			l.firstEr = err
		}
	}
	span := max(int64(hi.Sub(lo)), 1)
	var f taxii.Filter
	for k := 0; (maxReq <= 0 || k < maxReq) && time.Now().Before(deadline) && ctx.Err() == nil; k++ {
		// A next token is bound to the filters it was issued under, so a
		// reader following one repeats its added_after.
		if f.Next == "" {
			f = taxii.Filter{Limit: readerPage, AddedAfter: lo.Add(time.Duration(rng.Int64N(span)))}
		}
		rctx, cancel := context.WithTimeout(ctx, requestTimeout)
		start := time.Now()
		env, _, err := c.GetObjects(rctx, apiRoot, coll, f)
		d := time.Since(start)
		cancel()
		f.Next = ""
		switch {
		case err != nil:
			fail(err)
			continue
		case len(env.Objects) > readerPage || env.More && (len(env.Objects) != readerPage || env.Next == ""):
			fail(fmt.Errorf("page of %d objects, more %v, next %q", len(env.Objects), env.More, env.Next))
			continue
		}
		l.lat = append(l.lat, d)
		if env.More && rng.IntN(3) != 0 {
			f.Next = env.Next
		}
	}
	return l
}

// writeLoad is what the writer did while the readers read.
type writeLoad struct {
	batches, objects, errs int
	firstEr                error
	took                   time.Duration
}

// write POSTs batches of PostSize new indicators to the collection, each
// until complete, until stop is closed. The objects are indices after the
// collection's own, so every one is new.
func (r *runner) write(ctx context.Context, gen Indicators, t *readTarget, stop <-chan struct{}) writeLoad {
	var w writeLoad
	c, done, err := t.node.client()
	if err != nil {
		w.errs, w.firstEr = 1, err
		return w
	}
	defer done()
	gen.Creator = t.node.identity
	start := time.Now()
	// Bounded by stop, and by a count no run reaches, against a stop that
	// never comes.
	for k := 0; k < 100_000 && ctx.Err() == nil; k++ {
		select {
		case <-stop:
			w.took = time.Since(start)
			return w
		default:
		}
		_, env := batch(gen, t.n+k*r.cfg.PostSize, r.cfg.PostSize)
		if err := post(ctx, c, t.coll, env, r.cfg.PostSize); err != nil {
			w.errs++
			if w.firstEr == nil {
				w.firstEr = err
			}
			continue
		}
		w.batches++
		w.objects += r.cfg.PostSize
	}
	w.took = time.Since(start)
	return w
}

// quantile is the nearest-rank q-quantile of ds.
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	k := int(q*float64(len(s))+0.999999) - 1
	return s[min(max(k, 0), len(s)-1)]
}

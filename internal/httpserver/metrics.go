package httpserver

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"
)

// Metrics counts requests and ingestion and serves them in the Prometheus
// text exposition format. The zero value is not usable; use NewMetrics.
// Safe for concurrent use.
type Metrics struct {
	mu       sync.Mutex
	requests map[reqKey]uint64
	reqDur   map[string]*histogram // by endpoint
	objects  map[string]uint64     // by outcome
	ingest   *histogram
	// collectors write further metric families that others keep (the
	// sync engine's, read from the store), after the lock is released.
	collectors []func(io.Writer)
}

// AddCollector adds a writer of further metric families to every
// exposition; call before serving.
func (m *Metrics) AddCollector(f func(io.Writer)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.collectors = append(m.collectors, f)
}

type reqKey struct {
	endpoint, method string
	status           int
}

// Buckets in seconds, from sub-millisecond reads to long imports.
var buckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

type histogram struct {
	counts []uint64 // per bucket, cumulative at exposition
	sum    float64
	n      uint64
}

func newHistogram() *histogram { return &histogram{counts: make([]uint64, len(buckets))} }

func (h *histogram) observe(s float64) {
	for i, b := range buckets {
		if s <= b {
			h.counts[i]++
			break
		}
	}
	h.sum += s
	h.n++
}

// NewMetrics returns an empty registry.
func NewMetrics() *Metrics {
	return &Metrics{requests: map[reqKey]uint64{}, reqDur: map[string]*histogram{},
		objects: map[string]uint64{}, ingest: newHistogram()}
}

// methods are the request methods counted under their own name. The method
// comes from the client, so any other is counted as "other": each distinct
// label value is a series kept for the life of the process, and clients
// must not be able to add series at will.
var methods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
	http.MethodPatch, http.MethodDelete, http.MethodOptions}

// Request counts one HTTP request.
func (m *Metrics) Request(endpoint, method string, status int, d time.Duration) {
	if !slices.Contains(methods, method) {
		method = "other"
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests[reqKey{endpoint, method, status}]++
	h := m.reqDur[endpoint]
	if h == nil {
		h = newHistogram()
		m.reqDur[endpoint] = h
	}
	h.observe(d.Seconds())
}

// Ingested counts the objects of one ingested batch and its latency.
func (m *Metrics) Ingested(added, duplicate, rejected int, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.objects["added"] += uint64(added)
	m.objects["duplicate"] += uint64(duplicate)
	m.objects["rejected"] += uint64(rejected)
	m.ingest.observe(d.Seconds())
}

// ServeHTTP writes the exposition. It is rendered into memory under the
// lock and sent after releasing it: every request takes the same lock to be
// counted, so a slow scraper must not hold it while the network drains.
func (m *Metrics) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var b bytes.Buffer
	m.render(&b)
	m.mu.Lock()
	cs := slices.Clone(m.collectors)
	m.mu.Unlock()
	for _, c := range cs {
		c(&b)
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	w.Write(b.Bytes())
}

func (m *Metrics) render(w io.Writer) {
	m.mu.Lock()
	defer m.mu.Unlock()

	fmt.Fprintln(w, "# HELP setu_http_requests_total HTTP requests by endpoint, method and status.")
	fmt.Fprintln(w, "# TYPE setu_http_requests_total counter")
	keys := make([]reqKey, 0, len(m.requests))
	for k := range m.requests {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.endpoint != b.endpoint {
			return a.endpoint < b.endpoint
		}
		if a.method != b.method {
			return a.method < b.method
		}
		return a.status < b.status
	})
	for _, k := range keys {
		fmt.Fprintf(w, "setu_http_requests_total{endpoint=%q,method=%q,status=%q} %d\n", k.endpoint, k.method, strconv.Itoa(k.status), m.requests[k])
	}

	fmt.Fprintln(w, "# HELP setu_http_request_duration_seconds HTTP request latency by endpoint.")
	fmt.Fprintln(w, "# TYPE setu_http_request_duration_seconds histogram")
	eps := make([]string, 0, len(m.reqDur))
	for ep := range m.reqDur {
		eps = append(eps, ep)
	}
	sort.Strings(eps)
	for _, ep := range eps {
		writeHistogram(w, "setu_http_request_duration_seconds", fmt.Sprintf("endpoint=%q,", ep), m.reqDur[ep])
	}

	fmt.Fprintln(w, "# HELP setu_objects_ingested_total Objects decided by the write path, by outcome.")
	fmt.Fprintln(w, "# TYPE setu_objects_ingested_total counter")
	for _, o := range []string{"added", "duplicate", "rejected"} {
		fmt.Fprintf(w, "setu_objects_ingested_total{outcome=%q} %d\n", o, m.objects[o])
	}
	fmt.Fprintln(w, "# HELP setu_ingest_duration_seconds Latency of ingesting one submitted envelope.")
	fmt.Fprintln(w, "# TYPE setu_ingest_duration_seconds histogram")
	writeHistogram(w, "setu_ingest_duration_seconds", "", m.ingest)
}

func writeHistogram(w io.Writer, name, labels string, h *histogram) {
	var cum uint64
	for i, b := range buckets {
		cum += h.counts[i]
		fmt.Fprintf(w, "%s_bucket{%sle=%q} %d\n", name, labels, strconv.FormatFloat(b, 'g', -1, 64), cum)
	}
	fmt.Fprintf(w, "%s_bucket{%sle=\"+Inf\"} %d\n", name, labels, h.n)
	trim := labels
	if trim != "" {
		trim = "{" + trim[:len(trim)-1] + "}"
	}
	fmt.Fprintf(w, "%s_sum%s %g\n", name, trim, h.sum)
	fmt.Fprintf(w, "%s_count%s %d\n", name, trim, h.n)
}

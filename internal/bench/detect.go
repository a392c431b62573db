package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"github.com/setu-cti/setu/internal/detect"
	"github.com/setu-cti/setu/internal/event"
	"github.com/setu-cti/setu/internal/ingest"
	"github.com/setu-cti/setu/internal/match"
	"github.com/setu-cti/setu/internal/policy"
)

// Target of the end-to-end detection figure.
const targetDetectRatio = 0.5 // setu match over NDJSON / a bare decode of the same events

// detectEvents is how many NDJSON events the end-to-end figure matches.
const detectEvents = 200_000

// mixedIndicator writes indicator i of a mixed feed: domains, URLs, SHA-256
// hashes, IPv4 addresses and CIDR blocks, in turns.
func mixedIndicator(dst []byte, i int) []byte {
	g := Indicators{Seed: 7}
	u := g.uuid(i)
	id := fmt.Sprintf("indicator--%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
	pat := mixedPattern(i)
	b, _ := json.Marshal(pat)
	dst = append(dst, `{"type":"indicator","spec_version":"2.1","id":"`...)
	dst = append(dst, id...)
	dst = append(dst, `","created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:00.000Z","pattern":`...)
	dst = append(dst, b...)
	dst = append(dst, `,"pattern_type":"stix","valid_from":"2024-01-01T00:00:00Z"}`...)
	return dst
}

// mixedValue is the observable value of indicator i, as an event carries it.
func mixedValue(i int) (field, value string) {
	h := mix(uint64(i) ^ golden)
	switch i % 5 {
	case 0:
		return "dns.question.name", fmt.Sprintf("c2-%x.badhost-%d.net", h&0xffffff, i)
	case 1:
		return "url.full", fmt.Sprintf("http://dl-%d.badhost.org/p/%x", i, h)
	case 2:
		return "file.hash.sha256", fmt.Sprintf("%016x%016x%016x%016x", h, mix(h), mix(h+1), mix(h+2))
	case 3:
		// Public address space, avoiding the warninglist's ranges.
		return "destination.ip", fmt.Sprintf("%d.%d.%d.%d", 45+i%50, (i>>16)&255, (i>>8)&255, i&255)
	}
	return "destination.ip", fmt.Sprintf("%d.%d.%d.%d", 100+i%20, (i>>12)&255, (i>>4)&255, 1)
}

func mixedPattern(i int) string {
	f, v := mixedValue(i)
	switch f {
	case "dns.question.name":
		return "[domain-name:value = '" + v + "']"
	case "url.full":
		return "[url:value = '" + v + "']"
	case "file.hash.sha256":
		return "[file:hashes.'SHA-256' = '" + v + "']"
	}
	if i%5 == 4 {
		// A /24 around the address.
		ip := v[:len(v)-2] + ".0/24"
		return "[ipv4-addr:value ISSUBSET '" + ip + "']"
	}
	return "[ipv4-addr:value = '" + v + "']"
}

// detectEvent writes event j: about 500 bytes in ECS field names with five
// observables; one event in ten carries the value of an indicator.
func detectEvent(dst []byte, j, n int) []byte {
	h := mix(uint64(j) + golden)
	src := fmt.Sprintf("192.168.%d.%d", (h>>8)&255, h&255)
	dstIP := fmt.Sprintf("%d.%d.%d.%d", 20+h%30, (h>>16)&255, (h>>24)&255, (h>>32)&255)
	domain := fmt.Sprintf("www.site-%d.com", h%100000)
	url := fmt.Sprintf("https://%s/index-%d.html", domain, h%1000)
	sha := fmt.Sprintf("%016x%016x%016x%016x", mix(h), mix(h+3), mix(h+5), mix(h+7))
	if j%10 == 0 {
		i := int(h % uint64(n))
		f, v := mixedValue(i)
		switch f {
		case "dns.question.name":
			domain = v
		case "url.full":
			url = v
		case "file.hash.sha256":
			sha = v
		default:
			dstIP = v
		}
	}
	ts := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(j) * time.Millisecond).Format(time.RFC3339Nano)
	dst = append(dst, `{"@timestamp":"`...)
	dst = append(dst, ts...)
	dst = append(dst, `","event":{"kind":"event","category":"network","dataset":"proxy.access"},"host":{"name":"gw-`...)
	dst = strconv.AppendInt(dst, int64(h%64), 10)
	dst = append(dst, `"},"source":{"ip":"`...)
	dst = append(dst, src...)
	dst = append(dst, `","port":`...)
	dst = strconv.AppendInt(dst, int64(1024+h%60000), 10)
	dst = append(dst, `},"destination":{"ip":"`...)
	dst = append(dst, dstIP...)
	dst = append(dst, `","port":443},"dns":{"question":{"name":"`...)
	dst = append(dst, domain...)
	dst = append(dst, `"}},"url":{"full":"`...)
	dst = append(dst, url...)
	dst = append(dst, `"},"file":{"hash":{"sha256":"`...)
	dst = append(dst, sha...)
	dst = append(dst, `"}},"user_agent":{"original":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36"},"message":"allowed by policy default-outbound"}`...)
	return dst
}

// detect measures `setu match` end to end: N mixed indicators stored
// through the write path and loaded into the detection engine from the
// store, then NDJSON events read with the event reader, matched, and each
// match written as an NDJSON line (the loop setu match runs), against a
// loop that only decodes the same events with encoding/json into
// map[string]any.
func (r *runner) detect(ctx context.Context) error {
	cfg := r.cfg
	dbPath := filepath.Join(cfg.Dir, "detect.db")
	if err := removeDB(dbPath); err != nil {
		return err
	}
	st, err := openStore(ctx, "sqlite", dbPath)
	if err != nil {
		return err
	}
	defer st.Close()
	start := time.Now()
	if _, err := fill(ctx, st, "indicators", ingest.Operator, cfg.N, mixedIndicator); err != nil {
		return err
	}
	r.printf("setup     sqlite store of %s mixed indicators (domains, URLs, SHA-256, IPv4, CIDR) through ingest.Ingester in %s", comma(cfg.N), secs(time.Since(start)))

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	eng := detect.New(st, policy.Config{}, detect.WithWarninglist(match.DefaultWarninglist()))
	start = time.Now()
	if err := eng.Load(ctx, nil); err != nil {
		return err
	}
	load := time.Since(start)
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	es := eng.Stats()
	r.printf("load      detection engine from the store: %s indicators in %s, live heap +%s MB", comma(es.Indicators), secs(load),
		mb(int64(after.HeapAlloc)-int64(before.HeapAlloc)))

	var events bytes.Buffer
	var line []byte
	for j := range detectEvents {
		line = append(detectEvent(line[:0], j, cfg.N), '\n')
		events.Write(line)
	}
	data := events.Bytes()

	bare := func() (int, error) {
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		n := 0
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				return n, err
			}
			n++
		}
		return n, sc.Err()
	}
	matches := 0
	pipeline := func() (int, error) {
		rd, err := event.NewReader(bytes.NewReader(data), event.NDJSON, event.Options{})
		if err != nil {
			return 0, err
		}
		out := bufio.NewWriter(io.Discard)
		enc := json.NewEncoder(out)
		n := 0
		matches = 0
		for {
			ev, err := rd.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return n, err
			}
			n++
			at := ev.Observation.FirstObserved
			for _, h := range eng.Match(nil, &ev.Observation, at) {
				matches++
				if err := enc.Encode(struct {
					Line  int             `json:"line"`
					Event json.RawMessage `json:"event"`
					Hit   detect.Hit      `json:"hit"`
				}{ev.Line, ev.Raw, h}); err != nil {
					return n, err
				}
			}
		}
		return n, out.Flush()
	}
	// bare, pipeline, pipeline, bare after a warm-up of each, so a drift in
	// the machine's speed weighs on both alike.
	var tb, tp time.Duration
	if _, err := bare(); err != nil {
		return err
	}
	if _, err := pipeline(); err != nil {
		return err
	}
	for _, f := range []string{"bare", "pipe", "pipe", "bare"} {
		s := time.Now()
		var err error
		if f == "bare" {
			_, err = bare()
			tb += time.Since(s)
		} else {
			_, err = pipeline()
			tp += time.Since(s)
		}
		if err != nil {
			return err
		}
	}
	bareRate := float64(2*detectEvents) / tb.Seconds()
	pipeRate := float64(2*detectEvents) / tp.Seconds()
	ratio := pipeRate / bareRate
	r.figure(true, ratio >= targetDetectRatio,
		"match     setu match over %s NDJSON events (%d bytes each, 5 observables, 1 in 10 hits) against %s indicators: %s events/s vs %s events/s bare encoding/json decode (baseline) = %.0f%% (target >= %.0f%%); %d matches a pass",
		comma(detectEvents), len(data)/detectEvents, comma(es.Indicators), comma(int(pipeRate)), comma(int(bareRate)), ratio*100, targetDetectRatio*100, matches)
	return nil
}

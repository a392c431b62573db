package event_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/setu-cti/setu/internal/event"
	"github.com/setu-cti/setu/internal/match"
	"github.com/setu-cti/setu/internal/stix/pattern"
)

// benchEvents returns n ECS-style NDJSON events of about 500 bytes, each
// with five observables under the default mapping (two addresses, the
// network-traffic, a domain name and a URL), among fields the mapping
// does not name.
func benchEvents(n int) []byte {
	var b bytes.Buffer
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `{"@timestamp":"%s","event":{"kind":"event","category":["network"],"type":["connection"],"dataset":"proxy.access"},`+
			`"agent":{"name":"sensor-%02d","type":"filebeat","version":"8.13.2"},"host":{"name":"gw-%02d","os":{"family":"linux"}},`+
			`"source":{"ip":"192.0.2.%d","port":%d},"destination":{"ip":"198.51.100.%d","port":443},`+
			`"network":{"transport":"tcp","protocol":"http","bytes":%d},"url":{"full":"https://host%d.example.com/path/%d?q=%d","domain":"host%d.example.com"},`+
			`"http":{"response":{"status_code":200}}}`+"\n",
			t0.Add(time.Duration(i)*time.Millisecond).Format(time.RFC3339Nano), i%16, i%8,
			i%250+1, 40000+i%20000, i%250+1, 1000+i, i%100, i, i%1000, i%100)
	}
	return b.Bytes()
}

// BenchmarkNDJSON compares the NDJSON reader with the bare baseline a
// reader cannot beat by much: splitting lines and decoding each event with
// encoding/json into map[string]any. Run it with
//
//	go test -run '^$' -bench NDJSON -benchtime 2s ./internal/event
//
// and read the speed ratio in the log line it prints (the target is at
// least 0.5 for the whole match path).
func BenchmarkNDJSON(b *testing.B) {
	const n = 2000
	data := benchEvents(n)
	perEvent := float64(len(data)) / n
	var ns [3]float64
	b.Run("baseline=encoding-json-map", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for i := 0; i < b.N; i++ {
			sc := bufio.NewScanner(bytes.NewReader(data))
			sc.Buffer(make([]byte, 64<<10), 1<<20)
			for sc.Scan() {
				var m map[string]any
				if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
					b.Fatal(err)
				}
			}
		}
		ns[0] = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	})
	b.Run("event-reader", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for i := 0; i < b.N; i++ {
			readBench(b, data, nil)
		}
		ns[1] = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	})
	matchers := benchMatchers(b)
	b.Run("event-reader+match-3-patterns", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for i := 0; i < b.N; i++ {
			readBench(b, data, matchers)
		}
		ns[2] = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	})
	if ns[0] > 0 && ns[1] > 0 {
		b.Logf("%d events of %.0f bytes: baseline (bufio.Scanner + encoding/json into map[string]any) %.0f ns/event; "+
			"event reader %.0f ns/event, %.2fx the baseline's speed; with 3 patterns matched per event %.2fx",
			n, perEvent, ns[0]/n, ns[1]/n, ns[0]/ns[1], ns[0]/ns[2])
	}
}

func benchMatchers(b *testing.B) []*match.Matcher {
	var ms []*match.Matcher
	for _, p := range []string{
		"[domain-name:value = 'evil.example']",
		"[network-traffic:dst_ref.value = '198.51.100.7' AND network-traffic:dst_port = 8443]",
		"[url:value = 'https://evil.example/']",
	} {
		m, err := match.Compile(pattern.MustParse(p))
		if err != nil {
			b.Fatal(err)
		}
		ms = append(ms, m)
	}
	return ms
}

func readBench(b *testing.B, data []byte, ms []*match.Matcher) {
	r, err := event.NewReader(bytes.NewReader(data), event.NDJSON, event.Options{})
	if err != nil {
		b.Fatal(err)
	}
	obs := make([]match.Observation, 1)
	for {
		ev, err := r.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			b.Fatal(err)
		}
		if len(ev.Observation.Objects) != 5 {
			b.Fatalf("%d objects", len(ev.Observation.Objects))
		}
		obs[0] = ev.Observation
		for _, m := range ms {
			if _, ok := m.Match(obs); ok {
				b.Fatal("unexpected match")
			}
		}
	}
}

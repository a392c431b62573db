package sqlite_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/setu-cti/setu/internal/store"
	"github.com/setu-cti/setu/internal/store/sqlite"
)

// Benchmarks. The import benchmark is the reproducible measure of the
// storage write path against a bare baseline measured in the same run:
//
//	go test ./internal/store/sqlite -run '^$' -bench Import -benchtime 1x -timeout 30m
//
// SETU_BENCH_OBJECTS sets the number of indicators (default 1,000,000;
// with -short 50,000).

const benchColl = "33333333-3333-4333-8333-333333333333"

// fakeUUID is random-looking but reproducible, so index inserts land at
// random places as they do with real STIX ids.
func fakeUUID(n int) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(n))
	h := sha256.Sum256(b[:])
	x := hex.EncodeToString(h[:16])
	return x[0:8] + "-" + x[8:12] + "-4" + x[13:16] + "-8" + x[17:20] + "-" + x[20:32]
}

var benchBase = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// indicatorJSON is a typical indicator of about 600 bytes.
func indicatorJSON(n int) []byte {
	t := benchBase.Add(time.Duration(n) * time.Millisecond).Format("2006-01-02T15:04:05.000Z")
	return fmt.Appendf(nil, `{"type":"indicator","spec_version":"2.1","id":"indicator--%s","created_by_ref":"identity--%s",`+
		`"created":%q,"modified":%q,"name":"Malicious IP %d","description":"Command and control server observed in a phishing campaign against the energy sector, reported by a partner CERT.",`+
		`"indicator_types":["malicious-activity"],"pattern":"[ipv4-addr:value = '198.51.%d.%d']","pattern_type":"stix","pattern_version":"2.1",`+
		`"valid_from":%q,"labels":["c2","phishing"],"confidence":80,"object_marking_refs":["marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"],`+
		`"external_references":[{"source_name":"partner-cert","external_id":"PC-%d"}]}`,
		fakeUUID(n), fakeUUID(-1), t, t, n, (n>>8)&255, n&255, t, n)
}

func indicatorVersion(n int, body []byte) store.Version {
	t := benchBase.Add(time.Duration(n) * time.Millisecond)
	return store.Version{
		ID: "indicator--" + fakeUUID(n), Type: "indicator", SpecVersion: "2.1",
		Created: t, Modified: t, Body: body, Hash: sha256.Sum256(body),
	}
}

func openBench(b *testing.B) *sqlite.DB {
	b.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if err := db.CreateCollection(context.Background(), store.Collection{ID: benchColl, Title: "bench"}); err != nil {
		b.Fatal(err)
	}
	return db
}

// decodeBaseline is the bare loop the import rate is compared with: a
// streaming encoding/json decode of the same bytes into generic values.
func decodeBaseline(b *testing.B, stream []byte) {
	dec := json.NewDecoder(bytes.NewReader(stream))
	for dec.More() {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPut measures Put in batches of 1,000 into a store that grows
// with b.N.
func BenchmarkPut(b *testing.B) { benchPut(b, nil) }

// BenchmarkPutAudience is BenchmarkPut with the policy metadata a node
// stores with each version: a submitter, encoded facts and two audience
// keys (so two audience rows per collection row).
func BenchmarkPutAudience(b *testing.B) {
	facts := []byte(`{"tlp":"amber","dist":"org"}`)
	benchPut(b, func(n int, v *store.Version) {
		v.Submitter = "org-" + strconv.Itoa(n%50)
		v.Facts = facts
		v.Audience = []string{"node", "org:" + strconv.Itoa(n%50)}
	})
}

func benchPut(b *testing.B, meta func(n int, v *store.Version)) {
	db := openBench(b)
	ctx := context.Background()
	const batch = 1000
	vs := make([]store.Version, 0, batch)
	// The thread's CPU time in Put, next to wall time: on a shared machine
	// it is the steadier measure (see mark).
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var cpu time.Duration
	b.ReportAllocs()
	b.SetBytes(int64(len(indicatorJSON(0))))
	b.ResetTimer()
	for i := 0; i < b.N; i += batch {
		b.StopTimer()
		vs = vs[:0]
		for n := i; n < min(i+batch, b.N); n++ {
			vs = append(vs, indicatorVersion(n, indicatorJSON(n)))
			if meta != nil {
				meta(n, &vs[len(vs)-1])
			}
		}
		b.StartTimer()
		c0 := threadCPU()
		if _, err := db.Put(ctx, benchColl, vs); err != nil {
			b.Fatal(err)
		}
		cpu += threadCPU() - c0
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "objects/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
}

// BenchmarkDecodeBaseline is the bare decode loop alone, for comparison with
// BenchmarkPut.
func BenchmarkDecodeBaseline(b *testing.B) {
	var stream []byte
	for n := range 1000 {
		stream = append(stream, indicatorJSON(n)...)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(stream) / 1000))
	b.ResetTimer()
	for i := 0; i < b.N; i += 1000 {
		decodeBaseline(b, stream)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "objects/s")
}

// BenchmarkImport imports a whole feed in batches of 1,000, timing Put and
// the baseline decode of the same bytes, and reports the import rate as a
// fraction of the baseline rate and the rate of the last tenth relative to
// the first (work that grows with the store shows as a ratio above 1).
func BenchmarkImport(b *testing.B) {
	total := 1_000_000
	if testing.Short() {
		total = 50_000
	}
	if s := os.Getenv("SETU_BENCH_OBJECTS"); s != "" {
		var err error
		if total, err = strconv.Atoi(s); err != nil {
			b.Fatal(err)
		}
	}
	const batch = 1000
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for range b.N {
		db := openBench(b)
		ctx := context.Background()
		// Wall time and process CPU time: on a shared machine the CPU time
		// is the steadier measure of the work each side does.
		start := processCPU()
		var put, decode, first, last span
		var decile [10]span
		prof := os.Getenv("SETU_BENCH_PROFILE") // file name prefix: CPU profiles of the first and last tenth
		vs := make([]store.Version, 0, batch)
		var stream []byte
		for i := 0; i < total; i += batch {
			vs, stream = vs[:0], stream[:0]
			for n := i; n < min(i+batch, total); n++ {
				body := indicatorJSON(n)
				stream = append(stream, body...)
				vs = append(vs, indicatorVersion(n, body))
			}
			if prof != "" && (i == 0 || i == total-total/10) {
				startProfile(b, fmt.Sprintf("%s-%d.prof", prof, i))
			}
			m0 := mark()
			decodeBaseline(b, stream)
			m1 := mark()
			if _, err := db.Put(ctx, benchColl, vs); err != nil {
				b.Fatal(err)
			}
			m2 := mark()
			decode.add(m0, m1)
			put.add(m1, m2)
			if i < total/10 {
				first.add(m1, m2)
			}
			if i >= total-total/10 {
				last.add(m1, m2)
			}
			if prof != "" && i+batch == total/10 {
				pprof.StopCPUProfile()
			}
			decile[i*10/total].add(m1, m2)
		}
		if prof != "" {
			pprof.StopCPUProfile()
		}
		var ds []string
		for _, d := range decile {
			ds = append(ds, fmt.Sprintf("%.0f", float64(total/10)/d.cpu.Seconds()))
		}
		b.Logf("Put objects/s (CPU) per tenth: %s", strings.Join(ds, " "))
		rate := func(d time.Duration) float64 { return float64(total) / d.Seconds() }
		b.ReportMetric(rate(put.wall), "put-objects/s")
		b.ReportMetric(rate(decode.wall), "baseline-objects/s")
		b.ReportMetric(rate(put.wall)/rate(decode.wall), "put/baseline-wall")
		b.ReportMetric(rate(put.cpu)/rate(decode.cpu), "put/baseline-cpu")
		b.ReportMetric(last.wall.Seconds()/first.wall.Seconds(), "last/first-wall")
		b.ReportMetric(last.cpu.Seconds()/first.cpu.Seconds(), "last/first-cpu")
		b.Logf("process CPU for the whole run (decode, Put, checkpoints, GC): %v", processCPU()-start)
		b.Logf("%d objects in batches of %d. Baseline: encoding/json stream decode of the same bytes into map[string]any.", total, batch)
		b.Logf("wall: Put %.0f objects/s, baseline %.0f objects/s, ratio %.2f; first 10%% %v, last 10%% %v, ratio %.2f",
			rate(put.wall), rate(decode.wall), rate(put.wall)/rate(decode.wall), first.wall, last.wall, last.wall.Seconds()/first.wall.Seconds())
		b.Logf("cpu:  Put %.0f objects/s, baseline %.0f objects/s, ratio %.2f; first 10%% %v, last 10%% %v, ratio %.2f",
			rate(put.cpu), rate(decode.cpu), rate(put.cpu)/rate(decode.cpu), first.cpu, last.cpu, last.cpu.Seconds()/first.cpu.Seconds())
	}
}

func startProfile(b *testing.B, name string) {
	f, err := os.Create(name)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	if err := pprof.StartCPUProfile(f); err != nil {
		b.Fatal(err)
	}
}

// span accumulates wall and process CPU time.
type span struct{ wall, cpu time.Duration }

type instant struct {
	wall time.Time
	cpu  time.Duration
}

// mark reads the clocks. The CPU time is the calling thread's where the
// system reports it (the benchmark locks its goroutine to a thread, and
// the driver runs SQLite on the caller's goroutine), so it leaves out other
// processes on a shared machine, the garbage collector's workers and the
// background checkpoint.
func mark() instant { return instant{time.Now(), threadCPU()} }

func (s *span) add(from, to instant) {
	s.wall += to.wall.Sub(from.wall)
	s.cpu += to.cpu - from.cpu
}

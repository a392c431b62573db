package audit

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"
)

// memSink is an Appender over a slice. When gate is set, each append first
// reports on entered and waits for gate.
type memSink struct {
	mu      sync.Mutex
	recs    []Record
	batches [][]Record
	err     error
	entered chan struct{}
	gate    chan struct{}
}

func (m *memSink) AppendAudit(ctx context.Context, rs []Record) ([]Record, error) {
	if m.gate != nil {
		m.entered <- struct{}{}
		<-m.gate
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.batches = append(m.batches, append([]Record(nil), rs...))
	if m.err != nil {
		return nil, m.err
	}
	var seq int64
	var hash [32]byte
	if n := len(m.recs); n > 0 {
		seq, hash = m.recs[n-1].Seq, m.recs[n-1].Hash
	}
	sealed, err := Seal(seq, hash, time.Now(), rs)
	if err != nil {
		return nil, err
	}
	m.recs = append(m.recs, sealed...)
	return sealed, nil
}

func gated() *memSink {
	return &memSink{entered: make(chan struct{}, 100), gate: make(chan struct{})}
}

// waitQueued waits until n records wait in l's queue. It is an observable
// state of the Logger, so it is polled, not slept on.
func waitQueued(t *testing.T, l *Logger, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(l.reqs) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d records queued, waiting for %d", len(l.reqs), n)
		}
		runtime.Gosched()
	}
}

func logAsync(l *Logger, ctx context.Context, r Record) chan error {
	c := make(chan error, 1)
	go func() { c <- l.Log(ctx, r) }()
	return c
}

func TestLoggerGroupCommit(t *testing.T) {
	ctx := context.Background()
	sink := gated()
	l := NewLogger(sink, LoggerOptions{MaxBatch: 8})
	first := logAsync(l, ctx, record(0))
	<-sink.entered // the first append is running: later records queue
	var waiting []chan error
	for i := 1; i <= 11; i++ {
		waiting = append(waiting, logAsync(l, ctx, record(i)))
	}
	waitQueued(t, l, 8) // the queue holds a batch; three more wait to send
	close(sink.gate)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	for _, c := range waiting {
		if err := <-c; err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	var sizes []int
	for _, b := range sink.batches {
		sizes = append(sizes, len(b))
	}
	if len(sink.batches) < 3 || len(sink.batches[0]) != 1 || len(sink.batches[1]) != 8 {
		t.Fatalf("batch sizes %v, want 1, 8, then the rest", sizes)
	}
	if len(sink.recs) != 12 {
		t.Fatalf("%d records appended, want 12", len(sink.recs))
	}
	if err := Verify(stream(sink.recs)); err != nil {
		t.Fatal(err)
	}
}

func TestLoggerErrorFailsItsBatch(t *testing.T) {
	ctx := context.Background()
	sink := gated()
	boom := errors.New("disk full")
	l := NewLogger(sink, LoggerOptions{})
	defer l.Close()
	first := logAsync(l, ctx, record(0))
	<-sink.entered
	a, b := logAsync(l, ctx, record(1)), logAsync(l, ctx, record(2))
	waitQueued(t, l, 2)
	sink.mu.Lock()
	sink.err = boom
	sink.mu.Unlock()
	sink.gate <- struct{}{} // first append fails too: err is already set
	if err := <-first; !errors.Is(err, boom) {
		t.Errorf("first Log = %v, want %v", err, boom)
	}
	<-sink.entered
	sink.gate <- struct{}{}
	for _, c := range []chan error{a, b} {
		if err := <-c; !errors.Is(err, boom) {
			t.Errorf("Log = %v, want %v", err, boom)
		}
	}
	if len(sink.batches) != 2 || len(sink.batches[1]) != 2 {
		t.Errorf("batches %v", sink.batches)
	}
}

func TestLoggerContext(t *testing.T) {
	sink := gated()
	l := NewLogger(sink, LoggerOptions{MaxBatch: 1})
	defer func() {
		close(sink.gate)
		l.Close()
	}()
	done, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.Log(done, record(0)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Log with a cancelled context = %v", err)
	}
	ctx := context.Background()
	first := logAsync(l, ctx, record(1))
	<-sink.entered
	second := logAsync(l, ctx, record(2)) // fills the queue of one
	waitQueued(t, l, 1)
	short, cancel := context.WithCancel(ctx)
	third := logAsync(l, short, record(3)) // cannot join a batch
	cancel()
	if err := <-third; !errors.Is(err, context.Canceled) {
		t.Fatalf("Log cancelled while waiting = %v", err)
	}
	sink.gate <- struct{}{}
	<-sink.entered
	sink.gate <- struct{}{}
	for _, c := range []chan error{first, second} {
		if err := <-c; err != nil {
			t.Fatal(err)
		}
	}
	if len(sink.recs) != 2 || sink.recs[0].Actor != record(1).Actor || sink.recs[1].Actor != record(2).Actor {
		t.Errorf("appended %v", sink.recs)
	}
}

func TestLoggerStampsAndChecks(t *testing.T) {
	sink := &memSink{}
	at := t0.Add(42 * time.Minute)
	l := NewLogger(sink, LoggerOptions{Now: func() time.Time { return at }})
	r := record(0)
	r.Time = time.Time{}
	if err := l.Log(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	if err := l.Log(context.Background(), Record{Action: "read", Actor: "\xff"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("invalid record: %v, want ErrInvalid", err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	if err := l.Log(context.Background(), record(1)); !errors.Is(err, ErrClosed) {
		t.Errorf("Log after Close = %v, want ErrClosed", err)
	}
	if len(sink.recs) != 1 || !sink.recs[0].Time.Equal(at) {
		t.Fatalf("appended %v", sink.recs)
	}
}

// TestLoggerCloseFlushes: records taken before Close are appended before
// Close returns.
func TestLoggerCloseFlushes(t *testing.T) {
	sink := gated()
	l := NewLogger(sink, LoggerOptions{MaxBatch: 4})
	ctx := context.Background()
	var cs []chan error
	cs = append(cs, logAsync(l, ctx, record(0)))
	<-sink.entered
	for i := 1; i <= 4; i++ {
		cs = append(cs, logAsync(l, ctx, record(i)))
	}
	waitQueued(t, l, 4)
	closed := make(chan error)
	go func() { closed <- l.Close() }()
	go func() {
		for range sink.entered {
			sink.gate <- struct{}{}
		}
	}()
	sink.gate <- struct{}{}
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	close(sink.entered)
	for _, c := range cs {
		if err := <-c; err != nil {
			t.Fatal(err)
		}
	}
	if len(sink.recs) != 5 {
		t.Fatalf("%d records appended before Close returned, want 5", len(sink.recs))
	}
}

func BenchmarkLoggerParallel(b *testing.B) {
	sink := &memSink{}
	l := NewLogger(sink, LoggerOptions{})
	defer l.Close()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		r := record(1)
		for pb.Next() {
			if err := l.Log(context.Background(), r); err != nil {
				b.Fatal(err)
			}
		}
	})
}

package audit

import (
	"context"
	"sync"
	"time"
)

// Appender durably appends records to a chain, in order, in one
// transaction: it seals them (Seal) after the stored head and returns the
// sealed records, or an error and appends none. The stores implement it.
type Appender interface {
	AppendAudit(ctx context.Context, rs []Record) ([]Record, error)
}

// LoggerOptions tune a Logger. The zero value is usable.
type LoggerOptions struct {
	// MaxBatch caps the records per append (default 256), bounding the
	// size of one transaction.
	MaxBatch int
	// Now stamps records logged without a Time (default time.Now).
	Now func() time.Time
	// Timeout bounds one append (default: none). An append is shared by
	// every caller in its batch, so it does not run under any one caller's
	// context.
	Timeout time.Duration
}

// Logger appends records with group commit: callers that log while an
// append is running are gathered into the next append, which commits them
// in one transaction, chained in the order they were taken. One append runs
// at a time, so throughput grows with concurrency instead of each caller
// paying for its own commit. A Logger is safe for concurrent use.
type Logger struct {
	sink    Appender
	opts    LoggerOptions
	reqs    chan *request
	mu      sync.RWMutex // held for reading while sending, so Close can close reqs
	closed  bool
	stopped chan struct{}
}

type request struct {
	r    Record
	done chan error
}

// NewLogger starts a Logger appending to sink. Close stops it.
func NewLogger(sink Appender, opts LoggerOptions) *Logger {
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 256
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	l := &Logger{sink: sink, opts: opts, reqs: make(chan *request, opts.MaxBatch), stopped: make(chan struct{})}
	go l.run()
	return l
}

// Log appends r and returns once it is durably stored (nil) or its append
// failed. A zero r.Time is set to the time of the call. If ctx ends before
// the record has joined a batch, Log returns ctx.Err() and the record is not
// appended; once it has joined, Log waits for that batch's outcome, so a nil
// return always means stored and an error from the append means not stored.
// After Close, Log returns ErrClosed.
func (l *Logger) Log(ctx context.Context, r Record) error {
	if r.Time.IsZero() {
		r.Time = l.opts.Now()
	}
	// Reject a bad record here, so it fails alone rather than failing the
	// batch it would have joined.
	if err := r.Check(); err != nil {
		return err
	}
	// Checked first: a select with a send also ready would not prefer it.
	if err := ctx.Err(); err != nil {
		return err
	}
	req := &request{r: r, done: make(chan error, 1)}
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return ErrClosed
	}
	select {
	case l.reqs <- req:
		l.mu.RUnlock()
	case <-ctx.Done():
		l.mu.RUnlock()
		return ctx.Err()
	}
	return <-req.done
}

// Close stops taking records, waits for those already taken to be appended,
// and returns. It is safe to call more than once.
func (l *Logger) Close() error {
	l.mu.Lock()
	if !l.closed {
		l.closed = true
		close(l.reqs)
	}
	l.mu.Unlock()
	<-l.stopped
	return nil
}

func (l *Logger) run() {
	defer close(l.stopped)
	batch := make([]*request, 0, l.opts.MaxBatch)
	for req := range l.reqs {
		batch = append(batch[:0], req)
	gather:
		for len(batch) < l.opts.MaxBatch {
			select {
			case req, ok := <-l.reqs:
				if !ok {
					break gather
				}
				batch = append(batch, req)
			default:
				break gather
			}
		}
		l.append(batch)
	}
}

func (l *Logger) append(batch []*request) {
	rs := make([]Record, len(batch))
	for i, req := range batch {
		rs[i] = req.r
	}
	ctx := context.Background()
	if l.opts.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, l.opts.Timeout)
		defer cancel()
	}
	_, err := l.sink.AppendAudit(ctx, rs)
	for _, req := range batch {
		req.done <- err
	}
}

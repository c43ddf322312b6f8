package audit

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// sink delivers one batch. docs holds each event's OCSF JSON when the sink
// asked for it (wantsOCSF). An error marked permanent is not retried.
type sink interface {
	wantsOCSF() bool
	deliver(ctx context.Context, evs []Event, docs [][]byte) error
	close() error
}

// reopener is a sink that can reopen its file.
type reopener interface{ reopen() error }

// permanent marks a delivery error that retrying cannot fix (the collector
// refused the batch as malformed or unauthorised).
type permanent struct{ error }

func (p permanent) Unwrap() error { return p.error }

// worker owns one sink: a bounded queue, batching and retries, all off
// the request path.
type worker struct {
	name       string
	sink       sink
	q          chan Event
	batchSize  int
	flush      time.Duration
	timeout    time.Duration
	maxRetries int
	product    *Product
	log        *slog.Logger
	counters   sinkCounters

	reopenc chan struct{}
	stopc   chan struct{}
	done    chan struct{}
	ctx     context.Context
	cancel  context.CancelFunc
	buf     []byte
	docs    [][]byte
}

func newWorker(sc SinkConfig, s sink, p *Product, _ *metrics, log *slog.Logger) *worker {
	ctx, cancel := context.WithCancel(context.Background())
	return &worker{
		name: sc.Name, sink: s, q: make(chan Event, sc.QueueSize),
		batchSize: sc.BatchSize, flush: sc.FlushInterval, timeout: sc.Timeout, maxRetries: sc.MaxRetries,
		product: p, log: log,
		reopenc: make(chan struct{}, 1), stopc: make(chan struct{}), done: make(chan struct{}),
		ctx: ctx, cancel: cancel,
	}
}

// enqueue never blocks: a full queue drops the event and counts it.
func (w *worker) enqueue(ev Event) {
	select {
	case w.q <- ev:
	default:
		w.counters.dropQueueFull.Add(1)
	}
}

func (w *worker) requestReopen() {
	select {
	case w.reopenc <- struct{}{}:
	default:
	}
}

// drain stops the worker after it has delivered what is queued; deliveries
// still retrying when ctx ends are abandoned.
func (w *worker) drain(ctx context.Context) {
	close(w.stopc)
	go func() {
		select {
		case <-ctx.Done():
			w.cancel()
		case <-w.done:
		}
	}()
}

func (w *worker) run() {
	defer close(w.done)
	defer w.cancel()
	batch := make([]Event, 0, w.batchSize)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case ev := <-w.q:
			if len(batch) == 0 {
				timer.Reset(w.flush)
			}
			batch = append(batch, ev)
			if len(batch) >= w.batchSize {
				timer.Stop()
				batch = w.send(batch)
			}
		case <-timer.C:
			batch = w.send(batch)
		case <-w.reopenc:
			w.reopen()
		case <-w.stopc:
			timer.Stop()
			w.finish(batch)
			return
		}
	}
}

// finish delivers the batch in hand and everything still queued.
func (w *worker) finish(batch []Event) {
	for {
		select {
		case ev := <-w.q:
			batch = append(batch, ev)
			if len(batch) >= w.batchSize {
				batch = w.send(batch)
			}
		default:
			w.send(batch)
			return
		}
	}
}

func (w *worker) reopen() {
	if r, ok := w.sink.(reopener); ok {
		if err := r.reopen(); err != nil {
			w.log.Error("audit sink could not reopen its file", "sink", w.name, "error", err.Error())
		}
	}
}

// send delivers batch with retries and exponential backoff, and returns
// the emptied batch for reuse.
func (w *worker) send(batch []Event) []Event {
	if len(batch) == 0 {
		return batch
	}
	docs := w.encode(batch)
	delay := 100 * time.Millisecond
	for attempt := 0; ; attempt++ {
		ctx, cancel := context.WithTimeout(w.ctx, w.timeout)
		err := w.sink.deliver(ctx, batch, docs)
		cancel()
		if err == nil {
			w.counters.delivered.Add(int64(len(batch)))
			break
		}
		var perm permanent
		if errors.As(err, &perm) || attempt >= w.maxRetries || w.ctx.Err() != nil {
			w.counters.dropFailed.Add(int64(len(batch)))
			w.log.Error("audit sink dropped a batch", "sink", w.name, "events", len(batch), "attempts", attempt+1, "error", err.Error())
			break
		}
		w.counters.retries.Add(1)
		select {
		case <-time.After(delay):
		case <-w.ctx.Done():
		}
		if delay < 5*time.Second {
			delay *= 2
		}
	}
	clear(batch)
	return batch[:0]
}

// encode writes each event's OCSF JSON into one reused buffer.
func (w *worker) encode(batch []Event) [][]byte {
	if !w.sink.wantsOCSF() {
		return nil
	}
	w.buf = w.buf[:0]
	ends := make([]int, len(batch))
	for i := range batch {
		w.buf = AppendOCSF(w.buf, &batch[i], w.product)
		ends[i] = len(w.buf)
	}
	w.docs = w.docs[:0]
	start := 0
	for _, end := range ends {
		w.docs = append(w.docs, w.buf[start:end:end])
		start = end
	}
	return w.docs
}

package audit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Options are what the gateway supplies beside the config.
type Options struct {
	Product Product
	// Logger is the operational log: the log sink writes there, and sink
	// failures are reported there.
	Logger *slog.Logger
	// Registerer receives the audit metrics; nil registers nothing.
	Registerer prometheus.Registerer
}

// Auditor receives decisions on the request path and hands them to the
// sinks' queues. Record never blocks: a full queue drops the event and
// counts it.
type Auditor struct {
	includeAllowed bool
	window         time.Duration
	workers        []*worker
	log            *slog.Logger
	m              *metrics

	mu      sync.Mutex
	pending map[aggKey]*Event

	closed   atomic.Bool
	stop     chan struct{}
	flusherD chan struct{}
}

// New builds the sinks of a defaulted, validated config and starts their
// workers; Close stops them.
func New(cfg Config, opts Options) (*Auditor, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Product.Name == "" {
		opts.Product.Name, opts.Product.Vendor = "Portcullis", "Portcullis"
	}
	if opts.Product.Version == "" {
		opts.Product.Version = "dev"
	}
	a := &Auditor{
		includeAllowed: cfg.IncludeAllowed,
		window:         cfg.AggregateWindow,
		log:            opts.Logger,
		m:              newMetrics(),
		pending:        map[aggKey]*Event{},
		stop:           make(chan struct{}),
		flusherD:       make(chan struct{}),
	}
	for i, sc := range cfg.Sinks {
		s, err := newSink(sc, opts)
		if err != nil {
			for _, w := range a.workers {
				w.sink.close()
			}
			return nil, fmt.Errorf("audit.sinks[%d] (%s): %w", i, sc.Name, err)
		}
		a.workers = append(a.workers, newWorker(sc, s, &opts.Product, a.m, opts.Logger))
	}
	if opts.Registerer != nil {
		if err := opts.Registerer.Register(a.m.collector(a)); err != nil {
			return nil, fmt.Errorf("registering audit metrics: %w", err)
		}
	}
	for _, w := range a.workers {
		go w.run()
	}
	if a.window > 0 {
		go a.flusher()
	} else {
		close(a.flusherD)
	}
	return a, nil
}

// Wants reports whether a decision of this kind becomes an event, so the
// caller builds none it would throw away. A nil Auditor wants nothing.
func (a *Auditor) Wants(d Decision) bool {
	if a == nil {
		return false
	}
	return d != Allowed || a.includeAllowed
}

// Record audits one decision. Denials inside the aggregation window that
// share subject, route, code and reason are folded into one event.
func (a *Auditor) Record(ev Event) {
	if !a.Wants(ev.Decision) {
		return
	}
	if a.closed.Load() {
		a.m.droppedClosed.Add(1)
		return
	}
	if ev.Decision != Allowed && a.window > 0 && a.aggregate(&ev) {
		return
	}
	a.dispatch(ev)
}

// aggregate holds ev or folds it into a held event; false means send it on.
func (a *Auditor) aggregate(ev *Event) bool {
	k := aggKey{ev.Subject, ev.Route, ev.Code, ev.Reason}
	a.mu.Lock()
	defer a.mu.Unlock()
	if p, ok := a.pending[k]; ok {
		p.Count++
		p.EndTime = ev.Time
		a.m.aggregated.Add(1)
		return true
	}
	if len(a.pending) >= maxAggregateKeys {
		return false
	}
	held := *ev
	held.Count, held.StartTime, held.EndTime = 1, ev.Time, ev.Time
	a.pending[k] = &held
	return true
}

func (a *Auditor) dispatch(ev Event) {
	for _, w := range a.workers {
		w.enqueue(ev)
	}
}

// flusher sends held events once their window has passed.
func (a *Auditor) flusher() {
	defer close(a.flusherD)
	tick := a.window / 4
	if tick < 50*time.Millisecond {
		tick = 50 * time.Millisecond
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-a.stop:
			a.flushHeld(time.Time{})
			return
		case now := <-t.C:
			a.flushHeld(now)
		}
	}
}

// flushHeld sends every held event whose window began before now minus
// the window; a zero now sends all of them.
func (a *Auditor) flushHeld(now time.Time) {
	var due []Event
	a.mu.Lock()
	for k, p := range a.pending {
		if now.IsZero() || now.Sub(p.StartTime) >= a.window {
			due = append(due, *p)
			delete(a.pending, k)
		}
	}
	a.mu.Unlock()
	for _, ev := range due {
		a.dispatch(ev)
	}
}

// Reopen makes file sinks reopen their files (after logrotate moved them).
func (a *Auditor) Reopen() {
	if a == nil {
		return
	}
	for _, w := range a.workers {
		w.requestReopen()
	}
}

// Close sends held aggregates, then delivers what the queues hold until ctx
// ends; events still queued then are dropped and counted. Call it after the
// listeners have drained, so no request records after it.
func (a *Auditor) Close(ctx context.Context) error {
	if a == nil || a.closed.Swap(true) {
		return nil
	}
	close(a.stop)
	<-a.flusherD
	var errs []error
	for _, w := range a.workers {
		w.drain(ctx)
	}
	for _, w := range a.workers {
		select {
		case <-w.done:
		case <-ctx.Done():
			errs = append(errs, fmt.Errorf("audit sink %s: %d events not delivered before the shutdown grace ended", w.name, len(w.q)))
		}
		if err := w.sink.close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

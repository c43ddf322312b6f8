package telemetry

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// queueProcessor is a span processor with a bounded queue that never
// blocks the span's End: a full queue drops the span and counts it. The
// SDK's batch processor drops too, but counts nothing we can export.
type queueProcessor struct {
	exp      sdktrace.SpanExporter
	q        chan sdktrace.ReadOnlySpan
	batch    int
	flush    time.Duration
	timeout  time.Duration
	log      *slog.Logger
	exported atomic.Int64
	dropped  atomic.Int64
	failed   atomic.Int64

	flushReq chan chan struct{}
	stop     chan struct{}
	done     chan struct{}
	once     sync.Once
	ctx      context.Context
	cancel   context.CancelFunc
}

func newQueueProcessor(exp sdktrace.SpanExporter, t Tracing, log *slog.Logger) *queueProcessor {
	ctx, cancel := context.WithCancel(context.Background())
	p := &queueProcessor{
		exp: exp, q: make(chan sdktrace.ReadOnlySpan, t.QueueSize), batch: t.BatchSize,
		flush: t.FlushInterval, timeout: t.Timeout, log: log,
		flushReq: make(chan chan struct{}), stop: make(chan struct{}), done: make(chan struct{}),
		ctx: ctx, cancel: cancel,
	}
	go p.run()
	return p
}

func (p *queueProcessor) OnStart(context.Context, sdktrace.ReadWriteSpan) {}

func (p *queueProcessor) OnEnd(s sdktrace.ReadOnlySpan) {
	if !s.SpanContext().IsSampled() {
		return
	}
	select {
	case p.q <- s:
	default:
		p.dropped.Add(1)
	}
}

func (p *queueProcessor) run() {
	defer close(p.done)
	buf := make([]sdktrace.ReadOnlySpan, 0, p.batch)
	t := time.NewTicker(p.flush)
	defer t.Stop()
	for {
		select {
		case s := <-p.q:
			buf = append(buf, s)
			if len(buf) >= p.batch {
				buf = p.export(buf)
			}
		case <-t.C:
			buf = p.export(buf)
		case ack := <-p.flushReq:
			buf = p.drain(buf)
			close(ack)
		case <-p.stop:
			p.drain(buf)
			return
		}
	}
}

// drain exports the batch in hand and everything queued.
func (p *queueProcessor) drain(buf []sdktrace.ReadOnlySpan) []sdktrace.ReadOnlySpan {
	for {
		select {
		case s := <-p.q:
			buf = append(buf, s)
			if len(buf) >= p.batch {
				buf = p.export(buf)
			}
		default:
			return p.export(buf)
		}
	}
}

func (p *queueProcessor) export(buf []sdktrace.ReadOnlySpan) []sdktrace.ReadOnlySpan {
	if len(buf) == 0 {
		return buf
	}
	ctx, cancel := context.WithTimeout(p.ctx, p.timeout)
	err := p.exp.ExportSpans(ctx, buf)
	cancel()
	if err != nil {
		p.failed.Add(int64(len(buf)))
		p.log.Warn("exporting spans failed; dropped", "spans", len(buf), "error", err.Error())
	} else {
		p.exported.Add(int64(len(buf)))
	}
	clear(buf)
	return buf[:0]
}

// ForceFlush exports everything queued now.
func (p *queueProcessor) ForceFlush(ctx context.Context) error {
	ack := make(chan struct{})
	select {
	case p.flushReq <- ack:
	case <-p.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-ack:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Shutdown exports what is queued until ctx ends, then closes the exporter.
func (p *queueProcessor) Shutdown(ctx context.Context) error {
	p.once.Do(func() { close(p.stop) })
	select {
	case <-p.done:
	case <-ctx.Done():
		p.cancel()
		<-p.done
	}
	p.cancel()
	return p.exp.Shutdown(ctx)
}

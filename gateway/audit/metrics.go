package audit

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are plain atomics read by one collector, so the request path
// pays an atomic add and no label lookup.
type metrics struct {
	aggregated    atomic.Int64
	droppedClosed atomic.Int64
}

// sinkCounters belong to one sink's worker.
type sinkCounters struct {
	delivered, retries        atomic.Int64
	dropQueueFull, dropFailed atomic.Int64
}

func newMetrics() *metrics { return &metrics{} }

var (
	descDelivered = prometheus.NewDesc("portcullis_audit_events_total",
		"Audit events delivered, by sink.", []string{"sink"}, nil)
	descDropped = prometheus.NewDesc("portcullis_audit_dropped_total",
		"Audit events dropped, by sink and reason (queue_full, send_failed, closed).", []string{"sink", "reason"}, nil)
	descRetries = prometheus.NewDesc("portcullis_audit_retries_total",
		"Deliveries retried after a failure, by sink.", []string{"sink"}, nil)
	descDepth = prometheus.NewDesc("portcullis_audit_queue_depth",
		"Events waiting in the sink's queue.", []string{"sink"}, nil)
	descCapacity = prometheus.NewDesc("portcullis_audit_queue_capacity",
		"Size of the sink's queue (queue_size).", []string{"sink"}, nil)
	descAggregated = prometheus.NewDesc("portcullis_audit_aggregated_total",
		"Denials folded into an earlier identical one inside aggregate_window.", nil, nil)
)

type collector struct{ a *Auditor }

func (m *metrics) collector(a *Auditor) prometheus.Collector { return collector{a} }

func (collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descDelivered, descDropped, descRetries, descDepth, descCapacity, descAggregated} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	counter(descAggregated, c.a.m.aggregated.Load())
	for _, w := range c.a.workers {
		s := &w.counters
		counter(descDelivered, s.delivered.Load(), w.name)
		counter(descRetries, s.retries.Load(), w.name)
		counter(descDropped, s.dropQueueFull.Load(), w.name, "queue_full")
		counter(descDropped, s.dropFailed.Load(), w.name, "send_failed")
		counter(descDropped, c.a.m.droppedClosed.Load(), w.name, "closed")
		ch <- prometheus.MustNewConstMetric(descDepth, prometheus.GaugeValue, float64(len(w.q)), w.name)
		ch <- prometheus.MustNewConstMetric(descCapacity, prometheus.GaugeValue, float64(cap(w.q)), w.name)
	}
}

// Stats is a sink's counters, for tests and the live view.
type Stats struct {
	Name                                  string
	Delivered, Retries, QueueFull, Failed int64
	Depth, Capacity                       int
}

// Stats reports each sink's counters.
func (a *Auditor) Stats() []Stats {
	if a == nil {
		return nil
	}
	out := make([]Stats, 0, len(a.workers))
	for _, w := range a.workers {
		s := &w.counters
		out = append(out, Stats{Name: w.name, Delivered: s.delivered.Load(), Retries: s.retries.Load(),
			QueueFull: s.dropQueueFull.Load(), Failed: s.dropFailed.Load(), Depth: len(w.q), Capacity: cap(w.q)})
	}
	return out
}

package gateway

import (
	"github.com/prometheus/client_golang/prometheus"
)

// limiterCollector exports the current route table's limiter metrics; an
// unchecked collector, because a reload swaps the limiter underneath.
type limiterCollector struct{ g *Gateway }

func (limiterCollector) Describe(chan<- *prometheus.Desc) {}

func (lc limiterCollector) Collect(ch chan<- prometheus.Metric) {
	tbl := lc.g.routes.Load()
	if tbl == nil || tbl.limiter() == nil {
		return
	}
	for _, c := range tbl.limiter().Collectors() {
		c.Collect(ch)
	}
}

package gateway

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"

	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/portcullis-gw/portcullis/gateway/audit"
	"github.com/portcullis-gw/portcullis/gateway/config"
	"github.com/portcullis-gw/portcullis/gateway/liveview"
	"github.com/portcullis-gw/portcullis/gateway/pipeline"
	"github.com/portcullis-gw/portcullis/gateway/telemetry"
	"github.com/portcullis-gw/portcullis/upstream"
)

// monitor is what reports the gateway's decisions: spans, audit events,
// the live view and the metrics people look for (docs/monitoring.md). Its
// parts are fixed for the process; a reload does not rebuild them.
type monitor struct {
	tracer  *telemetry.Tracer
	auditor *audit.Auditor
	live    *liveview.Stats
	liveCfg liveview.Config
	version string

	refusals *prometheus.CounterVec
	reloads  *prometheus.CounterVec
	lastGood prometheus.Gauge

	mu     sync.Mutex
	reload reloadState
}

type reloadState struct {
	configVersion string
	at            time.Time
	ok            bool
	err           string
	total, failed int64
}

// newMonitor builds the monitor of cfg; off is the check command's: no
// sinks opened, no spans.
func newMonitor(cfg *config.Config, g *Gateway, off bool) (*monitor, error) {
	m := &monitor{liveCfg: cfg.LiveView, version: g.version}
	m.refusals = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "portcullis_refusals_total",
		Help: "Requests refused (deny) or failed (error), by route and error code.",
	}, []string{"route", "code"})
	m.reloads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "portcullis_config_reloads_total",
		Help: "Config reload attempts (SIGHUP) by result (success, failure).",
	}, []string{"result"})
	m.lastGood = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "portcullis_config_last_reload_success_timestamp_seconds",
		Help: "When the running config was loaded (start or the last good reload), as a Unix time.",
	})
	m.lastGood.SetToCurrentTime()
	g.metrics.reg.MustRegister(m.refusals, m.reloads, m.lastGood)
	m.reload.configVersion = configVersion(cfg)
	if off {
		return m, nil
	}
	if *cfg.LiveView.Enabled {
		m.live = liveview.NewStats(cfg.LiveView.Recent)
	}
	var err error
	m.tracer, err = telemetry.New(context.Background(), cfg.Telemetry, telemetry.Options{Version: g.version, Logger: g.log, Registerer: g.metrics.reg})
	if err != nil {
		return nil, err
	}
	m.auditor, err = audit.New(cfg.Audit, audit.Options{
		Product: audit.Product{Name: "Portcullis", Vendor: "Portcullis", Version: g.version},
		Logger:  g.log, Registerer: g.metrics.reg,
	})
	if err != nil {
		_ = m.tracer.Shutdown(context.Background())
		return nil, err
	}
	return m, nil
}

// configVersion is the first 12 hex digits of the SHA-256 of the config
// file, so an operator can tell which file is running.
func configVersion(cfg *config.Config) string {
	if cfg.Path == "" {
		return "(not from a file)"
	}
	b, err := os.ReadFile(cfg.Path)
	if err != nil {
		return "(unreadable)"
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:6])
}

// startSpan opens the request's server span; with tracing off it returns
// the request's own context and allocates nothing.
func (m *monitor) startSpan(r *http.Request, ex *pipeline.Exchange) (context.Context, trace.Span) {
	return m.tracer.StartServer(r.Context(), r, ex.ClientIP, ex.ID)
}

// observe is called once per request, where the decision is recorded:
// it ends the span, counts the refusal, feeds the live view and hands the
// audit event to the sinks.
func (m *monitor) observe(r *http.Request, ex *pipeline.Exchange, d pipeline.Decision, status int, route string, span trace.Span) {
	denied := d.Outcome == pipeline.Deny || d.Outcome == pipeline.Error
	if denied {
		m.refusals.WithLabelValues(route, d.Code).Inc()
	}
	f := &ex.Facts
	decision := d.Outcome.String()
	if m.tracer != nil {
		m.tracer.EndServer(span, r.Method, telemetry.Outcome{Route: ex.Route, RouteTemplate: f.RouteTemplate, Status: status,
			Decision: decision, Code: d.Code, OperationType: f.OperationType, OperationName: f.OperationName})
	}
	if m.live != nil {
		m.live.Record(&liveview.Decision{Time: ex.Start, RequestID: ex.ID, Route: route, Method: r.Method, Path: r.URL.Path,
			Status: status, Decision: decision, Code: d.Code, Reason: f.Reason, Subject: ex.Subject, Cost: f.Cost})
	}
	kind := auditDecision(d.Outcome)
	if m.auditor.Wants(kind) || f.Flagged && m.auditor != nil {
		m.auditor.Record(m.event(r, ex, d, kind, status))
	}
}

func auditDecision(o pipeline.Outcome) audit.Decision {
	switch o {
	case pipeline.Deny:
		return audit.Denied
	case pipeline.Error:
		return audit.Failed
	}
	return audit.Allowed
}

var protocolNames = [...]string{pipeline.NoProtocol: "", pipeline.GraphQL: "graphql", pipeline.REST: "rest"}

func (m *monitor) event(r *http.Request, ex *pipeline.Exchange, d pipeline.Decision, kind audit.Decision, status int) audit.Event {
	f := &ex.Facts
	reason := f.Reason
	if reason == "" && kind == audit.Failed {
		reason = "upstream"
		if !strings.HasPrefix(d.Code, "UPSTREAM_") {
			reason = "gateway"
		}
	}
	return audit.Event{
		Time: ex.Start, RequestID: ex.ID, Route: ex.Route, Protocol: protocolNames[ex.Protocol],
		Method: r.Method, Path: r.URL.Path, UserAgent: r.UserAgent(), ClientIP: ex.ClientIP,
		Subject: ex.Subject, SubjectKind: f.SubjectKind, Issuer: f.Issuer, Scopes: f.Scopes,
		Decision: kind, Code: d.Code, Reason: reason, Detail: f.Detail, Status: status,
		OperationType: f.OperationType, OperationName: f.OperationName, OperationID: f.OperationID,
		Cost: f.Cost, Coordinates: f.Coordinates, UnauthorizedPaths: f.UnauthorizedPaths,
	}
}

// reloaded records a reload attempt's result.
func (m *monitor) reloaded(cfg *config.Config, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reload.at, m.reload.total = time.Now(), m.reload.total+1
	if err != nil {
		m.reloads.WithLabelValues("failure").Inc()
		m.reload.ok, m.reload.failed = false, m.reload.failed+1
		m.reload.err = firstLine(err.Error())
		return
	}
	m.reloads.WithLabelValues("success").Inc()
	m.lastGood.SetToCurrentTime()
	m.reload.ok, m.reload.err = true, ""
	m.reload.configVersion = configVersion(cfg)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// close flushes the audit queues and exports the queued spans within ctx.
func (m *monitor) close(ctx context.Context) error {
	return errors.Join(m.auditor.Close(ctx), m.tracer.Shutdown(ctx))
}

// status is what the live view shows of the gateway and its dependencies.
func (g *Gateway) status() liveview.Status {
	m := g.mon
	m.mu.Lock()
	rs := m.reload
	m.mu.Unlock()
	st := liveview.Status{Version: m.version, ConfigVersion: rs.configVersion, LastReload: rs.at,
		LastReloadOK: rs.ok, LastReloadError: rs.err, Reloads: rs.total, ReloadFailures: rs.failed}
	tbl := g.routes.Load()
	st.RateLimit = liveview.Health{Name: "rate limit store (" + tbl.rateCfg.Store + ")", OK: tbl.limiter().StoreUp()}
	if !st.RateLimit.OK {
		st.RateLimit.Detail = "not answering; on_store_error: " + tbl.rateCfg.OnStoreError
	}
	// Each endpoint of each pool, as the pool sees it now (readiness does
	// not wait on upstreams; docs/operations.md, Running in production).
	seen := map[string]bool{}
	addPool := func(ps upstream.PoolStatus) {
		for _, e := range ps.Endpoints {
			name := "upstream " + e.Address
			if seen[name] {
				continue
			}
			seen[name] = true
			h := liveview.Health{Name: name, OK: e.State == upstream.StateHealthy}
			if !h.OK {
				h.Detail = e.State + ": " + e.LastError
			}
			st.Upstreams = append(st.Upstreams, h)
		}
	}
	for _, r := range tbl.graphql {
		st.Routes = append(st.Routes, liveview.RouteInfo{Name: r.Name(), Protocol: "graphql", Path: r.Path()})
		if p := r.Pool(); p != nil { // nil in federated mode
			addPool(p.Status())
		}
	}
	for _, r := range tbl.rest {
		st.Routes = append(st.Routes, liveview.RouteInfo{Name: r.Name(), Protocol: "rest", Path: r.Prefix()})
		addPool(r.Pool().Status())
	}
	sort.Slice(st.Routes, func(i, j int) bool { return st.Routes[i].Name < st.Routes[j].Name })
	sort.Slice(st.Upstreams, func(i, j int) bool { return st.Upstreams[i].Name < st.Upstreams[j].Name })
	for _, s := range m.auditor.Stats() {
		st.Queues = append(st.Queues, liveview.QueueHealth{Name: "audit " + s.Name, Depth: s.Depth, Capacity: s.Capacity,
			Delivered: s.Delivered, Dropped: s.QueueFull + s.Failed})
	}
	if m.tracer != nil {
		s := m.tracer.Stats()
		st.Queues = append(st.Queues, liveview.QueueHealth{Name: "spans", Depth: s.Depth, Capacity: s.Capacity,
			Delivered: s.Exported, Dropped: s.Dropped + s.Failed})
	}
	return st
}

// ReloadFailed records a reload that failed before Reload was called (a
// config file that does not load), for the metrics and the live view.
func (g *Gateway) ReloadFailed(err error) { g.mon.reloaded(nil, err) }

// Reopen reopens the audit files (SIGHUP, after logrotate).
func (g *Gateway) Reopen() { g.mon.auditor.Reopen() }

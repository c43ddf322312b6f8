package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/portcullis-gw/portcullis/gateway/liveview"
)

// AdminHandler serves /healthz, /readyz, /metrics and the live view at /;
// with server.admin_token set, all but the probes need the token.
func (g *Gateway) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	if g.mon.live != nil {
		lv := liveview.NewHandler(g.mon.liveCfg, g.mon.live, g.status)
		for _, p := range liveview.Routes {
			mux.Handle(p, lv)
		}
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		pending := g.ready.pending()
		if len(pending) > 0 {
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "not ready", "waiting_for": pending})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"status": "ready"})
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(g.metrics.reg, promhttp.HandlerOpts{}))
	return liveview.RequireToken(g.cfg.Server.AdminToken, []string{"/healthz", "/readyz"}, mux)
}

// Ready reports whether every start-up check has passed.
func (g *Gateway) Ready() bool { return len(g.ready.pending()) == 0 }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// readyCheck is one start-up condition; it is retried until it passes once.
type readyCheck struct {
	name  string
	check func(ctx context.Context) error
}

// readiness tracks start-up checks. A check that has passed once stays
// passed: readiness answers "has this gateway finished starting", while
// liveness of upstreams is the proxy's business (502/503 per request).
type readiness struct {
	mu      sync.Mutex
	checks  []readyCheck
	passed  map[string]bool
	started bool
	ctx     context.Context
	log     *slog.Logger
}

func (rd *readiness) init(checks []readyCheck) {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	rd.checks = checks
	rd.passed = map[string]bool{}
}

func (rd *readiness) pending() []string {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	var out []string
	for _, c := range rd.checks {
		if !rd.passed[c.name] {
			out = append(out, c.name)
		}
	}
	return out
}

// start runs each check until it passes or ctx ends, with backoff.
func (rd *readiness) start(ctx context.Context, log *slog.Logger) {
	rd.mu.Lock()
	if rd.started {
		rd.mu.Unlock()
		return
	}
	rd.started, rd.ctx, rd.log = true, ctx, log
	checks := rd.checks
	rd.mu.Unlock()
	for _, c := range checks {
		go rd.run(c)
	}
}

// replace swaps in the checks of a reloaded config: checks already passed
// (same name) stay passed, new ones run at once if serving has started.
func (rd *readiness) replace(checks []readyCheck) {
	rd.mu.Lock()
	passed := map[string]bool{}
	var todo []readyCheck
	for _, c := range checks {
		if rd.passed[c.name] {
			passed[c.name] = true
		} else {
			todo = append(todo, c)
		}
	}
	rd.checks, rd.passed = checks, passed
	started := rd.started
	rd.mu.Unlock()
	if started {
		for _, c := range todo {
			go rd.run(c)
		}
	}
}

func (rd *readiness) run(c readyCheck) {
	rd.mu.Lock()
	ctx, log := rd.ctx, rd.log
	rd.mu.Unlock()
	delay := 100 * time.Millisecond
	for {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := c.check(cctx)
		cancel()
		if err == nil {
			rd.mu.Lock()
			rd.passed[c.name] = true
			rd.mu.Unlock()
			log.Info("ready check passed", "check", c.name)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		if delay < 5*time.Second {
			delay *= 2
		} else {
			log.Warn("ready check still failing", "check", c.name, "error", err)
		}
	}
}

// readinessChecks: each distinct upstream must answer once over the route's
// own transport (TLS and client certificates included); any HTTP status
// counts, since the question is reachability, not health.
func (rt *routeTable) readinessChecks() []readyCheck {
	seen := map[string]bool{}
	var out []readyCheck
	add := func(u string, ping func(context.Context) error) {
		if seen[u] {
			return
		}
		seen[u] = true
		name := "upstream " + u
		if pu, err := url.Parse(u); err == nil {
			name = "upstream " + pu.Host
		}
		out = append(out, readyCheck{name: name, check: ping})
	}
	for _, r := range rt.graphql {
		if u := r.UpstreamURL(); u != "" {
			add(u, r.Ping)
		}
		out = append(out, readyCheck{name: "schema " + r.Name(), check: r.LoadSchema})
	}
	out = append(out, readyCheck{name: "identity providers", check: func(context.Context) error {
		if rt.shared.Auth.Ready() {
			return nil
		}
		return errors.New("waiting for OIDC discovery")
	}})
	for _, r := range rt.rest {
		add(r.UpstreamURL(), r.Ping)
	}
	return out
}

package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
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
	mux.HandleFunc("GET /readyz", g.serveReadyz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(g.metrics.reg, promhttp.HandlerOpts{}))
	return liveview.RequireToken(g.cfg.Server.AdminToken, []string{"/healthz", "/readyz"}, mux)
}

// Ready reports whether the gateway can serve: every start-up check has
// passed and a fail_closed rate-limit store answers.
func (g *Gateway) Ready() bool { return len(g.waitingFor()) == 0 }

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

// readinessChecks are the gateway's own conditions for serving: each
// route's schema composed and the identity providers' keys fetched once.
// Upstream health is not among them: one dead back end must not take every
// replica out of the load balancer (docs/operations.md, Running in
// production); it is reported beside readiness instead.
func (rt *routeTable) readinessChecks() []readyCheck {
	var out []readyCheck
	for _, r := range rt.graphql {
		out = append(out, readyCheck{name: "schema " + r.Name(), check: r.LoadSchema})
	}
	out = append(out, readyCheck{name: "identity providers", check: func(context.Context) error {
		if rt.shared.Auth.Ready() {
			return nil
		}
		return errors.New("waiting for OIDC discovery")
	}})
	return out
}

package liveview

import (
	"crypto/subtle"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"
)

// Status is what the gateway reports about itself and its dependencies.
type Status struct {
	Version       string `json:"version"`
	ConfigVersion string `json:"config_version"`
	// LastReload is zero until the first reload attempt.
	LastReload      time.Time     `json:"last_reload,omitzero"`
	LastReloadOK    bool          `json:"last_reload_ok"`
	LastReloadError string        `json:"last_reload_error,omitempty"`
	Reloads         int64         `json:"reloads"`
	ReloadFailures  int64         `json:"reload_failures"`
	RateLimit       Health        `json:"rate_limit"`
	Upstreams       []Health      `json:"upstreams"`
	Routes          []RouteInfo   `json:"routes"`
	Queues          []QueueHealth `json:"queues"`
}

// Health is one dependency.
type Health struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
}

// RouteInfo is a configured route.
type RouteInfo struct {
	Name     string `json:"name"`
	Protocol string `json:"protocol"`
	Path     string `json:"path"`
}

// QueueHealth is an audit sink's or the span exporter's queue.
type QueueHealth struct {
	Name      string `json:"name"`
	Depth     int    `json:"depth"`
	Capacity  int    `json:"capacity"`
	Delivered int64  `json:"delivered"`
	Dropped   int64  `json:"dropped"`
}

//go:embed assets
var assets embed.FS

var page = template.Must(template.ParseFS(assets, "assets/page.html"))

// Handler serves the page, its script and style, and the snapshot.
type Handler struct {
	stats   *Stats
	status  func() Status
	refresh time.Duration
	mux     *http.ServeMux
}

// NewHandler serves stats; status is called for each page and snapshot.
func NewHandler(cfg Config, stats *Stats, status func() Status) *Handler {
	h := &Handler{stats: stats, status: status, refresh: cfg.Refresh, mux: http.NewServeMux()}
	h.mux.HandleFunc("GET /{$}", h.servePage)
	h.mux.HandleFunc("GET /live/snapshot.json", h.serveSnapshot)
	h.mux.HandleFunc("GET /live/app.js", h.serveAsset("assets/app.js", "text/javascript; charset=utf-8"))
	h.mux.HandleFunc("GET /live/app.css", h.serveAsset("assets/app.css", "text/css; charset=utf-8"))
	return h
}

// Routes are the paths Handler serves, for the admin mux.
var Routes = []string{"GET /{$}", "GET /live/"}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	secure(w.Header())
	h.mux.ServeHTTP(w, r)
}

// secure: the page shows attacker-chosen text (paths, subjects), so it
// runs no inline script, loads nothing from elsewhere, and is never framed
// (https://www.w3.org/TR/CSP3/).
func secure(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
}

func (h *Handler) snapshot() Snapshot {
	st := h.status()
	names := make([]string, 0, len(st.Routes))
	for _, r := range st.Routes {
		names = append(names, r.Name)
	}
	snap := h.stats.Snapshot(names)
	snap.Status = st
	return snap
}

func (h *Handler) servePage(w http.ResponseWriter, r *http.Request) {
	snap := h.snapshot()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = page.Execute(w, struct {
		Snapshot
		RefreshMillis int64
	}{snap, h.refresh.Milliseconds()})
}

func (h *Handler) serveSnapshot(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(h.snapshot())
}

func (h *Handler) serveAsset(name, ct string) http.HandlerFunc {
	b, err := assets.ReadFile(name)
	if err != nil {
		panic(fmt.Sprintf("liveview: embedded %s missing: %v", name, err))
	}
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", ct)
		_, _ = w.Write(b)
	}
}

// RequireToken wraps an admin handler: with a token set, every path but
// the open ones (probes) needs "Authorization: Bearer <token>" (RFC 6750
// section 2.1), compared in constant time.
func RequireToken(token string, open []string, next http.Handler) http.Handler {
	if token == "" {
		return next
	}
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, p := range open {
			if r.URL.Path == p {
				next.ServeHTTP(w, r)
				return
			}
		}
		got := r.Header.Get("Authorization")
		// The scheme is case-insensitive (RFC 7235 section 2.1).
		if len(got) > 7 && strings.EqualFold(got[:7], "Bearer ") {
			got = "Bearer " + got[7:]
		}
		if subtle.ConstantTimeCompare([]byte(got), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="portcullis-admin"`)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"code":"UNAUTHENTICATED","message":"admin endpoints need the admin token"}` + "\n"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

package gateway

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"sync"
)

// Unreachable is one dependency that `portcullis check --online` could not
// reach, with the key path of the config entry that names it.
type Unreachable struct {
	Path string
	Err  error
}

func (u Unreachable) String() string { return u.Path + ": " + u.Err.Error() }

// Probe contacts everything the config names, concurrently and within ctx:
// the rate-limit store (PING, with AUTH and SELECT as configured), each
// identity provider (discovery and the first JWKS fetch, tried when the
// gateway was built), each route's schema source, and every endpoint of
// every upstream (HEAD over the route's own transport; any HTTP answer
// counts), the audit sinks and the tracing collector. It returns the
// unreachable ones sorted by key path.
func (g *Gateway) Probe(ctx context.Context) []Unreachable {
	tbl := g.routes.Load()
	var mu sync.Mutex
	var out []Unreachable
	report := func(path string, err error) {
		mu.Lock()
		out = append(out, Unreachable{Path: path, Err: err})
		mu.Unlock()
	}
	var wg sync.WaitGroup
	if lim := tbl.limiter(); g.cfg.RateLimit.Store == "redis" && lim != nil {
		wg.Go(func() {
			if err := lim.Ping(ctx); err != nil {
				report("rate_limit.redis", fmt.Errorf("pinging Redis: %w", err))
			}
		})
	}
	for i, err := range tbl.shared.Auth.Unready() {
		report(fmt.Sprintf("identity.oidc[%d]", i), err)
	}
	for i := range g.cfg.GraphQL {
		r := tbl.graphql[g.cfg.GraphQL[i].Path]
		if r == nil {
			continue
		}
		p := fmt.Sprintf("graphql[%d]", i)
		wg.Go(func() {
			if err := r.LoadSchema(ctx); err != nil {
				report(p+".schema", err)
			}
		})
		wg.Go(func() {
			for _, err := range r.Ping(ctx) {
				report(p+".upstream", err)
			}
		})
	}
	for i, r := range tbl.rest {
		p := restPath(g, r.Name(), i)
		wg.Go(func() {
			for _, err := range r.Ping(ctx) {
				report(p+".upstream", err)
			}
		})
	}
	g.probeCollectors(ctx, report, &wg)
	wg.Wait()
	sort.SliceStable(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// restPath is the key path of a REST route: the table is sorted by prefix,
// the config is not; route names are unique.
func restPath(g *Gateway, name string, fallback int) string {
	for i := range g.cfg.REST {
		if g.cfg.REST[i].Name == name {
			return fmt.Sprintf("rest[%d]", i)
		}
	}
	return fmt.Sprintf("rest[%d]", fallback)
}

// probeCollectors dials the audit sinks and the tracing collector the config
// names: a TCP (or TLS-carrying TCP) connection proves the collector is
// there; what it answers to our payloads is the sinks' own business at run
// time. UDP syslog has no handshake to check; a file sink's folder must exist.
func (g *Gateway) probeCollectors(ctx context.Context, report func(string, error), wg *sync.WaitGroup) {
	dial := func(path, hostport string) {
		wg.Go(func() {
			d := net.Dialer{}
			c, err := d.DialContext(ctx, "tcp", hostport)
			if err != nil {
				report(path, fmt.Errorf("connecting to %s: %w", hostport, err))
				return
			}
			_ = c.Close()
		})
	}
	for i, s := range g.cfg.Audit.Sinks {
		path := fmt.Sprintf("audit.sinks[%d]", i)
		switch s.Type {
		case "http":
			if hp, err := hostPort(s.URL); err == nil {
				dial(path, hp)
			}
		case "syslog":
			if u, err := url.Parse(s.Address); err == nil && (u.Scheme == "tcp" || u.Scheme == "tls") {
				dial(path, u.Host)
			}
		case "file":
			if info, err := os.Stat(filepath.Dir(s.Path)); err != nil || !info.IsDir() {
				report(path, fmt.Errorf("the folder of %s does not exist", s.Path))
			}
		}
	}
	if t := g.cfg.Telemetry.Tracing; t.Exporter == "otlp" {
		if hp, err := hostPort(t.Endpoint); err == nil {
			dial("telemetry.tracing.endpoint", hp)
		}
	}
}

// hostPort is a URL's host:port, with the scheme's default port.
func hostPort(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	if u.Port() != "" {
		return u.Host, nil
	}
	switch u.Scheme {
	case "https", "grpcs":
		return net.JoinHostPort(u.Hostname(), "443"), nil
	}
	return net.JoinHostPort(u.Hostname(), "80"), nil
}

package gateway

import (
	"context"
	"fmt"
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
// counts). It returns the unreachable ones sorted by key path.
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

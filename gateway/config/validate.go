package config

import (
	"fmt"
	"maps"
	"net"
	"net/netip"
	"path"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/portcullis-gw/portcullis/keypath"
	"github.com/portcullis-gw/portcullis/policy/authz"
	"github.com/portcullis-gw/portcullis/upstream"
)

// validate reports every problem in a defaulted config. Each package checks
// its own section; this adds the server section, route-level rules and the
// references that cross sections.
func validate(c *Config) []Problem {
	var ps []Problem
	add := func(path keypath.Path, format string, args ...any) {
		ps = append(ps, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	from := func(at keypath.Path, found keypath.Problems) {
		for _, p := range found {
			ps = append(ps, Problem{Path: at.Join(p.Path), Message: p.Message})
		}
	}

	validateServer(&c.Server, add)
	from(keypath.Key("identity"), c.Identity.Validate())
	from(keypath.Key("policies"), c.Policies.Validate())
	from(keypath.Key("rate_limit"), c.RateLimit.Validate())
	from(keypath.Key("telemetry"), c.Telemetry.Validate())
	from(keypath.Key("audit"), c.Audit.Validate())
	from(keypath.Key("live_view"), c.LiveView.Validate())

	for i, k := range c.Identity.APIKeys {
		if k.Tier == "" {
			continue
		}
		if _, ok := c.RateLimit.Tiers[k.Tier]; !ok {
			add(keypath.Key("identity").Key("api_keys").Index(i).Key("tier"), "unknown tier %q (tiers: %s)", k.Tier, tierList(c))
		}
	}

	if len(c.GraphQL) == 0 && len(c.REST) == 0 {
		add(keypath.Path{}, "at least one route (graphql or rest) is required")
	}
	names := map[string]keypath.Path{}
	paths := map[string]keypath.Path{}
	checkName := func(p keypath.Path, name string) {
		switch {
		case name == "":
			add(p.Key("name"), "is required")
		case !routeNameRE.MatchString(name):
			add(p.Key("name"), "%q must match %s", name, routeNameRE)
		default:
			if other, dup := names[name]; dup {
				add(p.Key("name"), "duplicate route name %q (also %s)", name, other)
			} else {
				names[name] = p
			}
		}
	}
	checkPath := func(p keypath.Path, value string) {
		if msg := checkRoutePath(value); msg != "" {
			add(p, "%s", msg)
		} else if other, dup := paths[value]; dup {
			add(p, "duplicate path %q (also %s)", value, other)
		} else {
			paths[value] = p
		}
	}
	for i := range c.GraphQL {
		r := &c.GraphQL[i]
		p := keypath.Key("graphql").Index(i)
		checkName(p, r.Name)
		checkPath(p.Key("path"), r.Path)
		from(p, validateExecution(r))
		from(p.Key("schema"), r.Schema.Validate())
		from(p.Key("limits"), r.Limits.Validate())
		from(p.Key("cost"), r.Cost.Validate())
		from(p, validateGraphQLRoute(r, c.Policies))
	}
	for i := range c.REST {
		r := &c.REST[i]
		p := keypath.Key("rest").Index(i)
		checkName(p, r.Name)
		checkPath(p.Key("prefix"), r.Prefix)
		from(p.Key("upstream"), r.Upstream.Validate())
		from(p, validateRESTRoute(r))
	}
	validateCoordinateRoutes(c, add)
	return ps
}

// validateGraphQLRoute checks the keys of a GraphQL route that belong to
// no package's section, at paths relative to the route.
func validateGraphQLRoute(r *GraphQLRoute, policies authz.Policies) keypath.Problems {
	var ps keypath.Problems
	if r.AnalysisCacheSize < -1 {
		ps.Addf(keypath.Key("analysis_cache_size"), "must be >= -1 (0: the default, -1: no cache)")
	}
	if r.AnalysisCacheBytes < -1 {
		ps.Addf(keypath.Key("analysis_cache_bytes"), "must be >= -1 (0: the default 8 MiB, -1: no cache)")
	}
	authorization := keypath.Key("authorization")
	ps.AddAll(authorization, r.Authorization.Validate())
	for j, rule := range r.Authorization.Rules {
		if rule.Policy == "" {
			continue
		}
		if _, ok := policies[rule.Policy]; !ok {
			ps.Addf(authorization.Key("rules").Index(j).Key("policy"), "unknown policy %q (not in policies)", rule.Policy)
		}
	}
	if in := r.Introspection; in != nil {
		scopes := keypath.Key("introspection").Key("allow_scopes")
		if len(in.AllowScopes) == 0 {
			ps.Addf(scopes, "list at least one scope, or remove introspection to refuse it")
		}
		for j, s := range in.AllowScopes {
			if s == "" {
				ps.Addf(scopes.Index(j), "must not be empty")
			}
		}
	}
	ps.AddAll(keypath.Key("persisted_operations"), r.PersistedOperations.Validate())
	if r.UnknownMembers != "refuse" && r.UnknownMembers != "drop" {
		ps.Addf(keypath.Key("unknown_members"), "must be refuse or drop, got %q", r.UnknownMembers)
	}
	return ps
}

// validateRESTRoute checks the keys of a REST route that belong to no
// package's section, at paths relative to the route.
func validateRESTRoute(r *RESTRoute) keypath.Problems {
	var ps keypath.Problems
	if r.OpenAPI == "" {
		ps.Addf(keypath.Key("openapi"), "is required")
	}
	switch r.ValidateResponses {
	case "off", "report", "enforce":
	default:
		ps.Addf(keypath.Key("validate_responses"), "must be off, report or enforce, got %q", r.ValidateResponses)
	}
	if r.DefaultCost < 0 {
		ps.Addf(keypath.Key("default_cost"), "must be >= 0 (0 or absent means 1)")
	}
	if a := r.Authorization; a != nil && a.External != nil {
		ps.AddAll(keypath.Key("authorization").Key("external"), a.External.Validate())
	}
	return ps
}

// validateCoordinateRoutes checks that each REST operation limit names a
// REST route; the operationId is checked against the route's document
// when the gateway loads it.
func validateCoordinateRoutes(c *Config, add func(path keypath.Path, format string, args ...any)) {
	for i, cl := range c.RateLimit.Coordinates {
		if cl.Operation == "" {
			continue
		}
		route, _, _ := strings.Cut(cl.Operation, ".")
		found := false
		for _, r := range c.REST {
			found = found || r.Name == route
		}
		if !found {
			add(keypath.Key("rate_limit").Key("coordinates").Index(i).Key("operation"), "no REST route named %q", route)
		}
	}
}

// routeNameRE keeps route names usable as metric labels and in logs.
var routeNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// checkRoutePath refuses paths that the router would see differently after
// cleaning (the docs/ pages: cleaning must never change a route).
func checkRoutePath(p string) string {
	switch {
	case p == "":
		return "is required"
	case p[0] != '/':
		return fmt.Sprintf("must start with /, got %q", p)
	case path.Clean(p) != p:
		return fmt.Sprintf("must be a clean path (no //, ., .. or trailing /), got %q; use %q", p, path.Clean(p))
	}
	for _, r := range p {
		if r <= ' ' || r == 0x7f || r == '?' || r == '#' || r == '%' || r == ';' {
			return fmt.Sprintf("must be a plain path without spaces, ?, #, %% or ;, got %q", p)
		}
	}
	return ""
}

func validateServer(s *Server, add func(path keypath.Path, format string, args ...any)) {
	server := keypath.Key("server")
	checkListen := func(p keypath.Path, addr string) {
		_, port, err := net.SplitHostPort(addr)
		if err != nil {
			add(p, "must be host:port, got %q", addr)
			return
		}
		if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			add(p, "invalid port in %q", addr)
		}
	}
	checkListen(server.Key("listen"), s.Listen)
	checkListen(server.Key("admin_listen"), s.AdminListen)
	// Port 0 asks the OS for a free port, so two ":0" listeners never clash.
	if s.Listen == s.AdminListen && !strings.HasSuffix(s.Listen, ":0") {
		add(server.Key("admin_listen"), "must differ from server.listen")
	}
	if s.MaxBodyBytes <= 0 {
		add(server.Key("max_body_bytes"), "must be > 0")
	}
	if d := s.DrainDelay; d != nil && (*d < 0 || *d >= s.ShutdownGrace) {
		add(server.Key("drain_delay"), "must be >= 0 and less than shutdown_grace (draining is part of the grace)")
	}
	for _, d := range []struct {
		key string
		ok  bool
	}{
		{"read_header_timeout", s.ReadHeaderTimeout > 0},
		{"read_timeout", s.ReadTimeout > 0},
		{"write_timeout", s.WriteTimeout > 0},
		{"idle_timeout", s.IdleTimeout > 0},
		{"shutdown_grace", s.ShutdownGrace > 0},
	} {
		if !d.ok {
			add(server.Key(d.key), "must be > 0")
		}
	}
	if t := s.TLS; t != nil {
		if t.CertFile == "" {
			add(server.Key("tls").Key("cert_file"), "is required when tls is set")
		}
		if t.KeyFile == "" {
			add(server.Key("tls").Key("key_file"), "is required when tls is set")
		}
	}
	if t := s.AdminToken; t != "" && (len(t) < 16 || strings.ContainsAny(t, " \t\r\n")) {
		add(server.Key("admin_token"), "must be at least 16 characters without spaces (a bearer token, RFC 6750 section 2.1)")
	}
	for i, cidr := range s.TrustedProxies {
		if _, err := netip.ParsePrefix(cidr); err != nil {
			add(server.Key("trusted_proxies").Index(i), "must be a CIDR such as 10.0.0.0/8, got %q", cidr)
		}
	}
}

func tierList(c *Config) string {
	names := make([]string, 0, len(c.RateLimit.Tiers))
	for n := range c.RateLimit.Tiers {
		names = append(names, n)
	}
	sort.Strings(names)
	return fmt.Sprint(names)
}

// validateExecution checks a GraphQL route's execution mode and the keys
// that belong to one mode only, at paths relative to the route.
func validateExecution(r *GraphQLRoute) keypath.Problems {
	var ps keypath.Problems
	switch r.Execution {
	case ExecutionForward:
		ps.AddAll(keypath.Key("upstream"), r.Upstream.Validate())
		if r.Timeout != 0 {
			ps.Addf(keypath.Key("timeout"), "only applies with execution: federated (forward mode uses upstream.timeout)")
		}
		if len(r.SubgraphUpstreams) > 0 {
			ps.Addf(keypath.Key("subgraph_upstreams"), "only applies with execution: federated")
		}
		if r.PlanCacheBytes != 0 {
			ps.Addf(keypath.Key("plan_cache_bytes"), "only applies with execution: federated")
		}
		return ps
	case ExecutionFederated:
	default:
		ps.Addf(keypath.Key("execution"), "must be forward or federated, got %q", r.Execution)
		return ps
	}
	if !reflect.DeepEqual(r.Upstream, upstream.Config{}) {
		ps.Addf(keypath.Key("upstream"), "is refused with execution: federated; each subgraph's url (or the supergraph's join__graph url) is where the gateway calls it")
	}
	if r.Timeout < 0 {
		ps.Addf(keypath.Key("timeout"), "must be > 0")
	}
	if r.PlanCacheBytes < -1 {
		ps.Addf(keypath.Key("plan_cache_bytes"), "must be >= -1 (0: the default 32 MiB, -1: no cache)")
	}
	names := map[string]bool{}
	for _, s := range r.Schema.Subgraphs {
		names[s.Name] = true
	}
	for _, name := range slices.Sorted(maps.Keys(r.SubgraphUpstreams)) {
		sp := keypath.Key("subgraph_upstreams").Key(name)
		if len(r.Schema.Subgraphs) > 0 && !names[name] {
			ps.Addf(sp, "no subgraph %q in schema.subgraphs", name)
		}
		u := r.SubgraphUpstreams[name]
		if u == nil {
			continue
		}
		if u.Timeout < 0 {
			ps.Addf(sp.Key("timeout"), "must be > 0")
		}
		if (u.CertFile == "") != (u.KeyFile == "") {
			ps.Addf(sp.Key("cert_file"), "cert_file and key_file must be set together")
		}
	}
	return ps
}

package config

import (
	"fmt"
	"net"
	"net/netip"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// validate reports every problem in a defaulted config. Each package checks
// its own section; this adds the server section, route-level rules and the
// references that cross sections.
func validate(c *Config) []Problem {
	var ps []Problem
	add := func(path, format string, args ...any) {
		ps = append(ps, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	from := func(prefix string, errs []error) {
		for _, err := range errs {
			rel, text := splitRelative(err.Error())
			ps = append(ps, Problem{Path: joinRelative(prefix, rel), Message: text})
		}
	}

	validateServer(&c.Server, add)
	from("identity", c.Identity.Validate())
	from("policies", c.Policies.Validate())
	from("rate_limit", c.RateLimit.Validate())
	from("telemetry", c.Telemetry.Validate())
	from("audit", c.Audit.Validate())
	from("live_view", c.LiveView.Validate())

	for i, k := range c.Identity.APIKeys {
		if k.Tier == "" {
			continue
		}
		if _, ok := c.RateLimit.Tiers[k.Tier]; !ok {
			add(fmt.Sprintf("identity.api_keys[%d].tier", i), "unknown tier %q (tiers: %s)", k.Tier, tierList(c))
		}
	}

	if len(c.GraphQL) == 0 && len(c.REST) == 0 {
		add("", "at least one route (graphql or rest) is required")
	}
	names := map[string]string{}
	paths := map[string]string{}
	checkName := func(p, name string) {
		switch {
		case name == "":
			add(p+".name", "is required")
		case !routeNameRE.MatchString(name):
			add(p+".name", "%q must match %s", name, routeNameRE)
		default:
			if other, dup := names[name]; dup {
				add(p+".name", "duplicate route name %q (also %s)", name, other)
			} else {
				names[name] = p
			}
		}
	}
	for i := range c.GraphQL {
		r := &c.GraphQL[i]
		p := joinIndex("graphql", i)
		checkName(p, r.Name)
		if msg := checkRoutePath(r.Path); msg != "" {
			add(p+".path", "%s", msg)
		} else if other, dup := paths[r.Path]; dup {
			add(p+".path", "duplicate path %q (also %s)", r.Path, other)
		} else {
			paths[r.Path] = p + ".path"
		}
		from(p+".upstream", r.Upstream.Validate())
		from(p+".schema", r.Schema.Validate())
		from(p+".limits", r.Limits.Validate())
		from(p+".cost", r.Cost.Validate())
		if r.AnalysisCacheSize < -1 {
			add(p+".analysis_cache_size", "must be >= -1 (0: the default, -1: no cache)")
		}
		if r.AnalysisCacheBytes < -1 {
			add(p+".analysis_cache_bytes", "must be >= -1 (0: the default 8 MiB, -1: no cache)")
		}
		from(p+".authorization", r.Authorization.Validate())
		for j, rule := range r.Authorization.Rules {
			if rule.Policy == "" {
				continue
			}
			if _, ok := c.Policies[rule.Policy]; !ok {
				add(fmt.Sprintf("%s.authorization.rules[%d].policy", p, j), "unknown policy %q (not in policies)", rule.Policy)
			}
		}
		if in := r.Introspection; in != nil {
			if len(in.AllowScopes) == 0 {
				add(p+".introspection.allow_scopes", "list at least one scope, or remove introspection to refuse it")
			}
			for j, s := range in.AllowScopes {
				if s == "" {
					add(fmt.Sprintf("%s.introspection.allow_scopes[%d]", p, j), "must not be empty")
				}
			}
		}
		po := r.PersistedOperations
		switch po.Mode {
		case "off", "allow_apq":
			if po.Manifest != "" {
				add(p+".persisted_operations.manifest", "only used with mode safelist")
			}
		case "safelist":
			if po.Manifest == "" {
				add(p+".persisted_operations.manifest", "is required when mode is safelist")
			}
		default:
			add(p+".persisted_operations.mode", "must be off, allow_apq or safelist, got %q", po.Mode)
		}
		if r.UnknownMembers != "refuse" && r.UnknownMembers != "drop" {
			add(p+".unknown_members", "must be refuse or drop, got %q", r.UnknownMembers)
		}
	}
	for i := range c.REST {
		r := &c.REST[i]
		p := joinIndex("rest", i)
		checkName(p, r.Name)
		if msg := checkRoutePath(r.Prefix); msg != "" {
			add(p+".prefix", "%s", msg)
		} else if other, dup := paths[r.Prefix]; dup {
			add(p+".prefix", "duplicate path %q (also %s)", r.Prefix, other)
		} else {
			paths[r.Prefix] = p + ".prefix"
		}
		if r.OpenAPI == "" {
			add(p+".openapi", "is required")
		}
		from(p+".upstream", r.Upstream.Validate())
		switch r.ValidateResponses {
		case "off", "report", "enforce":
		default:
			add(p+".validate_responses", "must be off, report or enforce, got %q", r.ValidateResponses)
		}
		if r.DefaultCost < 0 {
			add(p+".default_cost", "must be >= 0 (0 or absent means 1)")
		}
	}
	return ps
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

func validateServer(s *Server, add func(path, format string, args ...any)) {
	checkListen := func(p, addr string) {
		_, port, err := net.SplitHostPort(addr)
		if err != nil {
			add(p, "must be host:port, got %q", addr)
			return
		}
		if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			add(p, "invalid port in %q", addr)
		}
	}
	checkListen("server.listen", s.Listen)
	checkListen("server.admin_listen", s.AdminListen)
	// Port 0 asks the OS for a free port, so two ":0" listeners never clash.
	if s.Listen == s.AdminListen && !strings.HasSuffix(s.Listen, ":0") {
		add("server.admin_listen", "must differ from server.listen")
	}
	if s.MaxBodyBytes <= 0 {
		add("server.max_body_bytes", "must be > 0")
	}
	if d := s.DrainDelay; d != nil && (*d < 0 || *d >= s.ShutdownGrace) {
		add("server.drain_delay", "must be >= 0 and less than shutdown_grace (draining is part of the grace)")
	}
	for _, d := range []struct {
		path string
		ok   bool
	}{
		{"server.read_header_timeout", s.ReadHeaderTimeout > 0},
		{"server.read_timeout", s.ReadTimeout > 0},
		{"server.write_timeout", s.WriteTimeout > 0},
		{"server.idle_timeout", s.IdleTimeout > 0},
		{"server.shutdown_grace", s.ShutdownGrace > 0},
	} {
		if !d.ok {
			add(d.path, "must be > 0")
		}
	}
	if t := s.TLS; t != nil {
		if t.CertFile == "" {
			add("server.tls.cert_file", "is required when tls is set")
		}
		if t.KeyFile == "" {
			add("server.tls.key_file", "is required when tls is set")
		}
	}
	if t := s.AdminToken; t != "" && (len(t) < 16 || strings.ContainsAny(t, " \t\r\n")) {
		add("server.admin_token", "must be at least 16 characters without spaces (a bearer token, RFC 6750 section 2.1)")
	}
	for i, cidr := range s.TrustedProxies {
		if _, err := netip.ParsePrefix(cidr); err != nil {
			add(fmt.Sprintf("server.trusted_proxies[%d]", i), "must be a CIDR such as 10.0.0.0/8, got %q", cidr)
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

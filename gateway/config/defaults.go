package config

import (
	"strings"
	"time"

	"github.com/portcullis-gw/portcullis/analysis"
	"github.com/portcullis-gw/portcullis/policy/ratelimit"
)

// Defaults are the safe values the docs/ pages promises: loopback
// listeners, bounded bodies and timeouts, limits on, introspection off.
const (
	DefaultListen            = "127.0.0.1:8080"
	DefaultAdminListen       = "127.0.0.1:9090"
	DefaultMaxBodyBytes      = 1 << 20
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultWriteTimeout      = 60 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
	DefaultShutdownGrace     = 20 * time.Second
	DefaultDrainDelay        = time.Second
	DefaultUpstreamTimeout   = 10 * time.Second
	DefaultListSize          = 10
	// DefaultAuthorizationMode is reject: a request touching a field it may
	// not see is refused whole rather than answered in part.
	DefaultAuthorizationMode = "reject"
	DefaultScopesClaim       = "scope"
	DefaultSubjectHeader     = "X-Portcullis-Subject"
	DefaultScopesHeader      = "X-Portcullis-Scopes"
	DefaultTierHeader        = "X-Portcullis-Tier"
)

// defaultTiers apply when rate_limit.tiers lacks them: every identity falls
// into "default" or "anonymous", so both must always exist.
var defaultTiers = map[string]ratelimit.Tier{
	"anonymous": {Rate: 50, Per: time.Second, Burst: 200},
	"default":   {Rate: 500, Per: time.Second, Burst: 2000},
}

func applyDefaults(c *Config) {
	s := &c.Server
	setString(&s.Listen, DefaultListen)
	setString(&s.AdminListen, DefaultAdminListen)
	if s.MaxBodyBytes == 0 {
		s.MaxBodyBytes = DefaultMaxBodyBytes
	}
	setDuration(&s.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	setDuration(&s.ReadTimeout, DefaultReadTimeout)
	setDuration(&s.WriteTimeout, DefaultWriteTimeout)
	setDuration(&s.IdleTimeout, DefaultIdleTimeout)
	setDuration(&s.ShutdownGrace, DefaultShutdownGrace)

	c.Telemetry = c.Telemetry.WithDefaults()
	c.Audit = c.Audit.WithDefaults()
	c.LiveView = c.LiveView.WithDefaults()

	for i := range c.Identity.OIDC {
		setString(&c.Identity.OIDC[i].ScopesClaim, DefaultScopesClaim)
	}
	setString(&c.Identity.Forward.SubjectHeader, DefaultSubjectHeader)
	setString(&c.Identity.Forward.ScopesHeader, DefaultScopesHeader)
	setString(&c.Identity.Forward.TierHeader, DefaultTierHeader)
	for i := range c.Identity.APIKeys {
		c.Identity.APIKeys[i].SHA256 = strings.ToLower(c.Identity.APIKeys[i].SHA256)
	}

	rl := &c.RateLimit
	setString(&rl.Store, "memory")
	setString(&rl.OnStoreError, "fail_closed")
	setString(&rl.Key, "subject")
	if rl.Tiers == nil {
		rl.Tiers = map[string]ratelimit.Tier{}
	}
	for name, t := range defaultTiers {
		if _, ok := rl.Tiers[name]; !ok {
			rl.Tiers[name] = t
		}
	}

	for i := range c.GraphQL {
		r := &c.GraphQL[i]
		setString(&r.Execution, ExecutionForward)
		r.Schema.Federated = r.Execution == ExecutionFederated
		if r.Schema.Federated {
			// No upstream in federated mode: the route's timeout is each
			// subgraph call's default.
			setDuration(&r.Timeout, DefaultUpstreamTimeout)
		} else {
			setDuration(&r.Upstream.Timeout, DefaultUpstreamTimeout)
		}
		r.Limits = withDefaultLimits(r.Limits)
		if r.Cost.ListSize == 0 {
			r.Cost.ListSize = DefaultListSize
		}
		setString(&r.Authorization.Mode, DefaultAuthorizationMode)
		r.PersistedOperations = r.PersistedOperations.WithDefaults()
		if e := r.Authorization.External; e != nil {
			d := e.WithDefaults()
			r.Authorization.External = &d
		}
		setString(&r.UnknownMembers, "refuse")
		if r.CSRFPrevention == nil {
			on := true
			r.CSRFPrevention = &on
		}
	}
	for i := range c.REST {
		r := &c.REST[i]
		setDuration(&r.Upstream.Timeout, DefaultUpstreamTimeout)
		setString(&r.ValidateResponses, "off")
		if a := r.Authorization; a != nil && a.External != nil {
			d := a.External.WithDefaults()
			r.Authorization = &RESTAuthorization{External: &d}
		}
		if r.DefaultCost == 0 {
			r.DefaultCost = 1
		}
	}
}

// withDefaultLimits fills every zero limit: zero means "default", never
// "unlimited" (analysis.Limits).
func withDefaultLimits(l analysis.Limits) analysis.Limits {
	d := analysis.DefaultLimits
	for _, f := range []struct{ v, def *int }{
		{&l.MaxDepth, &d.MaxDepth}, {&l.MaxHeight, &d.MaxHeight}, {&l.MaxAliases, &d.MaxAliases},
		{&l.MaxRootFields, &d.MaxRootFields}, {&l.MaxTokens, &d.MaxTokens},
		{&l.MaxDirectives, &d.MaxDirectives}, {&l.MaxCost, &d.MaxCost}, {&l.MaxBatch, &d.MaxBatch},
		{&l.MaxSelections, &d.MaxSelections},
	} {
		if *f.v == 0 {
			*f.v = *f.def
		}
	}
	return l
}

func setString(p *string, def string) {
	if *p == "" {
		*p = def
	}
}

func setDuration(p *time.Duration, def time.Duration) {
	if *p == 0 {
		*p = def
	}
}

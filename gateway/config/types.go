// Package config loads the Portcullis YAML file: strict
// decoding, ${ENV} expansion, defaults, and validation that reports every
// problem at once with its key path. Each package owns its Config type; this
// package only assembles them.
package config

import (
	"time"

	"github.com/portcullis-gw/portcullis/analysis"
	"github.com/portcullis-gw/portcullis/gateway/audit"
	"github.com/portcullis-gw/portcullis/gateway/liveview"
	"github.com/portcullis-gw/portcullis/gateway/telemetry"
	"github.com/portcullis-gw/portcullis/policy/authn"
	"github.com/portcullis-gw/portcullis/policy/authz"
	"github.com/portcullis-gw/portcullis/policy/external"
	"github.com/portcullis-gw/portcullis/policy/ratelimit"
	"github.com/portcullis-gw/portcullis/policy/trusted"
	"github.com/portcullis-gw/portcullis/schema"
	"github.com/portcullis-gw/portcullis/upstream"
	"github.com/portcullis-gw/portcullis/upstream/mask"
)

// Config is the whole file.
type Config struct {
	Server    Server           `yaml:"server"`
	Identity  authn.Config     `yaml:"identity"`
	Policies  authz.Policies   `yaml:"policies"`
	RateLimit ratelimit.Config `yaml:"rate_limit"`
	GraphQL   []GraphQLRoute   `yaml:"graphql"`
	REST      []RESTRoute      `yaml:"rest"`
	Telemetry telemetry.Config `yaml:"telemetry"`
	Audit     audit.Config     `yaml:"audit"`
	LiveView  liveview.Config  `yaml:"live_view"`

	// Path is the file the config was loaded from; relative paths inside it
	// have already been resolved against its folder.
	Path string `yaml:"-"`
}

// Server is the listener section.
type Server struct {
	Listen            string        `yaml:"listen"`
	AdminListen       string        `yaml:"admin_listen"`
	MaxBodyBytes      int64         `yaml:"max_body_bytes"`
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	ReadTimeout       time.Duration `yaml:"read_timeout"`
	WriteTimeout      time.Duration `yaml:"write_timeout"`
	IdleTimeout       time.Duration `yaml:"idle_timeout"`
	ShutdownGrace     time.Duration `yaml:"shutdown_grace"`
	// DrainDelay is how long, after SIGTERM, the gateway keeps serving
	// while /readyz answers 503 and every response closes its connection,
	// so load balancers stop sending before the listener closes. Unset:
	// DefaultDrainDelay; 0: none.
	DrainDelay *time.Duration `yaml:"drain_delay"`
	TLS        *TLS           `yaml:"tls"`
	// TrustedProxies are CIDRs whose X-Forwarded-For and X-Request-Id are believed.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// AdminToken, when set, is required as "Authorization: Bearer" on the
	// admin port except /healthz and /readyz (docs/monitoring.md).
	AdminToken string `yaml:"admin_token"`
}

// TLS terminates HTTPS; with ClientCAFile, client certificates are required.
type TLS struct {
	CertFile     string `yaml:"cert_file"`
	KeyFile      string `yaml:"key_file"`
	ClientCAFile string `yaml:"client_ca_file"`
}

// GraphQLRoute is one GraphQL endpoint.
type GraphQLRoute struct {
	Name string `yaml:"name"`
	Path string `yaml:"path"`
	// Execution is forward (default: the checked operation goes whole to
	// upstream, e.g. a federation router) or federated (the gateway plans
	// it across the subgraphs and runs the plan; docs/graphql.md).
	Execution string          `yaml:"execution"`
	Upstream  upstream.Config `yaml:"upstream"`
	// Timeout is the default bound on each subgraph call in federated
	// mode (subgraph_upstreams can set one per subgraph).
	Timeout time.Duration `yaml:"timeout"`
	// SubgraphUpstreams are per-subgraph transport settings in federated
	// mode, keyed by subgraph name.
	SubgraphUpstreams map[string]*SubgraphUpstream `yaml:"subgraph_upstreams"`
	// PlanCacheBytes bounds the federated query-plan cache by estimated
	// memory; 0 takes the default (32 MiB), -1 disables it.
	PlanCacheBytes      int64               `yaml:"plan_cache_bytes"`
	Schema              schema.Config       `yaml:"schema"`
	Limits              analysis.Limits     `yaml:"limits"`
	Cost                analysis.CostConfig `yaml:"cost"`
	Authorization       authz.GraphQLConfig `yaml:"authorization"`
	Introspection       *Introspection      `yaml:"introspection"`
	PersistedOperations PersistedOperations `yaml:"persisted_operations"`
	// Errors is how errors from the upstream are masked.
	Errors mask.GraphQL `yaml:"errors"`
	// CSRFPrevention is on unless explicitly false.
	CSRFPrevention *bool `yaml:"csrf_prevention"`
	// ForwardAuthorization passes the client's Authorization header on;
	// by default credentials stop at the gateway.
	ForwardAuthorization bool `yaml:"forward_authorization"`
	// CostExtensions adds extensions.cost {requested, remaining, limit} to
	// GraphQL answers.
	CostExtensions bool `yaml:"cost_extensions"`
	// AnalysisCacheSize bounds the cache of parsed, validated and analysed
	// documents (entries); 0 takes the default, -1 disables it.
	AnalysisCacheSize int `yaml:"analysis_cache_size"`
	// AnalysisCacheBytes bounds the same cache by the estimated memory its
	// entries hold; 0 takes the default (8 MiB), -1 disables the cache.
	// Both bounds apply.
	AnalysisCacheBytes int64 `yaml:"analysis_cache_bytes"`
	// Refund measures the actual cost from the answer's shape and gives back
	// the over-estimate (docs/rate-limiting.md has the exact rule).
	Refund bool `yaml:"refund"`
	// UnknownMembers is what happens to a request member other than query,
	// operationName, variables and extensions: refuse (default) or drop
	// (docs/security.md, "GraphQL request reading").
	UnknownMembers string `yaml:"unknown_members"`
}

// SubgraphUpstream is how the gateway calls one subgraph in federated
// mode: the upstream block's transport settings (the URL is the
// subgraph's routing URL).
type SubgraphUpstream struct {
	Timeout  time.Duration `yaml:"timeout"`
	CAFile   string        `yaml:"ca_file"`
	CertFile string        `yaml:"cert_file"`
	KeyFile  string        `yaml:"key_file"`
}

// Execution modes of a GraphQL route.
const (
	ExecutionForward   = "forward"
	ExecutionFederated = "federated"
)

// Introspection lists the scopes that may introspect; absent, nobody may.
type Introspection struct {
	AllowScopes []string `yaml:"allow_scopes"`
}

// PersistedOperations configures APQ or trusted documents (audit or
// safelist), their manifests and the operation record.
type PersistedOperations = trusted.Config

// RESTRoute is one REST prefix guarded by an OpenAPI document.
type RESTRoute struct {
	Name              string          `yaml:"name"`
	Prefix            string          `yaml:"prefix"`
	OpenAPI           string          `yaml:"openapi"`
	Upstream          upstream.Config `yaml:"upstream"`
	ValidateResponses string          `yaml:"validate_responses"` // off | report | enforce
	DefaultCost       int             `yaml:"default_cost"`
	StripPrefix       bool            `yaml:"strip_prefix"`
	// ForwardAuthorization passes the client's Authorization header on.
	ForwardAuthorization bool `yaml:"forward_authorization"`
	// AllowUnknownQuery lets query parameters the document does not list
	// through; by default they are refused.
	AllowUnknownQuery bool `yaml:"allow_unknown_query"`
	// AllowCaseCollidingKeys lets JSON bodies hold member names that differ
	// only in case; by default they are refused (docs/security.md).
	AllowCaseCollidingKeys bool `yaml:"allow_case_colliding_keys"`
	// OperationPolicies attach named CEL policies to operations by
	// operationId; the expression sees identity, request, path, query, body.
	OperationPolicies map[string]string `yaml:"operation_policies"`
	// Authorization holds the external decision point of the route.
	Authorization *RESTAuthorization `yaml:"authorization"`
	// PassUpstreamErrors relays upstream 5xx bodies as they are; by
	// default they become a problem document of the same status.
	PassUpstreamErrors bool `yaml:"pass_upstream_errors"`
}

// RESTAuthorization is a REST route's authorization section.
type RESTAuthorization struct {
	External *external.Config `yaml:"external"`
}

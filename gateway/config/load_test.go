package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-gw/portcullis/analysis"
	"github.com/portcullis-gw/portcullis/gateway/audit"
	"github.com/portcullis-gw/portcullis/gateway/liveview"
	"github.com/portcullis-gw/portcullis/gateway/telemetry"
	"github.com/portcullis-gw/portcullis/policy/authn"
	"github.com/portcullis-gw/portcullis/policy/authz"
	"github.com/portcullis-gw/portcullis/policy/ratelimit"
	"github.com/portcullis-gw/portcullis/schema"
	"github.com/portcullis-gw/portcullis/upstream"
)

func abs(t *testing.T, rel string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("testdata", "good", rel))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func mustLoad(t *testing.T, path string) *Config {
	t.Helper()
	cfg, err := Load(path)
	if err != nil {
		t.Fatalf("Load(%s): %v", path, err)
	}
	return cfg
}

func TestLoadFull(t *testing.T) {
	cfg := mustLoad(t, "testdata/good/full.yaml")
	no := false
	want := &Config{
		Path: "testdata/good/full.yaml",
		Server: Server{
			Listen: "127.0.0.1:8443", AdminListen: "127.0.0.1:9091", MaxBodyBytes: 2 << 20,
			ReadHeaderTimeout: 3 * time.Second, ReadTimeout: 20 * time.Second, WriteTimeout: 40 * time.Second,
			IdleTimeout: 90 * time.Second, ShutdownGrace: 15 * time.Second,
			TLS:            &TLS{CertFile: abs(t, "tls/server.crt"), KeyFile: abs(t, "tls/server.key"), ClientCAFile: abs(t, "tls/clients.pem")},
			TrustedProxies: []string{"10.0.0.0/8", "::1/128"},
			AdminToken:     "admin-token-0123456789",
		},
		Identity: authn.Config{
			OIDC: []authn.OIDC{{
				Issuer: "https://idp.example.com/realms/shop", CAFile: abs(t, "tls/idp-ca.pem"),
				Audiences: []string{"shop-api"}, ScopesClaim: "scope", RolesClaim: "realm_access.roles",
				TierClaim: "plan", ClockSkew: 30 * time.Second,
			}},
			APIKeys: []authn.APIKey{{
				Name: "partner-acme", Scopes: []string{"products:read"}, Tier: "partner",
				// Hashes are normalised to lower case so they compare with hex.EncodeToString.
				SHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
			}},
			Anonymous: true,
			Forward:   authn.Forward{SubjectHeader: "X-Portcullis-Subject", ScopesHeader: "X-Portcullis-Scopes", TierHeader: "X-Portcullis-Tier"},
		},
		Policies: authz.Policies{
			"admin": "'admin' in identity.roles",
			"self":  "has(args.id) && args.id == identity.subject",
		},
		RateLimit: ratelimit.Config{
			Store: "redis", Redis: ratelimit.Redis{Address: "127.0.0.1:6379", Password: "secret", DB: 2},
			OnStoreError: "fail_open", Key: "api_key",
			Tiers: map[string]ratelimit.Tier{
				"anonymous": {Rate: 50, Per: time.Second, Burst: 200},
				"default":   {Rate: 500, Per: time.Second, Burst: 2000},
				"partner":   {Rate: 2000, Per: time.Minute, Burst: 10000, Limits: &analysis.Limits{MaxDepth: 20, MaxCost: 20000}},
			},
		},
		GraphQL: []GraphQLRoute{
			{
				Name: "shop", Path: "/graphql",
				Upstream: upstream.Config{URL: "http://127.0.0.1:4000/query", Timeout: 7 * time.Second, MaxIdleConns: 64},
				Schema: schema.Config{Subgraphs: []schema.Subgraph{
					{Name: "accounts", File: abs(t, "schemas/accounts.graphql")},
					{Name: "products", URL: "http://127.0.0.1:4002/query", Timeout: 2 * time.Second},
				}},
				Limits: analysis.Limits{MaxDepth: 11, MaxHeight: 201, MaxAliases: 31, MaxRootFields: 21, MaxTokens: 5001, MaxDirectives: 51, MaxCost: 5001, MaxBatch: 2, MaxSelections: 1001},
				Cost:   analysis.CostConfig{ListSize: 25},
				Authorization: authz.GraphQLConfig{Mode: "filter", DryRun: true, Rules: []authz.Rule{
					{Coordinate: "Query.user", Policy: "self"},
					{Coordinate: "Mutation.updateUser(input.role)", Policy: "admin"},
					{Coordinate: "User.email", Scopes: []string{"users:email"}},
				}},
				Introspection:       &Introspection{AllowScopes: []string{"schema:read"}},
				PersistedOperations: PersistedOperations{Mode: "safelist", Manifest: abs(t, "manifests/shop.json")},
				UnknownMembers:      "refuse",
				CSRFPrevention:      &no,
			},
			{
				Name: "mono", Path: "/mono/graphql",
				Upstream: upstream.Config{
					URL: "https://mono.internal:8443/graphql", Timeout: DefaultUpstreamTimeout,
					CAFile: abs(t, "tls/upstream-ca.pem"), CertFile: abs(t, "tls/client.crt"), KeyFile: abs(t, "tls/client.key"),
				},
				Schema:              schema.Config{Supergraph: abs(t, "schemas/supergraph.graphql")},
				Limits:              analysis.DefaultLimits,
				Cost:                analysis.CostConfig{ListSize: DefaultListSize},
				Authorization:       authz.GraphQLConfig{Mode: "reject"},
				PersistedOperations: PersistedOperations{Mode: "off"},
				UnknownMembers:      "refuse",
				CSRFPrevention:      ptr(true),
			},
		},
		REST: []RESTRoute{{
			Name: "orders", Prefix: "/api", OpenAPI: abs(t, "specs/orders.yaml"),
			Upstream:          upstream.Config{URL: "http://127.0.0.1:5000", Timeout: 4 * time.Second},
			ValidateResponses: "report", DefaultCost: 3, StripPrefix: true,
		}},
		Telemetry: telemetry.Config{ServiceName: "shop-gateway", Tracing: telemetry.Tracing{
			Exporter: "otlp", Endpoint: "grpc://127.0.0.1:4317", SampleRatio: ptr(0.25),
			Headers: map[string]string{"x-api-key": "collector-key"}, QueueSize: telemetry.DefaultQueueSize,
			BatchSize: telemetry.DefaultBatchSize, FlushInterval: telemetry.DefaultFlushInterval, Timeout: telemetry.DefaultTimeout,
		}},
		Audit: audit.Config{IncludeAllowed: true, AggregateWindow: 30 * time.Second, Sinks: []audit.SinkConfig{
			sinkDefaults(audit.SinkConfig{Type: "log", Name: "log"}),
			sinkDefaults(audit.SinkConfig{Type: "http", Name: "http", URL: "https://siem.example/services/collector/event", Envelope: "splunk_hec",
				Headers: map[string]string{"Authorization": "Splunk hec-token"}, BatchSize: 50, FlushInterval: 2 * time.Second, QueueSize: 5000}),
			sinkDefaults(audit.SinkConfig{Type: "syslog", Name: "syslog", Address: "tls://siem.example:6514", CAFile: abs(t, "tls/upstream-ca.pem")}),
			sinkDefaults(audit.SinkConfig{Type: "file", Name: "file", Path: abs(t, "audit.jsonl")}),
		}},
		LiveView: liveview.Config{Enabled: ptr(true), Recent: 20, Refresh: 5 * time.Second},
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("Load(full.yaml) =\n%+v\nwant\n%+v", cfg, want)
	}
}

func ptr[T any](v T) *T { return &v }

// sinkDefaults fills what audit.Config.WithDefaults fills for one sink.
func sinkDefaults(s audit.SinkConfig) audit.SinkConfig {
	return audit.Config{Sinks: []audit.SinkConfig{s}}.WithDefaults().Sinks[0]
}

func TestDefaults(t *testing.T) {
	cfg := mustLoad(t, "testdata/good/minimal.yaml")
	checks := []struct {
		name      string
		got, want any
	}{
		{"listen", cfg.Server.Listen, "127.0.0.1:8080"},
		{"admin_listen", cfg.Server.AdminListen, "127.0.0.1:9090"},
		{"max_body_bytes", cfg.Server.MaxBodyBytes, int64(1 << 20)},
		{"read_header_timeout", cfg.Server.ReadHeaderTimeout, 5 * time.Second},
		{"read_timeout", cfg.Server.ReadTimeout, 30 * time.Second},
		{"write_timeout", cfg.Server.WriteTimeout, 60 * time.Second},
		{"idle_timeout", cfg.Server.IdleTimeout, 120 * time.Second},
		{"shutdown_grace", cfg.Server.ShutdownGrace, 20 * time.Second},
		{"tls", cfg.Server.TLS, (*TLS)(nil)},
		{"anonymous", cfg.Identity.Anonymous, false},
		{"store", cfg.RateLimit.Store, "memory"},
		{"on_store_error", cfg.RateLimit.OnStoreError, "fail_closed"},
		{"key", cfg.RateLimit.Key, "subject"},
		{"tiers", cfg.RateLimit.Tiers, map[string]ratelimit.Tier{
			"anonymous": {Rate: 50, Per: time.Second, Burst: 200},
			"default":   {Rate: 500, Per: time.Second, Burst: 2000},
		}},
		{"rest timeout", cfg.REST[0].Upstream.Timeout, 10 * time.Second},
		{"validate_responses", cfg.REST[0].ValidateResponses, "off"},
		{"default_cost", cfg.REST[0].DefaultCost, 1},
		{"strip_prefix", cfg.REST[0].StripPrefix, false},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if !reflect.DeepEqual(c.got, c.want) {
				t.Errorf("got %#v, want %#v", c.got, c.want)
			}
		})
	}
}

func TestGraphQLDefaults(t *testing.T) {
	cfg, err := Parse([]byte(`
graphql:
  - name: g
    path: /g
    upstream: {url: http://127.0.0.1:1}
    schema: {supergraph: testdata/good/schemas/supergraph.graphql}
    limits: {max_depth: 3}
rate_limit:
  tiers:
    gold: {rate: 1, per: 1s, burst: 1}
`), "")
	if err != nil {
		t.Fatal(err)
	}
	r := cfg.GraphQL[0]
	wantLimits := analysis.DefaultLimits
	wantLimits.MaxDepth = 3
	checks := []struct {
		name      string
		got, want any
	}{
		{"limits keep set fields and default the rest", r.Limits, wantLimits},
		{"list_size", r.Cost.ListSize, 10},
		{"authorization mode", r.Authorization.Mode, "reject"},
		{"persisted operations", r.PersistedOperations.Mode, "off"},
		{"unknown members", r.UnknownMembers, "refuse"},
		{"introspection refused", r.Introspection, (*Introspection)(nil)},
		{"csrf prevention on", *r.CSRFPrevention, true},
		{"upstream timeout", r.Upstream.Timeout, 10 * time.Second},
		{"default and anonymous tiers added beside given ones", slices.Sorted(mapsKeys(cfg.RateLimit.Tiers)), []string{"anonymous", "default", "gold"}},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if !reflect.DeepEqual(c.got, c.want) {
				t.Errorf("got %#v, want %#v", c.got, c.want)
			}
		})
	}
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func TestEnvExpansion(t *testing.T) {
	t.Setenv("PC_TEST_HOST", "10.1.2.3")
	t.Setenv("PC_TEST_PORT", "8088")
	t.Setenv("PC_TEST_GRACE", "7s")
	// A value that would be YAML structure if it were substituted as text.
	t.Setenv("PC_TEST_PASSWORD", "x\"}\nstore: memory\n#")
	t.Setenv("PC_TEST_DB", "4")
	t.Setenv("PC_TEST_UPSTREAM", "http://127.0.0.1:4000")
	cfg := mustLoad(t, "testdata/good/env.yaml")
	checks := []struct {
		name      string
		got, want any
	}{
		{"two variables in one value", cfg.Server.Listen, "10.1.2.3:8088"},
		{"duration", cfg.Server.ShutdownGrace, 7 * time.Second},
		{"quoted value", cfg.RateLimit.Redis.Address, "10.1.2.3:6379"},
		{"value stays one scalar", cfg.RateLimit.Redis.Password, "x\"}\nstore: memory\n#"},
		{"no injected key", cfg.RateLimit.Store, "redis"},
		{"plain scalar becomes an integer", cfg.RateLimit.Redis.DB, 4},
		{"escaped", cfg.Policies["literal"], "request.headers['x'] == '${NOT_A_VAR}'"},
		{"inside a URL", cfg.GraphQL[0].Upstream.URL, "http://127.0.0.1:4000/query"},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if !reflect.DeepEqual(c.got, c.want) {
				t.Errorf("got %#v, want %#v", c.got, c.want)
			}
		})
	}
}

func TestEnvProblems(t *testing.T) {
	t.Setenv("PC_TEST_WORD", "abc")
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"unset variable", "server: {listen: '${PC_TEST_SURELY_UNSET}'}", []string{"server.listen: environment variable PC_TEST_SURELY_UNSET is not set (line 1)"}},
		{"unterminated", "server: {listen: '${PC_TEST_WORD'}", []string{`server.listen: unterminated ${ in "${PC_TEST_WORD" (write $${ for a literal ${) (line 1)`}},
		{"bad name", "server: {listen: '${1X}'}", []string{`server.listen: invalid environment variable name "1X" (line 1)`}},
		{"expanded value has the wrong type", "server:\n  max_body_bytes: ${PC_TEST_WORD}", []string{`server.max_body_bytes: expected an integer, got "abc" (line 2)`}},
		{"quoted expansion stays a string", "server: {max_body_bytes: \"${PC_TEST_WORD}\"}", []string{`server.max_body_bytes: expected an integer, got "abc" (line 1)`}},
		{"keys are not expanded", "server: {'${PC_TEST_WORD}': 1}", []string{`server["${PC_TEST_WORD}"]: unknown key (line 1)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := problemsOf(t, tt.yaml)
			got = slices.DeleteFunc(got, func(s string) bool { return strings.Contains(s, "at least one route") })
			if !slices.Equal(got, tt.want) {
				t.Errorf("problems =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func problemsOf(t *testing.T, doc string) []string {
	t.Helper()
	_, err := Parse([]byte(doc), "")
	var ps *Problems
	if !errors.As(err, &ps) {
		t.Fatalf("Parse: error %v (%T), want *Problems", err, err)
	}
	out := make([]string, len(ps.List))
	for i, p := range ps.List {
		out[i] = p.String()
	}
	return out
}

func TestBrokenFiles(t *testing.T) {
	tests := []struct {
		file  string
		paths []string
		// lines are checked for a few problems: path -> line
		lines map[string]int
	}{
		{"bad_policy.yaml", []string{"policies.typo", "policies.notbool", "policies.syntax"},
			map[string]int{"policies.typo": 2, "policies.notbool": 3, "policies.syntax": 4}},
		{"unknown_key.yaml", []string{"server.lissten", "graphql[0].limtis"},
			map[string]int{"server.lissten": 2, "graphql[0].limtis": 8}},
		{"bad_duration.yaml", []string{"server.read_timeout", "rate_limit.tiers.default.per", "graphql[0].upstream.timeout"},
			map[string]int{"server.read_timeout": 2, "rate_limit.tiers.default.per": 5}},
		{"missing_file.yaml", []string{"graphql[0].schema.subgraphs[1].file", "rest[0].openapi"},
			map[string]int{"graphql[0].schema.subgraphs[1].file": 8}},
		{"negative_limit.yaml", []string{
			"rate_limit.tiers.partner.limits.max_depth",
			"graphql[0].limits.max_depth", "graphql[0].limits.max_cost", "graphql[0].cost.list_size",
		}, map[string]int{"graphql[0].limits.max_cost": 9}},
		{"bad_enum.yaml", []string{
			"rate_limit.store", "rate_limit.on_store_error", "rate_limit.key",
			"graphql[0].authorization.mode", "graphql[0].persisted_operations.mode", "rest[0].validate_responses",
		}, map[string]int{"rest[0].validate_responses": 17}},
		{"many.yaml", []string{
			"server.admin_listen", "server.max_body_bytes", "server.shutdown_grace", "server.tls.key_file",
			"server.trusted_proxies[0]",
			"identity.oidc[0].issuer", "identity.oidc[0].audiences",
			"identity.api_keys[0].sha256", "identity.api_keys[0].tier", "identity.api_keys[1].name",
			"identity.anonymous",
			"rate_limit.redis.address",
			"rate_limit.tiers.default.rate", "rate_limit.tiers.default.per", "rate_limit.tiers.default.burst",
			"graphql[0].path", "graphql[0].upstream.url", "graphql[0].schema.supergraph",
			"graphql[0].schema.subgraphs[0].url", "graphql[0].schema.subgraphs[1].name",
			"graphql[0].authorization.rules[0].policy", "graphql[0].authorization.rules[1].coordinate",
			"graphql[0].authorization.rules[1]", "graphql[0].persisted_operations.manifest",
			"graphql[1].name", "graphql[1].limits",
			"rest[0].prefix", "rest[0].upstream.timeout", "rest[0].default_cost",
			"rest[1].prefix", "rest[1].upstream.url",
		}, map[string]int{"graphql[1].limits": 42, "identity.anonymous": 18, "rest[1].upstream.url": 52}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			_, err := Load(filepath.Join("testdata", "broken", tt.file))
			var ps *Problems
			if !errors.As(err, &ps) {
				t.Fatalf("Load: error %v (%T), want *Problems", err, err)
			}
			var got []string
			lines := map[string]int{}
			for _, p := range ps.List {
				got = append(got, p.Path.String())
				lines[p.Path.String()] = p.Line
			}
			sort.Strings(got)
			want := slices.Clone(tt.paths)
			sort.Strings(want)
			if !slices.Equal(got, want) {
				t.Errorf("problem paths =\n  %s\nwant\n  %s\nerror:\n%v", strings.Join(got, "\n  "), strings.Join(want, "\n  "), err)
			}
			for p, l := range tt.lines {
				if lines[p] != l {
					t.Errorf("%s: line %d, want %d", p, lines[p], l)
				}
			}
		})
	}
}

func TestProblemsError(t *testing.T) {
	_, err := Load("testdata/broken/unknown_key.yaml")
	want := "server.lissten: unknown key (line 2)\ngraphql[0].limtis: unknown key (line 8)"
	if err == nil || err.Error() != want {
		t.Errorf("Error() =\n%v\nwant\n%s", err, want)
	}
}

func TestMissingFileMessage(t *testing.T) {
	got := problemsOf(t, "x: 1")
	if !slices.Equal(got, []string{"x: unknown key (line 1)", "at least one route (graphql or rest) is required"}) {
		t.Errorf("got %q", got)
	}
	_, err := Load("testdata/broken/missing_file.yaml")
	if err == nil || !strings.Contains(err.Error(), `graphql[0].schema.subgraphs[1].file: no such file "schemas/x.graphql" (line 8)`) {
		t.Errorf("error %v does not name the missing file as written", err)
	}
	_, err = Load("testdata/does-not-exist.yaml")
	var ps *Problems
	if !errors.As(err, &ps) || !strings.Contains(err.Error(), "reading config") {
		t.Errorf("Load of a missing config: %v", err)
	}
}

// route wraps one graphql route's extra YAML in a config that is otherwise valid.
func route(extra string) string {
	return `
graphql:
  - name: g
    path: /g
    upstream: {url: http://127.0.0.1:1}
    schema: {supergraph: testdata/good/schemas/supergraph.graphql}
` + extra
}

func TestValidationRules(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string // problem strings (with line)
	}{
		{"empty file", "", []string{"at least one route (graphql or rest) is required"}},
		{"second document", "server: {}\n---\nserver: {}\n", []string{"a config file holds one YAML document; found a second one (line 2)"}},
		{"syntax error", "server: [\n", []string{"parsing YAML: yaml: line 1: did not find expected node content (line 1)"}},
		{"duplicate key", route("    path: /h\n"), []string{"graphql[0].path: duplicate key (first at line 4) (line 7)"}},
		{"merge key", route("    <<: {name: x}\n"), []string{"graphql[0][\"<<\"]: merge keys (<<) are not supported (line 7)"}},
		{"wrong type: list for mapping", route("    limits: [1]\n"), []string{"graphql[0].limits: expected a mapping, got a list (line 7)"}},
		{"wrong type: mapping for string", strings.Replace(route(""), "name: g", "name: {a: 1}", 1), []string{
			"graphql[0].name: expected a string, got a mapping (line 3)"}},
		{"wrong type: bool", route("    csrf_prevention: yes\n"), []string{`graphql[0].csrf_prevention: expected true or false, got "yes" (line 7)`}},
		{"wrong type: int", route("    limits: {max_depth: 1.5}\n"), []string{`graphql[0].limits.max_depth: expected an integer, got "1.5" (line 7)`}},
		{"duration without unit", strings.Replace(route(""), "url: http://127.0.0.1:1}", "url: http://127.0.0.1:1, timeout: 10}", 1), []string{
			`graphql[0].upstream.timeout: invalid duration "10": want a Go duration such as "10s", "1m30s" or "500ms" (line 5)`}},
		{"negative duration", strings.Replace(route(""), "url: http://127.0.0.1:1}", "url: http://127.0.0.1:1, timeout: -1s}", 1), []string{
			`graphql[0].upstream.timeout: must be > 0 (line 5)`}},
		{"https upstream fine", "graphql:\n  - {name: g, path: /g, upstream: {url: 'https://x:1'}, schema: {supergraph: testdata/good/schemas/supergraph.graphql}}\n", nil},
		{"upstream without host", strings.Replace(route(""), "http://127.0.0.1:1", "http:///x", 1), []string{
			`graphql[0].upstream.url: must be an absolute http or https URL, got "http:///x" (line 5)`}},
		{"upstream with credentials", strings.Replace(route(""), "http://127.0.0.1:1", "http://u:p@h", 1), []string{
			`graphql[0].upstream.url: must not contain credentials (line 5)`}},
		{"relative upstream", strings.Replace(route(""), "http://127.0.0.1:1", "/x", 1), []string{
			`graphql[0].upstream.url: must be an absolute http or https URL, got "/x" (line 5)`}},
		{"upstream client cert without key", strings.Replace(route(""), "http://127.0.0.1:1", "https://h, cert_file: testdata/good/tls/client.crt", 1), []string{
			`graphql[0].upstream.cert_file: cert_file and key_file must be set together (line 5)`}},
		{"path with dot dot", strings.Replace(route(""), "path: /g", "path: /a/../g", 1), []string{
			`graphql[0].path: must be a clean path (no //, ., .. or trailing /), got "/a/../g"; use "/g" (line 4)`}},
		{"path with query", strings.Replace(route(""), "path: /g", "path: /g?x", 1), []string{
			`graphql[0].path: must be a plain path without spaces, ?, #, % or ;, got "/g?x" (line 4)`}},
		{"route name with spaces", strings.Replace(route(""), "name: g", "name: my route", 1), []string{
			`graphql[0].name: "my route" must match ^[A-Za-z0-9_-]+$ (line 3)`}},
		{"zero rate", route("rate_limit: {tiers: {default: {rate: 0, per: 1s, burst: 1}}}\n"), []string{
			"rate_limit.tiers.default.rate: must be > 0 (line 7)"}},
		{"bad tier name", route("rate_limit: {tiers: {\"a b\": {rate: 1, per: 1s, burst: 1}}}\n"), []string{
			`rate_limit.tiers["a b"]: tier name must match ^[A-Za-z0-9_-]+$ (line 7)`}},
		{"api key tier missing", route("identity: {api_keys: [{name: k, sha256: " + strings.Repeat("a", 64) + ", tier: gold}]}\n"), []string{
			`identity.api_keys[0].tier: unknown tier "gold" (tiers: [anonymous default]) (line 7)`}},
		{"api key tier present", route("identity: {api_keys: [{name: k, sha256: " + strings.Repeat("a", 64) + ", tier: gold}]}\nrate_limit: {tiers: {gold: {rate: 1, per: 1s, burst: 1}}}\n"), nil},
		{"api key hash not hex", route("identity: {api_keys: [{name: k, sha256: " + strings.Repeat("g", 64) + "}]}\n"), []string{
			`identity.api_keys[0].sha256: must be 64 hex characters (the SHA-256 of the key) (line 7)`}},
		{"oidc over plain http to loopback", route("identity: {oidc: [{issuer: 'http://127.0.0.1:9000', audiences: [a]}]}\n"), nil},
		{"oidc over plain http", route("identity: {oidc: [{issuer: 'http://idp.test', audiences: [a]}]}\n"), []string{
			`identity.oidc[0].issuer: must use https (plain http only for loopback hosts), got "http://idp.test" (line 7)`}},
		{"oidc jwks over plain http", route("identity: {oidc: [{issuer: 'https://idp.test', jwks_url: 'http://idp.test/keys', audiences: [a]}]}\n"), []string{
			`identity.oidc[0].jwks_url: must use https (plain http only for loopback hosts), got "http://idp.test/keys" (line 7)`}},
		{"redis without address", route("rate_limit: {store: redis}\n"), []string{
			"rate_limit.redis.address: is required when store is redis (line 7)"}},
		{"graphql path equals rest prefix", route("rest: [{name: r, prefix: /g, openapi: testdata/good/specs/orders.yaml, upstream: {url: 'http://h'}}]\n"), []string{
			`rest[0].prefix: duplicate path "/g" (also graphql[0].path) (line 7)`}},
		{"duplicate names across protocols", route("rest: [{name: g, prefix: /r, openapi: testdata/good/specs/orders.yaml, upstream: {url: 'http://h'}}]\n"), []string{
			`rest[0].name: duplicate route name "g" (also graphql[0]) (line 7)`}},
		{"rest without openapi", "rest: [{name: r, prefix: /r, upstream: {url: 'http://h'}}]\n", []string{
			"rest[0].openapi: is required (line 1)"}},
		{"neither subgraphs nor supergraph", "graphql: [{name: g, path: /g, upstream: {url: 'http://h'}}]\n", []string{
			"graphql[0].schema.subgraphs: one of subgraphs or supergraph is required (line 1)"}},
		{"subgraph without source", strings.Replace(route(""), "supergraph: testdata/good/schemas/supergraph.graphql", "subgraphs: [{name: a}]", 1), []string{
			"graphql[0].schema.subgraphs[0].file: one of file or url is required (line 6)"}},
		{"subgraph by url", strings.Replace(route(""), "supergraph: testdata/good/schemas/supergraph.graphql", "subgraphs: [{name: a, url: 'http://h/q'}, {name: a, url: 'file:///x'}]", 1), []string{
			"graphql[0].schema.subgraphs[1].name: duplicate subgraph name \"a\" (also subgraphs[0]) (line 6)",
			"graphql[0].schema.subgraphs[1].url: must be an absolute http or https URL, got \"file:///x\" (line 6)"}},
		{"safelist manifest resolved", route("    persisted_operations: {mode: safelist, manifest: testdata/good/manifests/shop.json}\n"), nil},
		{"manifest without safelist", route("    persisted_operations: {mode: allow_apq, manifest: testdata/good/manifests/shop.json}\n"), []string{
			"graphql[0].persisted_operations.manifest: only used with mode audit or safelist (line 7)"}},
		{"audit with clients and a record", route("    persisted_operations: {mode: audit, manifests: [testdata/good/manifests/shop.json], clients: {web: testdata/good/manifests/shop.json}, record: {file: testdata/record.json}}\n"), nil},
		{"client manifest missing", route("    persisted_operations: {mode: safelist, clients: {web: testdata/none.json}}\n"), []string{
			`graphql[0].persisted_operations.clients.web: no such file "testdata/none.json" (line 7)`}},
		{"record folder missing", route("    persisted_operations: {mode: audit, record: {file: testdata/nowhere/record.json}}\n"), []string{
			`graphql[0].persisted_operations.record.file: the folder of "testdata/nowhere/record.json" does not exist (line 7)`}},
		{"record with apq", route("    persisted_operations: {mode: allow_apq, record: {file: testdata/record.json}}\n"), []string{
			"graphql[0].persisted_operations.record: only used with mode audit or safelist (line 7)"}},
		{"external without url", route("    authorization: {external: {timeout: 10ms}}\n"), []string{
			"graphql[0].authorization.external.url: is required (line 7)"}},
		{"external on_error", route("    authorization: {external: {url: 'http://opa:8181/v1/data/x', on_error: open}}\n"), []string{
			`graphql[0].authorization.external.on_error: must be deny or allow, got "open" (line 7)`}},
		{"rest external", route("rest: [{name: r, prefix: /r, openapi: testdata/good/specs/orders.yaml, upstream: {url: 'http://h'}, authorization: {external: {url: 'ftp://opa'}}}]\n"), []string{
			`rest[0].authorization.external.url: must be an absolute http or https URL, got "ftp://opa" (line 7)`}},
		{"coordinate limit", route("rate_limit: {coordinates: [{coordinate: Mutation.login, rate: 5, per: 1m, burst: 5, key: ip}]}\n"), nil},
		{"coordinate limit without burst", route("rate_limit: {coordinates: [{coordinate: Mutation.login, rate: 5, per: 1m}]}\n"), []string{
			"rate_limit.coordinates[0].burst: must be > 0 (line 7)"}},
		{"operation limit on no route", route("rate_limit: {coordinates: [{operation: orders.createOrder, rate: 5, per: 1m, burst: 5}]}\n"), []string{
			`rate_limit.coordinates[0].operation: no REST route named "orders" (line 7)`}},
		{"overflowing integer", "server: {max_body_bytes: 99999999999999999999}\n" + route(""), []string{
			`server.max_body_bytes: expected an integer, got "99999999999999999999" (line 1)`}},
		{"listen without port", "server: {listen: localhost}\n" + route(""), []string{
			`server.listen: must be host:port, got "localhost" (line 1)`}},
		{"rule without requirement", route("    authorization: {rules: [{coordinate: Query.x}]}\n"), []string{
			"graphql[0].authorization.rules[0]: set policy or scopes (line 7)"}},
		{"introspection without scopes", route("    introspection: {}\n"), []string{
			"graphql[0].introspection.allow_scopes: list at least one scope, or remove introspection to refuse it (line 7)"}},
		{"tls without key", "server: {tls: {cert_file: testdata/good/tls/server.crt}}\n" + route(""), []string{
			"server.tls.key_file: is required when tls is set (line 1)"}},
		{"tls folder instead of file", "server: {tls: {cert_file: testdata/good/tls, key_file: testdata/good/tls/server.key}}\n" + route(""), []string{
			`server.tls.cert_file: "testdata/good/tls" is a folder, not a file (line 1)`}},
		{"empty policy", route("policies: {p: ' '}\n"), []string{"policies.p: expression must not be empty (line 7)"}},
		{"unknown_members drop", route("    unknown_members: drop\n"), nil},
		{"unknown_members bad", route("    unknown_members: ignore\n"), []string{
			`graphql[0].unknown_members: must be refuse or drop, got "ignore" (line 7)`}},
		{"forward_headers not stripped anyway", strings.Replace(route(""), "url: http://127.0.0.1:1", "url: http://127.0.0.1:1, forward_headers: [X-Original-URL, X-Custom]", 1), []string{
			`graphql[0].upstream.forward_headers[1]: "X-Custom" is not stripped by default, so listing it changes nothing (line 5)`}},
		{"null sections are empty", route("server:\nidentity: ~\n"), nil},
		{"alias reuses a node", "u: &u {url: 'http://h'}\n" + route(""), []string{"u: unknown key (line 1)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			cfg, err := Parse([]byte(tt.yaml), "")
			if err != nil {
				var ps *Problems
				if !errors.As(err, &ps) {
					t.Fatalf("error %v (%T), want *Problems", err, err)
				}
				got = problemsOf(t, tt.yaml)
			} else if cfg == nil {
				t.Fatal("nil config without error")
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("problems =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// TestAliasFanOutIsBounded sends a small document whose aliases expand
// to over a million nodes along keys the decoder walks.
func TestAliasFanOutIsBounded(t *testing.T) {
	list := func(alias string, n int) string {
		return "[" + strings.TrimSuffix(strings.Repeat(alias+", ", n), ", ") + "]"
	}
	doc := "x: &s " + list("a", 100) + "\n" +
		"y: &rule {coordinate: Query.x, scopes: *s}\n" +
		"z: &rules " + list("*rule", 100) + "\n" +
		"w: &route {name: g, authorization: {rules: *rules}}\n" +
		"graphql: " + list("*route", 100) + "\n"
	got := problemsOf(t, doc)
	if !slices.ContainsFunc(got, func(s string) bool { return strings.Contains(s, "too many alias expansions (more than 100000 nodes)") }) {
		t.Errorf("problems = %q, want the alias expansion refused", got)
	}
}

func TestLoadResolvesAgainstConfigFolder(t *testing.T) {
	// Loading from another working directory must find the same files.
	dir := t.TempDir()
	data, err := os.ReadFile("testdata/good/minimal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "c.yaml"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(filepath.Join(dir, "c.yaml")); err == nil || !strings.Contains(err.Error(), `rest[0].openapi: no such file "specs/orders.yaml"`) {
		t.Errorf("relative openapi path in a folder without it: %v", err)
	}
	cfg := mustLoad(t, "testdata/good/minimal.yaml")
	if want := abs(t, "specs/orders.yaml"); cfg.REST[0].OpenAPI != want {
		t.Errorf("openapi = %q, want %q", cfg.REST[0].OpenAPI, want)
	}
}

// TestLoadShippedConfigs loads every config in configs/, as `portcullis
// check` would.
func TestLoadShippedConfigs(t *testing.T) {
	files, err := filepath.Glob("../../configs/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			if _, err := Load(f); err != nil {
				t.Errorf("Load(%s):\n%v", f, err)
			}
		})
	}
}

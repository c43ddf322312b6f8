package docs

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-gw/portcullis/gateway/config"
	"github.com/portcullis-gw/portcullis/internal/testkit/gatewaytest"
)

// These tests keep docs/config.md, configs/portcullis.schema.json and the
// loader's types saying the same thing (gateway/config's schema test keeps
// the schema and the Go types in step). They read the registries as they
// are, so keys added later are held to the same rule.

// schemaKeys walks the JSON Schema: every key path ("server.tls.cert_file",
// "graphql[].limits.max_depth", "rate_limit.tiers.<name>.rate"), whether it
// is a leaf, and the $defs name a path was reached through.
type schemaKeys struct {
	leaf   map[string]bool   // path -> has no keys below it
	viaDef map[string]string // path -> $defs name its node came from
}

func readSchemaKeys(t *testing.T) schemaKeys {
	t.Helper()
	raw, err := os.ReadFile("../../configs/portcullis.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var root map[string]any
	if err := json.Unmarshal(raw, &root); err != nil {
		t.Fatal(err)
	}
	defs, _ := root["$defs"].(map[string]any)
	sk := schemaKeys{leaf: map[string]bool{}, viaDef: map[string]string{}}
	var walk func(path string, n map[string]any)
	walk = func(path string, n map[string]any) {
		for {
			ref, ok := n["$ref"].(string)
			if !ok {
				break
			}
			name := strings.TrimPrefix(ref, "#/$defs/")
			sk.viaDef[path] = name
			n, _ = defs[name].(map[string]any)
		}
		children := 0
		var alts []map[string]any
		alts = append(alts, n)
		for _, a := range append(anyList(n["anyOf"]), anyList(n["oneOf"])...) {
			if m, ok := a.(map[string]any); ok {
				alts = append(alts, m)
			}
		}
		for _, alt := range alts {
			if props, ok := alt["properties"].(map[string]any); ok {
				for k, v := range props {
					children++
					walk(join(path, k), v.(map[string]any))
				}
			}
			if items, ok := alt["items"].(map[string]any); ok && isObject(items, defs) {
				children++
				walk(path+"[]", items)
			}
			if ap, ok := alt["additionalProperties"].(map[string]any); ok {
				children++
				walk(join(path, "<name>"), ap)
			}
		}
		if path != "" {
			sk.leaf[path] = children == 0
		}
	}
	walk("", root)
	return sk
}

func anyList(v any) []any { l, _ := v.([]any); return l }

func isObject(n map[string]any, defs map[string]any) bool {
	for {
		ref, ok := n["$ref"].(string)
		if !ok {
			break
		}
		n, _ = defs[strings.TrimPrefix(ref, "#/$defs/")].(map[string]any)
	}
	_, props := n["properties"]
	return n["type"] == "object" || props
}

func join(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// docRow is one row of a reference table in docs/config.md.
type docRow struct {
	section, key, typ, def string
	line                   int
}

var (
	sectionHeading = regexp.MustCompile("^### `([^`]+)`")
	backticked     = regexp.MustCompile("`([^`]+)`")
	unescapedPipe  = regexp.MustCompile(`([^\\])\|`)
)

// readConfigDoc returns the reference tables' rows and the sections that have
// no table (documented as a whole, like policies).
func readConfigDoc(t *testing.T) (rows []docRow, untabled []string) {
	t.Helper()
	raw, err := os.ReadFile("../../docs/config.md")
	if err != nil {
		t.Fatal(err)
	}
	section := ""
	hasTable := map[string]bool{}
	var order []string
	for i, line := range strings.Split(string(raw), "\n") {
		if m := sectionHeading.FindStringSubmatch(line); m != nil {
			section = m[1]
			// A heading may name several sections documented together
			// ("### `telemetry`, `audit`, `live_view`").
			for _, k := range backticked.FindAllStringSubmatch(strings.TrimPrefix(line, "### "), -1) {
				order = append(order, k[1])
			}
			continue
		}
		if strings.HasPrefix(line, "## ") {
			section = ""
			continue
		}
		if section == "" || !strings.HasPrefix(line, "| `") {
			continue
		}
		hasTable[section] = true
		cells := strings.Split(unescapedPipe.ReplaceAllString(" "+line, "$1\x00"), "\x00")
		if len(cells) < 4 {
			t.Fatalf("docs/config.md:%d: a table row with %d cells", i+1, len(cells))
		}
		for _, k := range backticked.FindAllStringSubmatch(cells[1], -1) {
			rows = append(rows, docRow{section: section, key: k[1], typ: strings.TrimSpace(cells[2]), def: strings.TrimSpace(cells[3]), line: i + 1})
		}
	}
	for _, s := range order {
		if !hasTable[s] {
			untabled = append(untabled, s)
		}
	}
	return rows, untabled
}

// fullPaths turns a row into schema paths: a section that is a $defs name
// (upstream) stands for every place the schema uses that definition.
func (sk schemaKeys) fullPaths(r docRow) []string {
	if _, ok := sk.leaf[r.section]; ok {
		return []string{join(r.section, r.key)}
	}
	var out []string
	for path, def := range sk.viaDef {
		if def == r.section {
			out = append(out, join(path, r.key))
		}
	}
	slices.Sort(out)
	return out
}

func TestDocsConfigKeysMatchSchema(t *testing.T) {
	sk := readSchemaKeys(t)
	rows, untabled := readConfigDoc(t)
	if len(sk.leaf) < 50 || len(rows) < 50 {
		t.Fatalf("found %d schema keys and %d documented rows; the readers are broken", len(sk.leaf), len(rows))
	}
	documented := map[string]bool{}
	for _, r := range rows {
		paths := sk.fullPaths(r)
		if len(paths) == 0 {
			t.Errorf("docs/config.md:%d: section %q is neither a key nor a definition of the schema", r.line, r.section)
		}
		for _, p := range paths {
			if _, ok := sk.leaf[p]; !ok {
				t.Errorf("docs/config.md:%d: %s is documented but the schema (and so the loader) has no such key", r.line, p)
			}
			documented[p] = true
		}
	}
	for _, s := range untabled {
		documented[s] = true
	}
	for p, isLeaf := range sk.leaf {
		if !isLeaf || coveredBy(p, documented, sk) {
			continue
		}
		t.Errorf("%s is in the schema but not in docs/config.md's tables", p)
	}
	checkSectionPages(t, sk, untabled)
}

// sectionPages are the pages that document a section config.md names
// without a table of its own: each key of it must be in the page's tables.
var sectionPages = map[string]string{
	"telemetry": "monitoring.md",
	"audit":     "monitoring.md",
	"live_view": "monitoring.md",
}

// checkSectionPages: every schema leaf of an untabled section is named in
// its page's table rows, by its path or a tail of it at a key boundary
// (`sinks[].type` in the audit table for audit.sinks[].type); a map's
// row (`headers`) covers its entries (headers.<name>).
func checkSectionPages(t *testing.T, sk schemaKeys, untabled []string) {
	t.Helper()
	pageKeys := map[string]map[string]bool{}
	for _, s := range untabled {
		page, ok := sectionPages[s]
		if !ok {
			continue
		}
		if pageKeys[page] == nil {
			raw, err := os.ReadFile("../../docs/" + page)
			if err != nil {
				t.Fatal(err)
			}
			keys := map[string]bool{}
			for _, line := range strings.Split(string(raw), "\n") {
				if cells := strings.SplitN(line, "|", 3); strings.HasPrefix(line, "| `") && len(cells) == 3 {
					for _, k := range backticked.FindAllStringSubmatch(cells[1], -1) {
						keys[k[1]] = true
					}
				}
			}
			pageKeys[page] = keys
		}
		for p, isLeaf := range sk.leaf {
			if !isLeaf || !strings.HasPrefix(p, s+".") {
				continue
			}
			if !namedIn(p, pageKeys[page]) {
				t.Errorf("%s is in the schema but not in docs/%s's tables (config.md sends readers there)", p, page)
			}
		}
	}
}

func namedIn(p string, keys map[string]bool) bool {
	for strings.HasSuffix(p, ".<name>") {
		p = strings.TrimSuffix(p, ".<name>")
	}
	for tail := p; ; {
		if keys[tail] {
			return true
		}
		i := strings.IndexByte(tail, '.')
		if i < 0 {
			return false
		}
		tail = tail[i+1:]
	}
}

// coveredBy: p or an ancestor is documented. An ancestor that is a route's
// upstream does not cover its keys: they have their own table.
func coveredBy(p string, documented map[string]bool, sk schemaKeys) bool {
	for a := p; a != ""; a = parentKey(a) {
		if documented[a] {
			return true
		}
		if sk.viaDef[a] == "upstream" {
			return false
		}
	}
	return false
}

func parentKey(p string) string {
	if strings.HasSuffix(p, "[]") {
		return strings.TrimSuffix(p, "[]")
	}
	i := strings.LastIndex(p, ".")
	if i < 0 {
		return ""
	}
	return p[:i]
}

// defaultsConfig has one of everything that has defaults: a GraphQL and a
// REST route, an OIDC issuer, an API key, a tier.
const defaultsConfig = `
identity:
  oidc: [{issuer: "https://idp.example.com", audiences: [a]}]
  api_keys: [{name: k, sha256: "` + "0779bb8b55ac0905f9f8653ea98606309036d9d9be5dafe83ed89dc4512b57ff" + `"}]
graphql:
  - name: g
    path: /graphql
    upstream: {url: "http://127.0.0.1:1"}
    schema: {subgraphs: [{name: products, file: schemas/products.graphql}]}
rest:
  - name: r
    prefix: /api
    openapi: specs/orders.yaml
    upstream: {url: "http://127.0.0.1:1"}
`

// appliedLater are documented defaults that the loader leaves at zero and
// the package owning the setting applies when it builds (each is tested
// there), or that only apply in a situation the defaults config lacks.
var appliedLater = map[string]string{
	"server.drain_delay":                                   "gateway (at shutdown)",
	"rate_limit.redis.mode":                                "policy/ratelimit (store: redis only)",
	"graphql[].upstream.balance":                           "upstream",
	"graphql[].upstream.health.interval":                   "upstream (health set only)",
	"graphql[].upstream.health.timeout":                    "upstream (health set only)",
	"graphql[].upstream.health.healthy_after":              "upstream (health set only)",
	"graphql[].upstream.health.unhealthy_after":            "upstream (health set only)",
	"graphql[].upstream.ejection.consecutive_failures":     "upstream",
	"graphql[].upstream.ejection.base_time":                "upstream",
	"graphql[].upstream.ejection.max_time":                 "upstream",
	"graphql[].upstream.breaker.window":                    "upstream",
	"graphql[].upstream.breaker.min_requests":              "upstream",
	"graphql[].upstream.breaker.failure_ratio":             "upstream",
	"graphql[].upstream.breaker.open_for":                  "upstream",
	"graphql[].upstream.breaker.half_open_requests":        "upstream",
	"graphql[].upstream.retry.attempts":                    "upstream",
	"graphql[].upstream.retry.per_try_timeout":             "upstream",
	"graphql[].upstream.retry.budget":                      "upstream",
	"rest[].upstream.balance":                              "upstream",
	"rest[].upstream.health.interval":                      "upstream (health set only)",
	"rest[].upstream.health.timeout":                       "upstream (health set only)",
	"rest[].upstream.health.healthy_after":                 "upstream (health set only)",
	"rest[].upstream.health.unhealthy_after":               "upstream (health set only)",
	"rest[].upstream.ejection.consecutive_failures":        "upstream",
	"rest[].upstream.ejection.base_time":                   "upstream",
	"rest[].upstream.ejection.max_time":                    "upstream",
	"rest[].upstream.breaker.window":                       "upstream",
	"rest[].upstream.breaker.min_requests":                 "upstream",
	"rest[].upstream.breaker.failure_ratio":                "upstream",
	"rest[].upstream.breaker.open_for":                     "upstream",
	"rest[].upstream.breaker.half_open_requests":           "upstream",
	"rest[].upstream.retry.attempts":                       "upstream",
	"rest[].upstream.retry.per_try_timeout":                "upstream",
	"rest[].upstream.retry.budget":                         "upstream",
	"identity.oidc[].clock_skew":                           "policy/authn",
	"rate_limit.timeout":                                   "policy/ratelimit",
	"rate_limit.penalty":                                   "policy/ratelimit",
	"rate_limit.min_cost":                                  "policy/ratelimit",
	"rate_limit.auth_failures":                             "policy/ratelimit",
	"graphql[].upstream.max_idle_conns":                    "upstream",
	"rest[].upstream.max_idle_conns":                       "upstream",
	"graphql[].schema.subgraphs[].timeout":                 "schema (subgraphs fetched by url only)",
	"graphql[].analysis_cache_size":                        "analysis",
	"graphql[].timeout":                                    "upstream/federation (execution: federated only)",
	"graphql[].plan_cache_bytes":                           "upstream/federation (execution: federated only)",
	"graphql[].analysis_cache_bytes":                       "analysis",
	"graphql[].limits.max_selections":                      "analysis",
	"rate_limit.tiers.<name>.max_in_flight":                "gateway",
	"identity.oidc[].jwks_url":                             "policy/authn (discovery)",
	"identity.api_keys[].tier":                             "policy/authn",
	"graphql[].persisted_operations.record.max_operations": "policy/trusted (record set only)",
	"graphql[].persisted_operations.record.max_bytes":      "policy/trusted (record set only)",
	"graphql[].persisted_operations.record.flush_interval": "policy/trusted (record set only)",
	"graphql[].authorization.external.timeout":             "policy/external (external set only)",
	"graphql[].authorization.external.on_error":            "policy/external (external set only)",
	"graphql[].authorization.external.cache_size":          "policy/external (external set only)",
	"rest[].authorization.external.timeout":                "policy/external (external set only)",
	"rest[].authorization.external.on_error":               "policy/external (external set only)",
	"rest[].authorization.external.cache_size":             "policy/external (external set only)",
}

// TestDocsConfigDefaults: each default written in docs/config.md is the
// value the loader gives a key left out.
func TestDocsConfigDefaults(t *testing.T) {
	sk := readSchemaKeys(t)
	rows, _ := readConfigDoc(t)
	cfg, err := config.Load(gatewaytest.WriteConfig(t, defaultsConfig))
	if err != nil {
		t.Fatalf("loading the defaults config: %v", err)
	}
	root := reflect.ValueOf(cfg).Elem()
	checked := 0
	for _, r := range rows {
		lit := defaultLiteral(r.def)
		for _, p := range sk.fullPaths(r) {
			v, ok := lookup(root, p)
			if !ok {
				t.Errorf("docs/config.md:%d: %s: the loader's types have no such key", r.line, p)
				continue
			}
			if lit == "" {
				continue
			}
			if isZero(v) && !zeroLiteral(lit) {
				if _, later := appliedLater[p]; !later {
					t.Errorf("docs/config.md:%d: %s documented default %q, but the loader leaves it unset", r.line, p, lit)
				}
				continue
			}
			if got, ok := sameValue(v, lit); !ok {
				t.Errorf("docs/config.md:%d: %s documented default %q, the loader gives %s", r.line, p, lit, got)
			}
			checked++
		}
	}
	for p := range appliedLater {
		if _, ok := sk.leaf[p]; !ok {
			t.Errorf("appliedLater names %s, which the schema does not have", p)
		}
	}
	if checked < 30 {
		t.Fatalf("only %d defaults compared; the reader is broken", checked)
	}
}

// defaultLiteral is the default cell's first `literal`, or "" when the cell
// has none (–, "from discovery").
func defaultLiteral(cell string) string {
	m := backticked.FindStringSubmatch(cell)
	if m == nil || !strings.HasPrefix(strings.TrimSpace(cell), "`") {
		return ""
	}
	return m[1]
}

func zeroLiteral(lit string) bool {
	return lit == "0" || lit == "false" || lit == "[]" || lit == "{}" || lit == `""` || lit == "off"
}

// lookup follows a schema path through the loaded config by yaml tags:
// [] is the first element, <name> the "default" tier.
func lookup(v reflect.Value, path string) (reflect.Value, bool) {
	for _, seg := range strings.Split(strings.ReplaceAll(path, "[]", ".[]"), ".") {
		for v.Kind() == reflect.Pointer {
			if v.IsNil() {
				v = reflect.New(v.Type().Elem()).Elem()
				break
			}
			v = v.Elem()
		}
		switch {
		case seg == "[]":
			if v.Kind() != reflect.Slice {
				return v, false
			}
			if v.Len() == 0 {
				v = reflect.New(v.Type().Elem()).Elem()
			} else {
				v = v.Index(0)
			}
		case seg == "<name>":
			if v.Kind() != reflect.Map {
				return v, false
			}
			e := v.MapIndex(reflect.ValueOf("default"))
			if !e.IsValid() {
				e = reflect.New(v.Type().Elem()).Elem()
			}
			v = e
		default:
			if v.Kind() != reflect.Struct {
				return v, false
			}
			f, ok := fieldByTag(v, seg)
			if !ok {
				return v, false
			}
			v = f
		}
	}
	return v, true
}

func fieldByTag(v reflect.Value, tag string) (reflect.Value, bool) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == tag {
			return v.Field(i), true
		}
		if f.Anonymous && name == "" {
			if inner, ok := fieldByTag(v.Field(i), tag); ok {
				return inner, true
			}
		}
	}
	return v, false
}

func isZero(v reflect.Value) bool {
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return true
		}
		v = v.Elem()
	}
	return v.IsZero() || (v.Kind() == reflect.Slice || v.Kind() == reflect.Map) && v.Len() == 0
}

var durationType = reflect.TypeOf(time.Duration(0))

// sameValue compares a loaded value with a documented literal.
func sameValue(v reflect.Value, lit string) (string, bool) {
	for v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	switch {
	case v.Type() == durationType:
		d, err := time.ParseDuration(lit)
		return v.Interface().(time.Duration).String(), err == nil && d == v.Interface().(time.Duration)
	case v.Kind() == reflect.Bool:
		return strconv.FormatBool(v.Bool()), lit == strconv.FormatBool(v.Bool())
	case v.CanInt():
		return strconv.FormatInt(v.Int(), 10), lit == strconv.FormatInt(v.Int(), 10)
	case v.Kind() == reflect.String:
		return strconv.Quote(v.String()), lit == v.String()
	case v.Kind() == reflect.Slice || v.Kind() == reflect.Map:
		return strconv.Itoa(v.Len()) + " entries", (lit == "[]" || lit == "{}") && v.Len() == 0
	}
	return v.Kind().String(), true // structs such as auth_failures: the row says it in words
}

// TestDocsFullExampleHasOnlyKnownKeys: the "Full example" of docs/config.md
// uses no key the loader refuses (its files need not exist).
func TestDocsFullExampleHasOnlyKnownKeys(t *testing.T) {
	raw, err := os.ReadFile("../../docs/config.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(raw), "## Full example")
	if !ok {
		t.Fatal("docs/config.md has no Full example section")
	}
	_, rest, _ = strings.Cut(rest, "```yaml\n")
	example, _, _ := strings.Cut(rest, "```")
	t.Setenv("REDIS_ADDR", "127.0.0.1:6379")
	t.Setenv("REDIS_PASSWORD", "x")
	path := filepath.Join(t.TempDir(), "full.yaml")
	if err := os.WriteFile(path, []byte(example), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = config.Load(path)
	var ps *config.Problems
	if err != nil && !errors.As(err, &ps) {
		t.Fatal(err)
	}
	if ps != nil {
		for _, p := range ps.List {
			if strings.Contains(p.Message, "unknown key") || strings.Contains(p.Message, "expected") {
				t.Errorf("Full example: %s", p.String())
			}
		}
	}
}

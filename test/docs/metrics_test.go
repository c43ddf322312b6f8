package docs

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/portcullis-gw/portcullis/internal/testkit/gatewaytest"
	"github.com/portcullis-gw/portcullis/test/upstreams"
)

// The request path's packages: every metric the gateway exports is defined
// somewhere below these. (Error codes have their registry, gateway/errcode,
// whose test holds docs/errors.md to it.)
var requestPathDirs = []string{"../../gateway", "../../analysis", "../../policy", "../../upstream"}

// goStrings calls fn for every string literal in the non-test Go files of
// requestPathDirs.
func goStrings(t *testing.T, fn func(lit string)) {
	t.Helper()
	fset := token.NewFileSet()
	for _, dir := range requestPathDirs {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && d.Name() == "testdata" {
				return filepath.SkipDir
			}
			if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			f, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				return err
			}
			ast.Inspect(f, func(n ast.Node) bool {
				if bl, ok := n.(*ast.BasicLit); ok && bl.Kind == token.STRING {
					if s, err := strconv.Unquote(bl.Value); err == nil {
						fn(s)
					}
				}
				return true
			})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

var metricName = regexp.MustCompile(`^portcullis_[a-z0-9_]+$`)

// TestDocsMetrics: the metrics the code defines and the ones
// docs/operations.md (and the pages it links for metrics) lists are the same,
// and a running gateway exports nothing undocumented.
func TestDocsMetrics(t *testing.T) {
	defined := map[string]bool{}
	goStrings(t, func(lit string) {
		if metricName.MatchString(lit) {
			defined[lit] = true
		}
	})
	documented := documentedMetrics(t)
	if len(defined) < 5 || len(documented) < 5 {
		t.Fatalf("found %d defined and %d documented metrics; the readers are broken", len(defined), len(documented))
	}
	for _, m := range sortedKeys(defined) {
		if !documented[m] {
			t.Errorf("metric %s is defined but not documented in docs/operations.md", m)
		}
	}
	for _, m := range sortedKeys(documented) {
		if !defined[m] {
			t.Errorf("docs/operations.md documents %s, which no code defines", m)
		}
	}

	// What a running gateway exports, names built at run time included.
	set := upstreams.StartAll(t)
	gw := gatewaytest.Start(t, gatewaytest.WriteConfig(t, metricsConfig(set)))
	gatewaytest.WantOK(t, gatewaytest.Send(t, http.MethodPost, gw.URL("/graphql"), nil,
		gatewaytest.GraphQLBody("{ topProducts(first: 1) { upc } }", nil)))
	gatewaytest.Send(t, http.MethodGet, gw.URL("/api/v1/orders"), map[string]string{"X-API-Key": metricsKey}, "")
	resp, err := http.Get(gw.AdminURL("/metrics"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	reported := map[string]bool{}
	for _, line := range strings.Split(string(body), "\n") {
		name, _, _ := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(line, "# TYPE "), "# HELP "), " ")
		name, _, _ = strings.Cut(name, "{")
		if !strings.HasPrefix(name, "portcullis_") {
			continue
		}
		base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_sum"), "_count")
		if !documented[name] && !documented[base] && !reported[name] {
			reported[name] = true
			t.Errorf("the gateway exports %s, which docs/operations.md does not document", name)
		}
	}
}

// metricsKey is metricsConfig's API key, which the orders document accepts.
const metricsKey = "docs-metrics-key"

// metricsConfig is a GraphQL and a REST route over the test upstreams, so
// both front doors' metrics exist.
func metricsConfig(set *upstreams.Set) string {
	return fmt.Sprintf(`
identity:
  anonymous: true
  api_keys:
    - {name: docs, sha256: %s, scopes: [orders:read]}
`+gatewaytest.Server()+`graphql:
`+gatewaytest.ShopRoute("%q")+`rest:
  - name: orders
    prefix: /api
    openapi: specs/orders.yaml
    upstream: {url: %q, timeout: 5s}
    strip_prefix: true
`, gatewaytest.KeyHash(metricsKey), set.Products.Endpoint, set.Orders.URL)
}

var backtickedMetric = regexp.MustCompile("`(portcullis_[a-z0-9_]+)")

func documentedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	raw, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range backtickedMetric.FindAllStringSubmatch(string(raw), -1) {
		out[m[1]] = true
	}
	return out
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

package test

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/portcullis-gw/portcullis"

// allowed maps a top-level area to the areas it may import
// (docs/architecture.md). An area imports itself freely (gateway/config from
// gateway, policy/authz from policy/authn). keypath, the config key paths
// every section's Validate reports problems at, imports only the standard
// library and sits below every floor.
var allowed = map[string][]string{
	"cmd":      {"gateway", "policy", "analysis", "schema", "upstream", "configs", "keypath"},
	"gateway":  {"analysis", "policy", "upstream", "schema", "configs", "keypath"},
	"policy":   {"analysis", "schema", "keypath"},
	"analysis": {"schema", "keypath"},
	"schema":   {"keypath"},
	"upstream": {"keypath"},
	"configs":  {},
	"keypath":  {},
	"internal": {},
	"test":     {"cmd", "gateway", "policy", "analysis", "schema", "upstream", "configs", "keypath"},
}

// testOnly are the areas only tests may import: the test files of any
// package, and the packages under test/ (the end-to-end suites and the
// programs they drive). internal/ holds the shared test kit; code that
// ships must never depend on a fake clock or a test Redis helper.
var testOnly = map[string]bool{"internal": true}

// gatewayAllowed maps each package under gateway/ to the gateway packages
// it may import (docs/architecture.md): the root over the front doors, the
// doors over the pipeline they share, the pipeline over the error registry.
// The doors never import each other or the root. A package nested deeper
// (gateway/config/x) follows the line of the package it is in, and may
// import that package too; any other package under gateway/ needs a line.
var gatewayAllowed = map[string][]string{
	"gateway": {"gateway/config", "gateway/errcode", "gateway/pipeline", "gateway/graphqlhttp", "gateway/resthttp",
		"gateway/audit", "gateway/telemetry", "gateway/liveview"},
	// config assembles each package's own Config.
	"gateway/config":   {"gateway/audit", "gateway/telemetry", "gateway/liveview"},
	"gateway/errcode":  {},
	"gateway/pipeline": {"gateway/errcode", "gateway/telemetry"},
	// The monitoring packages (docs/monitoring.md) import no other gateway
	// package: they are handed what to report.
	"gateway/audit":       {},
	"gateway/telemetry":   {},
	"gateway/liveview":    {},
	"gateway/graphqlhttp": {"gateway/config", "gateway/errcode", "gateway/pipeline"},
	"gateway/resthttp":    {"gateway/config", "gateway/errcode", "gateway/pipeline"},
}

func area(pkg string) string {
	rel := strings.TrimPrefix(strings.TrimPrefix(pkg, module), "/")
	a, _, _ := strings.Cut(rel, "/")
	return a
}

// TestImportDirection fails when a package imports against the direction of
// the tables, when anything imports test/, or when code that is not a test
// imports internal/. Test files count too: a _test.go that reaches upward
// is still an upward import.
func TestImportDirection(t *testing.T) {
	out, err := exec.Command("go", "list", "-json=ImportPath,Imports,TestImports,XTestImports", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	seen := 0
	for dec.More() {
		var p struct {
			ImportPath                         string
			Imports, TestImports, XTestImports []string
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatalf("decoding go list output: %v", err)
		}
		seen++
		for _, v := range violations(p.ImportPath, p.Imports, append(p.TestImports, p.XTestImports...)) {
			t.Error(v)
		}
	}
	if seen < 5 {
		t.Fatalf("go list saw %d packages; expected the whole module", seen)
	}
}

// violations lists the imports of pkg (its code's, then its test files')
// that break the direction.
func violations(pkg string, imports, testImports []string) []string {
	from := area(pkg)
	all := append(append([]string(nil), imports...), testImports...)
	out := areaViolations(pkg, from, all)
	if from == "gateway" {
		out = append(gatewayViolations(pkg, all), out...)
	}
	for _, imp := range imports {
		if to := area(imp); strings.HasPrefix(imp, module+"/") && testOnly[to] && from != to && from != "test" {
			out = append(out, pkg+" imports "+imp+": only tests may import "+to+"/ (test files, or packages under test/)")
		}
	}
	return out
}

// gatewayViolations checks imports among the packages under gateway/.
func gatewayViolations(pkg string, imports []string) []string {
	from := strings.TrimPrefix(pkg, module+"/")
	owner := from
	for owner != "gateway" && gatewayAllowed[owner] == nil {
		owner = owner[:strings.LastIndex(owner, "/")]
	}
	if owner == "gateway" && from != "gateway" && !strings.Contains(strings.TrimPrefix(from, "gateway/"), "/") {
		return []string{pkg + ": gateway package " + from + " has no import rule in gatewayAllowed"}
	}
	rules := append([]string{owner}, gatewayAllowed[owner]...)
	var out []string
	for _, imp := range imports {
		to := strings.TrimPrefix(imp, module+"/")
		if area(imp) != "gateway" || to == from || strings.HasPrefix(to, from+"/") || !strings.HasPrefix(imp, module+"/") {
			continue
		}
		ok := false
		for _, a := range rules {
			ok = ok || a == to
		}
		if !ok {
			out = append(out, pkg+" imports "+imp+": "+from+" may not import "+to)
		}
	}
	return out
}

func areaViolations(pkg, from string, imports []string) []string {
	rules, known := allowed[from]
	if !known {
		return []string{pkg + ": top-level folder " + from + " has no import rule in this table"}
	}
	var out []string
	for _, imp := range imports {
		if !strings.HasPrefix(imp, module+"/") {
			continue
		}
		to := area(imp)
		if to == from || testOnly[to] {
			continue // test-only areas have their own rule
		}
		ok := false
		for _, a := range rules {
			ok = ok || a == to
		}
		if !ok {
			out = append(out, pkg+" imports "+imp+": "+from+" may not import "+to+"")
		}
	}
	return out
}

// TestViolations proves the checker catches each kind of upward import.
func TestViolations(t *testing.T) {
	cases := []struct {
		name, pkg   string
		imports     []string
		testImports []string
		bad         int
	}{
		{"schema may not import analysis", module + "/schema", []string{module + "/analysis"}, nil, 1},
		{"analysis may not import policy", module + "/analysis", []string{module + "/policy/authz"}, nil, 1},
		{"policy may not import gateway", module + "/policy/authz", []string{module + "/gateway"}, nil, 1},
		{"nothing imports test", module + "/gateway", []string{module + "/test/upstreams"}, nil, 1},
		{"upstream imports nothing of ours", module + "/upstream", []string{module + "/schema", "net/http"}, nil, 1},
		{"unknown folder", module + "/util", nil, nil, 1},
		{"gateway may import policy and analysis", module + "/gateway", []string{module + "/policy/authn", module + "/analysis", "fmt"}, nil, 0},
		{"policy siblings", module + "/policy/authz", []string{module + "/policy/authn"}, nil, 0},
		{"a front door may not import the other", module + "/gateway/graphqlhttp", []string{module + "/gateway/resthttp"}, nil, 1},
		{"a front door may not import the gateway root", module + "/gateway/resthttp", []string{module + "/gateway"}, nil, 1},
		{"the pipeline may not import a front door", module + "/gateway/pipeline", []string{module + "/gateway/graphqlhttp"}, nil, 1},
		{"a front door uses the pipeline and the registry", module + "/gateway/graphqlhttp", []string{module + "/gateway/pipeline", module + "/gateway/errcode", module + "/analysis"}, nil, 0},
		{"unknown gateway package", module + "/gateway/util", nil, nil, 1},
		{"not even from a test file", module + "/gateway", nil, []string{module + "/test/upstreams"}, 1},
		{"upward from a test file", module + "/schema", nil, []string{module + "/analysis"}, 1},
		{"keypath imports nothing of ours", module + "/keypath", []string{module + "/schema"}, nil, 1},
		{"every floor may use keypath", module + "/upstream", []string{module + "/keypath"}, nil, 0},
		{"shipped code may not import the test kit", module + "/policy/ratelimit", []string{module + "/internal/testkit/redistest"}, nil, 1},
		{"nor may cmd", module + "/cmd/portcullis", []string{module + "/internal/testkit/fakeclock"}, nil, 1},
		{"nor a front door", module + "/gateway/graphqlhttp", []string{module + "/internal/testkit/gatewaytest"}, nil, 1},
		{"test files may", module + "/policy/ratelimit", nil, []string{module + "/internal/testkit/redistest"}, 0},
		{"test/ may", module + "/test/cmd/loadbench", []string{module + "/internal/testkit/redistest"}, nil, 0},
		{"the test kit imports nothing of ours", module + "/internal/testkit/gatewaytest", []string{module + "/gateway"}, nil, 1},
		{"a nested package follows its parent's line", module + "/gateway/config/problems", []string{module + "/gateway/config", module + "/gateway/resthttp"}, nil, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := violations(c.pkg, c.imports, c.testImports); len(got) != c.bad {
				t.Errorf("violations = %q, want %d", got, c.bad)
			}
		})
	}
}

// TestAreaOf pins the helper the rule table relies on.
func TestAreaOf(t *testing.T) {
	for in, want := range map[string]string{
		module + "/policy/authn":   "policy",
		module + "/gateway/config": "gateway",
		module + "/cmd/portcullis": "cmd",
		module + "/schema":         "schema",
	} {
		if got := area(in); got != want {
			t.Errorf("area(%q) = %q, want %q", in, got, want)
		}
	}
}

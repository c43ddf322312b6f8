package test

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/portcullis-gw/portcullis"

// allowed maps a top-level area to the areas it may import (the docs/ pages
// section 2). An area imports itself freely (gateway/config from gateway,
// policy/authz from policy/authn).
var allowed = map[string][]string{
	"cmd":      {"gateway", "policy", "analysis", "schema", "upstream", "configs"},
	"gateway":  {"analysis", "policy", "upstream", "schema", "configs"},
	"policy":   {"analysis", "schema"},
	"analysis": {"schema"},
	"schema":   {},
	"upstream": {},
	"configs":  {},
	"test":     {"cmd", "gateway", "policy", "analysis", "schema", "upstream", "configs"},
}

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
// the docs/ pages, or when anything imports test/. Test files count too:
// a _test.go that reaches upward is still an upward import.
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
		for _, v := range violations(p.ImportPath, append(append(p.Imports, p.TestImports...), p.XTestImports...)) {
			t.Error(v)
		}
	}
	if seen < 5 {
		t.Fatalf("go list saw %d packages; expected the whole module", seen)
	}
}

// violations lists the imports of pkg that break the direction.
func violations(pkg string, imports []string) []string {
	from := area(pkg)
	if from == "gateway" {
		return append(gatewayViolations(pkg, imports), areaViolations(pkg, from, imports)...)
	}
	return areaViolations(pkg, from, imports)
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
		if to == from {
			continue
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
		name, pkg string
		imports   []string
		bad       int
	}{
		{"schema may not import analysis", module + "/schema", []string{module + "/analysis"}, 1},
		{"analysis may not import policy", module + "/analysis", []string{module + "/policy/authz"}, 1},
		{"policy may not import gateway", module + "/policy/authz", []string{module + "/gateway"}, 1},
		{"nothing imports test", module + "/gateway", []string{module + "/test/upstreams"}, 1},
		{"upstream imports nothing of ours", module + "/upstream", []string{module + "/schema", "net/http"}, 1},
		{"unknown folder", module + "/util", nil, 1},
		{"gateway may import policy and analysis", module + "/gateway", []string{module + "/policy/authn", module + "/analysis", "fmt"}, 0},
		{"policy siblings", module + "/policy/authz", []string{module + "/policy/authn"}, 0},
		{"a front door may not import the other", module + "/gateway/graphqlhttp", []string{module + "/gateway/resthttp"}, 1},
		{"a front door may not import the gateway root", module + "/gateway/resthttp", []string{module + "/gateway"}, 1},
		{"the pipeline may not import a front door", module + "/gateway/pipeline", []string{module + "/gateway/graphqlhttp"}, 1},
		{"a front door uses the pipeline and the registry", module + "/gateway/graphqlhttp", []string{module + "/gateway/pipeline", module + "/gateway/errcode", module + "/analysis"}, 0},
		{"unknown gateway package", module + "/gateway/util", nil, 1},
		{"a nested package follows its parent's line", module + "/gateway/config/problems", []string{module + "/gateway/config", module + "/gateway/resthttp"}, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := violations(c.pkg, c.imports); len(got) != c.bad {
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

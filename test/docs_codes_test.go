package test

import (
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

	"github.com/portcullis-gw/portcullis/test/upstreams"
)

// The request path's packages: every error code a client can receive and
// every metric the gateway exports is defined somewhere below these.
var requestPathDirs = []string{"../gateway", "../analysis", "../policy", "../upstream"}

// goStrings calls fn for every string literal in the non-test Go files of
// dirs (gateway/config excluded: its messages are for operators), with the
// enclosing declaration's name and the literal's context.
func goStrings(t *testing.T, fn func(lit string, ctx litContext)) {
	t.Helper()
	fset := token.NewFileSet()
	for _, dir := range requestPathDirs {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && (d.Name() == "testdata" || d.Name() == "config" && filepath.Base(filepath.Dir(path)) == "gateway") {
				return filepath.SkipDir
			}
			if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			f, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				return err
			}
			walkLiterals(f, fn)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// litContext says where a literal sits: the name of the const it defines,
// the field it fills (Code: "..."), the function returning it.
type litContext struct {
	constName, field, funcName string
	callArg                    bool
}

func walkLiterals(f *ast.File, fn func(string, litContext)) {
	for _, decl := range f.Decls {
		var ctx litContext
		if fd, ok := decl.(*ast.FuncDecl); ok {
			ctx.funcName = fd.Name.Name
		}
		ast.Inspect(decl, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.ValueSpec:
				for i, v := range n.Values {
					if lit, ok := stringLit(v); ok && i < len(n.Names) {
						c := ctx
						c.constName = n.Names[i].Name
						fn(lit, c)
					}
				}
				return true
			case *ast.KeyValueExpr:
				if key, ok := n.Key.(*ast.Ident); ok {
					if lit, ok := stringLit(n.Value); ok {
						c := ctx
						c.field = key.Name
						fn(lit, c)
						return false
					}
				}
			case *ast.CallExpr:
				for _, a := range n.Args {
					if lit, ok := stringLit(a); ok {
						c := ctx
						c.callArg = true
						fn(lit, c)
					}
				}
			case *ast.ReturnStmt:
				for _, r := range n.Results {
					if lit, ok := stringLit(r); ok {
						fn(lit, ctx)
					}
				}
			}
			return true
		})
	}
}

func stringLit(e ast.Expr) (string, bool) {
	bl, ok := e.(*ast.BasicLit)
	if !ok || bl.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(bl.Value)
	return s, err == nil
}

var codeShape = regexp.MustCompile(`^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$`)

// emittedCodes are the error codes of the request path: constants named
// Code*, literals given as a Code field or returned by a Code method, and
// upper-snake literals handed to the problem and GraphQL error builders.
func emittedCodes(t *testing.T) map[string]bool {
	codes := map[string]bool{}
	goStrings(t, func(lit string, c litContext) {
		if !codeShape.MatchString(lit) || len(lit) < 5 {
			return
		}
		switch {
		case strings.HasPrefix(c.constName, "Code"), c.field == "Code", c.funcName == "Code":
			codes[lit] = true
		case c.callArg && strings.Contains(lit, "_"):
			codes[lit] = true
		}
	})
	return codes
}

var errorsTableCode = regexp.MustCompile("`([A-Z][A-Z0-9_]+)`")

// documentedCodes are the codes in the last column of docs/errors.md's table.
func documentedCodes(t *testing.T) map[string]bool {
	raw, err := os.ReadFile("../docs/errors.md")
	if err != nil {
		t.Fatal(err)
	}
	codes := map[string]bool{}
	for _, line := range strings.Split(string(raw), "\n") {
		if !strings.HasPrefix(line, "|") || strings.HasPrefix(line, "|---") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for _, m := range errorsTableCode.FindAllStringSubmatch(cells[len(cells)-1], -1) {
			codes[m[1]] = true
		}
	}
	return codes
}

// notClientCodes are upper-snake literals of the request path that name
// something other than an answer's code (an upstream.ErrorKind's metric
// label is a code too, and listed).
var notClientCodes = map[string]string{}

func TestDocsErrorCodes(t *testing.T) {
	emitted, documented := emittedCodes(t), documentedCodes(t)
	if len(emitted) < 20 || len(documented) < 20 {
		t.Fatalf("found %d emitted and %d documented codes; the readers are broken", len(emitted), len(documented))
	}
	for _, c := range sortedKeys(emitted) {
		if _, skip := notClientCodes[c]; !skip && !documented[c] {
			t.Errorf("%s can be emitted but docs/errors.md does not list it", c)
		}
	}
	for _, c := range sortedKeys(documented) {
		if !emitted[c] {
			t.Errorf("docs/errors.md lists %s, which no code of the request path emits", c)
		}
	}
}

var metricName = regexp.MustCompile(`^portcullis_[a-z0-9_]+$`)

// TestDocsMetrics: the metrics the code defines and the ones
// docs/operations.md (and the pages it links for metrics) lists are the same,
// and a running gateway exports nothing undocumented.
func TestDocsMetrics(t *testing.T) {
	defined := map[string]bool{}
	goStrings(t, func(lit string, _ litContext) {
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
	gw := startGateway(t, writeConfig(t, e2eConfig(set, "")))
	post(t, gw.url("/graphql"), "application/json", `{"query":"{ topProducts(first: 1) { upc } }"}`)
	get(t, gw.url("/api/v1/orders"))
	resp, err := http.Get("http://" + gw.adminAddr + "/metrics")
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

var backtickedMetric = regexp.MustCompile("`(portcullis_[a-z0-9_]+)")

func documentedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	raw, err := os.ReadFile("../docs/operations.md")
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

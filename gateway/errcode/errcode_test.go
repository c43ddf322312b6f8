package errcode

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/portcullis-gw/portcullis/upstream"
)

// docRow is one row of the table in docs/errors.md.
type docRow struct {
	line   int
	status int
	codes  []string
}

var backticked = regexp.MustCompile("`([A-Z][A-Z0-9_]+)`")

// readDocTable reads the situation | status | code table of docs/errors.md.
func readDocTable(t *testing.T, path string) []docRow {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rows []docRow
	in := false
	for i, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "| situation | status | code |") {
			in = true
			continue
		}
		if !in || strings.HasPrefix(line, "|---") {
			continue
		}
		if !strings.HasPrefix(line, "|") {
			if len(rows) > 0 {
				break
			}
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) < 3 {
			t.Fatalf("%s:%d: want 3 cells: %s", path, i+1, line)
		}
		status, err := strconv.Atoi(strings.TrimSpace(cells[len(cells)-2]))
		if err != nil {
			t.Fatalf("%s:%d: status %q is not a number", path, i+1, cells[len(cells)-2])
		}
		row := docRow{line: i + 1, status: status}
		for _, m := range backticked.FindAllStringSubmatch(cells[len(cells)-1], -1) {
			row.codes = append(row.codes, m[1])
		}
		if len(row.codes) == 0 {
			t.Fatalf("%s:%d: no code in the code column", path, i+1)
		}
		rows = append(rows, row)
	}
	if len(rows) == 0 {
		t.Fatalf("%s: no error table found", path)
	}
	return rows
}

// TestDocsMatchRegistry: every code docs/errors.md lists is registered with
// the row's status, and every registered code has a row.
func TestDocsMatchRegistry(t *testing.T) {
	path := filepath.Join("..", "..", "docs", "errors.md")
	documented := map[string]bool{}
	for _, row := range readDocTable(t, path) {
		for _, code := range row.codes {
			documented[code] = true
			e, ok := Lookup(code)
			if !ok {
				t.Errorf("%s:%d: %s is not in the registry", path, row.line, code)
				continue
			}
			if e.Status != row.status {
				t.Errorf("%s:%d: %s is %d on the page, %d in the registry", path, row.line, code, row.status, e.Status)
			}
		}
	}
	for _, e := range Registry {
		if !documented[e.Code] {
			t.Errorf("%s (%d) is registered but has no row in %s", e.Code, e.Status, path)
		}
	}
}

// TestRegistryWellFormed: one entry per code, each with a status, a
// protocol and a description.
func TestRegistryWellFormed(t *testing.T) {
	seen := map[string]bool{}
	for _, e := range Registry {
		if seen[e.Code] {
			t.Errorf("%s registered twice", e.Code)
		}
		seen[e.Code] = true
		if e.Status < 400 || e.Status > 599 || e.Protocols == 0 || e.Protocols&^Both != 0 || e.Description == "" {
			t.Errorf("incomplete entry %+v", e)
		}
	}
	if Status("NO_SUCH_CODE") != 500 {
		t.Error("an unregistered code must answer 500")
	}
	if got := ProblemType(RateLimitDown); got != TypeBase+"rate-limit-unavailable" {
		t.Errorf("ProblemType = %q", got)
	}
}

// codePackages are the packages that make codes clients receive, relative
// to this one.
var codePackages = []string{".", "../../analysis", "../../analysis/rest", "../../policy/authz"}

// TestEveryCodeRegistered: every string constant named Code* in the
// packages that make codes (and every constant of this package), and every
// upstream error kind, is registered; a code added without its entry fails
// here.
func TestEveryCodeRegistered(t *testing.T) {
	found := 0
	for _, dir := range codePackages {
		for name, val := range codeConstants(t, dir) {
			found++
			if _, ok := Lookup(val); !ok {
				t.Errorf("%s: %s = %q is not in the registry", dir, name, val)
			}
		}
	}
	if found < 30 {
		t.Fatalf("found only %d code constants: the scan is broken", found)
	}
	for _, k := range []upstream.ErrorKind{upstream.KindError, upstream.KindUnavailable, upstream.KindTimeout} {
		if e, ok := Lookup(k.Code()); !ok || e.Status != k.Status() {
			t.Errorf("upstream kind %s: registered %v with status %d, want %d", k.Code(), ok, e.Status, k.Status())
		}
	}
}

// codeConstants reads the string constants of a package's non-test files:
// those named Code* elsewhere, every upper-case one here.
func codeConstants(t *testing.T, dir string) map[string]string {
	t.Helper()
	fset := token.NewFileSet()
	names, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		{
			for _, d := range f.Decls {
				gd, ok := d.(*ast.GenDecl)
				if !ok || gd.Tok != token.CONST {
					continue
				}
				for _, spec := range gd.Specs {
					vs := spec.(*ast.ValueSpec)
					for i, n := range vs.Names {
						if i >= len(vs.Values) || !(strings.HasPrefix(n.Name, "Code") || dir == "." && ast.IsExported(n.Name)) {
							continue
						}
						lit, ok := vs.Values[i].(*ast.BasicLit)
						if !ok || lit.Kind != token.STRING {
							continue // an alias of another package's constant
						}
						v, _ := strconv.Unquote(lit.Value)
						if v == TypeBase {
							continue
						}
						out[n.Name] = v
					}
				}
			}
		}
	}
	return out
}

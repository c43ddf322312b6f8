package notice

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestNoticeMatchesBinary fails when NOTICE no longer covers what the
// portcullis binary links: a new dependency without its licence, a removed
// one still listed, or a changed licence text.
func TestNoticeMatchesBinary(t *testing.T) {
	generated, err := Generate(Options{Dir: "../..", Packages: []string{"./cmd/portcullis"}})
	if err != nil {
		t.Fatal(err)
	}
	committed, err := os.ReadFile("../../NOTICE")
	if err != nil {
		t.Fatalf("%v (run make notice)", err)
	}
	if len(Listed(generated)) < 10 {
		t.Fatalf("only %d modules found; go list did not see the binary's dependencies", len(Listed(generated)))
	}
	for _, d := range Diff(committed, generated) {
		t.Errorf("NOTICE: %s (run make notice)", d)
	}
}

func TestClassify(t *testing.T) {
	cases := []struct {
		file string
		want []string
	}{
		{"mit.txt", []string{"MIT"}},
		{"bsd3.txt", []string{"BSD-3-Clause"}},
		{"bsd2.txt", []string{"BSD-2-Clause"}},
		{"isc.txt", []string{"ISC"}},
		{"mpl.txt", []string{"MPL-2.0"}},
		{"apache-header.txt", []string{"Apache-2.0"}},
		{"dual.txt", []string{"Apache-2.0", "MIT"}},
		{"none.txt", nil},
		{"../../../LICENSE", []string{"Apache-2.0"}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", c.file))
			if err != nil {
				t.Fatal(err)
			}
			if got := Classify(string(b)); !slices.Equal(got, c.want) {
				t.Errorf("Classify = %q, want %q", got, c.want)
			}
		})
	}
}

// fakeModule lays out a main module that links two local modules through
// replace directives: one with an MIT licence, one with none.
func fakeModule(t *testing.T, unlicensedPath string) string {
	t.Helper()
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	own, err := os.ReadFile("../../LICENSE")
	if err != nil {
		t.Fatal(err)
	}
	mit, err := os.ReadFile("testdata/mit.txt")
	if err != nil {
		t.Fatal(err)
	}
	write("LICENSE", string(own))
	write("go.mod", "module example.com/app\n\ngo 1.26\n\nrequire (\n\texample.com/licensed v0.0.0\n\t"+unlicensedPath+" v0.0.0\n)\n\n"+
		"replace example.com/licensed => ./licensed\n\nreplace "+unlicensedPath+" => ./bare\n")
	write("main.go", "package main\n\nimport (\n\t_ \"example.com/licensed\"\n\t_ \""+unlicensedPath+"\"\n)\n\nfunc main() {}\n")
	write("licensed/go.mod", "module example.com/licensed\n\ngo 1.26\n")
	write("licensed/l.go", "package licensed\n")
	write("licensed/LICENSE", string(mit))
	write("bare/go.mod", "module "+unlicensedPath+"\n\ngo 1.26\n")
	write("bare/b.go", "package bare\n")
	return dir
}

func TestGenerateRefusesUnreviewedModule(t *testing.T) {
	t.Setenv("GOFLAGS", "-mod=mod")
	t.Setenv("GOPROXY", "off")
	dir := fakeModule(t, "example.com/bare")
	_, err := Generate(Options{Dir: dir, Packages: []string{"."}})
	if err == nil || !strings.Contains(err.Error(), "example.com/bare: no recognised licence") {
		t.Fatalf("Generate error = %v, want it to name example.com/bare", err)
	}
}

func TestGenerateFlagsReviewedModule(t *testing.T) {
	t.Setenv("GOFLAGS", "-mod=mod")
	t.Setenv("GOPROXY", "off")
	const reviewed = "github.com/jensneuse/abstractlogger"
	if _, ok := Unlicensed[reviewed]; !ok {
		t.Fatalf("%s is not in Unlicensed", reviewed)
	}
	dir := fakeModule(t, reviewed)
	text, err := Generate(Options{Dir: dir, Packages: []string{"."}})
	if err != nil {
		t.Fatal(err)
	}
	listed := Listed(text)
	if listed["example.com/licensed"] != "MIT" {
		t.Errorf("example.com/licensed listed as %q, want MIT", listed["example.com/licensed"])
	}
	if !strings.HasPrefix(listed[reviewed], "NONE") {
		t.Errorf("%s listed as %q, want it flagged NONE", reviewed, listed[reviewed])
	}
	if !strings.Contains(string(text), "Modules without a licence") {
		t.Error("NOTICE has no section flagging the unlicensed module")
	}
	if !strings.Contains(string(text), "Permission is hereby granted") {
		t.Error("the MIT text is not reproduced")
	}
}

func TestDiff(t *testing.T) {
	generated := []byte("x\nSummary\n=======\n\n  a.example/one   MIT\n  b.example/two   Apache-2.0\n\ntext\n")
	cases := []struct {
		name      string
		committed string
		want      string
	}{
		{"missing module", "x\nSummary\n=======\n\n  a.example/one   MIT\n\ntext\n", "b.example/two (Apache-2.0) is linked but missing"},
		{"stale module", "x\nSummary\n=======\n\n  a.example/one   MIT\n  b.example/two   Apache-2.0\n  c.example/old   MIT\n\ntext\n", "c.example/old is listed in NOTICE but no longer linked"},
		{"licence changed", "x\nSummary\n=======\n\n  a.example/one   BSD-3-Clause\n  b.example/two   Apache-2.0\n\ntext\n", "a.example/one is listed as BSD-3-Clause but its module now ships MIT"},
		{"text changed", "x\nSummary\n=======\n\n  a.example/one   MIT\n  b.example/two   Apache-2.0\n\nold text\n", "text of a linked module changed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Diff([]byte(c.committed), generated)
			if len(got) != 1 || !strings.Contains(got[0], c.want) {
				t.Errorf("Diff = %q, want one line containing %q", got, c.want)
			}
		})
	}
	if got := Diff(generated, generated); got != nil {
		t.Errorf("Diff of equal texts = %q", got)
	}
}

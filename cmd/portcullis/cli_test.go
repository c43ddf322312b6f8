package main

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func runCLI(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func flagsOf(t *testing.T, name string) []*flag.Flag {
	t.Helper()
	fs := flagSetOf(name)
	if fs == nil {
		t.Fatalf("command %s built no flag set", name)
	}
	var out []*flag.Flag
	fs.VisitAll(func(f *flag.Flag) { out = append(out, f) })
	return out
}

// TestHelpListsEveryFlag: each command's --help names every flag it accepts
// in its usage line and explains it below, and the top-level help shows
// every command with all its flags.
func TestHelpListsEveryFlag(t *testing.T) {
	_, top, _ := runCLI("--help")
	if len(commandNames()) < 6 {
		t.Fatalf("only %d commands registered", len(commandNames()))
	}
	for _, name := range commandNames() {
		t.Run(name, func(t *testing.T) {
			code, out, errOut := runCLI(name, "--help")
			if code != 0 || errOut != "" {
				t.Fatalf("%s --help: exit %d, stderr %q", name, code, errOut)
			}
			usageLine, _, _ := strings.Cut(out, "\n")
			if !strings.Contains(top, "portcullis "+strings.TrimPrefix(usageLine, "Usage: portcullis ")) {
				t.Errorf("top-level help lacks %q:\n%s", usageLine, top)
			}
			for _, f := range flagsOf(t, name) {
				if !mentions(usageLine, f.Name) {
					t.Errorf("usage line %q does not mention %s", usageLine, dashes(f.Name))
				}
				if !strings.Contains(out, "\n  "+dashes(f.Name)) {
					t.Errorf("flag list lacks %s:\n%s", dashes(f.Name), out)
				}
			}
		})
	}
}

func TestSynopsisAddsUnmentionedFlags(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.String("c", "", "config `file`")
	fs.Bool("json", false, "json")
	fs.Bool("json-lines", false, "json lines")
	got := synopsis(fs, "x -c FILE [--json-lines]")
	if got != "x -c FILE [--json-lines] [--json]" {
		t.Errorf("synopsis = %q", got)
	}
}

func TestCLIErrors(t *testing.T) {
	cases := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"unknown command", []string{"chek"}, 2, `unknown command "chek"; did you mean "check"?`},
		{"unknown command far from any", []string{"frobnicate"}, 2, `unknown command "frobnicate"` + "\n"},
		{"misspelt --version", []string{"--verison"}, 2, "did you mean --version?"},
		{"unknown flag", []string{"check", "--covrage"}, 2, "portcullis check: unknown flag --covrage; did you mean --coverage?"},
		{"unknown single-dash flag", []string{"serve", "-log-levl", "x"}, 2, "did you mean --log-level?"},
		{"json without coverage", []string{"check", "-c", "../../configs/demo.yaml", "--json"}, 2, "--json only works with --coverage"},
		{"fail-unprotected without coverage", []string{"check", "-c", "../../configs/demo.yaml", "--fail-unprotected"}, 2, "--fail-unprotected only works with --coverage"},
		{"bad log level", []string{"serve", "-c", "../../configs/demo.yaml", "--log-level", "loud"}, 2, `--log-level must be debug, info, warn or error, got "loud"`},
		{"missing config for check", []string{"check", "-c", "nope.yaml"}, 1, "portcullis check: config file nope.yaml does not exist (give one with -c FILE)\n"},
		{"missing config for serve", []string{"serve", "-c", "nope.yaml"}, 1, "portcullis serve: config file nope.yaml does not exist (give one with -c FILE)\n"},
		{"config is a folder", []string{"check", "-c", "../../configs"}, 1, "is a folder, not a config file"},
		{"completion without shell", []string{"completion"}, 2, "name one shell"},
		{"completion unknown shell", []string{"completion", "tcsh"}, 2, `unknown shell "tcsh"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := runCLI(c.args...)
			if code != c.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, c.code, out, errOut)
			}
			if !strings.Contains(errOut, c.stderr) {
				t.Fatalf("stderr lacks %q:\n%s", c.stderr, errOut)
			}
			if strings.Count(errOut, "\n") > 2 {
				t.Errorf("an error of %d lines; want one line (and a hint):\n%s", strings.Count(errOut, "\n"), errOut)
			}
		})
	}
}

func TestHelpCommand(t *testing.T) {
	code, out, _ := runCLI("help", "check")
	if code != 0 || !strings.HasPrefix(out, "Usage: portcullis check") {
		t.Fatalf("help check: exit %d, %q", code, out)
	}
}

func completionScript(t *testing.T, shell string) string {
	t.Helper()
	code, out, errOut := runCLI("completion", shell)
	if code != 0 {
		t.Fatalf("completion %s: exit %d: %s", shell, code, errOut)
	}
	return out
}

// TestCompletionScriptsNameEveryFlag: every command and every flag is in
// each shell's script.
func TestCompletionScriptsNameEveryFlag(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish"} {
		t.Run(shell, func(t *testing.T) {
			script := completionScript(t, shell)
			for _, name := range commandNames() {
				if !strings.Contains(script, name) {
					t.Errorf("script lacks command %s", name)
				}
				for _, f := range flagsOf(t, name) {
					word := dashes(f.Name)
					if shell == "fish" {
						word = map[bool]string{true: "-s ", false: "-l "}[len(f.Name) == 1] + f.Name
					}
					if !strings.Contains(script, word) {
						t.Errorf("script lacks %s of %s", word, name)
					}
				}
			}
		})
	}
}

// TestBashCompletionCompletes runs the bash script in bash and asks it to
// complete words as a user pressing Tab would.
func TestBashCompletionCompletes(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatal("bash is needed to run the bash completion script: install bash")
	}
	dir := t.TempDir()
	script := filepath.Join(dir, "portcullis.bash")
	if err := os.WriteFile(script, []byte(completionScript(t, "bash")), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bash, "-n", script).CombinedOutput(); err != nil {
		t.Fatalf("bash -n: %v\n%s", err, out)
	}
	cases := []struct {
		words string
		want  string
	}{
		{"portcullis chec", "check"},
		{"portcullis check --cov", "--coverage"},
		{"portcullis serve --log", "--log-level"},
		{"portcullis completion f", "fish"},
		{"portcullis --vers", "--version"},
	}
	for _, c := range cases {
		t.Run(c.words, func(t *testing.T) {
			prog := "source " + script + "\nCOMP_WORDS=(" + c.words + ")\nCOMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))\n_portcullis\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n"
			cmd := exec.Command(bash, "--norc", "--noprofile", "-c", prog)
			cmd.Dir = dir
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("bash: %v\n%s", err, out)
			}
			if got := strings.Fields(string(out)); len(got) != 1 || got[0] != c.want {
				t.Errorf("completing %q gave %q, want %q", c.words, got, c.want)
			}
		})
	}
}

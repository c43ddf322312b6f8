package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

func init() {
	register(command{name: "completion", summary: "print a shell completion script (bash, zsh or fish)", run: runCompletion})
}

// runCompletion writes a completion script built from the registered
// commands and the flags each declares, so it never lists a flag that does
// not exist. Install:
//
//	bash: source <(portcullis completion bash)
//	zsh:  portcullis completion zsh > "${fpath[1]}/_portcullis"
//	fish: portcullis completion fish > ~/.config/fish/completions/portcullis.fish
func runCompletion(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("completion", "completion bash|zsh|fish", stdout, stderr)
	if code, done := parseFlags(fs, args); done {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "portcullis completion: name one shell: bash, zsh or fish")
		return 2
	}
	specs := completionSpecs()
	switch fs.Arg(0) {
	case "bash":
		writeBash(stdout, specs)
	case "zsh":
		writeZsh(stdout, specs)
	case "fish":
		writeFish(stdout, specs)
	default:
		fmt.Fprintf(stderr, "portcullis completion: unknown shell %q; want bash, zsh or fish\n", fs.Arg(0))
		return 2
	}
	return 0
}

type flagSpec struct {
	name, help string
	takesValue bool
	file       bool // the value is a file path
}

type commandSpec struct {
	name, summary string
	flags         []flagSpec
}

func completionSpecs() []commandSpec {
	var out []commandSpec
	for _, n := range commandNames() {
		spec := commandSpec{name: n, summary: commands[n].summary}
		if fs := flagSetOf(n); fs != nil {
			fs.VisitAll(func(f *flag.Flag) {
				arg, help := flag.UnquoteUsage(f)
				spec.flags = append(spec.flags, flagSpec{
					name: f.Name, help: help, takesValue: arg != "",
					file: strings.EqualFold(arg, "file"),
				})
			})
		}
		out = append(out, spec)
	}
	return out
}

func flagWords(c commandSpec) string {
	var words []string
	for _, f := range c.flags {
		words = append(words, dashes(f.name))
	}
	return strings.Join(words, " ")
}

func writeBash(w io.Writer, specs []commandSpec) {
	var names []string
	for _, c := range specs {
		names = append(names, c.name)
	}
	fmt.Fprintf(w, `# bash completion for portcullis (portcullis completion bash)
_portcullis() {
  local cur prev cmd
  cur="${COMP_WORDS[COMP_CWORD]}"
  prev="${COMP_WORDS[COMP_CWORD-1]}"
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=( $(compgen -W "%s --help --version" -- "$cur") )
    return
  fi
  cmd="${COMP_WORDS[1]}"
  case "$cmd" in
`, strings.Join(names, " "))
	for _, c := range specs {
		fmt.Fprintf(w, "    %s)\n", c.name)
		var fileFlags, valueFlags []string
		for _, f := range c.flags {
			if f.file {
				fileFlags = append(fileFlags, dashes(f.name))
			} else if f.takesValue {
				valueFlags = append(valueFlags, dashes(f.name))
			}
		}
		if len(fileFlags) > 0 {
			fmt.Fprintf(w, "      case \"$prev\" in %s) COMPREPLY=( $(compgen -f -- \"$cur\") ); return;; esac\n", strings.Join(fileFlags, "|"))
		}
		if len(valueFlags) > 0 {
			fmt.Fprintf(w, "      case \"$prev\" in %s) return;; esac\n", strings.Join(valueFlags, "|"))
		}
		if c.name == "completion" {
			fmt.Fprintf(w, "      COMPREPLY=( $(compgen -W \"bash zsh fish\" -- \"$cur\") ); return;;\n")
			continue
		}
		fmt.Fprintf(w, "      COMPREPLY=( $(compgen -W \"%s --help\" -- \"$cur\") $(compgen -f -- \"$cur\") ); return;;\n", flagWords(c))
	}
	fmt.Fprint(w, `  esac
}
complete -o filenames -F _portcullis portcullis
`)
}

// zshQuote escapes text for a single-quoted zsh _arguments spec.
func zshQuote(s string) string {
	s = strings.ReplaceAll(s, "'", `'\''`)
	s = strings.ReplaceAll(s, "[", `\[`)
	s = strings.ReplaceAll(s, "]", `\]`)
	s = strings.ReplaceAll(s, ":", `\:`)
	return s
}

func writeZsh(w io.Writer, specs []commandSpec) {
	fmt.Fprint(w, "#compdef portcullis\n# zsh completion for portcullis (portcullis completion zsh)\n_portcullis() {\n  local -a commands\n  commands=(\n")
	for _, c := range specs {
		fmt.Fprintf(w, "    '%s:%s'\n", c.name, zshQuote(c.summary))
	}
	fmt.Fprint(w, "  )\n  if (( CURRENT == 2 )); then\n    _describe 'command' commands\n    return\n  fi\n  case \"$words[2]\" in\n")
	for _, c := range specs {
		fmt.Fprintf(w, "    %s)\n      _arguments -s \\\n", c.name)
		for _, f := range c.flags {
			action := ""
			switch {
			case f.file:
				action = ":file:_files"
			case f.takesValue:
				action = ":value: "
			}
			fmt.Fprintf(w, "        '%s[%s]%s' \\\n", dashes(f.name), zshQuote(f.help), action)
		}
		if c.name == "completion" {
			fmt.Fprint(w, "        '1:shell:(bash zsh fish)'\n      ;;\n")
			continue
		}
		fmt.Fprint(w, "        '*:file:_files'\n      ;;\n")
	}
	fmt.Fprint(w, "  esac\n}\n_portcullis \"$@\"\n")
}

// fishQuote escapes text for a single-quoted fish string.
func fishQuote(s string) string {
	return strings.NewReplacer(`\`, `\\`, "'", `\'`).Replace(s)
}

func writeFish(w io.Writer, specs []commandSpec) {
	fmt.Fprint(w, "# fish completion for portcullis (portcullis completion fish)\ncomplete -c portcullis -f\n")
	var names []string
	for _, c := range specs {
		names = append(names, c.name)
	}
	fmt.Fprintf(w, "complete -c portcullis -n 'not __fish_seen_subcommand_from %s' -l version -d 'print the version'\n", strings.Join(names, " "))
	for _, c := range specs {
		fmt.Fprintf(w, "complete -c portcullis -n 'not __fish_seen_subcommand_from %s' -a %s -d '%s'\n", strings.Join(names, " "), c.name, fishQuote(c.summary))
		for _, f := range c.flags {
			opt := "-l " + f.name
			if len(f.name) == 1 {
				opt = "-s " + f.name
			}
			extra := ""
			switch {
			case f.file:
				extra = " -r -F"
			case f.takesValue:
				extra = " -r"
			}
			fmt.Fprintf(w, "complete -c portcullis -n '__fish_seen_subcommand_from %s' %s%s -d '%s'\n", c.name, opt, extra, fishQuote(f.help))
		}
		if c.name == "completion" {
			fmt.Fprint(w, "complete -c portcullis -n '__fish_seen_subcommand_from completion' -a 'bash zsh fish'\n")
		}
	}
}

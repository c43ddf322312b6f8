package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/portcullis-gw/portcullis/gateway/config"
)

// flagSets remembers the last flag set each command built, so the top-level
// usage, shell completion and the tests can list a command's flags by asking
// it for --help instead of keeping a second list that could drift.
var (
	flagSetsMu sync.Mutex
	flagSets   = map[string]*flag.FlagSet{}
	usageLines = map[string]string{}
)

// newFlagSet builds a command's flag set. --help prints to stdout; errors go
// to stderr with one line saying what was wrong, never the whole usage. The
// usage line is usageLine plus every flag it does not mention, so a flag added
// later still shows.
func newFlagSet(name, usageLine string, stdout, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stdout, "Usage: portcullis %s\n", synopsis(fs, usageLine))
		if hasFlags(fs) {
			fmt.Fprintln(stdout, "\nFlags:")
			printFlags(stdout, fs)
		}
	}
	flagSetsMu.Lock()
	flagSets[name], usageLines[name] = fs, usageLine
	flagSetsMu.Unlock()
	return fs
}

// parseFlags parses args; it returns done=true with the exit code when the
// command must stop (bad flags: 2, --help: 0).
func parseFlags(fs *flag.FlagSet, args []string) (code int, done bool) {
	stderr := fs.Output()
	usage := fs.Usage
	fs.Usage = func() {} // errors are reported below, in one line
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	fs.Usage = usage
	fs.SetOutput(stderr)
	switch {
	case err == nil:
		return 0, false
	case errors.Is(err, flag.ErrHelp):
		fs.Usage()
		return 0, true
	}
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		name = strings.TrimPrefix(name, "-")
		msg = fmt.Sprintf("unknown flag --%s", name)
		if s := config.Suggest(name, flagNames(fs)); s != "" {
			msg += fmt.Sprintf("; did you mean --%s?", s)
		}
	}
	fmt.Fprintf(stderr, "portcullis %s: %s\nRun 'portcullis %s --help' for its flags.\n", fs.Name(), msg, fs.Name())
	return 2, true
}

func flagNames(fs *flag.FlagSet) []string {
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	return names
}

func hasFlags(fs *flag.FlagSet) bool { return len(flagNames(fs)) > 0 }

// dashes writes one-letter flags with one dash (-c) and the others with two
// (--coverage), as the README does; Go's flag package accepts either.
func dashes(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

// synopsis is line with "[--flag VALUE]" appended for each flag it does not
// mention.
func synopsis(fs *flag.FlagSet, line string) string {
	fs.VisitAll(func(f *flag.Flag) {
		if mentions(line, f.Name) {
			return
		}
		arg, _ := flag.UnquoteUsage(f)
		if arg == "" {
			line += " [" + dashes(f.Name) + "]"
		} else {
			line += " [" + dashes(f.Name) + " " + strings.ToUpper(arg) + "]"
		}
	})
	return line
}

// mentions reports whether line names the flag, as -name or --name followed
// by a space, "]", "=" or the end.
func mentions(line, name string) bool {
	for _, form := range []string{"-" + name, "--" + name} {
		for i := 0; ; {
			j := strings.Index(line[i:], form)
			if j < 0 {
				break
			}
			start, end := i+j, i+j+len(form)
			before := start == 0 || line[start-1] == ' ' || line[start-1] == '['
			after := end == len(line) || strings.ContainsRune(" ]=|", rune(line[end]))
			if before && after {
				return true
			}
			i = end
		}
	}
	return false
}

// printFlags lists every flag with its value name, meaning and default.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		arg, help := flag.UnquoteUsage(f)
		head := "  " + dashes(f.Name)
		if arg != "" {
			head += " " + strings.ToUpper(arg)
		}
		def := ""
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "[]" {
			def = fmt.Sprintf(" (default %q)", f.DefValue)
		}
		fmt.Fprintf(w, "%s\n      %s%s\n", head, help, def)
	})
}

// synopsisOf asks a command for its --help and returns its usage line.
func synopsisOf(name string) string {
	fs := flagSetOf(name)
	if fs == nil {
		return name
	}
	flagSetsMu.Lock()
	line := usageLines[name]
	flagSetsMu.Unlock()
	return synopsis(fs, line)
}

// flagSetOf runs the command with --help (which builds its flag set and
// returns before doing anything) and returns that flag set.
func flagSetOf(name string) *flag.FlagSet {
	c, ok := commands[name]
	if !ok {
		return nil
	}
	c.run([]string{"--help"}, io.Discard, io.Discard)
	flagSetsMu.Lock()
	defer flagSetsMu.Unlock()
	return flagSets[name]
}

// requireWith refuses flags that only mean something beside another:
// needs maps a flag to the flag it needs. It prints one line and returns
// false when a flag was given without its partner.
func requireWith(fs *flag.FlagSet, needs map[string]string) bool {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	names := make([]string, 0, len(needs))
	for n := range needs {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if set[n] && !set[needs[n]] {
			fmt.Fprintf(fs.Output(), "portcullis %s: %s only works with %s\n", fs.Name(), dashes(n), dashes(needs[n]))
			return false
		}
	}
	return true
}

// configExists says in one line that the config file is missing, instead of
// a loader error: the commonest first-run mistake is running without -c.
func configExists(fs *flag.FlagSet, file string) bool {
	info, err := os.Stat(file)
	switch {
	case errors.Is(err, os.ErrNotExist):
		fmt.Fprintf(fs.Output(), "portcullis %s: config file %s does not exist (give one with -c FILE)\n", fs.Name(), file)
		return false
	case err == nil && info.IsDir():
		fmt.Fprintf(fs.Output(), "portcullis %s: %s is a folder, not a config file\n", fs.Name(), file)
		return false
	}
	return true // other errors (permissions) are the loader's to report
}

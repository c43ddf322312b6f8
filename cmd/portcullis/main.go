// Command portcullis is the API security gateway's CLI.
package main

import (
	"fmt"
	"io"
	"os"
	"sort"
)

// command is one subcommand. Each lives in its own file and registers itself
// in init, so issues can add commands without touching this file.
type command struct {
	name    string
	summary string
	// run gets the arguments after the command name and returns the exit code.
	run func(args []string, stdout, stderr io.Writer) int
}

var commands = map[string]command{}

func register(c command) { commands[c.name] = c }

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 2 && args[0] == "help" {
		if _, ok := commands[args[1]]; ok {
			return run([]string{args[1], "--help"}, stdout, stderr)
		}
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	if args[0] == "--version" || args[0] == "-version" {
		return runVersion(args[1:], stdout, stderr)
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "portcullis: unknown command %q%s\n", args[0], suggestCommand(args[0]))
		fmt.Fprintln(stderr, "Run 'portcullis --help' for the commands.")
		return 2
	}
	return c.run(args[1:], stdout, stderr)
}

// usage lists every command with its summary and every flag it takes, so
// one --help shows the whole CLI.
func usage(w io.Writer) {
	fmt.Fprintln(w, "portcullis: an API security gateway for GraphQL federations and REST services")
	fmt.Fprintln(w, "\nUsage: portcullis <command> [flags]\n       portcullis --version\n\nCommands:")
	for _, n := range commandNames() {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
		fmt.Fprintf(w, "  %-10s portcullis %s\n", "", synopsisOf(n))
	}
	fmt.Fprintln(w, "\nExit status: 0 success; 1 the command failed (check: the config has problems);")
	fmt.Fprintln(w, "2 the command line is wrong (unknown command or flag, missing argument).")
	fmt.Fprintln(w, "Run 'portcullis <command> --help' for what each flag means.")
}

func commandNames() []string {
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/portcullis-gw/portcullis/schema"
)

func init() {
	register(command{name: "compose", summary: "compose subgraph SDL files into a supergraph", run: runCompose})
}

// runCompose prints the supergraph of the given subgraphs (the docs/ pages 4):
// each argument is FILE (named after its base name) or name=FILE.
func runCompose(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("compose", "compose [-o FILE] [name=]SUBGRAPH.graphql...", stdout, stderr)
	out := fs.String("o", "", "write the supergraph SDL to `FILE` instead of stdout")
	if code, done := parseFlags(fs, args); done {
		return code
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "portcullis compose: at least one subgraph file is required")
		return 2
	}
	var subgraphs []schema.SubgraphSDL
	for _, arg := range fs.Args() {
		name, path, ok := strings.Cut(arg, "=")
		if !ok {
			path = arg
			name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
		}
		b, err := os.ReadFile(path)
		if err != nil {
			fmt.Fprintf(stderr, "portcullis compose: reading subgraph %q: %v\n", name, err)
			return 1
		}
		subgraphs = append(subgraphs, schema.SubgraphSDL{Name: name, SDL: string(b)})
	}
	g, err := schema.Compose(subgraphs)
	if err != nil {
		var ce *schema.CompositionErrors
		if errors.As(err, &ce) {
			for _, e := range ce.Errors {
				fmt.Fprintln(stderr, e.String())
			}
		} else {
			fmt.Fprintf(stderr, "portcullis compose: %v\n", err)
		}
		return 1
	}
	if *out == "" {
		fmt.Fprint(stdout, g.SupergraphSDL())
		return 0
	}
	if err := os.WriteFile(*out, []byte(g.SupergraphSDL()), 0o644); err != nil {
		fmt.Fprintf(stderr, "portcullis compose: writing %s: %v\n", *out, err)
		return 1
	}
	return 0
}

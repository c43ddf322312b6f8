package config

import (
	"fmt"
	"sort"
	"strings"

	"github.com/portcullis-gw/portcullis/keypath"
)

// Problem is one thing wrong with a config file. Path is the key path
// (`graphql[0].limits.max_depth` when printed), the root for the whole file;
// Line is 0 when the parser could not give one (for example a key that was
// never written).
type Problem struct {
	Path    keypath.Path
	Line    int
	Message string
}

func (p Problem) String() string {
	var b strings.Builder
	if !p.Path.IsRoot() {
		b.WriteString(p.Path.String())
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	if p.Line > 0 {
		fmt.Fprintf(&b, " (line %d)", p.Line)
	}
	return b.String()
}

// Problems is the error Load and Parse return: every problem in the file,
// so `portcullis check` can list them all at once.
type Problems struct {
	List []Problem
}

// Error prints one problem per line, in file order.
func (p *Problems) Error() string {
	lines := make([]string, len(p.List))
	for i, pr := range p.List {
		lines[i] = pr.String()
	}
	return strings.Join(lines, "\n")
}

// sortProblems orders by line, then path; problems without a line go last
// because they concern the file as a whole or keys that were never written.
func sortProblems(list []Problem) {
	sort.SliceStable(list, func(i, j int) bool {
		a, b := list[i], list[j]
		if (a.Line == 0) != (b.Line == 0) {
			return b.Line == 0
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if ap, bp := a.Path.String(), b.Path.String(); ap != bp {
			return ap < bp
		}
		return a.Message < b.Message
	})
}

package config

import (
	"fmt"
	"sort"
	"strings"
)

// Problem is one thing wrong with a config file. Path is the key path
// (`graphql[0].limits.max_depth`), empty for the whole file; Line is 0 when
// the parser could not give one (for example a key that was never written).
type Problem struct {
	Path    string
	Line    int
	Message string
}

func (p Problem) String() string {
	var b strings.Builder
	if p.Path != "" {
		b.WriteString(p.Path)
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
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		return a.Message < b.Message
	})
}

// joinKey builds the dotted paths shown to users. Map keys that are not
// plain identifiers are quoted so a path can always be read back.
func joinKey(parent, key string) string {
	if !isPlainKey(key) {
		return parent + "[" + fmt.Sprintf("%q", key) + "]"
	}
	if parent == "" {
		return key
	}
	return parent + "." + key
}

func joinIndex(parent string, i int) string {
	return fmt.Sprintf("%s[%d]", parent, i)
}

func isPlainKey(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// parentPath strips the last element of a key path.
func parentPath(p string) string {
	if strings.HasSuffix(p, "]") {
		inQuote := false
		for i := len(p) - 2; i >= 0; i-- {
			switch {
			case p[i] == '"' && (i == 0 || p[i-1] != '\\'):
				inQuote = !inQuote
			case p[i] == '[' && !inQuote:
				return p[:i]
			}
		}
		return ""
	}
	if i := strings.LastIndexByte(p, '.'); i >= 0 {
		return p[:i]
	}
	return ""
}

// splitRelative splits a package Validate message `max_depth: must be > 0`
// into its relative key path and its text, ignoring ": " inside quoted keys.
func splitRelative(msg string) (path, text string) {
	inQuote := false
	for i := 0; i < len(msg)-1; i++ {
		switch {
		case msg[i] == '"' && (i == 0 || msg[i-1] != '\\'):
			inQuote = !inQuote
		case msg[i] == ':' && msg[i+1] == ' ' && !inQuote:
			return msg[:i], msg[i+2:]
		case msg[i] == ' ' && !inQuote:
			// A space before any ": " means the message has no path.
			return "", msg
		}
	}
	return "", msg
}

// joinRelative appends a relative path (`limits.max_depth`, `[2].name`) to a parent.
func joinRelative(parent, rel string) string {
	switch {
	case rel == "":
		return parent
	case parent == "":
		return rel
	case strings.HasPrefix(rel, "["):
		return parent + rel
	}
	return parent + "." + rel
}

// Package keypath names places in the config document (`graphql[0].limits.max_depth`)
// as values, so each package's Validate can say where a problem is without
// writing the place into the message for someone to parse back out.
//
// It imports only the standard library, so every floor of the module may use
// it (the import table in test/deps_test.go).
package keypath

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Path is a place in the config document: keys and list indexes from the
// root. The zero Path is the document itself. Paths are values: Key and
// Index return a new Path and never change the one they extend.
type Path struct {
	elems []elem
}

type elem struct {
	key     string
	index   int
	isIndex bool
}

// Key is the root-level path of one key.
func Key(name string) Path { return Path{}.Key(name) }

// Index is a relative path to one list item, for Validate methods of list sections.
func Index(i int) Path { return Path{}.Index(i) }

// Key extends p by a mapping key.
func (p Path) Key(name string) Path { return p.with(elem{key: name}) }

// Index extends p by a list index.
func (p Path) Index(i int) Path { return p.with(elem{index: i, isIndex: true}) }

// Join extends p by rel, a path relative to p (what a section's Validate reports).
func (p Path) Join(rel Path) Path {
	if len(rel.elems) == 0 {
		return p
	}
	out := make([]elem, 0, len(p.elems)+len(rel.elems))
	return Path{append(append(out, p.elems...), rel.elems...)}
}

func (p Path) with(e elem) Path {
	// The full slice expression makes append copy, so paths extended from
	// one parent never share (and overwrite) a backing array.
	return Path{append(p.elems[:len(p.elems):len(p.elems)], e)}
}

// IsRoot reports whether p is the whole document.
func (p Path) IsRoot() bool { return len(p.elems) == 0 }

// Parent is p without its last element; the root's parent is the root.
func (p Path) Parent() Path {
	if len(p.elems) == 0 {
		return p
	}
	return Path{p.elems[: len(p.elems)-1 : len(p.elems)-1]}
}

// Within reports whether p is q or lies below it.
func (p Path) Within(q Path) bool {
	if len(q.elems) > len(p.elems) {
		return false
	}
	for i, e := range q.elems {
		if p.elems[i] != e {
			return false
		}
	}
	return true
}

// Equal reports whether p and q name the same place.
func (p Path) Equal(q Path) bool { return len(p.elems) == len(q.elems) && p.Within(q) }

// String is the path as users read and write it: dotted keys, [i] for list
// items, and ["..."] for keys that are not plain identifiers, so every
// path can be read back unambiguously.
func (p Path) String() string {
	var b strings.Builder
	for i, e := range p.elems {
		switch {
		case e.isIndex:
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(e.index))
			b.WriteByte(']')
		case !isPlain(e.key):
			b.WriteByte('[')
			b.WriteString(strconv.Quote(e.key))
			b.WriteByte(']')
		default:
			if i > 0 {
				b.WriteByte('.')
			}
			b.WriteString(e.key)
		}
	}
	return b.String()
}

func isPlain(s string) bool {
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

// Problem is one thing wrong at a place in the config. Path is relative to
// the section whose Validate found it; the config loader joins it to the
// section's own path and adds the line.
type Problem struct {
	Path    Path
	Message string
}

// Error reads "path: message", or the message alone at the root.
func (p Problem) Error() string {
	if p.Path.IsRoot() {
		return p.Message
	}
	return p.Path.String() + ": " + p.Message
}

// Problems is what a Validate method returns: every problem, none meaning valid.
type Problems []Problem

// Addf records a problem at p.
func (ps *Problems) Addf(p Path, format string, args ...any) {
	*ps = append(*ps, Problem{Path: p, Message: fmt.Sprintf(format, args...)})
}

// AddAll records the problems of a subsection found at p.
func (ps *Problems) AddAll(p Path, sub Problems) {
	for _, s := range sub {
		*ps = append(*ps, Problem{Path: p.Join(s.Path), Message: s.Message})
	}
}

// Err is nil without problems, else one error listing them all (for
// constructors that validate a hand-built Config again).
func (ps Problems) Err() error {
	if len(ps) == 0 {
		return nil
	}
	errs := make([]error, len(ps))
	for i, p := range ps {
		errs[i] = p
	}
	return errors.Join(errs...)
}

package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/portcullis-gw/portcullis/keypath"
)

// maxNodes bounds the nodes visited, so aliases that fan out (a "billion
// laughs" document) cannot make decoding explode.
const maxNodes = 100_000

var durationType = reflect.TypeOf(time.Duration(0))

// decoder walks the YAML node tree beside the Go value so that every
// problem (unknown or duplicate key, wrong type, bad duration, unset
// variable) is collected with its key path and line, instead of stopping at
// the first one as yaml.Node.Decode would.
type decoder struct {
	lookupEnv func(string) (string, bool)
	problems  []Problem
	// lines maps each key path (as printed) that appears in the file to its line.
	lines   map[string]int
	visited int
	aborted bool
}

func (d *decoder) addf(path keypath.Path, line int, format string, args ...any) {
	d.problems = append(d.problems, Problem{Path: path, Line: line, Message: fmt.Sprintf(format, args...)})
}

func (d *decoder) decode(n *yaml.Node, v reflect.Value, path keypath.Path) {
	if d.aborted {
		return
	}
	d.visited++
	if d.visited > maxNodes {
		d.aborted = true
		d.addf(path, n.Line, "document too large or too many alias expansions (more than %d nodes)", maxNodes)
		return
	}
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			d.addf(path, n.Line, "unresolved alias")
			return
		}
		d.decode(n.Alias, v, path)
		return
	}
	if !path.IsRoot() {
		if key := path.String(); d.lines[key] == 0 {
			d.lines[key] = n.Line
		}
	}
	if isNull(n) {
		v.Set(reflect.Zero(v.Type()))
		return
	}
	if v.Type() == durationType {
		d.decodeDuration(n, v, path)
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		elem := reflect.New(v.Type().Elem())
		d.decode(n, elem.Elem(), path)
		v.Set(elem)
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Map:
		d.decodeMap(n, v, path)
	case reflect.Slice:
		d.decodeSlice(n, v, path)
	case reflect.String:
		if s, ok := d.scalar(n, path, "a string"); ok {
			v.SetString(s.Value)
		}
	case reflect.Bool:
		if s, ok := d.scalar(n, path, "true or false"); ok {
			var b bool
			if s.ShortTag() != "!!bool" || s.Decode(&b) != nil {
				d.addf(path, n.Line, "expected true or false, got %q", s.Value)
				return
			}
			v.SetBool(b)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		var i int64
		if d.integer(n, path, "an integer", &i, func() bool { return v.OverflowInt(i) }) {
			v.SetInt(i)
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		var u uint64
		if d.integer(n, path, "a non-negative integer", &u, func() bool { return v.OverflowUint(u) }) {
			v.SetUint(u)
		}
	case reflect.Float32, reflect.Float64:
		if s, ok := d.scalar(n, path, "a number"); ok {
			var f float64
			if (s.ShortTag() != "!!float" && s.ShortTag() != "!!int") || s.Decode(&f) != nil {
				d.addf(path, n.Line, "expected a number, got %q", s.Value)
				return
			}
			v.SetFloat(f)
		}
	default:
		// Only reachable if a Config type gains a field kind this walker
		// does not know; report it rather than panic.
		d.addf(path, n.Line, "cannot decode into %s", v.Type())
	}
}

// integer decodes an !!int scalar into out (*int64 or *uint64), reporting
// a value that is not one or that overflows the field.
func (d *decoder) integer(n *yaml.Node, path keypath.Path, want string, out any, overflows func() bool) bool {
	s, ok := d.scalar(n, path, want)
	if !ok {
		return false
	}
	if s.ShortTag() != "!!int" || s.Decode(out) != nil || overflows() {
		d.addf(path, n.Line, "expected %s, got %q", want, s.Value)
		return false
	}
	return true
}

func isNull(n *yaml.Node) bool {
	return n.Kind == 0 || n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// scalar returns a copy of n with ${VAR} expanded. A plain (unquoted,
// untagged) scalar has its type resolved again after expansion, so
// `db: ${REDIS_DB}` can fill an integer; the value still stays one scalar.
func (d *decoder) scalar(n *yaml.Node, path keypath.Path, want string) (*yaml.Node, bool) {
	if n.Kind != yaml.ScalarNode {
		d.addf(path, n.Line, "expected %s, got %s", want, kindName(n))
		return nil, false
	}
	value, problems := expandEnv(n.Value, d.lookupEnv)
	for _, p := range problems {
		d.addf(path, n.Line, "%s", p)
	}
	if len(problems) > 0 {
		return nil, false
	}
	c := *n
	if value != n.Value {
		c.Value = value
		if n.Style&(yaml.TaggedStyle|yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) == 0 {
			c.Tag = ""
		}
	}
	return &c, true
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return strconv.Quote(n.Value)
	}
	return "nothing"
}

func (d *decoder) decodeDuration(n *yaml.Node, v reflect.Value, path keypath.Path) {
	s, ok := d.scalar(n, path, `a duration such as "10s"`)
	if !ok {
		return
	}
	dur, err := time.ParseDuration(s.Value)
	if err != nil {
		d.addf(path, n.Line, "invalid duration %q: want a Go duration such as \"10s\", \"1m30s\" or \"500ms\"", s.Value)
		return
	}
	v.SetInt(int64(dur))
}

// mappingKeys checks a mapping's keys (scalar, no merge key, no duplicate)
// and calls fn for each good pair.
func (d *decoder) mappingKeys(n *yaml.Node, path keypath.Path, want string, fn func(key string, keyNode, value *yaml.Node)) {
	if n.Kind != yaml.MappingNode {
		d.addf(path, n.Line, "expected %s, got %s", want, kindName(n))
		return
	}
	first := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.AliasNode && k.Alias != nil {
			k = k.Alias
		}
		if k.Kind != yaml.ScalarNode {
			d.addf(path, k.Line, "keys must be strings, got %s", kindName(k))
			continue
		}
		if k.ShortTag() == "!!merge" {
			d.addf(path.Key(k.Value), k.Line, "merge keys (<<) are not supported")
			continue
		}
		if line, dup := first[k.Value]; dup {
			d.addf(path.Key(k.Value), k.Line, "duplicate key (first at line %d)", line)
			continue
		}
		first[k.Value] = k.Line
		fn(k.Value, k, val)
	}
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path keypath.Path) {
	fields := yamlFields(v.Type())
	d.mappingKeys(n, path, "a mapping", func(key string, k, val *yaml.Node) {
		p := path.Key(key)
		idx, ok := fields[key]
		if !ok {
			d.addf(p, k.Line, "unknown key")
			return
		}
		d.lines[p.String()] = k.Line
		d.decode(val, v.Field(idx), p)
	})
}

func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value, path keypath.Path) {
	if v.Type().Key().Kind() != reflect.String {
		d.addf(path, n.Line, "cannot decode into %s", v.Type())
		return
	}
	m := reflect.MakeMap(v.Type())
	d.mappingKeys(n, path, "a mapping", func(key string, k, val *yaml.Node) {
		p := path.Key(key)
		d.lines[p.String()] = k.Line
		elem := reflect.New(v.Type().Elem()).Elem()
		d.decode(val, elem, p)
		m.SetMapIndex(reflect.ValueOf(key).Convert(v.Type().Key()), elem)
	})
	v.Set(m)
}

func (d *decoder) decodeSlice(n *yaml.Node, v reflect.Value, path keypath.Path) {
	if n.Kind != yaml.SequenceNode {
		d.addf(path, n.Line, "expected a list, got %s", kindName(n))
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		d.decode(item, s.Index(i), path.Index(i))
	}
	v.Set(s)
}

// yamlFields maps a struct's yaml keys to field indexes.
func yamlFields(t reflect.Type) map[string]int {
	fields := map[string]int{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		fields[name] = i
	}
	return fields
}

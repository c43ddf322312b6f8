// Package gqlrequest reads GraphQL-over-HTTP request bodies strictly and
// writes them back canonically.
//
// A gateway is only as strong as the smallest difference between how it
// reads a request and how the back end reads it. Go's encoding/json matches
// object keys case-insensitively and lets the last duplicate win; graphql-js,
// graphql-core and graphql-java read keys exactly. So this reader accepts
// only what every strict JSON reader (RFC 8259, with the I-JSON rules of
// RFC 7493 section 2) reads the same way: exact member names, no duplicate
// names at any depth, valid UTF-8 with no lone surrogate escapes, no byte
// order mark, numbers a float64 can hold, and bounded nesting. Whatever it
// accepts is written back by AppendRequest, so the back end never parses the
// client's bytes at all.
//
// It does no reflection and builds no map while reading: strings are
// substrings of one copy of the body unless they hold escapes.
package gqlrequest

import (
	"strconv"
)

// Kind is the JSON type of a Value. The zero Kind is Absent: a member that
// was not sent.
type Kind uint8

// The kinds of JSON value, and Absent for a member not sent.
const (
	Absent Kind = iota
	Null
	Bool
	Number
	String
	Array
	Object
)

var kindNames = [...]string{"absent", "null", "boolean", "number", "string", "array", "object"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Value is one decoded JSON value. Numbers keep their literal text, so
// writing a Value back never rounds a number through float64.
type Value struct {
	kind Kind
	// text is a string's decoded text, a number's literal, or "true" /
	// "false".
	text string
	// items are an object's members in the order sent, or an array's
	// elements (with empty names).
	items []Member
}

// Member is one member of an object (or, with an empty name, one element of
// an array).
type Member struct {
	Name  string
	Value Value
}

// Kind is the value's JSON type.
func (v Value) Kind() Kind { return v.kind }

// Text is a string's decoded text, a number's literal text, or "true" or
// "false"; empty for other kinds.
func (v Value) Text() string { return v.text }

// Members are an object's members in the order sent (names are unique), or
// an array's elements with empty names.
func (v Value) Members() []Member { return v.items }

// Get returns the member of an object by its exact name.
func (v Value) Get(name string) (Value, bool) {
	if v.kind != Object {
		return Value{}, false
	}
	for _, m := range v.items {
		if m.Name == name {
			return m.Value, true
		}
	}
	return Value{}, false
}

// Only returns the object without the members keep refuses; other kinds are
// returned unchanged. The members are not copied.
func (v Value) Only(keep func(name string) bool) Value {
	if v.kind != Object {
		return v
	}
	out := Value{kind: Object, items: make([]Member, 0, len(v.items))}
	for _, m := range v.items {
		if keep(m.Name) {
			out.items = append(out.items, m)
		}
	}
	return out
}

// Without returns the object without the member name.
func (v Value) Without(name string) Value {
	if _, ok := v.Get(name); !ok {
		return v
	}
	return v.Only(func(n string) bool { return n != name })
}

// Any converts the value to the shape encoding/json decodes into an any:
// nil, bool, float64, string, []any and map[string]any. Absent is nil. The
// reader has already refused numbers a float64 cannot hold.
func (v Value) Any() any {
	switch v.kind {
	case Bool:
		return v.text == "true"
	case Number:
		f, _ := strconv.ParseFloat(v.text, 64)
		return f
	case String:
		return v.text
	case Array:
		out := make([]any, len(v.items))
		for i, m := range v.items {
			out[i] = m.Value.Any()
		}
		return out
	case Object:
		return v.Map()
	}
	return nil
}

// Map converts an object with Any; any other kind is a nil map.
func (v Value) Map() map[string]any {
	if v.kind != Object {
		return nil
	}
	out := make(map[string]any, len(v.items))
	for _, m := range v.items {
		out[m.Name] = m.Value.Any()
	}
	return out
}

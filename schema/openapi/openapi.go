// Package openapi loads OpenAPI 3.0 and 3.1 documents (YAML or JSON, local
// $refs across files) into an immutable model whose schemas are compiled once,
// at load, so that nothing is compiled while a request is checked (the docs/ pages
// section 8).
//
// kin-openapi parses, resolves and validates the document; every schema the
// gateway checks values against is compiled by santhosh-tekuri/jsonschema
// (draft 2020-12 for 3.1, draft 4 plus `nullable` for 3.0), because kin's own
// 3.1 validator compiles the schema on every call.
package openapi

import (
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// Document is a loaded, validated and compiled OpenAPI document. It is never
// modified after Load, so one value may serve any number of goroutines.
type Document struct {
	file       string
	version    string
	basePath   string
	operations []*Operation
	schemes    map[string]*SecurityScheme
	security   []Requirement
}

// File is the path the document was loaded from.
func (d *Document) File() string { return d.file }

// Version is the document's `openapi` field, e.g. "3.1.0".
func (d *Document) Version() string { return d.version }

// BasePath is the path of the document's first server URL ("/v1" for
// `servers: [{url: /v1}]` or `https://api.example.com/v1`), without a
// trailing slash; "" when the document has no servers or the root.
func (d *Document) BasePath() string { return d.basePath }

// Operations lists every operation, sorted by path template then method.
func (d *Document) Operations() []*Operation { return d.operations }

// SecurityScheme returns the named component security scheme, or nil.
func (d *Document) SecurityScheme(name string) *SecurityScheme { return d.schemes[name] }

// Security is the document-wide security: alternatives (OR) of requirements.
func (d *Document) Security() []Requirement { return d.security }

// Operation is one documented method on one path.
type Operation struct {
	ID     string // operationId, "" when the document gives none
	Method string // upper case
	Path   string // path template relative to the base path, e.g. /orders/{id}
	// Parameters merges path-item and operation parameters; the operation's
	// win on the same (in, name), as OpenAPI 3 section 4.8.9 says.
	Parameters []*Parameter
	Body       *RequestBody // nil when the operation documents no body
	// Responses are keyed by status code ("200"), range ("2XX") or "default".
	Responses map[string]*Response
	// Security is nil when the operation inherits the document's security;
	// an empty non-nil slice (`security: []`) means no security at all.
	Security   []Requirement
	Extensions map[string]any
}

// Parameter is one path, query, header or cookie parameter.
type Parameter struct {
	Name            string
	In              string // path, query, header, cookie
	Style           string // defaulted: simple (path, header), form (query, cookie)
	Explode         bool   // defaulted: true for form, false otherwise
	Required        bool
	AllowEmptyValue bool
	AllowReserved   bool
	Schema          *Schema // nil for a content-typed parameter
	// ContentType is set for parameters described by `content` instead of
	// `schema`; the value is then a document of that type checked against
	// ContentSchema.
	ContentType   string
	ContentSchema *Schema
}

// RequestBody is an operation's documented body.
type RequestBody struct {
	Required bool
	// Content is keyed by media type range as written ("application/json",
	// "application/*", "*/*"), lower case.
	Content map[string]*MediaType
}

// MediaType is one documented content type of a body.
type MediaType struct {
	Schema *Schema // nil: any content of this type
}

// Response is one documented response.
type Response struct {
	Content map[string]*MediaType
	Headers map[string]*Header
}

// Header is one documented response header.
type Header struct {
	Required bool
	Schema   *Schema
}

// SecurityScheme is a component security scheme.
type SecurityScheme struct {
	Type   string // apiKey, http, oauth2, openIdConnect, mutualTLS
	Scheme string // for http: bearer, basic, ...
	In     string // for apiKey: header, query, cookie
	Name   string // for apiKey: the header, query or cookie name
}

// Requirement is one security requirement object: every named scheme must be
// satisfied (AND), each with the listed scopes.
type Requirement map[string][]string

// Shape is the part of a schema that parameter decoding needs: which JSON
// types a value may take, and the shapes of array items and object
// properties. It comes from the document, not from a value.
type Shape struct {
	Types      []string // JSON types; empty means any
	Format     string   // the schema's format, e.g. int64
	Items      *Shape
	Properties map[string]*Shape
}

// Has reports whether t is one of the shape's types (or the shape is untyped).
func (s *Shape) Has(t string) bool {
	if s == nil || len(s.Types) == 0 {
		return true
	}
	for _, x := range s.Types {
		if x == t || (t == "integer" && x == "number") {
			return true
		}
	}
	return false
}

// Is reports whether the shape names exactly type t (besides "null").
func (s *Shape) Is(t string) bool {
	if s == nil {
		return false
	}
	found := false
	for _, x := range s.Types {
		switch x {
		case t:
			found = true
		case "null":
		default:
			return false
		}
	}
	return found
}

// Schema is a compiled schema plus its shape. fast is the allocation-free
// validator built from compiled when every keyword it uses is modelled
// (fast.go); nil means jsonschema validates alone.
type Schema struct {
	Shape    *Shape
	compiled *jsonschema.Schema
	fast     *fastNode
}

// Violation is one way a value breaks a schema: where in the value (JSON
// pointer tokens, unescaped) and what rule.
type Violation struct {
	Location []string
	Message  string
}

var printer = message.NewPrinter(language.English)

// Validate checks v, a value as encoding/json would decode it (numbers as
// json.Number or float64), and returns every leaf violation, ordered by
// location; nil means valid.
func (s *Schema) Validate(v any) []Violation {
	if s == nil || s.compiled == nil {
		return nil
	}
	if s.fast != nil {
		r := fastRun{path: make([]string, 0, 8)}
		r.validate(s.fast, v)
		if !r.abort {
			sortViolations(r.out)
			return r.out
		}
	}
	out := s.slowValidate(v)
	sortViolations(out)
	return out
}

// FastPath reports whether the schema is checked by the fast validator
// (for values of the types the JSON decoder produces).
func (s *Schema) FastPath() bool { return s != nil && s.fast != nil }

func (s *Schema) slowValidate(v any) (out []Violation) {
	// jsonschema dereferences a nil big.Rat for a number it cannot parse
	// (an exponent in the millions); bad input must not crash the gateway.
	defer func() {
		if recover() != nil {
			out = []Violation{{Message: "value cannot be validated"}}
		}
	}()
	err := s.compiled.Validate(v)
	if err == nil {
		return nil
	}
	ve, ok := err.(*jsonschema.ValidationError)
	if !ok {
		return []Violation{{Message: "value cannot be validated"}}
	}
	collect(ve, &out)
	return out
}

func sortViolations(out []Violation) {
	if len(out) > 1 {
		slices.SortStableFunc(out, func(a, b Violation) int { return slices.Compare(a.Location, b.Location) })
	}
}

// collect keeps the leaves: the inner nodes only say "one of the causes
// failed" and would repeat each pointer.
func collect(ve *jsonschema.ValidationError, out *[]Violation) {
	if len(ve.Causes) == 0 {
		*out = append(*out, Violation{
			Location: ve.InstanceLocation,
			Message:  strings.TrimSpace(ve.ErrorKind.LocalizedString(printer)),
		})
		return
	}
	for _, c := range ve.Causes {
		collect(c, out)
	}
}

package openapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Problem is one thing wrong with a document, with where it is: a file
// position when the parser gives one, else a key path.
type Problem struct {
	Location string
	Message  string
}

func (p Problem) String() string {
	if p.Location == "" {
		return p.Message
	}
	return p.Location + ": " + p.Message
}

// LoadError lists every problem found in a document.
type LoadError struct {
	File     string
	Problems []Problem
}

func (e *LoadError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "loading OpenAPI document %q: %d problem(s)", e.File, len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	return b.String()
}

const docURL = "mem:///openapi.json"

// Load reads, resolves, validates and compiles the document at path. $refs
// may point into other local files; remote references are refused, since a
// document must not make the gateway fetch URLs at load.
func Load(path string) (*Document, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("loading OpenAPI document %q: %w", path, err)
	}
	le := &LoadError{File: path}
	loader := openapi3.NewLoader()
	loader.IncludeOrigin = true
	loader.IsExternalRefsAllowed = true
	loader.ReadFromURIFunc = readLocalFile
	kdoc, err := loader.LoadFromFile(abs)
	if err != nil {
		le.Problems = append(le.Problems, Problem{Location: path, Message: err.Error()})
		return nil, le
	}
	if !kdoc.IsOpenAPI30() && !kdoc.IsOpenAPI31OrLater() {
		le.Problems = append(le.Problems, Problem{Location: path + ": openapi", Message: fmt.Sprintf("unsupported version %q (want 3.0.x or 3.1.x)", kdoc.OpenAPI)})
		return nil, le
	}
	if err := kdoc.Validate(context.Background(), openapi3.EnableMultiError()); err != nil {
		for _, e := range flatten(err) {
			le.Problems = append(le.Problems, Problem{Location: path, Message: e.Error()})
		}
	}
	d := &Document{file: path, version: kdoc.OpenAPI, schemes: map[string]*SecurityScheme{}}
	b := &builder{doc: d, kdoc: kdoc, le: le, file: path}
	b.checkOperationIDs()
	d.basePath = b.basePath()
	if len(le.Problems) > 0 {
		return nil, le
	}
	if err := b.prepareCompiler(); err != nil {
		le.Problems = append(le.Problems, Problem{Location: path, Message: err.Error()})
		return nil, le
	}
	b.build()
	if len(le.Problems) > 0 {
		return nil, le
	}
	return d, nil
}

func readLocalFile(l *openapi3.Loader, u *url.URL) ([]byte, error) {
	if (u.Scheme != "" && u.Scheme != "file") || u.Host != "" {
		return nil, fmt.Errorf("reading %q: only local files may be referenced", u.String())
	}
	return openapi3.ReadFromFile(l, u)
}

func flatten(err error) []error {
	var me openapi3.MultiError
	if errors.As(err, &me) {
		var out []error
		for _, e := range me {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

type builder struct {
	doc      *Document
	kdoc     *openapi3.T
	le       *LoadError
	file     string
	compiler *jsonschema.Compiler
}

func (b *builder) problem(loc, format string, args ...any) {
	b.le.Problems = append(b.le.Problems, Problem{Location: loc, Message: fmt.Sprintf(format, args...)})
}

// where gives an element's file position, falling back to its key path.
func (b *builder) where(o *openapi3.Origin, keyPath string) string {
	if o != nil && o.Key != nil && o.Key.Line > 0 {
		f := o.Key.File
		if f == "" {
			f = b.file
		}
		return fmt.Sprintf("%s:%d:%d (%s)", f, o.Key.Line, o.Key.Column, keyPath)
	}
	return b.file + ": " + keyPath
}

var methods = []string{"GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE"}

func (b *builder) eachOperation(fn func(path string, item *openapi3.PathItem, method string, op *openapi3.Operation)) {
	if b.kdoc.Paths == nil {
		return
	}
	paths := b.kdoc.Paths.Map()
	keys := make([]string, 0, len(paths))
	for k := range paths {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, p := range keys {
		item := paths[p]
		if item == nil {
			continue
		}
		for _, m := range methods {
			if op := item.GetOperation(m); op != nil {
				fn(p, item, m, op)
			}
		}
	}
}

// checkOperationIDs reports every duplicate: operationIds name operations in
// config (CEL policies attach by operationId), so they must be unique.
func (b *builder) checkOperationIDs() {
	first := map[string]string{}
	b.eachOperation(func(p string, _ *openapi3.PathItem, m string, op *openapi3.Operation) {
		if op.OperationID == "" {
			return
		}
		here := b.where(op.Origin, "paths."+p+"."+strings.ToLower(m)+".operationId")
		if prev, dup := first[op.OperationID]; dup {
			b.problem(here, "duplicate operationId %q (first at %s)", op.OperationID, prev)
			return
		}
		first[op.OperationID] = here
	})
}

func (b *builder) basePath() string {
	if len(b.kdoc.Servers) == 0 {
		return ""
	}
	s := b.kdoc.Servers[0]
	raw := s.URL
	// Server variables take their defaults: the gateway serves one base path.
	for name, v := range s.Variables {
		if v != nil {
			raw = strings.ReplaceAll(raw, "{"+name+"}", v.Default)
		}
	}
	u, err := url.Parse(raw)
	if err != nil || strings.ContainsAny(u.Path, "{}") {
		b.problem(b.where(s.Origin, "servers[0].url"), "server URL %q has no usable path", s.URL)
		return ""
	}
	p := u.Path
	if u.Scheme == "" && u.Host == "" && !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	return strings.TrimSuffix(p, "/")
}

// prepareCompiler turns the resolved document into one JSON resource so every
// schema can be compiled by its location and keep its $refs (including 3.1
// $ref siblings) as written.
func (b *builder) prepareCompiler() error {
	b.kdoc.InternalizeRefs(context.Background(), nil)
	raw, err := json.Marshal(b.kdoc)
	if err != nil {
		return fmt.Errorf("encoding document for schema compilation: %w", err)
	}
	tree, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("decoding document for schema compilation: %w", err)
	}
	c := jsonschema.NewCompiler()
	if b.kdoc.IsOpenAPI30() {
		// OpenAPI 3.0's Schema Object is draft 4 (boolean exclusiveMinimum,
		// $ref siblings ignored) plus `nullable`.
		c.DefaultDraft(jsonschema.Draft4)
		tree = nullableToType(tree)
	} else {
		c.DefaultDraft(jsonschema.Draft2020)
	}
	c.AssertFormat()
	for _, f := range openAPIFormats {
		c.RegisterFormat(f)
	}
	c.UseLoader(noLoader{})
	if err := c.AddResource(docURL, tree); err != nil {
		return fmt.Errorf("adding document to schema compiler: %w", err)
	}
	b.compiler = c
	return nil
}

// noLoader keeps the compiler from reading anything but the document itself.
type noLoader struct{}

func (noLoader) Load(u string) (any, error) {
	return nil, fmt.Errorf("schema %q is outside the document", u)
}

// nullableToType rewrites 3.0's `nullable: true` into the type list draft 4
// understands; enum lists get null too, since 3.0.3 says nullable allows it.
func nullableToType(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			t[k] = nullableToType(x)
		}
		if n, _ := t["nullable"].(bool); n {
			if s, ok := t["type"].(string); ok {
				t["type"] = []any{s, "null"}
			}
			if e, ok := t["enum"].([]any); ok {
				t["enum"] = append(e, nil)
			}
		}
	case []any:
		for i, x := range t {
			t[i] = nullableToType(x)
		}
	}
	return v
}

func escapeToken(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// refBase returns the pointer of a referenced component (internalized refs
// are all document-local) or the inline location.
func refBase(ref, inline string) string {
	if ref != "" {
		if i := strings.IndexByte(ref, '#'); i >= 0 {
			return ref[i+1:]
		}
	}
	return inline
}

func (b *builder) compile(ptr string, ref *openapi3.SchemaRef, loc string) *Schema {
	if ref == nil {
		return nil
	}
	s, err := b.compiler.Compile(docURL + "#" + ptr)
	if err != nil {
		b.problem(loc, "compiling schema: %v", err)
		return nil
	}
	out := &Schema{compiled: s, Shape: shapeOf(ref, b.kdoc.IsOpenAPI30(), 0)}
	// A schema the fast path cannot model keeps jsonschema alone.
	out.fast, _ = compileFast(s)
	return out
}

func shapeOf(ref *openapi3.SchemaRef, v30 bool, depth int) *Shape {
	if ref == nil || ref.Value == nil || depth > 8 {
		return nil
	}
	s := ref.Value
	sh := &Shape{Format: s.Format}
	if s.Type != nil {
		sh.Types = append(sh.Types, s.Type.Slice()...)
	}
	if v30 && s.Nullable && len(sh.Types) > 0 {
		sh.Types = append(sh.Types, "null")
	}
	if s.Items != nil {
		sh.Items = shapeOf(s.Items, v30, depth+1)
	}
	if len(s.Properties) > 0 {
		sh.Properties = make(map[string]*Shape, len(s.Properties))
		for k, p := range s.Properties {
			sh.Properties[k] = shapeOf(p, v30, depth+1)
		}
	}
	return sh
}

func (b *builder) build() {
	if comps := b.kdoc.Components; comps != nil {
		for name, ref := range comps.SecuritySchemes {
			if ref == nil || ref.Value == nil {
				continue
			}
			s := ref.Value
			b.doc.schemes[name] = &SecurityScheme{Type: s.Type, Scheme: strings.ToLower(s.Scheme), In: s.In, Name: s.Name}
		}
	}
	b.doc.security = b.requirements(b.kdoc.Security, "security")
	b.eachOperation(func(p string, item *openapi3.PathItem, m string, op *openapi3.Operation) {
		itemPtr := refBase(item.Ref, "/paths/"+escapeToken(p))
		opPtr := itemPtr + "/" + strings.ToLower(m)
		keyPath := "paths." + p + "." + strings.ToLower(m)
		o := &Operation{ID: op.OperationID, Method: m, Path: p, Extensions: op.Extensions, Responses: map[string]*Response{}}
		seen := map[string]int{}
		add := func(list openapi3.Parameters, base string) {
			for i, pr := range list {
				if pr == nil || pr.Value == nil {
					continue
				}
				ptr := refBase(pr.Ref, fmt.Sprintf("%s/parameters/%d", base, i))
				par := b.parameter(pr.Value, ptr, b.where(pr.Value.Origin, keyPath+".parameters."+pr.Value.Name))
				key := par.In + "\x00" + par.Name
				if par.In == "header" {
					key = par.In + "\x00" + strings.ToLower(par.Name)
				}
				if j, ok := seen[key]; ok {
					o.Parameters[j] = par
					continue
				}
				seen[key] = len(o.Parameters)
				o.Parameters = append(o.Parameters, par)
			}
		}
		add(item.Parameters, itemPtr)
		add(op.Parameters, opPtr)
		if rb := op.RequestBody; rb != nil && rb.Value != nil {
			ptr := refBase(rb.Ref, opPtr+"/requestBody")
			o.Body = &RequestBody{Required: rb.Value.Required, Content: b.content(rb.Value.Content, ptr, keyPath+".requestBody")}
		}
		if op.Responses != nil {
			for code, rr := range op.Responses.Map() {
				if rr == nil || rr.Value == nil {
					continue
				}
				ptr := refBase(rr.Ref, opPtr+"/responses/"+escapeToken(code))
				resp := &Response{Content: b.content(rr.Value.Content, ptr, keyPath+".responses."+code)}
				for name, hr := range rr.Value.Headers {
					if hr == nil || hr.Value == nil {
						continue
					}
					hptr := refBase(hr.Ref, ptr+"/headers/"+escapeToken(name))
					if resp.Headers == nil {
						resp.Headers = map[string]*Header{}
					}
					resp.Headers[name] = &Header{Required: hr.Value.Required, Schema: b.compile(hptr+"/schema", hr.Value.Schema, keyPath+".responses."+code+".headers."+name)}
				}
				o.Responses[strings.ToUpper(code)] = resp
			}
		}
		if op.Security != nil {
			o.Security = b.requirements(*op.Security, keyPath+".security")
			if o.Security == nil {
				o.Security = []Requirement{}
			}
		}
		b.doc.operations = append(b.doc.operations, o)
	})
}

func (b *builder) parameter(p *openapi3.Parameter, ptr, loc string) *Parameter {
	par := &Parameter{Name: p.Name, In: p.In, Style: p.Style, Required: p.Required || p.In == "path",
		AllowEmptyValue: p.AllowEmptyValue, AllowReserved: p.AllowReserved}
	if par.Style == "" {
		switch p.In {
		case "query", "cookie":
			par.Style = "form"
		default:
			par.Style = "simple"
		}
	}
	par.Explode = par.Style == "form"
	if p.Explode != nil {
		par.Explode = *p.Explode
	}
	if p.Schema != nil {
		par.Schema = b.compile(ptr+"/schema", p.Schema, loc)
	}
	for mt, m := range p.Content {
		par.ContentType = strings.ToLower(mt)
		if m != nil && m.Schema != nil {
			par.ContentSchema = b.compile(ptr+"/content/"+escapeToken(mt)+"/schema", m.Schema, loc)
		}
	}
	return par
}

func (b *builder) content(c openapi3.Content, ptr, loc string) map[string]*MediaType {
	out := make(map[string]*MediaType, len(c))
	for mt, m := range c {
		media := &MediaType{}
		if m != nil && m.Schema != nil {
			media.Schema = b.compile(ptr+"/content/"+escapeToken(mt)+"/schema", m.Schema, loc+".content."+mt)
		}
		out[strings.ToLower(mt)] = media
	}
	return out
}

func (b *builder) requirements(reqs openapi3.SecurityRequirements, loc string) []Requirement {
	var out []Requirement
	for i, r := range reqs {
		req := Requirement{}
		for name, scopes := range r {
			if _, ok := b.doc.schemes[name]; !ok {
				b.problem(fmt.Sprintf("%s: %s[%d]", b.file, loc, i), "security scheme %q is not defined in components.securitySchemes", name)
			}
			req[name] = append([]string(nil), scopes...)
		}
		out = append(out, req)
	}
	return out
}

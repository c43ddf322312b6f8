package rest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/portcullis-gw/portcullis/schema/openapi"
)

// Validate checks the request's parameters and body (already read, within
// the gateway's size cap) against op. It returns every problem found, or nil.
func (r *Route) Validate(op *Operation, req *http.Request, body []byte) *Failure {
	if op == nil || op.Spec == nil {
		return notFound()
	}
	var errs []FieldError
	add := func(ptr, detail string) { errs = append(errs, FieldError{Pointer: ptr, Detail: detail}) }
	query, qerr := url.ParseQuery(req.URL.RawQuery)
	if qerr != nil {
		add("/query", "the query string is malformed")
	}
	info := r.ops[op.Spec]
	for _, p := range op.Spec.Parameters {
		switch p.In {
		case "path":
			r.checkPath(p, op.PathParams, add)
		case "query":
			if qerr == nil {
				r.checkQuery(p, query, add)
			}
		case "header":
			r.checkHeader(p, req.Header, add)
		case "cookie":
			r.checkCookie(p, req, add)
		}
	}
	if qerr == nil && !r.opts.AllowUnknownQuery {
		var unknown []string
		for k := range query {
			if info != nil && info.known(k) {
				continue
			}
			unknown = append(unknown, k)
		}
		sort.Strings(unknown)
		for _, k := range unknown {
			add(pointer("/query", k), "query parameter is not documented")
		}
	}
	if f := r.checkBody(op.Spec.Body, req.Header.Get("Content-Type"), body, add); f != nil {
		return f
	}
	if len(errs) > 0 {
		return validationFailure(errs)
	}
	return nil
}

func (i *opInfo) known(k string) bool {
	if _, ok := i.query[k]; ok {
		return true
	}
	for _, p := range i.deepObject {
		if strings.HasPrefix(k, p.Name+"[") && strings.HasSuffix(k, "]") {
			return true
		}
	}
	return false
}

type adder func(ptr, detail string)

func validateValue(s *openapi.Schema, v any, prefix string, add adder) {
	for _, viol := range s.Validate(v) {
		add(pointer(prefix, viol.Location...), viol.Message)
	}
}

// coerce turns a parameter's text into the JSON value its schema expects,
// so the schema can then judge it; text that fits no expected type stays a
// string and fails the schema's type check with a clear message.
func coerce(s string, sh *openapi.Shape) any {
	if sh == nil || len(sh.Types) == 0 {
		return s
	}
	// An integer parameter must be written as one: "1e0", "1.0" or
	// "0.5e1" are integers to a JSON Schema but not to the upstream's
	// parser (parseInt("0.5e1") is 0), so the value checked would not be
	// the value used.
	if sh.Has("integer") && isPlainInteger(s) {
		return json.Number(s)
	}
	if sh.Has("number") && isJSONNumber(s) {
		return json.Number(s)
	}
	if sh.Has("boolean") && (s == "true" || s == "false") {
		return s == "true"
	}
	if sh.Has("null") && !sh.Has("string") && s == "" {
		return nil
	}
	return s
}

// isPlainInteger matches -?(0|[1-9][0-9]*).
func isPlainInteger(s string) bool {
	s = strings.TrimPrefix(s, "-")
	if s == "" || len(s) > 1 && s[0] == '0' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isJSONNumber(s string) bool {
	if s == "" {
		return false
	}
	v, err := decodeJSON([]byte(s), 1, false)
	_, ok := v.(json.Number)
	return err == nil && ok
}

// structured decodes a parameter's text by its style and explode (OpenAPI 3
// section 4.8.12.4) into a string, []any or map[string]any of coerced values.
func structured(p *openapi.Parameter, values []string) (any, string) {
	sh := p.Schema.Shape
	switch {
	case sh.Is("array"):
		var parts []string
		switch {
		case p.Explode && (p.Style == "form"):
			parts = values
		default:
			if len(values) > 1 {
				return nil, "parameter is repeated"
			}
			sep := ","
			switch p.Style {
			case "spaceDelimited":
				sep = " "
			case "pipeDelimited":
				sep = "|"
			}
			if values[0] != "" {
				parts = strings.Split(values[0], sep)
			}
		}
		arr := make([]any, len(parts))
		for i, s := range parts {
			arr[i] = coerce(s, sh.Items)
		}
		return arr, ""
	case sh.Is("object") && p.Style != "deepObject":
		if len(values) > 1 {
			return nil, "parameter is repeated"
		}
		obj := map[string]any{}
		if values[0] == "" {
			return obj, ""
		}
		parts := strings.Split(values[0], ",")
		if p.Explode {
			for _, kv := range parts {
				k, v, _ := strings.Cut(kv, "=")
				obj[k] = coerce(v, sh.Properties[k])
			}
			return obj, ""
		}
		if len(parts)%2 != 0 {
			return nil, "object value must be key,value pairs"
		}
		for i := 0; i < len(parts); i += 2 {
			obj[parts[i]] = coerce(parts[i+1], sh.Properties[parts[i]])
		}
		return obj, ""
	default:
		if len(values) > 1 {
			return nil, "parameter is repeated"
		}
		return coerce(values[0], sh), ""
	}
}

func (r *Route) checkPath(p *openapi.Parameter, params map[string]string, add adder) {
	ptr := r.paramPointer(p)
	raw, ok := params[p.Name]
	if !ok {
		add(ptr, "path parameter is missing")
		return
	}
	switch p.Style {
	case "label":
		if !strings.HasPrefix(raw, ".") {
			add(ptr, "label-style value must start with '.'")
			return
		}
		raw = raw[1:]
		if p.Explode {
			raw = strings.ReplaceAll(raw, ".", ",")
		}
	case "matrix":
		add(ptr, "matrix-style path parameters are refused by path safety")
		return
	}
	r.checkText(p, []string{raw}, true, ptr, add)
}

// checkText decodes (when escaped) and validates a parameter's values.
func (r *Route) checkText(p *openapi.Parameter, values []string, escaped bool, ptr string, add adder) {
	if p.ContentType != "" {
		if len(values) > 1 {
			add(ptr, "parameter is repeated")
			return
		}
		s := values[0]
		if escaped {
			var err error
			if s, err = url.PathUnescape(s); err != nil {
				add(ptr, "malformed percent-encoding")
				return
			}
		}
		v, err := decodeJSON([]byte(s), r.maxDepth, r.opts.AllowCaseCollidingKeys)
		if err != nil {
			add(ptr, "value is not valid JSON: "+err.Error())
			return
		}
		validateValue(p.ContentSchema, v, ptr, add)
		return
	}
	if p.Schema == nil {
		return
	}
	if escaped {
		// Split before unescaping, so an encoded ',' stays inside a value.
		var v any
		var why string
		if p.Schema.Shape.Is("array") || p.Schema.Shape.Is("object") {
			v, why = structured(p, values)
			v = unescapeAll(v, &why)
		} else {
			s, err := url.PathUnescape(values[0])
			if err != nil {
				add(ptr, "malformed percent-encoding")
				return
			}
			v, why = structured(p, []string{s})
		}
		if why != "" {
			add(ptr, why)
			return
		}
		validateValue(p.Schema, v, ptr, add)
		return
	}
	for _, s := range values {
		if !utf8.ValidString(s) {
			add(ptr, "invalid UTF-8")
			return
		}
	}
	v, why := structured(p, values)
	if why != "" {
		add(ptr, why)
		return
	}
	validateValue(p.Schema, v, ptr, add)
}

func unescapeAll(v any, why *string) any {
	un := func(s string) string {
		u, err := url.PathUnescape(s)
		if err != nil {
			*why = "malformed percent-encoding"
		}
		return u
	}
	switch t := v.(type) {
	case string:
		return un(t)
	case []any:
		for i, x := range t {
			if s, ok := x.(string); ok {
				t[i] = un(s)
			}
		}
	case map[string]any:
		for k, x := range t {
			if s, ok := x.(string); ok {
				t[k] = un(s)
			}
		}
	}
	return v
}

func (r *Route) checkQuery(p *openapi.Parameter, q url.Values, add adder) {
	ptr := r.paramPointer(p)
	if p.Style == "deepObject" {
		obj := map[string]any{}
		var sh *openapi.Shape
		if p.Schema != nil {
			sh = p.Schema.Shape
		}
		for k, vs := range q {
			if !strings.HasPrefix(k, p.Name+"[") || !strings.HasSuffix(k, "]") {
				continue
			}
			prop := k[len(p.Name)+1 : len(k)-1]
			if len(vs) > 1 {
				add(pointer(ptr, prop), "parameter is repeated")
				return
			}
			var psh *openapi.Shape
			if sh != nil {
				psh = sh.Properties[prop]
			}
			obj[prop] = coerce(vs[0], psh)
		}
		if len(obj) == 0 {
			if p.Required {
				add(ptr, "required parameter is missing")
			}
			return
		}
		if p.Schema != nil {
			validateValue(p.Schema, obj, ptr, add)
		}
		return
	}
	if p.Style == "form" && p.Explode && p.Schema != nil && p.Schema.Shape.Is("object") {
		obj := map[string]any{}
		for name, psh := range p.Schema.Shape.Properties {
			if vs, ok := q[name]; ok {
				if len(vs) > 1 {
					add(pointer(ptr, name), "parameter is repeated")
					return
				}
				obj[name] = coerce(vs[0], psh)
			}
		}
		if len(obj) == 0 && p.Required {
			add(ptr, "required parameter is missing")
			return
		}
		validateValue(p.Schema, obj, ptr, add)
		return
	}
	vs, ok := q[p.Name]
	if !ok {
		if p.Required {
			add(ptr, "required parameter is missing")
		}
		return
	}
	if len(vs) == 1 && vs[0] == "" && p.AllowEmptyValue {
		return
	}
	r.checkText(p, vs, false, ptr, add)
}

// Headers that OpenAPI says a parameter may not describe (section 4.8.12.1).
var ignoredHeaders = map[string]bool{"Accept": true, "Content-Type": true, "Authorization": true}

func (r *Route) checkHeader(p *openapi.Parameter, h http.Header, add adder) {
	name := http.CanonicalHeaderKey(p.Name)
	if ignoredHeaders[name] {
		return
	}
	ptr := r.paramPointer(p)
	vs := h.Values(name)
	if len(vs) == 0 {
		if p.Required {
			add(ptr, "required header is missing")
		}
		return
	}
	// Repeated header lines are one comma-separated list (RFC 9110 5.3),
	// which only an array parameter is. For one value, back ends disagree
	// on which line counts (the first, the last, or both joined), so the
	// line checked might not be the line used.
	if len(vs) > 1 && (p.Schema == nil || !p.Schema.Shape.Is("array")) {
		add(ptr, "header is repeated")
		return
	}
	if len(vs) > 1 {
		vs = []string{strings.Join(vs, ",")}
	}
	// One line is checked as it is (checkText only reads it).
	r.checkText(p, vs, false, ptr, add)
}

func (r *Route) checkCookie(p *openapi.Parameter, req *http.Request, add adder) {
	ptr := r.paramPointer(p)
	var vs []string
	for _, c := range req.CookiesNamed(p.Name) {
		vs = append(vs, c.Value)
	}
	if len(vs) == 0 {
		if p.Required {
			add(ptr, "required cookie is missing")
		}
		return
	}
	if len(vs) > 1 {
		add(ptr, "cookie is repeated")
		return
	}
	r.checkText(p, vs, false, ptr, add)
}

// pickMedia finds the documented media type for ct: exact, then type/*,
// then */* (OpenAPI 3 section 4.8.14: the most specific key applies).
func pickMedia(content map[string]*openapi.MediaType, ct string) (*openapi.MediaType, string, bool) {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return nil, "", false
	}
	if m, ok := content[mt]; ok {
		return m, mt, true
	}
	if i := strings.IndexByte(mt, '/'); i > 0 {
		if m, ok := content[mt[:i]+"/*"]; ok {
			return m, mt, true
		}
	}
	if m, ok := content["*/*"]; ok {
		return m, mt, true
	}
	return nil, mt, false
}

func isJSON(mt string) bool {
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

func (r *Route) checkBody(rb *openapi.RequestBody, ct string, body []byte, add adder) *Failure {
	if rb == nil {
		if len(body) > 0 {
			add("/body", "this operation takes no request body")
		}
		return nil
	}
	if len(body) == 0 {
		if rb.Required {
			add("/body", "request body is required")
		}
		return nil
	}
	media, mt, ok := pickMedia(rb.Content, ct)
	if !ok {
		types := make([]string, 0, len(rb.Content))
		for k := range rb.Content {
			types = append(types, k)
		}
		sort.Strings(types)
		return &Failure{Status: http.StatusUnsupportedMediaType, Code: CodeUnsupportedMedia, Title: "Unsupported Media Type",
			Detail: "the request body's Content-Type is not documented; expected one of: " + strings.Join(types, ", ")}
	}
	var v any
	switch {
	case isJSON(mt):
		// RFC 8259 section 8.1: JSON exchanged between systems is UTF-8. A
		// back end honouring another charset would read other characters
		// than the ones checked.
		if _, params, _ := mime.ParseMediaType(ct); params["charset"] != "" && !strings.EqualFold(params["charset"], "utf-8") {
			return &Failure{Status: http.StatusUnsupportedMediaType, Code: CodeUnsupportedMedia, Title: "Unsupported Media Type",
				Detail: "JSON bodies must be UTF-8; charset " + strconv.Quote(params["charset"]) + " is refused"}
		}
		var err error
		if v, err = decodeJSON(body, r.maxDepth, r.opts.AllowCaseCollidingKeys); err != nil {
			add("/body", err.Error())
			return nil
		}
	case mt == "application/x-www-form-urlencoded":
		form, err := url.ParseQuery(string(body))
		if err != nil {
			add("/body", "the form body is malformed")
			return nil
		}
		v = r.formObject(form, media.Schema, add)
	case mt == "multipart/form-data":
		_, params, _ := mime.ParseMediaType(ct)
		form, err := r.readMultipart(body, params["boundary"], media.Schema)
		if err != nil {
			add("/body", err.Error())
			return nil
		}
		v = form
	default:
		v = string(body)
	}
	if v == nil && !isJSON(mt) {
		return nil
	}
	if media.Schema != nil {
		validateValue(media.Schema, v, "/body", add)
		if isJSON(mt) {
			checkIntegers(v, media.Schema.Shape, "/body", add)
		}
	}
	return nil
}

func (r *Route) formObject(form map[string][]string, s *openapi.Schema, add adder) any {
	obj := map[string]any{}
	var props map[string]*openapi.Shape
	if s != nil && s.Shape != nil {
		props = s.Shape.Properties
	}
	if len(form) > defaultMaxFormFields {
		add("/body", "too many form fields")
		return nil
	}
	for k, vs := range form {
		sh := props[k]
		if sh.Is("array") {
			arr := make([]any, len(vs))
			for i, x := range vs {
				arr[i] = coerce(x, sh.Items)
			}
			obj[k] = arr
			continue
		}
		if len(vs) > 1 {
			add(pointer("/body", k), "field is repeated")
			continue
		}
		obj[k] = coerce(vs[0], sh)
	}
	return obj
}

func (r *Route) readMultipart(body []byte, boundary string, s *openapi.Schema) (any, error) {
	if boundary == "" {
		return nil, errors.New("multipart body without a boundary")
	}
	var props map[string]*openapi.Shape
	if s != nil && s.Shape != nil {
		props = s.Shape.Properties
	}
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	fields := map[string][]any{}
	for n := 0; ; n++ {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, errors.New("the multipart body is malformed")
		}
		if n >= defaultMaxFormFields {
			return nil, errors.New("too many multipart parts")
		}
		name := part.FormName()
		data, err := io.ReadAll(part)
		if err != nil {
			return nil, errors.New("the multipart body is malformed")
		}
		sh := props[name]
		var itemSh *openapi.Shape
		if sh.Is("array") {
			itemSh = sh.Items
		} else {
			itemSh = sh
		}
		pct := part.Header.Get("Content-Type")
		var v any
		if pmt, _, err := mime.ParseMediaType(pct); err == nil && isJSON(pmt) {
			if v, err = decodeJSON(data, r.maxDepth, r.opts.AllowCaseCollidingKeys); err != nil {
				return nil, errors.New("part " + strconv.Quote(name) + ": " + err.Error())
			}
		} else {
			v = coerce(string(data), itemSh)
		}
		fields[name] = append(fields[name], v)
	}
	obj := map[string]any{}
	for k, vs := range fields {
		if props[k].Is("array") {
			obj[k] = vs
			continue
		}
		if len(vs) > 1 {
			return nil, errors.New("part " + strconv.Quote(k) + " is repeated")
		}
		obj[k] = vs[0]
	}
	return obj, nil
}

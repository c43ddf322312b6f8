package rest

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/portcullis-gw/portcullis/schema/openapi"
)

// maxPathBytes bounds the escaped path; longer paths are refused before any
// work is done on them.
const maxPathBytes = 8192

type pathEntry struct {
	template string
	segs     []tmplSeg
	ops      map[string]*openapi.Operation
	allow    []string
}

// tmplSeg is one template segment: a literal, or a parameter with an
// optional literal prefix and suffix (`{name}.json`).
type tmplSeg struct {
	lit            string
	param          string
	prefix, suffix string
}

func parseTemplate(t string) ([]tmplSeg, error) {
	if !strings.HasPrefix(t, "/") {
		return nil, errors.New("path must start with '/'")
	}
	if t == "/" {
		return nil, nil
	}
	var segs []tmplSeg
	for _, s := range strings.Split(t[1:], "/") {
		open := strings.IndexByte(s, '{')
		if open < 0 {
			if strings.IndexByte(s, '}') >= 0 {
				return nil, fmt.Errorf("segment %q has an unbalanced '}'", s)
			}
			segs = append(segs, tmplSeg{lit: s})
			continue
		}
		end := strings.IndexByte(s, '}')
		if end < open || strings.IndexByte(s[end+1:], '{') >= 0 || strings.IndexByte(s[end+1:], '}') >= 0 || end == open+1 {
			return nil, fmt.Errorf("segment %q: only one {parameter} per segment is supported", s)
		}
		segs = append(segs, tmplSeg{param: s[open+1 : end], prefix: s[:open], suffix: s[end+1:]})
	}
	return segs, nil
}

// Match finds the one operation for method and escapedPath, the request path
// after the gateway's route prefix (still percent-encoded, e.g.
// r.URL.EscapedPath() minus the prefix). The path must begin with the
// document's base path. Paths that a cleaning step would change are refused
// with 400 instead of being normalised into another operation (the docs/ pages
// section 2, the docs/ pages).
func (r *Route) Match(method, escapedPath string) (*Operation, *Failure) {
	segs, raw, why := cleanSegments(escapedPath)
	if why != "" {
		return nil, unsafePath(why)
	}
	for i, b := range r.base {
		if i >= len(segs) {
			return nil, notFound()
		}
		if segs[i] != b {
			if strings.EqualFold(segs[i], b) {
				return nil, unsafePath("case variant of a documented path segment")
			}
			return nil, notFound()
		}
	}
	segs, raw = segs[len(r.base):], raw[len(r.base):]
	var best *pathEntry
	var bestParams []int
	for _, e := range r.paths {
		params, ok := e.match(segs, false)
		if !ok {
			continue
		}
		if best == nil || moreSpecific(e, best) {
			best, bestParams = e, params
		}
	}
	if best == nil {
		for _, e := range r.paths {
			if _, ok := e.match(segs, true); ok {
				return nil, unsafePath("case variant of a documented path segment")
			}
		}
		return nil, notFound()
	}
	op := best.ops[method]
	if op == nil {
		return nil, &Failure{Status: http.StatusMethodNotAllowed, Code: CodeMethodNotAllowed, Title: "Method Not Allowed",
			Detail: "the method is not documented for this path", Allow: best.allow}
	}
	out := &Operation{Spec: op, Template: best.template}
	if len(bestParams) > 0 {
		out.PathParams = make(map[string]string, len(bestParams))
		for _, i := range bestParams {
			t := best.segs[i]
			v := raw[i][len(t.prefix) : len(raw[i])-len(t.suffix)]
			out.PathParams[t.param] = v
		}
	}
	return out, nil
}

// match reports whether segs (decoded) fit the template, and which segment
// indexes hold parameters. fold compares literals case-insensitively; it is
// used only to tell a case variant (400) from an unknown path (404).
func (e *pathEntry) match(segs []string, fold bool) ([]int, bool) {
	if len(segs) != len(e.segs) {
		return nil, false
	}
	var params []int
	eq := func(a, b string) bool { return a == b }
	hasPrefix := strings.HasPrefix
	hasSuffix := strings.HasSuffix
	if fold {
		eq = strings.EqualFold
		hasPrefix = func(s, p string) bool { return len(s) >= len(p) && strings.EqualFold(s[:len(p)], p) }
		hasSuffix = func(s, p string) bool { return len(s) >= len(p) && strings.EqualFold(s[len(s)-len(p):], p) }
	}
	for i, t := range e.segs {
		s := segs[i]
		if t.param == "" {
			if !eq(s, t.lit) {
				return nil, false
			}
			continue
		}
		if len(s) <= len(t.prefix)+len(t.suffix) || !hasPrefix(s, t.prefix) || !hasSuffix(s, t.suffix) {
			return nil, false
		}
		params = append(params, i)
	}
	return params, true
}

// moreSpecific prefers, at the first segment where they differ in kind, the
// literal over the parameter (OpenAPI 3 section 4.8.8: concrete paths match
// before templated ones), so the choice never depends on document order.
func moreSpecific(a, b *pathEntry) bool {
	for i := range a.segs {
		al, bl := a.segs[i].param == "", b.segs[i].param == ""
		if al != bl {
			return al
		}
		ap, bp := len(a.segs[i].prefix)+len(a.segs[i].suffix), len(b.segs[i].prefix)+len(b.segs[i].suffix)
		if ap != bp {
			return ap > bp
		}
	}
	return a.template < b.template
}

// cleanSegments splits and decodes an escaped path, or says why the path is
// unsafe. raw keeps each segment as received, for path parameters.
func cleanSegments(p string) (segs, raw []string, why string) {
	switch {
	case p == "":
		return nil, nil, "empty path"
	case p[0] != '/':
		return nil, nil, "path is not absolute"
	case len(p) > maxPathBytes:
		return nil, nil, "path too long"
	case p == "/":
		return nil, nil, ""
	}
	raw = strings.Split(p[1:], "/")
	segs = make([]string, len(raw))
	for i, s := range raw {
		if s == "" {
			return nil, nil, "empty path segment"
		}
		if s == "." || s == ".." {
			return nil, nil, "dot segment"
		}
		d, why := decodeSegment(s)
		if why != "" {
			return nil, nil, why
		}
		if d == "." || d == ".." {
			return nil, nil, "dot segment"
		}
		segs[i] = d
	}
	return segs, raw, ""
}

func decodeSegment(s string) (string, string) {
	var b []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ';':
			return "", "matrix parameter"
		case c == '\\':
			return "", "backslash in path"
		case c < 0x21 || c == 0x7f:
			return "", "control character or space in path"
		case c == '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return "", "malformed percent-encoding"
			}
			v := unhex(s[i+1])<<4 | unhex(s[i+2])
			switch v {
			case '/', '\\', '.', ';', '%':
				return "", "encoded separator, dot or percent"
			}
			if v < 0x20 || v == 0x7f {
				return "", "encoded control character"
			}
			if b == nil {
				b = append(make([]byte, 0, len(s)), s[:i]...)
			}
			b = append(b, v)
			i += 2
		default:
			if b != nil {
				b = append(b, c)
			}
		}
	}
	d := s
	if b != nil {
		d = string(b)
	}
	if !utf8.ValidString(d) {
		return "", "invalid UTF-8"
	}
	return d, ""
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

func unsafePath(why string) *Failure {
	return &Failure{Status: http.StatusBadRequest, Code: CodeUnsafePath, Title: problemTitleBadReq,
		Detail: "the request path is not in canonical form: " + why}
}

func notFound() *Failure {
	return &Failure{Status: http.StatusNotFound, Code: CodeNotFound, Title: "Not Found", Detail: "no documented operation has this path"}
}

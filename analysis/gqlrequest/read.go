package gqlrequest

import (
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// DefaultMaxDepth bounds the nesting of arrays and objects in a body when
// Options.MaxDepth is 0. Variables hold input objects, which real schemas
// nest a handful of levels; 64 leaves room for any of them while keeping
// the recursion of every reader on the way (this one, the back end's)
// shallow.
const DefaultMaxDepth = 64

// The member names of a GraphQL-over-HTTP request (GraphQL over HTTP,
// "Request Parameters"), and documentId of the persisted documents
// extension to it.
const (
	MemberQuery         = "query"
	MemberOperationName = "operationName"
	MemberVariables     = "variables"
	MemberExtensions    = "extensions"
	MemberDocumentID    = "documentId"
)

// Options are a route's reading rules.
type Options struct {
	// DropUnknown drops top-level members other than the known ones instead
	// of refusing the request. They are still read strictly (a duplicate
	// inside one is refused) and never forwarded.
	DropUnknown bool
	// DocumentID accepts the documentId member (persisted documents); off,
	// it is an unknown member like any other.
	DocumentID bool
	// MaxDepth bounds the nesting of arrays and objects; 0 is
	// DefaultMaxDepth.
	MaxDepth int
}

// Request is one decoded GraphQL request. A member sent as null reads as
// absent: the GraphQL-over-HTTP spec gives null and absent one meaning, and
// the canonical form omits both.
type Request struct {
	Query         string
	OperationName string
	DocumentID    string
	// HasQuery and HasDocumentID tell an empty string from a member not sent.
	HasQuery      bool
	HasDocumentID bool
	// Variables and Extensions are objects, or Absent.
	Variables  Value
	Extensions Value
}

// Error is a refusal. Its message is public: it names what was wrong and
// where, and quotes nothing but member names.
type Error struct {
	// Offset is the byte offset in the body where the problem was found.
	Offset int
	Msg    string
}

func (e *Error) Error() string {
	return e.Msg + " (at byte " + strconv.Itoa(e.Offset) + ")"
}

// Parse reads a POST body: one request object, or an array of them (a
// batch). An empty array is returned as an empty batch; the caller decides
// whether that is allowed. Every error is an *Error.
func Parse(body []byte, opt Options) (reqs []Request, batch bool, err error) {
	p := newParser(string(body), opt)
	if err := p.start(); err != nil {
		return nil, false, err
	}
	switch p.peek() {
	case '{':
		r, err := p.request()
		if err != nil {
			return nil, false, err
		}
		if err := p.end(); err != nil {
			return nil, false, err
		}
		return []Request{r}, false, nil
	case '[':
		p.pos++
		p.depth++
		if p.depth > p.maxDepth {
			return nil, false, p.fail("nesting deeper than %d levels", p.maxDepth)
		}
		p.skipSpace()
		if p.peek() == ']' {
			p.pos++
			return []Request{}, true, p.end()
		}
		for {
			p.skipSpace()
			if p.peek() != '{' {
				return nil, false, p.failAt(p.pos, "each entry of a batch must be a GraphQL request object")
			}
			r, err := p.request()
			if err != nil {
				return nil, false, err
			}
			reqs = append(reqs, r)
			p.skipSpace()
			switch p.next() {
			case ',':
				continue
			case ']':
				return reqs, true, p.end()
			}
			return nil, false, p.failAt(p.pos-1, "expected ',' or ']' in the batch")
		}
	case 0:
		return nil, false, p.failAt(p.pos, "empty body; expected a GraphQL request object")
	}
	return nil, false, p.failAt(p.pos, "the body must be a JSON object (or an array of them for a batch)")
}

// ParseValue reads one JSON value by the same rules, e.g. the variables or
// extensions query parameter of a GET request.
func ParseValue(s string, opt Options) (Value, error) {
	p := newParser(s, opt)
	if err := p.start(); err != nil {
		return Value{}, err
	}
	if p.peek() == 0 {
		return Value{}, p.failAt(p.pos, "empty; expected a JSON value")
	}
	v, err := p.value()
	if err != nil {
		return Value{}, err
	}
	return v, p.end()
}

type parser struct {
	s        string
	pos      int
	depth    int
	maxDepth int
	opt      Options
	// stack holds the members of the objects and arrays being read; a
	// finished one is copied into slab, so a whole body costs a few slab
	// allocations instead of one or more per object. A slab that grows
	// leaves earlier sub-slices on the old array, which nothing writes to
	// again.
	stack []Member
	slab  []Member
}

// finish copies the members above mark off the stack into the slab.
func (p *parser) finish(mark int) []Member {
	items := p.stack[mark:]
	n := len(items)
	if n == 0 {
		return nil
	}
	if cap(p.slab)-len(p.slab) < n {
		p.slab = make([]Member, 0, max(2*cap(p.slab), n, 8))
	}
	at := len(p.slab)
	p.slab = append(p.slab, items...)
	clear(items)
	p.stack = p.stack[:mark]
	return p.slab[at : at+n : at+n]
}

func newParser(s string, opt Options) *parser {
	d := opt.MaxDepth
	if d <= 0 {
		d = DefaultMaxDepth
	}
	return &parser{s: s, maxDepth: d, opt: opt, stack: make([]Member, 0, 8)}
}

// start refuses a byte order mark (RFC 8259 section 8.1: senders must not
// add one; readers differ on whether they skip it) and skips whitespace.
func (p *parser) start() error {
	if strings.HasPrefix(p.s, "\uFEFF") {
		return p.failAt(0, "byte order mark before the JSON text")
	}
	p.skipSpace()
	return nil
}

// end refuses anything but whitespace after the top-level value.
func (p *parser) end() error {
	p.skipSpace()
	if p.pos < len(p.s) {
		return p.failAt(p.pos, "unexpected data after the JSON value")
	}
	return nil
}

func (p *parser) fail(format string, arg int) *Error {
	return p.failAt(p.pos, strings.Replace(format, "%d", strconv.Itoa(arg), 1))
}

func (p *parser) failAt(off int, msg string) *Error { return &Error{Offset: off, Msg: msg} }

func (p *parser) peek() byte {
	if p.pos < len(p.s) {
		return p.s[p.pos]
	}
	return 0
}

func (p *parser) next() byte {
	if p.pos < len(p.s) {
		c := p.s[p.pos]
		p.pos++
		return c
	}
	p.pos++
	return 0
}

// skipSpace skips the four whitespace bytes of RFC 8259 section 2, and no
// others.
func (p *parser) skipSpace() {
	for p.pos < len(p.s) {
		switch p.s[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

// request reads one request object: known members of the right types.
func (p *parser) request() (Request, error) {
	var r Request
	start := p.pos
	obj, err := p.object()
	if err != nil {
		return r, err
	}
	for _, m := range obj.items {
		v := m.Value
		switch {
		case m.Name == MemberQuery:
			if v.kind != String {
				return r, p.failAt(start, `"query" must be a string`)
			}
			r.Query, r.HasQuery = v.text, true
		case m.Name == MemberOperationName:
			switch v.kind {
			case String:
				r.OperationName = v.text
			case Null:
			default:
				return r, p.failAt(start, `"operationName" must be a string or null`)
			}
		case m.Name == MemberVariables:
			switch v.kind {
			case Object:
				r.Variables = v
			case Null:
			default:
				return r, p.failAt(start, `"variables" must be an object or null`)
			}
		case m.Name == MemberExtensions:
			switch v.kind {
			case Object:
				r.Extensions = v
			case Null:
			default:
				return r, p.failAt(start, `"extensions" must be an object or null`)
			}
		case m.Name == MemberDocumentID && p.opt.DocumentID:
			if v.kind != String {
				return r, p.failAt(start, `"documentId" must be a string`)
			}
			r.DocumentID, r.HasDocumentID = v.text, true
		case p.opt.DropUnknown:
		default:
			return r, p.failAt(start, "unknown member "+strconv.Quote(m.Name)+
				" in the GraphQL request; the members are query, operationName, variables and extensions, and names are case-sensitive")
		}
	}
	// A query held as a substring would keep the whole body alive in any
	// cache that keeps the query (APQ, the analysis cache).
	if len(r.Query) > 0 && len(p.s)-len(r.Query) > 1024 {
		r.Query = strings.Clone(r.Query)
	}
	return r, nil
}

func (p *parser) value() (Value, error) {
	switch c := p.peek(); {
	case c == '{':
		return p.object()
	case c == '[':
		return p.array()
	case c == '"':
		s, err := p.str()
		return Value{kind: String, text: s}, err
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	case c == 't':
		return p.literal("true", Value{kind: Bool, text: "true"})
	case c == 'f':
		return p.literal("false", Value{kind: Bool, text: "false"})
	case c == 'n':
		return p.literal("null", Value{kind: Null})
	case c == 0 && p.pos >= len(p.s):
		return Value{}, p.failAt(p.pos, "unexpected end of JSON input")
	}
	return Value{}, p.failAt(p.pos, "invalid character where a JSON value was expected")
}

func (p *parser) literal(word string, v Value) (Value, error) {
	if !strings.HasPrefix(p.s[p.pos:], word) {
		return Value{}, p.failAt(p.pos, "invalid literal; expected "+word)
	}
	p.pos += len(word)
	return v, nil
}

// dupScanMax is the member count up to which duplicates are found by a
// linear scan; larger objects use a set.
const dupScanMax = 16

func (p *parser) object() (Value, error) {
	p.pos++ // '{'
	p.depth++
	if p.depth > p.maxDepth {
		return Value{}, p.fail("nesting deeper than %d levels", p.maxDepth)
	}
	v := Value{kind: Object}
	var seen map[string]struct{}
	mark := len(p.stack)
	p.skipSpace()
	if p.peek() == '}' {
		p.pos++
		p.depth--
		return v, nil
	}
	for {
		p.skipSpace()
		if p.peek() != '"' {
			return Value{}, p.failAt(p.pos, "expected a member name in double quotes")
		}
		at := p.pos
		name, err := p.str()
		if err != nil {
			return Value{}, err
		}
		// Readers disagree on duplicate names (first wins, last wins,
		// error), so none is read at all (RFC 8259 section 4, RFC 7493
		// section 2.3). Names compare exactly, after unescaping.
		dup := false
		if seen != nil {
			_, dup = seen[name]
			seen[name] = struct{}{}
		} else {
			members := p.stack[mark:]
			for _, m := range members {
				if m.Name == name {
					dup = true
					break
				}
			}
			if len(members) == dupScanMax {
				seen = make(map[string]struct{}, 2*dupScanMax)
				for _, m := range members {
					seen[m.Name] = struct{}{}
				}
				seen[name] = struct{}{}
			}
		}
		if dup {
			return Value{}, p.failAt(at, "duplicate member "+strconv.Quote(name)+" in a JSON object")
		}
		p.skipSpace()
		if p.next() != ':' {
			return Value{}, p.failAt(p.pos-1, "expected ':' after a member name")
		}
		p.skipSpace()
		val, err := p.value()
		if err != nil {
			return Value{}, err
		}
		p.stack = append(p.stack, Member{Name: name, Value: val})
		p.skipSpace()
		switch p.next() {
		case ',':
			continue
		case '}':
			p.depth--
			v.items = p.finish(mark)
			return v, nil
		}
		return Value{}, p.failAt(p.pos-1, "expected ',' or '}' in an object")
	}
}

func (p *parser) array() (Value, error) {
	p.pos++ // '['
	p.depth++
	if p.depth > p.maxDepth {
		return Value{}, p.fail("nesting deeper than %d levels", p.maxDepth)
	}
	v := Value{kind: Array}
	mark := len(p.stack)
	p.skipSpace()
	if p.peek() == ']' {
		p.pos++
		p.depth--
		return v, nil
	}
	for {
		p.skipSpace()
		val, err := p.value()
		if err != nil {
			return Value{}, err
		}
		p.stack = append(p.stack, Member{Value: val})
		p.skipSpace()
		switch p.next() {
		case ',':
			continue
		case ']':
			p.depth--
			v.items = p.finish(mark)
			return v, nil
		}
		return Value{}, p.failAt(p.pos-1, "expected ',' or ']' in an array")
	}
}

// number reads the RFC 8259 section 6 grammar and refuses what a float64
// cannot hold: readers that overflow to infinity, to an error or to a big
// number would each see another value (RFC 7493 section 2.2).
func (p *parser) number() (Value, error) {
	start := p.pos
	s := p.s
	i := p.pos
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	default:
		return Value{}, p.failAt(i, "invalid number")
	}
	simple := i-start <= 15
	if i < len(s) && s[i] == '.' {
		i++
		d := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == d {
			return Value{}, p.failAt(i, "invalid number: expected a digit after '.'")
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		simple = false
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		d := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == d {
			return Value{}, p.failAt(i, "invalid number: expected a digit in the exponent")
		}
	}
	text := s[start:i]
	if !simple {
		if _, err := strconv.ParseFloat(text, 64); err != nil {
			return Value{}, p.failAt(start, "number out of the range of a double")
		}
	}
	p.pos = i
	return Value{kind: Number, text: text}, nil
}

// str reads a string at p.pos: valid UTF-8, no control characters, and
// escapes whose \u sequences pair surrogates (a lone one has no UTF-8 form;
// readers replace it, drop it or fail). Without escapes the result is a
// substring of the input.
func (p *parser) str() (string, error) {
	p.pos++ // '"'
	start := p.pos
	s := p.s
	i := start
	for i < len(s) {
		c := s[i]
		switch {
		case c == '"':
			p.pos = i + 1
			return s[start:i], nil
		case c == '\\':
			return p.strEscaped(start, i)
		case c < 0x20:
			return "", p.failAt(i, "control character in a string")
		case c < utf8.RuneSelf:
			i++
		default:
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n <= 1 {
				return "", p.failAt(i, "invalid UTF-8 in a string")
			}
			i += n
		}
	}
	return "", p.failAt(len(s), "unterminated string")
}

// strEscaped decodes the rest of a string from i, the first backslash.
func (p *parser) strEscaped(start, i int) (string, error) {
	s := p.s
	// The decoded text is never longer than the raw one: find where the
	// raw string ends (an unescaped '"') and allocate once.
	end := i
	for end < len(s) && s[end] != '"' {
		if s[end] == '\\' {
			end++
		}
		end++
	}
	var b strings.Builder
	b.Grow(min(end, len(s)) - start)
	b.WriteString(s[start:i])
	for i < len(s) {
		c := s[i]
		switch {
		case c == '"':
			p.pos = i + 1
			return b.String(), nil
		case c == '\\':
			if i+1 >= len(s) {
				return "", p.failAt(len(s), "unterminated string")
			}
			e := s[i+1]
			i += 2
			switch e {
			case '"', '\\', '/':
				b.WriteByte(e)
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'u':
				r, ok := hex4(s, i)
				if !ok {
					return "", p.failAt(i-2, `invalid \u escape`)
				}
				i += 4
				switch {
				case utf16.IsSurrogate(r) && r < 0xDC00:
					// A high surrogate must be followed by a low one.
					var lo rune
					if i+1 < len(s) && s[i] == '\\' && s[i+1] == 'u' {
						lo, ok = hex4(s, i+2)
					} else {
						ok = false
					}
					if !ok || lo < 0xDC00 || lo > 0xDFFF {
						return "", p.failAt(i-6, "lone surrogate in a \\u escape")
					}
					i += 6
					r = utf16.DecodeRune(r, lo)
				case utf16.IsSurrogate(r):
					return "", p.failAt(i-6, "lone surrogate in a \\u escape")
				}
				b.WriteRune(r)
			default:
				return "", p.failAt(i-2, "invalid escape in a string")
			}
		case c < 0x20:
			return "", p.failAt(i, "control character in a string")
		default:
			// A run of plain characters is checked byte by byte but copied
			// at once: documents are long strings with few escapes.
			j, err := p.plainRun(i)
			if err != nil {
				return "", err
			}
			b.WriteString(s[i:j])
			i = j
		}
	}
	return "", p.failAt(len(s), "unterminated string")
}

// plainRun is the end of the run of characters from i that need no
// decoding: neither '"', '\\' nor a control character, in valid UTF-8.
func (p *parser) plainRun(i int) (int, error) {
	s := p.s
	for i < len(s) {
		c := s[i]
		switch {
		case c == '"' || c == '\\' || c < 0x20:
			return i, nil
		case c < utf8.RuneSelf:
			i++
		default:
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n <= 1 {
				return 0, p.failAt(i, "invalid UTF-8 in a string")
			}
			i += n
		}
	}
	return i, nil
}

func hex4(s string, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(s[i : i+4]) {
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(d)
	}
	return r, true
}

// Package jsonstrict reads JSON the one way every JSON reader agrees on. It
// refuses each construct that RFC 8259 leaves to the implementation, where
// two readers (the gateway's and the back end's, or the IdP's and ours) can
// take different values from the same bytes:
//
//   - a byte order mark (RFC 8259 section 8.1: senders MUST NOT add one,
//     readers MAY ignore it, so some strip it and others fail);
//   - invalid UTF-8 (section 8.1; readers replace, keep or refuse it);
//   - an escaped lone surrogate such as "\ud800" (section 8.2: the behaviour
//     of such strings is unpredictable; Go replaces it with U+FFFD);
//   - duplicate object member names (section 4: "the names within an object
//     SHOULD be unique"; Go and JavaScript take the last, others the first);
//   - member names that are equal under Unicode simple case folding, as
//     strings.EqualFold compares them ("userId" and "UserId", "k" and the
//     Kelvin sign): Go's encoding/json matches struct fields this way and
//     Jackson does with ACCEPT_CASE_INSENSITIVE_PROPERTIES, so a back end
//     written with them may read the member the gateway did not check;
//   - numbers beyond the finite range of an IEEE 754 double, such as 1e400
//     (section 6: readers give Infinity, an error or a big decimal);
//   - nesting deeper than a bound (stack exhaustion in the back end's parser).
//
// Everything else is plain RFC 8259.
package jsonstrict

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// DefaultMaxDepth bounds nesting when Options.MaxDepth is 0.
const DefaultMaxDepth = 64

// Options tune a reading. The zero value is the strict default.
type Options struct {
	// MaxDepth bounds the nesting of objects and arrays; 0 means
	// DefaultMaxDepth.
	MaxDepth int
	// AllowCaseCollidingKeys lets an object hold member names that differ
	// only in case. Exact duplicates are refused regardless.
	AllowCaseCollidingKeys bool
}

// Error is a refusal, with the byte offset where the problem starts.
type Error struct {
	Offset int
	Msg    string
}

func (e *Error) Error() string { return fmt.Sprintf("%s at byte %d", e.Msg, e.Offset) }

// Decode parses one JSON document into the values encoding/json would give
// an `any` (objects as map[string]any, arrays as []any, numbers as
// json.Number), refusing everything the package comment lists.
func Decode(data []byte, opts Options) (any, error) {
	max := opts.MaxDepth
	if max <= 0 {
		max = DefaultMaxDepth
	}
	if len(data) >= 3 && data[0] == 0xEF && data[1] == 0xBB && data[2] == 0xBF {
		return nil, &Error{Offset: 0, Msg: "byte order mark before the JSON text"}
	}
	// One copy of the whole document: every key, string and number below is
	// a substring of it instead of a copy of its own.
	d := &decoder{data: data, src: string(data), max: max, fold: !opts.AllowCaseCollidingKeys}
	d.skipSpace()
	v, err := d.value(0)
	if err != nil {
		return nil, err
	}
	d.skipSpace()
	if d.pos != len(d.data) {
		return nil, d.errorf("unexpected data after the JSON value")
	}
	return v, nil
}

// IsError reports whether err is a refusal of this package.
func IsError(err error) bool {
	var e *Error
	return errors.As(err, &e)
}

type decoder struct {
	data []byte
	src  string // data as a string
	pos  int
	max  int
	fold bool
}

func (d *decoder) errorf(format string, args ...any) error {
	return &Error{Offset: d.pos, Msg: fmt.Sprintf(format, args...)}
}

func (d *decoder) skipSpace() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

func (d *decoder) value(depth int) (any, error) {
	if d.pos >= len(d.data) {
		return nil, d.errorf("unexpected end of JSON")
	}
	switch c := d.data[d.pos]; {
	case (c == '{' || c == '[') && depth >= d.max:
		return nil, d.errorf("JSON nested deeper than %d levels", d.max)
	case c == '{':
		return d.object(depth + 1)
	case c == '[':
		return d.array(depth + 1)
	case c == '"':
		return d.str()
	case c == 't':
		return d.literal("true", true)
	case c == 'f':
		return d.literal("false", false)
	case c == 'n':
		return d.literal("null", nil)
	case c == '-' || (c >= '0' && c <= '9'):
		return d.number()
	default:
		return nil, d.errorf("invalid character %q", c)
	}
}

func (d *decoder) literal(word string, v any) (any, error) {
	if len(d.data)-d.pos < len(word) || d.src[d.pos:d.pos+len(word)] != word {
		return nil, d.errorf("invalid literal")
	}
	d.pos += len(word)
	return v, nil
}

func (d *decoder) object(depth int) (any, error) {
	d.pos++ // {
	obj := map[string]any{}
	d.skipSpace()
	if d.pos < len(d.data) && d.data[d.pos] == '}' {
		d.pos++
		return obj, nil
	}
	// Small objects (nearly all) compare each name with the earlier ones by
	// strings.EqualFold, without allocating; past smallObject names a map of
	// case folds takes over.
	var small [smallObject]string
	var folded map[string]string
	for n := 0; ; n++ {
		d.skipSpace()
		if d.pos >= len(d.data) || d.data[d.pos] != '"' {
			return nil, d.errorf("expected an object key")
		}
		at := d.pos
		key, err := d.rawStr()
		if err != nil {
			return nil, err
		}
		if _, dup := obj[key]; dup {
			return nil, &Error{Offset: at, Msg: fmt.Sprintf("duplicate object key %q", key)}
		}
		if d.fold {
			if other, clash := foldClash(key, n, &small, &folded); clash {
				return nil, &Error{Offset: at, Msg: fmt.Sprintf("object keys %q and %q differ only in case", other, key)}
			}
		}
		d.skipSpace()
		if d.pos >= len(d.data) || d.data[d.pos] != ':' {
			return nil, d.errorf("expected ':'")
		}
		d.pos++
		d.skipSpace()
		v, err := d.value(depth)
		if err != nil {
			return nil, err
		}
		obj[key] = v
		more, err := d.more('}')
		if err != nil {
			return nil, err
		}
		if !more {
			return obj, nil
		}
	}
}

// smallObject is how many member names are compared pairwise before a map
// of case folds is built.
const smallObject = 8

// foldClash records key, the n-th member name of an object, and reports an
// earlier name equal to it under strings.EqualFold.
func foldClash(key string, n int, small *[smallObject]string, folded *map[string]string) (string, bool) {
	if n < smallObject {
		for _, k := range small[:n] {
			if strings.EqualFold(k, key) {
				return k, true
			}
		}
		small[n] = key
		return "", false
	}
	if *folded == nil {
		*folded = make(map[string]string, 2*smallObject)
		for _, k := range small {
			(*folded)[foldKey(k)] = k
		}
	}
	fk := foldKey(key)
	if other, clash := (*folded)[fk]; clash {
		return other, true
	}
	(*folded)[fk] = key
	return "", false
}

// foldKey maps s to one representative of its class under strings.EqualFold:
// every rune becomes the smallest rune of its Unicode simple case folding
// orbit (unicode.SimpleFold), so two names fold to the same key exactly
// when EqualFold holds for them.
func foldKey(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf {
			ascii = false
			break
		} else if c >= 'a' && c <= 'z' {
			ascii = false
			break
		}
	}
	if ascii {
		// Already its own representative: no lower-case ASCII letter and
		// nothing beyond ASCII.
		return s
	}
	b := make([]byte, 0, len(s))
	for _, r := range s {
		b = utf8.AppendRune(b, minFold(r))
	}
	return string(b)
}

func minFold(r rune) rune {
	if r < utf8.RuneSelf {
		// An ASCII letter's orbit may hold non-ASCII runes (k, K and the
		// Kelvin sign), which are larger: the upper-case letter is smallest.
		if r >= 'a' && r <= 'z' {
			return r - 'a' + 'A'
		}
		return r
	}
	m := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		m = min(m, f)
	}
	return m
}

func (d *decoder) array(depth int) (any, error) {
	d.pos++ // [
	arr := []any{}
	d.skipSpace()
	if d.pos < len(d.data) && d.data[d.pos] == ']' {
		d.pos++
		return arr, nil
	}
	for {
		d.skipSpace()
		v, err := d.value(depth)
		if err != nil {
			return nil, err
		}
		arr = append(arr, v)
		more, err := d.more(']')
		if err != nil {
			return nil, err
		}
		if !more {
			return arr, nil
		}
	}
}

// more consumes what follows a member or element: ',' (another one comes)
// or end, the container's closing byte.
func (d *decoder) more(end byte) (bool, error) {
	d.skipSpace()
	if d.pos >= len(d.data) {
		return false, d.errorf("unexpected end of JSON")
	}
	switch d.data[d.pos] {
	case ',':
		d.pos++
		return true, nil
	case end:
		d.pos++
		return false, nil
	}
	return false, d.errorf("expected ',' or '%c'", end)
}

func (d *decoder) str() (any, error) {
	s, err := d.rawStr()
	if err != nil {
		return nil, err
	}
	return s, nil
}

// rawStr reads a string. Strings without escapes (nearly all) are
// substrings of the document; the others are unescaped here, refusing lone
// surrogates instead of replacing them as encoding/json does.
func (d *decoder) rawStr() (string, error) {
	start := d.pos
	d.pos++        // "
	var buf []byte // nil until the first escape
	from := d.pos  // start of the run not yet copied to buf
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		switch {
		case c == '"':
			run := d.data[from:d.pos]
			if !utf8.Valid(run) {
				return "", &Error{Offset: start, Msg: "invalid UTF-8 in string"}
			}
			d.pos++
			if buf == nil {
				return d.src[from : d.pos-1], nil
			}
			return string(append(buf, run...)), nil
		case c == '\\':
			run := d.data[from:d.pos]
			if !utf8.Valid(run) {
				return "", &Error{Offset: start, Msg: "invalid UTF-8 in string"}
			}
			buf = append(buf, run...)
			var err error
			if buf, err = d.escape(buf); err != nil {
				return "", err
			}
			from = d.pos
		case c < 0x20:
			return "", d.errorf("control character in string")
		default:
			d.pos++
		}
	}
	return "", d.errorf("unterminated string")
}

// escape decodes the escape at d.pos (a backslash) onto buf.
func (d *decoder) escape(buf []byte) ([]byte, error) {
	at := d.pos
	if d.pos+1 >= len(d.data) {
		return nil, d.errorf("unterminated string")
	}
	c := d.data[d.pos+1]
	d.pos += 2
	switch c {
	case '"', '\\', '/':
		return append(buf, c), nil
	case 'b':
		return append(buf, '\b'), nil
	case 'f':
		return append(buf, '\f'), nil
	case 'n':
		return append(buf, '\n'), nil
	case 'r':
		return append(buf, '\r'), nil
	case 't':
		return append(buf, '\t'), nil
	case 'u':
	default:
		return nil, &Error{Offset: at, Msg: "invalid string escape"}
	}
	r, ok := d.hex4()
	if !ok {
		return nil, &Error{Offset: at, Msg: "invalid \\u escape"}
	}
	switch {
	case utf16.IsSurrogate(r) && r < 0xDC00:
		// A high surrogate must be followed by an escaped low one.
		if d.pos+1 < len(d.data) && d.data[d.pos] == '\\' && d.data[d.pos+1] == 'u' {
			d.pos += 2
			lo, ok := d.hex4()
			if ok && lo >= 0xDC00 && lo <= 0xDFFF {
				return utf8.AppendRune(buf, utf16.DecodeRune(r, lo)), nil
			}
		}
		return nil, &Error{Offset: at, Msg: "lone surrogate escape in string"}
	case utf16.IsSurrogate(r):
		return nil, &Error{Offset: at, Msg: "lone surrogate escape in string"}
	}
	return utf8.AppendRune(buf, r), nil
}

func (d *decoder) hex4() (rune, bool) {
	if len(d.data)-d.pos < 4 {
		return 0, false
	}
	var r rune
	for _, c := range d.data[d.pos : d.pos+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	d.pos += 4
	return r, true
}

func (d *decoder) number() (any, error) {
	start := d.pos
	if d.data[d.pos] == '-' {
		d.pos++
	}
	digits := func() int {
		n := 0
		for d.pos < len(d.data) && d.data[d.pos] >= '0' && d.data[d.pos] <= '9' {
			d.pos++
			n++
		}
		return n
	}
	if d.pos < len(d.data) && d.data[d.pos] == '0' {
		d.pos++
	} else if digits() == 0 {
		return nil, d.errorf("invalid number")
	}
	plain := true
	if d.pos < len(d.data) && d.data[d.pos] == '.' {
		plain = false
		d.pos++
		if digits() == 0 {
			return nil, d.errorf("invalid number")
		}
	}
	if d.pos < len(d.data) && (d.data[d.pos] == 'e' || d.data[d.pos] == 'E') {
		plain = false
		d.pos++
		if d.pos < len(d.data) && (d.data[d.pos] == '+' || d.data[d.pos] == '-') {
			d.pos++
		}
		if digits() == 0 {
			return nil, d.errorf("invalid number")
		}
	}
	lit := d.src[start:d.pos]
	// Plain integers up to 308 digits are finite doubles: skip the parse.
	if !plain || d.pos-start > 308 {
		if _, err := strconv.ParseFloat(lit, 64); err != nil {
			return nil, &Error{Offset: start, Msg: "number out of the range of a 64-bit float"}
		}
	}
	return json.Number(lit), nil
}

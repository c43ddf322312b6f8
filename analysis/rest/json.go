package rest

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// decodeJSON parses one JSON document into the values encoding/json would
// give (numbers as json.Number), refusing what encoding/json silently
// accepts: duplicate object keys (parsers disagree on which one wins, so the
// upstream could see another value than the one validated) and nesting deeper
// than maxDepth (stack exhaustion in the upstream's parser).
func decodeJSON(data []byte, maxDepth int) (any, error) {
	// One copy of the whole body: every key, string and number below is a
	// substring of it instead of a copy of its own.
	d := &jsonDecoder{data: data, src: string(data), max: maxDepth}
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

type jsonDecoder struct {
	data []byte
	src  string // data as a string
	pos  int
	max  int
}

type jsonError struct {
	Offset int
	Msg    string
}

func (e *jsonError) Error() string { return fmt.Sprintf("%s at byte %d", e.Msg, e.Offset) }

func (d *jsonDecoder) errorf(format string, args ...any) error {
	return &jsonError{Offset: d.pos, Msg: fmt.Sprintf(format, args...)}
}

func (d *jsonDecoder) skipSpace() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

func (d *jsonDecoder) value(depth int) (any, error) {
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

func (d *jsonDecoder) literal(word string, v any) (any, error) {
	if len(d.data)-d.pos < len(word) || string(d.data[d.pos:d.pos+len(word)]) != word {
		return nil, d.errorf("invalid literal")
	}
	d.pos += len(word)
	return v, nil
}

func (d *jsonDecoder) object(depth int) (any, error) {
	d.pos++ // {
	obj := map[string]any{}
	d.skipSpace()
	if d.pos < len(d.data) && d.data[d.pos] == '}' {
		d.pos++
		return obj, nil
	}
	for {
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
			return nil, &jsonError{Offset: at, Msg: fmt.Sprintf("duplicate object key %q", key)}
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

func (d *jsonDecoder) array(depth int) (any, error) {
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
func (d *jsonDecoder) more(end byte) (bool, error) {
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

func (d *jsonDecoder) str() (any, error) {
	s, err := d.rawStr()
	if err != nil {
		return nil, err
	}
	return s, nil
}

func (d *jsonDecoder) rawStr() (string, error) {
	start := d.pos
	d.pos++ // "
	escaped := false
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		switch {
		case c == '"':
			d.pos++
			raw := d.data[start:d.pos]
			if !utf8.Valid(raw) {
				return "", &jsonError{Offset: start, Msg: "invalid UTF-8 in string"}
			}
			if !escaped {
				return d.src[start+1 : d.pos-1], nil
			}
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return "", &jsonError{Offset: start, Msg: "invalid string escape"}
			}
			return s, nil
		case c == '\\':
			escaped = true
			d.pos += 2
		case c < 0x20:
			return "", d.errorf("control character in string")
		default:
			d.pos++
		}
	}
	return "", d.errorf("unterminated string")
}

func (d *jsonDecoder) number() (any, error) {
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
	if d.pos < len(d.data) && d.data[d.pos] == '.' {
		d.pos++
		if digits() == 0 {
			return nil, d.errorf("invalid number")
		}
	}
	if d.pos < len(d.data) && (d.data[d.pos] == 'e' || d.data[d.pos] == 'E') {
		d.pos++
		if d.pos < len(d.data) && (d.data[d.pos] == '+' || d.data[d.pos] == '-') {
			d.pos++
		}
		if digits() == 0 {
			return nil, d.errorf("invalid number")
		}
	}
	return json.Number(d.src[start:d.pos]), nil
}

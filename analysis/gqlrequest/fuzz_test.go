package gqlrequest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strconv"
	"testing"
	"unicode/utf8"
)

// FuzzParse feeds the same bytes to Parse and to oracle, an independent
// strict reader built on encoding/json's tokenizer, and fails on any
// disagreement: accept or refuse, the decoded values, and the canonical form
// (which must read back, by the oracle, as the same values).
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"query":"{a}"}`,
		`{"query":"{a}","Query":"{b}"}`,
		`{"query":"{a}","query":"{b}"}`,
		`{"query":"q","operationName":null,"variables":{"a":[1,-2.5e3,true,null,"x"]},"extensions":{"persistedQuery":{"version":1,"sha256Hash":"ab"}}}`,
		`[{"query":"{a}"},{"query":"{b}","variables":{"id":"1","id":"2"}}]`,
		`{"query":"\ud83d\ude00 \u00e9 \ud800"}`,
		"\uFEFF{\"query\":\"{a}\"}",
		"{\"query\":\"\xff\"}",
		`{"documentId":"x","foo":1}`,
		`{"query":"{a}","variables":{"n":1e400,"m":12345678901234567890}}`,
		`[]`, `{}`, ` {"query" : "a" } `, `{"query":"a"}{}`,
	} {
		f.Add([]byte(s), uint8(0))
	}
	f.Fuzz(func(t *testing.T, body []byte, flags uint8) {
		opt := Options{DropUnknown: flags&1 != 0, DocumentID: flags&2 != 0, MaxDepth: int(flags>>2) % 8}
		reqs, batch, err := Parse(body, opt)
		want, wantBatch, oerr := oracle(body, opt)
		if (err == nil) != (oerr == nil) {
			t.Fatalf("disagree on %q (%+v): reader %v, oracle %v", body, opt, err, oerr)
		}
		if err != nil {
			return
		}
		if batch != wantBatch || len(reqs) != len(want) {
			t.Fatalf("batch %v/%d, oracle %v/%d", batch, len(reqs), wantBatch, len(want))
		}
		for i := range reqs {
			if got := view(reqs[i]); !reflect.DeepEqual(got, want[i]) {
				t.Fatalf("entry %d of %q:\nreader %#v\noracle %#v", i, body, got, want[i])
			}
			out := AppendRequest(nil, &reqs[i])
			back, _, err := oracle(out, Options{DocumentID: true, MaxDepth: 1 << 20})
			if err != nil || len(back) != 1 {
				t.Fatalf("canonical form %q does not read back: %v", out, err)
			}
			if !reflect.DeepEqual(back[0], want[i]) {
				t.Fatalf("canonical form %q reads as %#v, want %#v", out, back[0], want[i])
			}
		}
	})
}

// req is a request as the oracle sees it: numbers as json.Number literals.
type req struct {
	Query, OperationName, DocumentID string
	HasQuery, HasDocumentID          bool
	Variables, Extensions            any
}

func view(r Request) req {
	return req{r.Query, r.OperationName, r.DocumentID, r.HasQuery, r.HasDocumentID, literal(r.Variables), literal(r.Extensions)}
}

// literal converts a Value as the oracle decodes: numbers as json.Number.
func literal(v Value) any {
	switch v.Kind() {
	case Absent, Null:
		return nil
	case Bool:
		return v.Text() == "true"
	case Number:
		return json.Number(v.Text())
	case String:
		return v.Text()
	case Array:
		out := []any{}
		for _, m := range v.Members() {
			out = append(out, literal(m.Value))
		}
		return out
	}
	out := map[string]any{}
	for _, m := range v.Members() {
		out[m.Name] = literal(m.Value)
	}
	return out
}

// oracle reads body with encoding/json's tokenizer, which is case-exact but
// lenient where readers disagree, and adds the strict rules itself:
// duplicate names per object, valid UTF-8 (the tokenizer replaces invalid
// bytes), lone surrogate escapes (found in the raw token text), numbers in
// range, nesting depth, then the GraphQL request shape.
func oracle(body []byte, opt Options) ([]req, bool, error) {
	if !utf8.Valid(body) {
		return nil, false, errors.New("invalid UTF-8")
	}
	maxDepth := opt.MaxDepth
	if maxDepth <= 0 {
		maxDepth = DefaultMaxDepth
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var read func(depth int) (any, error)
	read = func(depth int) (any, error) {
		before := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		switch tok := tok.(type) {
		case json.Delim:
			if depth+1 > maxDepth {
				return nil, errors.New("too deep")
			}
			if tok == '[' {
				out := []any{}
				for dec.More() {
					v, err := read(depth + 1)
					if err != nil {
						return nil, err
					}
					out = append(out, v)
				}
				_, err := dec.Token()
				return out, err
			}
			out := map[string]any{}
			for dec.More() {
				at := dec.InputOffset()
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				if err := surrogates(body[at:dec.InputOffset()]); err != nil {
					return nil, err
				}
				name := k.(string)
				if _, dup := out[name]; dup {
					return nil, errors.New("duplicate")
				}
				v, err := read(depth + 1)
				if err != nil {
					return nil, err
				}
				out[name] = v
			}
			_, err := dec.Token()
			return out, err
		case string:
			return tok, surrogates(body[before:dec.InputOffset()])
		case json.Number:
			if _, err := strconv.ParseFloat(string(tok), 64); err != nil {
				return nil, err
			}
			return tok, nil
		}
		return tok, nil
	}
	top, err := read(0)
	if err != nil {
		return nil, false, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false, errors.New("trailing data")
	}
	if list, ok := top.([]any); ok {
		out := []req{}
		for _, e := range list {
			r, err := shape(e, opt)
			if err != nil {
				return nil, false, err
			}
			out = append(out, r)
		}
		return out, true, nil
	}
	r, err := shape(top, opt)
	if err != nil {
		return nil, false, err
	}
	return []req{r}, false, nil
}

// surrogates refuses a \u escape of a surrogate that is not a high one
// directly followed by an escaped low one, in the raw text of a string
// token (which may start with separators and whitespace).
func surrogates(raw []byte) error {
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		if i+1 < len(raw) && raw[i+1] != 'u' {
			i++ // \\ and the other short escapes
			continue
		}
		r, err := strconv.ParseUint(string(raw[i+2:i+6]), 16, 32)
		if err != nil {
			return err
		}
		switch {
		case r >= 0xD800 && r < 0xDC00:
			if i+12 > len(raw) || raw[i+6] != '\\' || raw[i+7] != 'u' {
				return errors.New("lone high surrogate")
			}
			lo, err := strconv.ParseUint(string(raw[i+8:i+12]), 16, 32)
			if err != nil || lo < 0xDC00 || lo > 0xDFFF {
				return errors.New("lone high surrogate")
			}
			i += 11
		case r >= 0xDC00 && r <= 0xDFFF:
			return errors.New("lone low surrogate")
		default:
			i += 5
		}
	}
	return nil
}

// shape applies the GraphQL-over-HTTP member rules to a decoded object.
func shape(v any, opt Options) (req, error) {
	var r req
	m, ok := v.(map[string]any)
	if !ok {
		return r, errors.New("not an object")
	}
	for k, x := range m {
		switch {
		case k == "query":
			s, ok := x.(string)
			if !ok {
				return r, errors.New("query type")
			}
			r.Query, r.HasQuery = s, true
		case k == "operationName":
			if s, ok := x.(string); ok {
				r.OperationName = s
			} else if x != nil {
				return r, errors.New("operationName type")
			}
		case k == "variables" || k == "extensions":
			if _, ok := x.(map[string]any); !ok && x != nil {
				return r, errors.New(k + " type")
			}
			if k == "variables" {
				r.Variables = x
			} else {
				r.Extensions = x
			}
		case k == "documentId" && opt.DocumentID:
			s, ok := x.(string)
			if !ok {
				return r, errors.New("documentId type")
			}
			r.DocumentID, r.HasDocumentID = s, true
		case opt.DropUnknown:
		default:
			return r, errors.New("unknown member")
		}
	}
	return r, nil
}

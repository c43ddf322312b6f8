// Package mask keeps back-end internals out of the answers the gateway
// relays: GraphQL errors reduced to the members the GraphQL spec defines
// ("Errors" section: message, locations, path, extensions) with only the
// listed extensions, upstream messages optionally replaced, and the
// response headers that fingerprint a back end removed
// (docs/governance.md, "Nothing leaks back").
package mask

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/textproto"
)

// GenericMessage replaces upstream error messages under mask_messages.
const GenericMessage = "the upstream service could not complete this part of the request"

// GraphQL is how upstream GraphQL errors are masked.
type GraphQL struct {
	// AllowExtensions are error extension members kept beside code.
	AllowExtensions []string `yaml:"allow_extensions"`
	// MaskMessages replaces every upstream message by GenericMessage.
	MaskMessages bool `yaml:"mask_messages"`
}

// Masked is one message that left the answer, for the log.
type Masked struct {
	Message string
	Dropped []string // error members and extensions removed
}

// ErrNotGraphQL: the answer is not a GraphQL response (an HTML error page,
// a proxy's plain text); the caller answers in the GraphQL shape instead.
var ErrNotGraphQL = errors.New("upstream answer is not a GraphQL JSON response")

// Answer masks a GraphQL answer: one response object, or an array of them
// (a batch). Data is kept byte for byte. A response without errors or
// top-level extensions is returned as it is. Top-level extensions are
// removed (an upstream's tracing, query plans and debug output), except
// the allowed names.
func (m GraphQL) Answer(body []byte) ([]byte, []Masked, error) {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 {
		return nil, nil, ErrNotGraphQL
	}
	switch trimmed[0] {
	case '{':
		if !bytes.Contains(body, []byte(`"errors"`)) && !bytes.Contains(body, []byte(`"extensions"`)) {
			// Nothing to mask; json.Valid is still cheaper than a decode.
			if !json.Valid(body) {
				return nil, nil, ErrNotGraphQL
			}
			return body, nil, nil
		}
		return m.one(body)
	case '[':
		var items []json.RawMessage
		if err := json.Unmarshal(body, &items); err != nil {
			return nil, nil, ErrNotGraphQL
		}
		var all []Masked
		for i, it := range items {
			out, masked, err := m.one(it)
			if err != nil {
				return nil, nil, err
			}
			items[i] = out
			all = append(all, masked...)
		}
		out, err := json.Marshal(items)
		return out, all, err
	default:
		return nil, nil, ErrNotGraphQL
	}
}

// response is a GraphQL response's top level (GraphQL spec, "Response
// Format"): nothing else is relayed.
type response struct {
	Errors     []map[string]json.RawMessage `json:"errors,omitempty"`
	Data       json.RawMessage              `json:"data,omitempty"`
	Extensions map[string]json.RawMessage   `json:"extensions,omitempty"`
}

func (m GraphQL) one(body []byte) ([]byte, []Masked, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil || top == nil {
		return nil, nil, ErrNotGraphQL
	}
	var r response
	r.Data = top["data"]
	if raw, ok := top["errors"]; ok && string(raw) != "null" {
		if err := json.Unmarshal(raw, &r.Errors); err != nil {
			return nil, nil, ErrNotGraphQL
		}
	}
	if raw, ok := top["extensions"]; ok && len(m.AllowExtensions) > 0 {
		var ext map[string]json.RawMessage
		if json.Unmarshal(raw, &ext) == nil {
			r.Extensions = m.keep(ext)
		}
	}
	masked := make([]Masked, 0, len(r.Errors))
	for i, e := range r.Errors {
		var mk Masked
		r.Errors[i], mk = m.error(e)
		masked = append(masked, mk)
	}
	out, err := json.Marshal(r)
	return out, masked, err
}

func (m GraphQL) keep(ext map[string]json.RawMessage) map[string]json.RawMessage {
	var out map[string]json.RawMessage
	for _, k := range m.AllowExtensions {
		if v, ok := ext[k]; ok {
			if out == nil {
				out = map[string]json.RawMessage{}
			}
			out[k] = v
		}
	}
	return out
}

// error keeps message, path, locations and extensions.code (when it is a
// string) and the allowed extensions.
func (m GraphQL) error(e map[string]json.RawMessage) (map[string]json.RawMessage, Masked) {
	out := make(map[string]json.RawMessage, 4)
	var mk Masked
	var msg string
	if json.Unmarshal(e["message"], &msg) != nil {
		msg = ""
	}
	mk.Message = msg
	if m.MaskMessages || msg == "" {
		msg = GenericMessage
	}
	out["message"], _ = json.Marshal(msg)
	for _, k := range []string{"path", "locations"} {
		if v, ok := e[k]; ok && wellFormed(k, v) {
			out[k] = v
		}
	}
	for k := range e {
		if k != "message" && k != "path" && k != "locations" && k != "extensions" {
			mk.Dropped = append(mk.Dropped, k)
		}
	}
	var ext map[string]json.RawMessage
	if raw, ok := e["extensions"]; ok && json.Unmarshal(raw, &ext) == nil {
		kept := m.keep(ext)
		var code string
		if json.Unmarshal(ext["code"], &code) == nil && code != "" {
			if kept == nil {
				kept = map[string]json.RawMessage{}
			}
			kept["code"] = ext["code"]
		}
		for k := range ext {
			if _, ok := kept[k]; !ok {
				mk.Dropped = append(mk.Dropped, "extensions."+k)
			}
		}
		if len(kept) > 0 {
			out["extensions"], _ = json.Marshal(kept)
		}
	}
	return out, mk
}

// wellFormed keeps a path only if it is an array of strings and integers
// and locations only if an array of {line, column}: anything else could
// carry any data.
func wellFormed(k string, v json.RawMessage) bool {
	switch k {
	case "path":
		var p []any
		if json.Unmarshal(v, &p) != nil {
			return false
		}
		for _, s := range p {
			switch x := s.(type) {
			case string:
			case float64:
				if x != float64(int64(x)) || x < 0 {
					return false
				}
			default:
				return false
			}
		}
		return true
	default:
		var locs []struct {
			Line   *int `json:"line"`
			Column *int `json:"column"`
		}
		dec := json.NewDecoder(bytes.NewReader(v))
		dec.DisallowUnknownFields()
		if dec.Decode(&locs) != nil {
			return false
		}
		for _, l := range locs {
			if l.Line == nil || l.Column == nil {
				return false
			}
		}
		return true
	}
}

// FingerprintHeaders are removed from every upstream answer by default:
// they name the back end's server, framework and version.
var FingerprintHeaders = []string{"Server", "X-Powered-By", "X-AspNet-Version", "X-AspNetMvc-Version", "X-Runtime", "X-Generator", "X-Backend-Server", "Via"}

// Headers is a compiled set of response headers to remove.
type Headers map[string]bool

// NewHeaders is FingerprintHeaders plus remove, minus keep.
func NewHeaders(remove, keep []string) Headers {
	h := Headers{}
	for _, n := range FingerprintHeaders {
		h[textproto.CanonicalMIMEHeaderKey(n)] = true
	}
	for _, n := range remove {
		h[textproto.CanonicalMIMEHeaderKey(n)] = true
	}
	for _, n := range keep {
		delete(h, textproto.CanonicalMIMEHeaderKey(n))
	}
	return h
}

// Strip removes the headers from an answer's header (and trailer).
func (hs Headers) Strip(h http.Header) {
	for k := range h {
		if hs[k] || hs[textproto.CanonicalMIMEHeaderKey(k)] {
			delete(h, k)
		}
	}
}

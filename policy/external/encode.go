package external

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/portcullis-gw/portcullis/analysis/jsonstrict"
)

// The input is encoded by hand, not by encoding/json's reflection: it is
// the decision cache's key, built on every request, and a warm-cache
// decision must cost about a microsecond (docs/governance.md). Map keys are
// sorted, so equal inputs are equal bytes. Strings go through the module's
// one JSON string writer (jsonstrict.AppendString); the output decodes to
// what json.Marshal's does (the tests compare both).

func appendRequest(b []byte, in *Input) ([]byte, error) {
	b = append(b, `{"input":{"identity":`...)
	b = appendIdentity(b, &in.Identity)
	b = append(b, `,"route":`...)
	b = jsonstrict.AppendString(b, in.Route)
	b = append(b, `,"protocol":`...)
	b = jsonstrict.AppendString(b, in.Protocol)
	var err error
	if op := in.Operation; op != nil {
		b = append(b, `,"operation":{"type":`...)
		b = jsonstrict.AppendString(b, op.Type)
		if op.Name != "" {
			b = append(b, `,"name":`...)
			b = jsonstrict.AppendString(b, op.Name)
		}
		b = append(b, '}')
	}
	if len(in.Coordinates) > 0 {
		b = append(b, `,"coordinates":[`...)
		for i := range in.Coordinates {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = appendCoordinate(b, &in.Coordinates[i]); err != nil {
				return nil, err
			}
		}
		b = append(b, ']')
	}
	if in.REST != nil {
		if b, err = appendREST(b, in.REST); err != nil {
			return nil, err
		}
	}
	b = append(b, `,"client_ip":`...)
	b = jsonstrict.AppendString(b, in.ClientIP)
	if len(in.Headers) > 0 {
		b = append(b, `,"headers":`...)
		b = appendStringMap(b, in.Headers)
	}
	return append(b, "}}"...), nil
}

func appendIdentity(b []byte, id *Identity) []byte {
	b = append(b, `{"anonymous":`...)
	b = strconv.AppendBool(b, id.Anonymous)
	b = append(b, `,"kind":`...)
	b = jsonstrict.AppendString(b, id.Kind)
	for _, f := range [...]struct{ name, v string }{{"issuer", id.Issuer}, {"subject", id.Subject}, {"principal", id.Principal}} {
		if f.v != "" {
			b = append(b, `,"`...)
			b = append(b, f.name...)
			b = append(b, `":`...)
			b = jsonstrict.AppendString(b, f.v)
		}
	}
	b = append(b, `,"scopes":`...)
	b = appendStrings(b, id.Scopes)
	b = append(b, `,"roles":`...)
	b = appendStrings(b, id.Roles)
	if id.Tier != "" {
		b = append(b, `,"tier":`...)
		b = jsonstrict.AppendString(b, id.Tier)
	}
	if len(id.Claims) > 0 {
		b = append(b, `,"claims":`...)
		b, _ = appendValue(b, id.Claims, 0)
	}
	return append(b, '}')
}

func appendCoordinate(b []byte, c *Coordinate) ([]byte, error) {
	b = append(b, `{"coordinate":`...)
	b = jsonstrict.AppendString(b, c.Coordinate)
	b = append(b, `,"path":`...)
	var err error
	if b, err = appendValue(b, c.Path, 0); err != nil {
		return nil, err
	}
	if len(c.Arguments) > 0 {
		b = append(b, `,"arguments":`...)
		if b, err = appendValue(b, c.Arguments, 0); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

func appendREST(b []byte, r *RESTOperation) ([]byte, error) {
	b = append(b, `,"rest":{"operation_id":`...)
	b = jsonstrict.AppendString(b, r.OperationID)
	b = append(b, `,"method":`...)
	b = jsonstrict.AppendString(b, r.Method)
	b = append(b, `,"path":`...)
	b = jsonstrict.AppendString(b, r.Path)
	if len(r.PathParams) > 0 {
		b = append(b, `,"path_params":`...)
		b = appendStringMap(b, r.PathParams)
	}
	if len(r.Query) > 0 {
		b = append(b, `,"query":{`...)
		for i, k := range sortedKeys(r.Query) {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonstrict.AppendString(b, k)
			b = append(b, ':')
			b = appendStrings(b, r.Query[k])
		}
		b = append(b, '}')
	}
	var err error
	if r.Body != nil {
		b = append(b, `,"body":`...)
		if b, err = appendValue(b, r.Body, 0); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func appendStringMap(b []byte, m map[string]string) []byte {
	b = append(b, '{')
	for i, k := range sortedKeys(m) {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonstrict.AppendString(b, k)
		b = append(b, ':')
		b = jsonstrict.AppendString(b, m[k])
	}
	return append(b, '}')
}

func appendStrings(b []byte, ss []string) []byte {
	if ss == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonstrict.AppendString(b, s)
	}
	return append(b, ']')
}

// maxDepth bounds the nesting of a value encoded (claims, arguments and
// bodies were read with bounds of their own; this is a second fence).
const maxDepth = 64

// appendValue encodes the values JSON decoding and GraphQL variable
// coercion produce; anything else goes through encoding/json.
func appendValue(b []byte, v any, depth int) ([]byte, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("input nested deeper than %d", maxDepth)
	}
	var err error
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		return jsonstrict.AppendString(b, x), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case float64:
		return appendFloat(b, x)
	case int:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case json.Number:
		return append(b, x...), nil
	case []string:
		return appendStrings(b, x), nil
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = appendValue(b, e, depth+1); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case map[string]any:
		b = append(b, '{')
		for i, k := range sortedKeys(x) {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonstrict.AppendString(b, k)
			b = append(b, ':')
			if b, err = appendValue(b, x[k], depth+1); err != nil {
				return nil, err
			}
		}
		return append(b, '}'), nil
	default:
		raw, err := json.Marshal(x)
		if err != nil {
			return nil, err
		}
		return append(b, raw...), nil
	}
}

// appendFloat writes a number as encoding/json does (ES6 number formatting).
func appendFloat(b []byte, f float64) ([]byte, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, fmt.Errorf("unsupported number %v", f)
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9, as encoding/json does
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, nil
}

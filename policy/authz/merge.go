package authz

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/vektah/gqlparser/v2/ast"
)

// maxJSONDepth bounds the upstream response nesting MergeFiltered reads.
const maxJSONDepth = 512

// MergeFiltered completes the upstream response of a filtered request
// (the docs/ pages 5, the docs/ pages): every removed field is answered null, with
// GraphQL null propagation (a null in a non-null position nulls the
// nearest nullable parent), the typename alias the rewrite added is
// stripped, and d.Errors are appended to the response's errors. With
// d.Empty (nothing was forwarded) body is ignored and the answer is
// {"data": null, "errors": [...]}. Object key order is kept; fields put
// back as null come after the upstream's keys.
func (a *GraphQLAuthorizer) MergeFiltered(d *Decision, body []byte) ([]byte, error) {
	if d == nil {
		return body, nil
	}
	if d.Empty {
		return json.Marshal(struct {
			Data   any     `json:"data"`
			Errors []Error `json:"errors,omitempty"`
		}{nil, d.Errors})
	}
	if len(d.Errors) == 0 && len(d.nulls) == 0 {
		return body, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	v, err := readJSON(dec, 0)
	if err != nil {
		return nil, fmt.Errorf("reading upstream response: %w", err)
	}
	top, ok := v.(*object)
	if !ok {
		return nil, errors.New("reading upstream response: not a JSON object")
	}
	if data, ok := top.vals["data"].(*object); ok {
		for i := range d.nulls {
			if a.nullObject(data, &d.nulls[i], 0) {
				top.set("data", nil)
				break
			}
		}
		for _, p := range d.typenames {
			stripAlias(data, p, 0)
		}
	}
	errs, _ := top.vals["errors"].([]any)
	for _, e := range d.Errors {
		errs = append(errs, e)
	}
	if len(errs) > 0 {
		top.set("errors", errs)
	}
	var out bytes.Buffer
	if err := writeJSON(&out, top); err != nil {
		return nil, fmt.Errorf("writing merged response: %w", err)
	}
	return out.Bytes(), nil
}

// nullObject applies t below obj, path[i] being a key of obj. It reports
// that obj itself must become null.
func (a *GraphQLAuthorizer) nullObject(obj *object, t *nullTarget, i int) bool {
	key, _ := t.path[i].(string)
	if i == len(t.path)-1 {
		if t.check && !a.possible(t.parent, obj.vals[typenameAlias]) {
			return false
		}
		obj.set(key, nil)
		return t.types[i].NonNull
	}
	c, ok := obj.vals[key]
	if !ok || c == nil {
		return false
	}
	if a.nullValue(c, t.types[i], t, i+1) {
		obj.set(key, nil)
		return t.types[i].NonNull
	}
	return false
}

// nullValue applies t inside v, a value of schema type typ; lists hold no
// path element, so each item is visited.
func (a *GraphQLAuthorizer) nullValue(v any, typ *ast.Type, t *nullTarget, i int) bool {
	if typ.Elem != nil {
		list, ok := v.([]any)
		if !ok {
			return false
		}
		for j, item := range list {
			if item == nil {
				continue
			}
			if a.nullValue(item, typ.Elem, t, i) {
				list[j] = nil
				if typ.Elem.NonNull {
					return true
				}
			}
		}
		return false
	}
	obj, ok := v.(*object)
	if !ok {
		return false
	}
	return a.nullObject(obj, t, i)
}

// possible tells whether an object of runtime type tn (from the typename
// alias) is of type parent. Without a type name nothing is nulled: the
// field was not forwarded either way.
func (a *GraphQLAuthorizer) possible(parent string, tn any) bool {
	name, ok := tn.(string)
	if !ok {
		return false
	}
	def := a.schema.Types[parent]
	if def == nil {
		return false
	}
	if def.Kind == ast.Object {
		return name == parent
	}
	for _, p := range a.schema.GetPossibleTypes(def) {
		if p.Name == name {
			return true
		}
	}
	return false
}

func stripAlias(v any, path []any, i int) {
	switch t := v.(type) {
	case []any:
		for _, e := range t {
			stripAlias(e, path, i)
		}
	case *object:
		if i == len(path) {
			t.del(typenameAlias)
			return
		}
		key, _ := path[i].(string)
		stripAlias(t.vals[key], path, i+1)
	}
}

// object is a JSON object that keeps its key order: GraphQL responses
// follow the order of the query's selections.
type object struct {
	keys []string
	vals map[string]any
}

func (o *object) set(k string, v any) {
	if _, ok := o.vals[k]; !ok {
		o.keys = append(o.keys, k)
	}
	o.vals[k] = v
}

func (o *object) del(k string) {
	if _, ok := o.vals[k]; !ok {
		return
	}
	delete(o.vals, k)
	if i := slices.Index(o.keys, k); i >= 0 {
		o.keys = slices.Delete(o.keys, i, i+1)
	}
}

func readJSON(dec *json.Decoder, depth int) (any, error) {
	if depth > maxJSONDepth {
		return nil, errors.New("nested too deeply")
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	delim, ok := tok.(json.Delim)
	if !ok {
		return tok, nil
	}
	switch delim {
	case '{':
		o := &object{vals: map[string]any{}}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil, err
			}
			k, ok := kt.(string)
			if !ok {
				return nil, errors.New("object key is not a string")
			}
			v, err := readJSON(dec, depth+1)
			if err != nil {
				return nil, err
			}
			o.set(k, v)
		}
		if _, err := dec.Token(); err != nil {
			return nil, err
		}
		return o, nil
	case '[':
		list := []any{}
		for dec.More() {
			v, err := readJSON(dec, depth+1)
			if err != nil {
				return nil, err
			}
			list = append(list, v)
		}
		if _, err := dec.Token(); err != nil {
			return nil, err
		}
		return list, nil
	}
	return nil, fmt.Errorf("unexpected %v", delim)
}

func writeJSON(w *bytes.Buffer, v any) error {
	switch t := v.(type) {
	case *object:
		w.WriteByte('{')
		for i, k := range t.keys {
			if i > 0 {
				w.WriteByte(',')
			}
			kb, _ := json.Marshal(k)
			w.Write(kb)
			w.WriteByte(':')
			if err := writeJSON(w, t.vals[k]); err != nil {
				return err
			}
		}
		w.WriteByte('}')
	case []any:
		w.WriteByte('[')
		for i, e := range t {
			if i > 0 {
				w.WriteByte(',')
			}
			if err := writeJSON(w, e); err != nil {
				return err
			}
		}
		w.WriteByte(']')
	default:
		b, err := json.Marshal(t)
		if err != nil {
			return err
		}
		w.Write(b)
	}
	return nil
}

package config

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

const schemaFile = "../../configs/portcullis.schema.json"

func readSchema(t *testing.T) map[string]any {
	t.Helper()
	data, err := os.ReadFile(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	var s map[string]any
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatalf("parsing %s: %v", schemaFile, err)
	}
	return s
}

// TestSchemaMatchesGoTypes fails when a yaml key exists in the Go types but
// not in the JSON Schema, or the other way round, at any nesting level, and
// when a leaf's JSON type does not fit its Go type.
func TestSchemaMatchesGoTypes(t *testing.T) {
	root := readSchema(t)
	defs, _ := root["$defs"].(map[string]any)
	resolve := func(n map[string]any) map[string]any {
		for {
			ref, ok := n["$ref"].(string)
			if !ok {
				return n
			}
			def, ok := defs[strings.TrimPrefix(ref, "#/$defs/")].(map[string]any)
			if !ok {
				t.Fatalf("unresolvable $ref %q", ref)
			}
			n = def
		}
	}
	// types lists the JSON types a schema node admits, through $ref and anyOf.
	var types func(n map[string]any) []string
	types = func(n map[string]any) []string {
		n = resolve(n)
		var out []string
		if ty, ok := n["type"].(string); ok {
			out = append(out, ty)
		}
		if alts, ok := n["anyOf"].([]any); ok {
			for _, a := range alts {
				if m, ok := a.(map[string]any); ok {
					out = append(out, types(m)...)
				}
			}
		}
		return out
	}

	var walk func(path string, typ reflect.Type, n map[string]any)
	walk = func(path string, typ reflect.Type, n map[string]any) {
		n = resolve(n)
		if typ.Kind() == reflect.Pointer {
			typ = typ.Elem()
		}
		want := ""
		switch {
		case typ == durationType:
			want = "string"
			if _, ok := n["pattern"]; !ok {
				t.Errorf("%s: duration without a pattern", path)
			}
		case typ.Kind() == reflect.Struct:
			want = "object"
			if n["additionalProperties"] != false {
				t.Errorf("%s: additionalProperties must be false", path)
			}
			props, _ := n["properties"].(map[string]any)
			fields := yamlFields(typ)
			var goKeys, schemaKeys []string
			for k := range fields {
				goKeys = append(goKeys, k)
			}
			for k := range props {
				schemaKeys = append(schemaKeys, k)
			}
			sort.Strings(goKeys)
			sort.Strings(schemaKeys)
			for _, k := range goKeys {
				if _, ok := props[k]; !ok {
					t.Errorf("%s: key %q is in the Go type %s but not in the schema", path, k, typ)
				}
			}
			for _, k := range schemaKeys {
				if _, ok := fields[k]; !ok {
					t.Errorf("%s: key %q is in the schema but not in the Go type %s", path, k, typ)
				}
			}
			for _, k := range goKeys {
				if p, ok := props[k].(map[string]any); ok {
					if _, ok := resolve(p)["description"]; !ok {
						if _, ok := p["description"]; !ok {
							t.Errorf("%s: no description", path+"."+k)
						}
					}
					walk(path+"."+k, typ.Field(fields[k]).Type, p)
				}
			}
		case typ.Kind() == reflect.Slice:
			want = "array"
			items, ok := n["items"].(map[string]any)
			if !ok {
				t.Errorf("%s: array without items", path)
				break
			}
			walk(path+"[]", typ.Elem(), items)
		case typ.Kind() == reflect.Map:
			want = "object"
			elem, ok := n["additionalProperties"].(map[string]any)
			if !ok {
				t.Errorf("%s: a map needs additionalProperties with a schema", path)
				break
			}
			walk(path+".*", typ.Elem(), elem)
		case typ.Kind() == reflect.String:
			want = "string"
		case typ.Kind() == reflect.Bool:
			want = "boolean"
		case typ.Kind() >= reflect.Int && typ.Kind() <= reflect.Int64:
			want = "integer"
		case typ.Kind() == reflect.Float64:
			want = "number"
		default:
			t.Errorf("%s: Go type %s not handled by this test", path, typ)
			return
		}
		if got := types(n); !slices.Contains(got, want) {
			t.Errorf("%s: schema types %v, want %s for Go type %s", path, got, want, typ)
		}
	}
	walk("(root)", reflect.TypeOf(Config{}), root)
}

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("portcullis.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("portcullis.schema.json")
	if err != nil {
		t.Fatalf("compiling the schema (it must be valid draft 2020-12): %v", err)
	}
	return s
}

// yamlAsJSON reads a YAML config as the JSON value an editor validates.
func yamlAsJSON(t *testing.T, data []byte) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	j, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestConfigsMatchSchema(t *testing.T) {
	s := compileSchema(t)
	files, err := filepath.Glob("../../configs/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	good, err := filepath.Glob("testdata/good/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(good) == 0 {
		t.Fatal("no good configs in testdata/good")
	}
	for _, f := range append(files, good...) {
		t.Run(f, func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Validate(yamlAsJSON(t, data)); err != nil {
				t.Errorf("%s does not match the schema: %v", f, err)
			}
		})
	}
}

// TestSchemaRefusesBrokenConfigs proves the schema is not vacuous: the
// broken fixtures that an editor can catch without the file system are refused.
func TestSchemaRefusesBrokenConfigs(t *testing.T) {
	s := compileSchema(t)
	for _, f := range []string{"unknown_key.yaml", "bad_duration.yaml", "negative_limit.yaml", "bad_enum.yaml"} {
		t.Run(f, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "broken", f))
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Validate(yamlAsJSON(t, data)); err == nil {
				t.Errorf("%s passes the schema", f)
			}
		})
	}
}

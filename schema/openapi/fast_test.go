package openapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// fastFixtures are every OpenAPI document in the repository whose schemas the
// gateway compiles.
var fastFixtures = []string{
	"testdata/orders30.yaml",
	"testdata/orders31.yaml",
	"testdata/multi/main.yaml",
	"testdata/fastpath30.yaml",
	"testdata/fastpath31.yaml",
	"../../analysis/rest/testdata/orders30.yaml",
	"../../analysis/rest/testdata/orders31.yaml",
	"../../analysis/rest/testdata/feat31.yaml",
	"../../configs/specs/orders.yaml",
	"../../test/testdata/rest/orders-30.yaml",
	"../../test/testdata/rest/orders-apikey.yaml",
}

type namedSchema struct {
	name string
	s    *Schema
}

// allSchemas lists every compiled schema of a document with where it is.
func allSchemas(t testing.TB, file string) []namedSchema {
	t.Helper()
	d, err := Load(file)
	if err != nil {
		t.Fatal(err)
	}
	var out []namedSchema
	add := func(name string, s *Schema) {
		if s != nil {
			out = append(out, namedSchema{file + " " + name, s})
		}
	}
	content := func(prefix string, c map[string]*MediaType) {
		for _, mt := range sortedKeys(c) {
			add(prefix+" "+mt, c[mt].Schema)
		}
	}
	for _, op := range d.Operations() {
		at := op.Method + " " + op.Path
		for _, p := range op.Parameters {
			add(at+" "+p.In+" "+p.Name, p.Schema)
			add(at+" "+p.In+" "+p.Name+" content", p.ContentSchema)
		}
		if op.Body != nil {
			content(at+" body", op.Body.Content)
		}
		for _, code := range sortedKeys(op.Responses) {
			r := op.Responses[code]
			content(at+" "+code, r.Content)
			for _, h := range sortedKeys(r.Headers) {
				add(at+" "+code+" header "+h, r.Headers[h].Schema)
			}
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// slowOnly runs jsonschema alone; panicked reports the one input class it
// cannot handle (a number big.Rat refuses), which the fast path refuses.
func slowOnly(s *Schema, v any) (out []Violation, panicked bool) {
	defer func() {
		if recover() != nil {
			panicked = true
		}
	}()
	err := s.compiled.Validate(v)
	if err == nil {
		return nil, false
	}
	collect(err.(*jsonschema.ValidationError), &out)
	return out, false
}

func fastOnly(s *Schema, v any) ([]Violation, bool) {
	r := fastRun{}
	r.validate(s.fast, v)
	return r.out, !r.abort
}

func locations(vs []Violation) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = "/" + strings.Join(v.Location, "/")
	}
	sort.Strings(out)
	return out
}

// agree checks that both validators reach the same decision with the same
// violation locations (as a multiset); it reports whether v was comparable.
func agree(t testing.TB, name string, s *Schema, v any) bool {
	t.Helper()
	slow, panicked := slowOnly(s, v)
	fast, ok := fastOnly(s, v)
	if !ok {
		t.Fatalf("%s: fast path aborted on a decoder value %s", name, show(v))
	}
	if panicked {
		if len(fast) == 0 {
			t.Fatalf("%s: jsonschema cannot validate %s but the fast path accepts it", name, show(v))
		}
		return false
	}
	if (len(slow) == 0) != (len(fast) == 0) || !slices.Equal(locations(slow), locations(fast)) {
		t.Fatalf("%s: value %s\n jsonschema: %v\n fast path:  %v", name, show(v), slow, fast)
	}
	for _, f := range fast {
		if f.Message == "" {
			t.Fatalf("%s: violation without a message at %v", name, f.Location)
		}
	}
	return true
}

func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%#v", v)
	}
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}

// atoms replace each part of a seed value: every JSON type, numbers at and
// around the fixtures' bounds, integers in every notation and past int64 and
// float64 precision, strings at length bounds in multi-byte runes.
var atoms = func() []any {
	out := []any{nil, true, false, "", "a", "ab", "abc", "abcd", "éé", "ééé", "éééé", "𝄞𝄞", "𝄞𝄞𝄞",
		"AB12", "ab", "small", "large", "widget", "one", "2024-02-30T00:00:00Z", "2024-02-03T04:05:06Z",
		"550e8400-e29b-41d4-a716-446655440000", "not-a-uuid", "a@example.com", "@",
		[]any{}, []any{json.Number("1"), json.Number("2")}, map[string]any{}, map[string]any{"a": json.Number("1")},
		map[string]any{"x": json.Number("1")}, map[string]any{"v": true}}
	for _, n := range []string{"0", "-0", "1", "-1", "2", "5", "10", "11", "-5", "-6", "0.5", "0.25", "0.3", "1.5", "1.50", "1.75",
		"0.01", "0.009", "1e2", "1E2", "1.0", "100", "99", "1e-2", "5e0", "50", "49", "1000", "1001", "1000000000", "1000000001",
		"1e6", "999999.99", "2147483647", "2147483648", "-2147483648", "-2147483649",
		"9007199254740992", "9007199254740993", "9223372036854775807", "9223372036854775808", "-9223372036854775808",
		"-9223372036854775809", "18446744073709551616", "18446744073709551617", "123456789012345678901234567890",
		"1e400", "-1e400", "1.0000000000000000000001", "4.9e-324", "12345678901234567890e-20"} {
		out = append(out, json.Number(n))
	}
	return out
}()

// mutants yields v with one part replaced, removed or added.
func mutants(v any, yield func(any)) {
	for _, a := range atoms {
		yield(a)
	}
	switch t := v.(type) {
	case map[string]any:
		yield(map[string]any{"zz_extra": json.Number("1")})
		for _, k := range sortedKeys(t) {
			without := clone(t).(map[string]any)
			delete(without, k)
			yield(without)
			mutants(t[k], func(m any) {
				c := clone(t).(map[string]any)
				c[k] = m
				yield(c)
			})
		}
		extra := clone(t).(map[string]any)
		extra["zz_extra"] = "x"
		yield(extra)
		extra2 := clone(extra).(map[string]any)
		extra2["a"] = json.Number("11")
		yield(extra2)
	case []any:
		for i := range t {
			mutants(t[i], func(m any) {
				c := clone(t).([]any)
				c[i] = m
				yield(c)
			})
		}
		if len(t) > 0 {
			yield(append(clone(t).([]any), clone(t[0]), clone(t[len(t)-1])))
			yield(t[:len(t)-1])
		}
		yield(append(clone(t).([]any), nil))
	}
}

func clone(v any) any {
	switch t := v.(type) {
	case map[string]any:
		c := make(map[string]any, len(t))
		for k, x := range t {
			c[k] = clone(x)
		}
		return c
	case []any:
		c := make([]any, len(t))
		for i, x := range t {
			c[i] = clone(x)
		}
		return c
	}
	return v
}

// seed builds a value meant to pass s (it need not: a wrong seed only moves
// where the mutants start), from the compiled schema.
func seed(s *jsonschema.Schema, depth int) any {
	if s == nil || depth > 6 || s.Bool != nil {
		return json.Number("1")
	}
	switch {
	case s.Const != nil:
		return clone(*s.Const)
	case s.Enum != nil && len(s.Enum.Values) > 0:
		return clone(s.Enum.Values[0])
	case s.Ref != nil && (s.Types == nil || s.Types.IsEmpty()):
		return seed(s.Ref, depth+1)
	case len(s.AllOf) > 0:
		return seed(s.AllOf[0], depth+1)
	case len(s.AnyOf) > 0:
		return seed(s.AnyOf[0], depth+1)
	case len(s.OneOf) > 0:
		return seed(s.OneOf[0], depth+1)
	}
	var types []string
	if s.Types != nil {
		types = s.Types.ToStrings()
	}
	typ := "object"
	for _, t := range types {
		if t != "null" {
			typ = t
			break
		}
	}
	if len(types) == 0 && len(s.Properties) == 0 {
		typ = "string"
	}
	switch typ {
	case "object":
		obj := map[string]any{}
		for k, p := range s.Properties {
			obj[k] = seed(p, depth+1)
		}
		return obj
	case "array":
		arr := []any{}
		for _, p := range s.PrefixItems {
			arr = append(arr, seed(p, depth+1))
		}
		if it, ok := s.Items.(*jsonschema.Schema); ok {
			arr = append(arr, seed(it, depth+1))
		}
		if s.Items2020 != nil {
			arr = append(arr, seed(s.Items2020, depth+1))
		}
		return arr
	case "integer", "number":
		if s.Minimum != nil {
			return json.Number(s.Minimum.RatString())
		}
		return json.Number("1")
	case "boolean":
		return true
	}
	n := 1
	if s.MinLength != nil {
		n = *s.MinLength
	}
	return strings.Repeat("a", n)
}

// TestFastPathAgrees runs both validators over mutants of a seed value for
// every fast-path schema of every fixture.
func TestFastPathAgrees(t *testing.T) {
	fast, total, values := 0, 0, 0
	for _, file := range fastFixtures {
		for _, ns := range allSchemas(t, file) {
			total++
			if ns.s.fast == nil {
				continue
			}
			fast++
			t.Run(ns.name, func(t *testing.T) {
				sd := seed(ns.s.compiled, 0)
				agree(t, ns.name, ns.s, sd)
				mutants(sd, func(v any) {
					if agree(t, ns.name, ns.s, v) {
						values++
					}
				})
			})
		}
	}
	t.Logf("%d of %d schemas on the fast path, %d values compared", fast, total, values)
	if fast == 0 || values < 1000 {
		t.Fatalf("only %d fast schemas and %d values: the test proves nothing", fast, values)
	}
}

// TestFastPathFallsBack: keywords the fast path does not model leave the
// schema with jsonschema, which still enforces them.
func TestFastPathFallsBack(t *testing.T) {
	d, err := Load("testdata/fastpath30.yaml")
	if err != nil {
		t.Fatal(err)
	}
	op := d.Operations()[0]
	var tags *Parameter
	for _, p := range op.Parameters {
		if p.Name == "tags" {
			tags = p
		}
	}
	if tags == nil || tags.Schema.FastPath() {
		t.Fatalf("uniqueItems schema must fall back, got %+v", tags)
	}
	if v := tags.Schema.Validate([]any{"a", "a"}); len(v) != 1 {
		t.Fatalf("duplicate items accepted: %v", v)
	}
	if !op.Body.Content["application/json"].Schema.FastPath() {
		t.Fatal("the body schema should be on the fast path")
	}
}

// TestFastPathValues pins decisions the differential test relies on, so a
// bug shared by both validators would still show.
func TestFastPathValues(t *testing.T) {
	d, err := Load("testdata/fastpath31.yaml")
	if err != nil {
		t.Fatal(err)
	}
	body := d.Operations()[0].Body.Content["application/json"].Schema
	if !body.FastPath() {
		t.Fatal("body schema fell back")
	}
	ok := `{"id":"550e8400-e29b-41d4-a716-446655440000","kind":"widget","point":[1,2.5,"ab"]}`
	cases := []struct {
		name, body string
		want       []string
	}{
		{"valid", ok, nil},
		{"missing required", `{"kind":"widget","point":[1,2],"anything":0}`, []string{"/"}},
		{"missing required and too few", `{"kind":"widget","point":[1,2]}`, []string{"/", "/"}},
		{"extra property", `{"id":"550e8400-e29b-41d4-a716-446655440000","kind":"widget","point":[1,2],"x":1}`, []string{"/"}},
		{"bad uuid", `{"id":"nope","kind":"widget","point":[1,2]}`, []string{"/id"}},
		{"const", `{"id":"550e8400-e29b-41d4-a716-446655440000","kind":"gadget","point":[1,2]}`, []string{"/kind"}},
		{"items false", `{"id":"550e8400-e29b-41d4-a716-446655440000","kind":"widget","point":[1,2,null,4]}`, []string{"/point/3"}},
		{"prefix type", `{"id":"550e8400-e29b-41d4-a716-446655440000","kind":"widget","point":["1",2]}`, []string{"/point/0"}},
		{"max length in runes", `{"id":"550e8400-e29b-41d4-a716-446655440000","kind":"widget","point":[1,2],"note":"éééééééé"}`, nil},
		{"past max length", `{"id":"550e8400-e29b-41d4-a716-446655440000","kind":"widget","point":[1,2],"note":"ééééééééé"}`, []string{"/note"}},
		{"1e2 is an integer", `{"id":"550e8400-e29b-41d4-a716-446655440000","kind":"widget","point":[1,2],"size":1e2}`, nil},
		// kin-openapi holds bounds as float64: 2^64 reaches the compiler as
		// 18446744073709552000, which is then compared exactly.
		{"beyond the bound", `{"id":"550e8400-e29b-41d4-a716-446655440000","kind":"widget","point":[1,2],"size":18446744073709552001}`, []string{"/size"}},
		{"at the bound", `{"id":"550e8400-e29b-41d4-a716-446655440000","kind":"widget","point":[1,2],"size":18446744073709552000}`, nil},
		{"at the low bound", `{"id":"550e8400-e29b-41d4-a716-446655440000","kind":"widget","point":[1,2],"size":-9223372036854776000}`, nil},
		{"below the low bound", `{"id":"550e8400-e29b-41d4-a716-446655440000","kind":"widget","point":[1,2],"size":-9223372036854776001}`, []string{"/size"}},
		{"oneOf both", `{"id":"550e8400-e29b-41d4-a716-446655440000","kind":"widget","point":[1,2],"choice":5}`, []string{"/choice"}},
		{"oneOf one", `{"id":"550e8400-e29b-41d4-a716-446655440000","kind":"widget","point":[1,2],"choice":11}`, nil},
		{"not", `{"id":"550e8400-e29b-41d4-a716-446655440000","kind":"widget","point":[1,2],"never":"s"}`, []string{"/never"}},
		{"false schema", `{"id":"550e8400-e29b-41d4-a716-446655440000","kind":"widget","point":[1,2],"nothing":1}`, []string{"/nothing"}},
		{"additional schema", `{"id":"550e8400-e29b-41d4-a716-446655440000","kind":"widget","point":[1,2],"meta":{"a":11,"b":1.5}}`, []string{"/meta/a", "/meta/b"}},
		{"huge exponent", `{"id":"550e8400-e29b-41d4-a716-446655440000","kind":"widget","point":[1,2],"price":1e99999999}`, []string{"/price", "/price"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := decode(t, c.body)
			got := locations(body.Validate(v))
			if len(got) == 0 {
				got = nil
			}
			if !slices.Equal(got, c.want) {
				t.Fatalf("violations at %v, want %v", got, c.want)
			}
		})
	}
}

func decode(t testing.TB, s string) any {
	d := json.NewDecoder(bytes.NewReader([]byte(s)))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestFastPathForeignTypes: values the JSON decoder never produces (float64
// from a caller) go to jsonschema rather than being misjudged.
func TestFastPathForeignTypes(t *testing.T) {
	d, err := Load("testdata/fastpath31.yaml")
	if err != nil {
		t.Fatal(err)
	}
	body := d.Operations()[0].Body.Content["application/json"].Schema
	v := map[string]any{"id": "550e8400-e29b-41d4-a716-446655440000", "kind": "widget", "point": []any{1.5, 2.0}, "size": 1.5}
	if _, ok := fastOnly(body, v); ok {
		t.Fatal("fast path judged a float64")
	}
	if got := locations(body.Validate(v)); !slices.Equal(got, []string{"/size"}) {
		t.Fatalf("violations at %v, want [/size]", got)
	}
}

// FuzzFastPathAgrees feeds arbitrary JSON to every fast-path schema of the
// fixtures and both validators.
func FuzzFastPathAgrees(f *testing.F) {
	var schemas []namedSchema
	for _, file := range fastFixtures {
		for _, ns := range allSchemas(f, file) {
			if ns.s.fast != nil {
				schemas = append(schemas, ns)
			}
		}
	}
	f.Add([]byte(`{"userId":"u1","items":[{"sku":"A","quantity":1,"unitPrice":0}]}`))
	f.Add([]byte(`{"id":"550e8400-e29b-41d4-a716-446655440000","kind":"widget","point":[1,2.5,"ab"],"choice":5}`))
	f.Add([]byte(`[1e2, 1.0, -0, 18446744073709551617, "éé", null, {"a": {}}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d := json.NewDecoder(bytes.NewReader(data))
		d.UseNumber()
		var v any
		if d.Decode(&v) != nil {
			return
		}
		for _, ns := range schemas {
			agree(t, ns.name, ns.s, v)
		}
	})
}

// BenchmarkSchemaValidate compares the two validators on the order body the
// REST benchmark sends.
func BenchmarkSchemaValidate(b *testing.B) {
	d, err := Load("testdata/orders31.yaml")
	if err != nil {
		b.Fatal(err)
	}
	var body *Schema
	for _, op := range d.Operations() {
		if op.ID == "createOrder" {
			body = op.Body.Content["application/json"].Schema
		}
	}
	var items []string
	for i := 0; i < 18; i++ {
		items = append(items, fmt.Sprintf(`{"sku":"SKU-%04d","quantity":3,"unitPrice":1299}`, i))
	}
	v := decode(b, `{"userId":"user_12345","items":[`+strings.Join(items, ",")+`],"note":"please leave the parcel with the neighbour"}`)
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if out := body.Validate(v); out != nil {
				b.Fatal(out)
			}
		}
	})
	b.Run("jsonschema", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if out := body.slowValidate(v); out != nil {
				b.Fatal(out)
			}
		}
	})
}

package gqlrequest

import (
	"strings"
	"testing"
)

func TestParseRefuses(t *testing.T) {
	deep := strings.Repeat(`{"a":`, 64) + "1" + strings.Repeat("}", 64)
	cases := []struct {
		name, body, msg string
		opt             Options
	}{
		{"key case: Query", `{"query":"{a}","Query":"{b}"}`, `unknown member "Query"`, Options{}},
		{"key case: QUERY alone", `{"QUERY":"{a}"}`, `unknown member "QUERY"`, Options{}},
		{"key case: operationname", `{"query":"{a}","operationname":"A"}`, `unknown member "operationname"`, Options{}},
		{"key case: Variables", `{"query":"{a}","Variables":{}}`, `unknown member "Variables"`, Options{}},
		{"duplicate query", `{"query":"{a}","query":"{b}"}`, `duplicate member "query"`, Options{}},
		{"duplicate through an escape", `{"query":"{a}","\u0071uery":"{b}"}`, `duplicate member "query"`, Options{}},
		{"duplicate in variables", `{"query":"{a}","variables":{"id":"1","id":"2"}}`, `duplicate member "id"`, Options{}},
		{"duplicate deep in variables", `{"query":"{a}","variables":{"in":{"x":[{"role":"a","role":"b"}]}}}`, `duplicate member "role"`, Options{}},
		{"duplicate in extensions", `{"query":"{a}","extensions":{"persistedQuery":{"version":1,"version":2}}}`, `duplicate member "version"`, Options{}},
		{"duplicate past the scan limit", `{"query":"{a}","variables":{` + manyMembers(40) + `,"m7":1}}`, `duplicate member "m7"`, Options{}},
		{"duplicate in a dropped member", `{"query":"{a}","x":{"a":1,"a":2}}`, `duplicate member "a"`, Options{DropUnknown: true}},
		{"unknown member", `{"query":"{a}","foo":1}`, `unknown member "foo"`, Options{}},
		{"documentId when off", `{"documentId":"abc"}`, `unknown member "documentId"`, Options{}},
		{"query a number", `{"query":1}`, `"query" must be a string`, Options{}},
		{"query null", `{"query":null}`, `"query" must be a string`, Options{}},
		{"operationName a number", `{"query":"{a}","operationName":1}`, `"operationName" must be a string or null`, Options{}},
		{"variables a string", `{"query":"{a}","variables":"{}"}`, `"variables" must be an object or null`, Options{}},
		{"variables an array", `{"query":"{a}","variables":[]}`, `"variables" must be an object or null`, Options{}},
		{"extensions a bool", `{"query":"{a}","extensions":true}`, `"extensions" must be an object or null`, Options{}},
		{"documentId a number", `{"documentId":1}`, `"documentId" must be a string`, Options{DocumentID: true}},
		{"byte order mark", "\uFEFF{\"query\":\"{a}\"}", "byte order mark", Options{}},
		{"invalid UTF-8 in a string", "{\"query\":\"{a\xff}\"}", "invalid UTF-8", Options{}},
		{"invalid UTF-8 in a name", "{\"q\xc3\":1}", "invalid UTF-8", Options{}},
		{"UTF-8 encoded surrogate", "{\"query\":\"\xed\xa0\x80\"}", "invalid UTF-8", Options{}},
		{"lone high surrogate", `{"query":"\ud800"}`, "lone surrogate", Options{}},
		{"high surrogate then text", `{"query":"\ud800abcdef"}`, "lone surrogate", Options{}},
		{"high then high", `{"query":"\ud800\ud800"}`, "lone surrogate", Options{}},
		{"lone low surrogate", `{"query":"\udc00"}`, "lone surrogate", Options{}},
		{"control character", "{\"query\":\"a\nb\"}", "control character", Options{}},
		{"bad escape", `{"query":"\x41"}`, "invalid escape", Options{}},
		{"short unicode escape", `{"query":"\u41"}`, `invalid \u escape`, Options{}},
		{"number overflow", `{"query":"{a}","variables":{"n":1e400}}`, "out of the range", Options{}},
		{"leading zero", `{"query":"{a}","variables":{"n":01}}`, "expected ',' or '}'", Options{}},
		{"plus sign", `{"query":"{a}","variables":{"n":+1}}`, "invalid character", Options{}},
		{"bare dot", `{"query":"{a}","variables":{"n":1.}}`, "after '.'", Options{}},
		{"NaN", `{"query":"{a}","variables":{"n":NaN}}`, "invalid character", Options{}},
		{"single quotes", `{'query':"{a}"}`, "member name in double quotes", Options{}},
		{"trailing comma", `{"query":"{a}",}`, "member name in double quotes", Options{}},
		{"trailing data", `{"query":"{a}"} {}`, "unexpected data", Options{}},
		{"two objects", `{"query":"{a}"}{"query":"{b}"}`, "unexpected data", Options{}},
		{"non-JSON whitespace", "{\"query\":\"{a}\"\u00a0}", "expected ',' or '}'", Options{}},
		{"vertical tab", "{\"query\":\"{a}\"\v}", "expected ',' or '}'", Options{}},
		{"unterminated", `{"query":"{a}`, "unterminated string", Options{}},
		{"truncated", `{"query":`, "unexpected end", Options{}},
		{"empty", ``, "empty body", Options{}},
		{"a string", `"{a}"`, "must be a JSON object", Options{}},
		{"too deep", `{"query":"{a}","variables":` + deep + `}`, "nesting deeper than 64", Options{}},
		{"too deep for a small limit", `{"query":"{a}","variables":{"a":{"b":1}}}`, "nesting deeper than 2", Options{MaxDepth: 2}},
		{"batch of a string", `["x"]`, "each entry of a batch", Options{}},
		{"batch with a bad entry", `[{"query":"{a}"},{"Query":"{b}"}]`, `unknown member "Query"`, Options{}},
		{"batch with a duplicate", `[{"query":"{a}","query":"{b}"}]`, `duplicate member "query"`, Options{}},
		{"batch trailing comma", `[{"query":"{a}"},]`, "each entry of a batch", Options{}},
		{"batch unclosed", `[{"query":"{a}"}`, "expected ',' or ']'", Options{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := Parse([]byte(c.body), c.opt)
			if err == nil {
				t.Fatalf("accepted %q", c.body)
			}
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error %T, want *Error", err)
			}
			if !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("error %q, want it to contain %q", err, c.msg)
			}
		})
	}
}

func manyMembers(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"m` + string(rune('0'+i/10)) + string(rune('0'+i%10)) + `":1`)
	}
	return strings.ReplaceAll(b.String(), `"m0`, `"m`)
}

func TestParseAccepts(t *testing.T) {
	cases := []struct {
		name, body string
		opt        Options
		want       []string // canonical form of each request
		batch      bool
	}{
		{"query only", `{"query":"{a}"}`, Options{}, []string{`{"query":"{a}"}`}, false},
		{"every member, canonical order", ` { "extensions" : {"b":true} , "variables":{"z":1,"a":[1,2,{"k":null}]}, "operationName":"Q", "query":"query Q { a }" } `, Options{},
			[]string{`{"query":"query Q { a }","operationName":"Q","variables":{"z":1,"a":[1,2,{"k":null}]},"extensions":{"b":true}}`}, false},
		{"nulls are absent", `{"query":"{a}","operationName":null,"variables":null,"extensions":null}`, Options{}, []string{`{"query":"{a}"}`}, false},
		{"numbers keep their text", `{"query":"{a}","variables":{"big":12345678901234567890,"f":1.50,"e":1E+2,"z":-0}}`, Options{},
			[]string{`{"query":"{a}","variables":{"big":12345678901234567890,"f":1.50,"e":1E+2,"z":-0}}`}, false},
		{"escapes decoded and re-escaped", `{"query":"\u007b a \/ \"b\" \\ \t\n\u0001 \u00e9 \ud83d\ude00 }"}`, Options{},
			[]string{`{"query":"{ a / \"b\" \\ \t\n\u0001 é 😀 }"}`}, false},
		{"raw UTF-8 kept", `{"query":"{ a(s: \"é😀\") }"}`, Options{}, []string{`{"query":"{ a(s: \"é😀\") }"}`}, false},
		{"unknown dropped", `{"query":"{a}","Query":"{b}","x":{"y":[1]}}`, Options{DropUnknown: true}, []string{`{"query":"{a}"}`}, false},
		{"documentId when on", `{"documentId":"sha256:ab"}`, Options{DocumentID: true}, []string{`{"documentId":"sha256:ab"}`}, false},
		{"empty object", `{}`, Options{}, []string{`{}`}, false},
		{"empty query string", `{"query":""}`, Options{}, []string{`{"query":""}`}, false},
		{"batch", `[{"query":"{a}"}, {"query":"{b}","variables":{"x":"y"}}]`, Options{}, []string{`{"query":"{a}"}`, `{"query":"{b}","variables":{"x":"y"}}`}, true},
		{"empty batch", `[ ]`, Options{}, []string{}, true},
		{"same name in sibling objects", `{"query":"{a}","variables":{"a":{"id":1},"b":{"id":2}}}`, Options{}, []string{`{"query":"{a}","variables":{"a":{"id":1},"b":{"id":2}}}`}, false},
		{"names differing in case are distinct in variables", `{"query":"{a}","variables":{"id":1,"ID":2}}`, Options{}, []string{`{"query":"{a}","variables":{"id":1,"ID":2}}`}, false},
		{"depth at the limit", `{"query":"{a}","variables":{"a":1}}`, Options{MaxDepth: 2}, []string{`{"query":"{a}","variables":{"a":1}}`}, false},
		{"underflow reads as zero everywhere", `{"query":"{a}","variables":{"n":1e-400}}`, Options{}, []string{`{"query":"{a}","variables":{"n":1e-400}}`}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			reqs, batch, err := Parse([]byte(c.body), c.opt)
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if batch != c.batch {
				t.Fatalf("batch = %v, want %v", batch, c.batch)
			}
			if len(reqs) != len(c.want) {
				t.Fatalf("%d requests, want %d", len(reqs), len(c.want))
			}
			for i := range reqs {
				if got := string(AppendRequest(nil, &reqs[i])); got != c.want[i] {
					t.Errorf("entry %d:\n got %s\nwant %s", i, got, c.want[i])
				}
			}
		})
	}
}

func TestParseValue(t *testing.T) {
	v, err := ParseValue(` {"id":"1","n":[1,2.5]} `, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if v.Kind() != Object {
		t.Fatalf("kind %v", v.Kind())
	}
	m := v.Map()
	if m["id"] != "1" || m["n"].([]any)[1] != 2.5 {
		t.Fatalf("map %v", m)
	}
	for _, bad := range []string{`{"a":1,"a":2}`, ``, `{"a":1} x`, "\uFEFF{}", `{"a":"\udfff"}`} {
		if _, err := ParseValue(bad, Options{}); err == nil {
			t.Errorf("ParseValue(%q) accepted", bad)
		}
	}
}

func TestValueHelpers(t *testing.T) {
	v, err := ParseValue(`{"a":1,"persistedQuery":{"version":1},"b":"x"}`, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(AppendValue(nil, v.Without("persistedQuery"))); got != `{"a":1,"b":"x"}` {
		t.Errorf("Without: %s", got)
	}
	if got := string(AppendValue(nil, v.Only(func(n string) bool { return n == "b" }))); got != `{"b":"x"}` {
		t.Errorf("Only: %s", got)
	}
	if _, ok := v.Get("A"); ok {
		t.Error("Get matched a name of another case")
	}
	if pq, ok := v.Get("persistedQuery"); !ok || pq.Kind() != Object {
		t.Error("Get missed persistedQuery")
	}
	if got := string(AppendValue(nil, Value{})); got != "null" {
		t.Errorf("absent: %s", got)
	}
}

func TestAppendStringInvalidUTF8(t *testing.T) {
	r := Request{Query: "a\xffb\x00"}
	if got := string(AppendRequest(nil, &r)); got != `{"query":"a`+"\ufffd"+`b\u0000"}` {
		t.Errorf("got %q", got)
	}
}

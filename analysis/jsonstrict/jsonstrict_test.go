package jsonstrict

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestDecodeRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"bom", "\xEF\xBB\xBF{}", "byte order mark"},
		{"invalid utf-8 in value", "{\"a\":\"\xff\"}", "invalid UTF-8"},
		{"invalid utf-8 in key", "{\"\xc0\xaf\":1}", "invalid UTF-8"},
		{"invalid utf-8 after an escape", "[\"\\n\xff\"]", "invalid UTF-8"},
		{"lone high surrogate", `["\ud800"]`, "lone surrogate"},
		{"lone high surrogate then text", `["\ud800abc"]`, "lone surrogate"},
		{"high surrogate then non-low escape", `["\ud800\u0041"]`, "lone surrogate"},
		{"lone low surrogate", `["\udc00"]`, "lone surrogate"},
		{"swapped surrogates", `["\udc00\ud800"]`, "lone surrogate"},
		{"lone surrogate in key", `{"\udfff":1}`, "lone surrogate"},
		{"bad escape", `["\x"]`, "invalid string escape"},
		{"short unicode escape", `["\u12"]`, `invalid \u escape`},
		{"duplicate key", `{"a":1,"a":2}`, `duplicate object key "a"`},
		{"duplicate key through an escape", `{"a":1,"\u0061":2}`, `duplicate object key "a"`},
		{"case collision", `{"userId":"alice","UserId":"bob"}`, `"userId" and "UserId" differ only in case`},
		{"case collision nested", `{"a":{"b":{"role":"x","ROLE":"y"}}}`, "differ only in case"},
		{"case collision in array element", `[{"ok":1},{"id":1,"iD":2}]`, "differ only in case"},
		{"case collision by Kelvin sign", "{\"kind\":1,\"\u212aind\":2}", "differ only in case"},
		{"case collision by long s", "{\"sub\":1,\"\u017fub\":2}", "differ only in case"},
		{"case collision non-ASCII", `{"straße":1,"STRASSE":0,"Straße":2}`, "differ only in case"},
		{"case collision escaped", `{"Id":1,"\u0069d":2}`, "differ only in case"},
		{"case collision past the small-object bound", `{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"j":10,"B":11}`, `"b" and "B" differ only in case`},
		{"case collision between names past the bound", `{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"j":10,"k":11,"J":12}`, `"j" and "J" differ only in case`},
		{"overflow", `{"n":1e400}`, "out of the range"},
		{"negative overflow", `[-1.8e308]`, "out of the range"},
		{"long integer overflow", "[" + strings.Repeat("9", 400) + "]", "out of the range"},
		{"too deep", strings.Repeat("[", 65) + strings.Repeat("]", 65), "nested deeper than 64"},
		{"trailing data", `{} {}`, "unexpected data"},
		{"control character", "[\"a\tb\"]", "control character"},
		{"leading zero", `[01]`, "expected ','"},
		{"bare word", `[nul]`, "invalid literal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := Decode([]byte(tc.in), Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Decode(%q) = %v, %v; want an error with %q", tc.in, v, err, tc.want)
			}
			if !IsError(err) {
				t.Fatalf("error %T is not an *Error", err)
			}
		})
	}
}

func TestDecodeAccepts(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		opts     Options
		want     any
	}{
		{"surrogate pair", `["\ud83d\ude00"]`, Options{}, []any{"😀"}},
		{"escapes", `["\"\\\/\b\f\n\r\t\u00e9"]`, Options{}, []any{"\"\\/\b\f\n\r\té"}},
		{"many different keys", `{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"j":10}`, Options{}, map[string]any{"a": json.Number("1"), "b": json.Number("2"), "c": json.Number("3"), "d": json.Number("4"), "e": json.Number("5"), "f": json.Number("6"), "g": json.Number("7"), "h": json.Number("8"), "i": json.Number("9"), "j": json.Number("10")}},
		{"different keys", `{"a":1,"b":2,"ab":3,"A_":4}`, Options{}, map[string]any{"a": json.Number("1"), "b": json.Number("2"), "ab": json.Number("3"), "A_": json.Number("4")}},
		{"same key in sibling objects", `[{"id":1},{"ID":2}]`, Options{}, []any{map[string]any{"id": json.Number("1")}, map[string]any{"ID": json.Number("2")}}},
		{"case collision allowed", `{"userId":"a","UserId":"b"}`, Options{AllowCaseCollidingKeys: true}, map[string]any{"userId": "a", "UserId": "b"}},
		{"tiny number", `[1e-400]`, Options{}, []any{json.Number("1e-400")}},
		{"largest double", `[1.7976931348623157e308]`, Options{}, []any{json.Number("1.7976931348623157e308")}},
		{"big integer literal", `[9007199254740993]`, Options{}, []any{json.Number("9007199254740993")}},
		{"deep within bound", strings.Repeat("[", 3) + strings.Repeat("]", 3), Options{MaxDepth: 3}, []any{[]any{[]any{}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := Decode([]byte(tc.in), tc.opts)
			if err != nil {
				t.Fatalf("Decode(%q): %v", tc.in, err)
			}
			if !reflect.DeepEqual(v, tc.want) {
				t.Fatalf("Decode(%q) = %#v, want %#v", tc.in, v, tc.want)
			}
		})
	}
	// Exact duplicates stay refused when case collisions are allowed.
	if _, err := Decode([]byte(`{"a":1,"a":1}`), Options{AllowCaseCollidingKeys: true}); err == nil {
		t.Fatal("duplicate key accepted with AllowCaseCollidingKeys")
	}
}

// FuzzAgreesWithEncodingJSON: whatever Decode accepts, encoding/json reads
// to the same value, and a Go struct reading it case-insensitively sees the
// same member as an exact-name reader (no member it did not check).
func FuzzAgreesWithEncodingJSON(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `{"userId":"a","UserId":"b"}`, `["\ud800"]`, `[1e400]`, "\xEF\xBB\xBF{}", `{"a":{"a":[1,2,{"b":null}]}}`, `"\u00e9"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := Decode(data, Options{})
		if err != nil {
			return
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var w any
		if err := dec.Decode(&w); err != nil {
			t.Fatalf("Decode accepted %q, encoding/json refuses it: %v", data, err)
		}
		if !reflect.DeepEqual(v, w) {
			t.Fatalf("Decode(%q) = %#v, encoding/json %#v", data, v, w)
		}
		if obj, ok := v.(map[string]any); ok {
			// Go structs match member names with strings.EqualFold: with no
			// two names folding together, each struct field has at most one
			// candidate member.
			names := make([]string, 0, len(obj))
			for k := range obj {
				for _, n := range names {
					if strings.EqualFold(n, k) {
						t.Fatalf("Decode accepted %q with %q and %q", data, n, k)
					}
				}
				names = append(names, k)
			}
		}
	})
}

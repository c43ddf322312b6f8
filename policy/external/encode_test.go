package external

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"
)

// TestEncodingMatchesEncodingJSON: what the hand-written encoder writes
// decodes to what json.Marshal's output decodes to, so the decision point
// reads the input a standard encoder would have sent.
func TestEncodingMatchesEncodingJSON(t *testing.T) {
	weird := "a\"b\\c\n\t\r\x00\x1f<>&\u2028\u2029é😀\xff"
	cases := map[string]*Input{
		"empty":   {},
		"graphql": graphqlInput("Query.me", "User.email"),
		"weird strings": {
			Identity: Identity{Kind: weird, Subject: weird, Scopes: []string{weird}, Claims: map[string]any{weird: weird, "n": 1.5, "big": 1e21, "small": 1e-7, "neg": math.Copysign(0, -1), "int": 3.0, "list": []any{true, nil, "x", map[string]any{"z": 1.0, "a": 2.0}}}},
			Route:    weird, Protocol: "graphql", Operation: &Operation{Type: "query"}, ClientIP: "::1",
			Coordinates: []Coordinate{{Coordinate: "Mutation.login", Path: []any{"a", "b"}, Arguments: map[string]any{"password": weird, "n": 12345678901234567890.0}}},
			Headers:     map[string]string{"x-b": weird, "x-a": ""},
		},
		"rest": {
			Protocol: "rest", ClientIP: "192.0.2.1",
			REST: &RESTOperation{OperationID: "createOrder", Method: "POST", Path: "/orders/1", PathParams: map[string]string{"id": "1"},
				Query: map[string][]string{"b": {"2", "3"}, "a": {"1"}}, Body: map[string]any{"items": []any{map[string]any{"sku": "x", "qty": 2.0}}}},
		},
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := appendRequest(nil, in)
			if err != nil {
				t.Fatal(err)
			}
			want, err := json.Marshal(struct {
				Input *Input `json:"input"`
			}{in})
			if err != nil {
				t.Fatal(err)
			}
			var g, w any
			if err := json.Unmarshal(got, &g); err != nil {
				t.Fatalf("not JSON: %v\n%s", err, got)
			}
			_ = json.Unmarshal(want, &w)
			if !reflect.DeepEqual(g, w) {
				t.Fatalf("encoded\n%s\nencoding/json\n%s", got, want)
			}
		})
	}
}

func TestEncodingRefuses(t *testing.T) {
	deep := any("x")
	for i := 0; i < maxDepth+2; i++ {
		deep = []any{deep}
	}
	for name, v := range map[string]any{"NaN": math.NaN(), "Inf": math.Inf(1), "too deep": deep} {
		t.Run(name, func(t *testing.T) {
			in := graphqlInput()
			in.Coordinates = []Coordinate{{Coordinate: "Q.f", Arguments: map[string]any{"a": v}}}
			if _, err := appendRequest(nil, in); err == nil {
				t.Fatal("encoded")
			}
		})
	}
}

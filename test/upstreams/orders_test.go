package upstreams_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"

	"github.com/portcullis-gw/portcullis/test/upstreams"
	"github.com/portcullis-gw/portcullis/test/upstreams/orders"
)

// specDoc decodes the embedded OpenAPI document into JSON values.
func specDoc(t *testing.T) map[string]any {
	t.Helper()
	var y any
	if err := yaml.Unmarshal(orders.Spec(), &y); err != nil {
		t.Fatalf("decoding spec: %v", err)
	}
	// A JSON round trip gives the JSON number and map types jsonschema expects.
	raw, err := json.Marshal(y)
	if err != nil {
		t.Fatalf("encoding spec as JSON: %v", err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("decoding spec JSON: %v", err)
	}
	m, ok := doc.(map[string]any)
	if !ok {
		t.Fatalf("spec is %T, want an object", doc)
	}
	return m
}

// specSchemas compiles the document's component schemas; OpenAPI 3.1 schemas
// are JSON Schema 2020-12, so they validate real responses directly.
func specSchemas(t *testing.T) func(name string) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	if err := c.AddResource("orders.json", specDoc(t)); err != nil {
		t.Fatal(err)
	}
	return func(name string) *jsonschema.Schema {
		s, err := c.Compile("orders.json#/components/schemas/" + name)
		if err != nil {
			t.Fatalf("compiling %s: %v", name, err)
		}
		return s
	}
}

func TestSpecShape(t *testing.T) {
	doc := specDoc(t)
	if doc["openapi"] != "3.1.0" {
		t.Errorf("openapi = %v, want 3.1.0", doc["openapi"])
	}
	servers, _ := doc["servers"].([]any)
	if len(servers) != 1 || servers[0].(map[string]any)["url"] != orders.BasePath {
		t.Errorf("servers = %v, want one with url %s", servers, orders.BasePath)
	}
	var ops []string
	costed := 0
	paths, _ := doc["paths"].(map[string]any)
	for path, item := range paths {
		for method, op := range item.(map[string]any) {
			o, isOp := op.(map[string]any)
			if method == "parameters" || !isOp {
				continue
			}
			id, _ := o["operationId"].(string)
			if id == "" {
				t.Errorf("%s %s has no operationId", method, path)
			}
			if _, ok := o["x-portcullis-cost"]; ok {
				costed++
			}
			ops = append(ops, strings.ToUpper(method)+" "+path+" "+id)
		}
	}
	sort.Strings(ops)
	want := []string{
		"DELETE /orders/{id} deleteOrder",
		"GET /orders listOrders",
		"GET /orders/{id} getOrder",
		"GET /users/{id}/orders listUserOrders",
		"POST /orders createOrder",
	}
	if strings.Join(ops, "\n") != strings.Join(want, "\n") {
		t.Errorf("operations:\n%s\nwant:\n%s", strings.Join(ops, "\n"), strings.Join(want, "\n"))
	}
	if costed == 0 {
		t.Error("no operation has x-portcullis-cost")
	}
	schemes := doc["components"].(map[string]any)["securitySchemes"].(map[string]any)
	scopes := schemes["bearer"].(map[string]any)["flows"].(map[string]any)["clientCredentials"].(map[string]any)["scopes"].(map[string]any)
	for _, s := range []string{"orders:read", "orders:write"} {
		if _, ok := scopes[s]; !ok {
			t.Errorf("bearer scheme lacks scope %s", s)
		}
	}
	if k := schemes["apiKey"].(map[string]any); k["in"] != "header" || k["name"] != "X-API-Key" {
		t.Errorf("apiKey scheme = %v, want header X-API-Key", k)
	}
}

func TestOrdersEndpoints(t *testing.T) {
	schema := specSchemas(t)
	tests := []struct {
		name        string
		method      string
		path        string // under the base path
		contentType string
		header      http.Header
		body        string
		wantStatus  int
		wantSchema  string // component schema the body must match; "" for no body
		check       func(t *testing.T, resp *http.Response, body any)
	}{
		{name: "list", method: "GET", path: "/orders", wantStatus: 200, wantSchema: "OrderList",
			check: wantCount(5)},
		{name: "list with limit", method: "GET", path: "/orders?limit=2", wantStatus: 200, wantSchema: "OrderList",
			check: wantIDs(5, 4)},
		{name: "list by status", method: "GET", path: "/orders?status=pending", wantStatus: 200, wantSchema: "OrderList",
			check: wantIDs(5, 3)},
		{name: "list limit too large", method: "GET", path: "/orders?limit=101", wantStatus: 400, wantSchema: "Problem"},
		{name: "list limit zero", method: "GET", path: "/orders?limit=0", wantStatus: 400, wantSchema: "Problem"},
		{name: "list unknown status", method: "GET", path: "/orders?status=lost", wantStatus: 400, wantSchema: "Problem"},
		{name: "get", method: "GET", path: "/orders/3", wantStatus: 200, wantSchema: "Order",
			check: func(t *testing.T, _ *http.Response, body any) {
				if total := body.(map[string]any)["total"]; total != json.Number("190") {
					t.Errorf("total = %v, want 190", total)
				}
			}},
		{name: "get unknown", method: "GET", path: "/orders/999", wantStatus: 404, wantSchema: "Problem"},
		{name: "get non-integer id", method: "GET", path: "/orders/abc", wantStatus: 400, wantSchema: "Problem"},
		{name: "user orders", method: "GET", path: "/users/2/orders", wantStatus: 200, wantSchema: "OrderList",
			check: wantIDs(3, 2)},
		{name: "user without orders", method: "GET", path: "/users/4/orders", wantStatus: 200, wantSchema: "OrderList",
			check: wantCount(0)},
		{name: "create", method: "POST", path: "/orders", contentType: "application/json",
			body:       `{"userId":"4","items":[{"sku":"3","quantity":2,"unitPrice":54}],"note":null}`,
			wantStatus: 201, wantSchema: "Order",
			check: func(t *testing.T, resp *http.Response, body any) {
				o := body.(map[string]any)
				if o["id"] != json.Number("6") || o["total"] != json.Number("108") || o["status"] != "pending" {
					t.Errorf("order = %v, want id 6, total 108, pending", o)
				}
				if loc := resp.Header.Get("Location"); loc != "/v1/orders/6" {
					t.Errorf("Location = %q, want /v1/orders/6", loc)
				}
			}},
		{name: "create with note", method: "POST", path: "/orders", contentType: "application/json; charset=utf-8",
			body:       `{"userId":"1","items":[{"sku":"1","quantity":1,"unitPrice":899}],"note":"gift"}`,
			wantStatus: 201, wantSchema: "Order"},
		{name: "create refuses unknown field", method: "POST", path: "/orders", contentType: "application/json",
			body: `{"userId":"4","items":[{"sku":"3","quantity":1,"unitPrice":1}],"admin":true}`, wantStatus: 400, wantSchema: "Problem"},
		{name: "create requires userId", method: "POST", path: "/orders", contentType: "application/json",
			body: `{"items":[{"sku":"3","quantity":1,"unitPrice":1}]}`, wantStatus: 400, wantSchema: "Problem"},
		{name: "create requires items", method: "POST", path: "/orders", contentType: "application/json",
			body: `{"userId":"4","items":[]}`, wantStatus: 400, wantSchema: "Problem"},
		{name: "create refuses trailing data", method: "POST", path: "/orders", contentType: "application/json",
			body: `{"userId":"4","items":[{"sku":"3","quantity":1,"unitPrice":1}]} {}`, wantStatus: 400, wantSchema: "Problem"},
		{name: "create refuses a non-JSON body", method: "POST", path: "/orders", contentType: "text/plain",
			body: `{"userId":"4","items":[{"sku":"3","quantity":1,"unitPrice":1}]}`, wantStatus: 415, wantSchema: "Problem"},
		{name: "create refuses a bad idempotency key", method: "POST", path: "/orders", contentType: "application/json",
			header: http.Header{"Idempotency-Key": {"a b"}},
			body:   `{"userId":"4","items":[{"sku":"3","quantity":1,"unitPrice":1}]}`, wantStatus: 400, wantSchema: "Problem"},
		{name: "delete", method: "DELETE", path: "/orders/1", wantStatus: 204},
		{name: "delete unknown", method: "DELETE", path: "/orders/999", wantStatus: 404, wantSchema: "Problem"},
		{name: "undocumented path", method: "GET", path: "/invoices", wantStatus: 404, wantSchema: "Problem"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// A fresh set per case keeps the expected ids independent of order.
			set := upstreams.StartAll(t)
			req, err := http.NewRequest(tc.method, set.Orders.Endpoint+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			for k, v := range tc.header {
				req.Header[k] = v
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			raw, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status %d, want %d; body %s", resp.StatusCode, tc.wantStatus, raw)
			}
			if tc.wantSchema == "" {
				if len(raw) != 0 {
					t.Errorf("body %q, want none", raw)
				}
				return
			}
			wantType := "application/json"
			if tc.wantSchema == "Problem" {
				wantType = "application/problem+json"
			}
			if ct := resp.Header.Get("Content-Type"); ct != wantType {
				t.Errorf("Content-Type %q, want %q", ct, wantType)
			}
			body, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
			if err != nil {
				t.Fatalf("decoding %s: %v", raw, err)
			}
			if err := schema(tc.wantSchema).Validate(body); err != nil {
				t.Errorf("body does not match %s: %v\n%s", tc.wantSchema, err, raw)
			}
			if tc.check != nil {
				tc.check(t, resp, body)
			}
		})
	}
}

func TestOrdersDeleteThenGetIsNotFound(t *testing.T) {
	set := upstreams.StartAll(t)
	do := func(method string) int {
		req, err := http.NewRequest(method, set.Orders.Endpoint+"/orders/2", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	for _, step := range []struct {
		method string
		want   int
	}{{"GET", 200}, {"DELETE", 204}, {"GET", 404}, {"DELETE", 404}} {
		if got := do(step.method); got != step.want {
			t.Fatalf("%s: status %d, want %d", step.method, got, step.want)
		}
	}
}

func TestOrdersIdempotencyKeyReplaysTheOrder(t *testing.T) {
	set := upstreams.StartAll(t)
	post := func() map[string]any {
		req, err := http.NewRequest("POST", set.Orders.Endpoint+"/orders",
			strings.NewReader(`{"userId":"3","items":[{"sku":"4","quantity":1,"unitPrice":35}]}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", "k-1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var o map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&o); err != nil {
			t.Fatal(err)
		}
		return o
	}
	first, second := post(), post()
	if first["id"] != second["id"] {
		t.Errorf("retry placed order %v, want the first one %v", second["id"], first["id"])
	}
}

func wantIDs(ids ...int) func(*testing.T, *http.Response, any) {
	return func(t *testing.T, _ *http.Response, body any) {
		t.Helper()
		list := body.(map[string]any)["orders"].([]any)
		var got []string
		for _, o := range list {
			got = append(got, string(o.(map[string]any)["id"].(json.Number)))
		}
		var want []string
		for _, id := range ids {
			want = append(want, strconv.Itoa(id))
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("ids %v, want %v", got, want)
		}
	}
}

func wantCount(n int) func(*testing.T, *http.Response, any) {
	return func(t *testing.T, _ *http.Response, body any) {
		t.Helper()
		m := body.(map[string]any)
		if m["count"] != json.Number(strconv.Itoa(n)) || len(m["orders"].([]any)) != n {
			t.Errorf("count %v with %d orders, want %d", m["count"], len(m["orders"].([]any)), n)
		}
	}
}

// TestSpecSchemasRefuseWrongShapes proves the shape checks above can fail.
func TestSpecSchemasRefuseWrongShapes(t *testing.T) {
	schema := specSchemas(t)
	tests := []struct {
		name, schema, body string
	}{
		{"extra property", "Order", `{"id":1,"userId":"1","status":"paid","items":[],"total":0,"note":null,"createdAt":"2025-03-01T10:00:00Z","admin":true}`},
		{"missing note", "Order", `{"id":1,"userId":"1","status":"paid","items":[],"total":0,"createdAt":"2025-03-01T10:00:00Z"}`},
		{"unknown status", "Order", `{"id":1,"userId":"1","status":"lost","items":[],"total":0,"note":null,"createdAt":"2025-03-01T10:00:00Z"}`},
		{"bad date", "Order", `{"id":1,"userId":"1","status":"paid","items":[],"total":0,"note":null,"createdAt":"yesterday"}`},
		{"note not string or null", "NewOrder", `{"userId":"1","items":[{"sku":"1","quantity":1,"unitPrice":1}],"note":5}`},
		{"list without count", "OrderList", `{"orders":[]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := jsonschema.UnmarshalJSON(strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if err := schema(tc.schema).Validate(v); err == nil {
				t.Errorf("%s accepted %s", tc.schema, tc.body)
			}
		})
	}
}

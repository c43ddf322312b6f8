package rest

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/portcullis-gw/portcullis/schema/openapi"
)

func route(t testing.TB, file string, opts Options) *Route {
	t.Helper()
	d, err := openapi.Load("testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	r, err := New(d, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

var orderDocs = []string{"orders30.yaml", "orders31.yaml"}

func TestMatch(t *testing.T) {
	cases := []struct {
		name, method, path string
		status             int
		code, opID         string
		allow              []string
		params             map[string]string
	}{
		{"list", "GET", "/v1/orders", 0, "", "listOrders", nil, nil},
		{"templated", "GET", "/v1/orders/42", 0, "", "getOrder", nil, map[string]string{"id": "42"}},
		{"raw param kept", "GET", "/v1/users/a%20b/orders", 0, "", "listUserOrders", nil, map[string]string{"id": "a%20b"}},
		{"unknown path", "GET", "/v1/invoices", 404, CodeNotFound, "", nil, nil},
		{"outside base path", "GET", "/orders", 404, CodeNotFound, "", nil, nil},
		{"too many segments", "GET", "/v1/orders/1/x", 404, CodeNotFound, "", nil, nil},
		{"undocumented method", "PUT", "/v1/orders/1", 405, CodeMethodNotAllowed, "", []string{"DELETE", "GET"}, nil},
		{"undocumented method on collection", "DELETE", "/v1/orders", 405, CodeMethodNotAllowed, "", []string{"GET", "POST"}, nil},
		{"dot segment", "GET", "/v1/orders/../orders", 400, CodeUnsafePath, "", nil, nil},
		{"single dot", "GET", "/v1/./orders", 400, CodeUnsafePath, "", nil, nil},
		{"encoded dot segment", "GET", "/v1/orders/%2e%2e/orders", 400, CodeUnsafePath, "", nil, nil},
		{"encoded dot in value", "GET", "/v1/users/a%2Eb/orders", 400, CodeUnsafePath, "", nil, nil},
		{"empty segment", "GET", "/v1//orders", 400, CodeUnsafePath, "", nil, nil},
		{"trailing slash", "GET", "/v1/orders/", 400, CodeUnsafePath, "", nil, nil},
		{"encoded slash", "GET", "/v1/users/a%2Fb/orders", 400, CodeUnsafePath, "", nil, nil},
		{"encoded backslash", "GET", "/v1/users/a%5Cb/orders", 400, CodeUnsafePath, "", nil, nil},
		{"raw backslash", "GET", "/v1/orders\\1", 400, CodeUnsafePath, "", nil, nil},
		{"matrix parameter", "GET", "/v1/orders;x=1", 400, CodeUnsafePath, "", nil, nil},
		{"encoded semicolon", "GET", "/v1/orders%3Bx", 400, CodeUnsafePath, "", nil, nil},
		{"double encoding", "GET", "/v1/users/%252e/orders", 400, CodeUnsafePath, "", nil, nil},
		{"invalid UTF-8", "GET", "/v1/users/%ff/orders", 400, CodeUnsafePath, "", nil, nil},
		{"overlong UTF-8 slash", "GET", "/v1/users/%c0%af/orders", 400, CodeUnsafePath, "", nil, nil},
		{"encoded NUL", "GET", "/v1/users/a%00/orders", 400, CodeUnsafePath, "", nil, nil},
		{"malformed escape", "GET", "/v1/users/a%zz/orders", 400, CodeUnsafePath, "", nil, nil},
		{"case variant literal", "GET", "/v1/Orders", 400, CodeUnsafePath, "", nil, nil},
		{"case variant base path", "GET", "/V1/orders", 400, CodeUnsafePath, "", nil, nil},
		{"case variant under template", "GET", "/v1/users/x/ORDERS", 400, CodeUnsafePath, "", nil, nil},
		{"relative path", "GET", "v1/orders", 400, CodeUnsafePath, "", nil, nil},
		{"too long", "GET", "/v1/" + strings.Repeat("a", maxPathBytes), 400, CodeUnsafePath, "", nil, nil},
	}
	for _, doc := range orderDocs {
		r := route(t, doc, Options{})
		for _, c := range cases {
			t.Run(doc+"/"+c.name, func(t *testing.T) {
				op, f := r.Match(c.method, c.path)
				if c.status == 0 {
					if f != nil {
						t.Fatalf("refused: %+v", f)
					}
					if op.ID() != c.opID {
						t.Fatalf("matched %q, want %q", op.ID(), c.opID)
					}
					for k, v := range c.params {
						if op.PathParams[k] != v {
							t.Fatalf("param %s = %q, want %q", k, op.PathParams[k], v)
						}
					}
					return
				}
				if f == nil {
					t.Fatalf("matched %q, want %d", op.ID(), c.status)
				}
				if f.Status != c.status || f.Code != c.code || !slices.Equal(f.Allow, c.allow) {
					t.Fatalf("got %d %s allow=%v, want %d %s allow=%v", f.Status, f.Code, f.Allow, c.status, c.code, c.allow)
				}
			})
		}
	}
}

func TestMatchSpecificity(t *testing.T) {
	r := route(t, "feat31.yaml", Options{})
	cases := []struct{ path, op string }{
		{"/v2/things/mine", "myThings"},
		{"/v2/things/7", "getThing"},
		{"/v2/files/report.json", "getFile"},
	}
	for _, c := range cases {
		t.Run(c.path, func(t *testing.T) {
			op, f := r.Match("GET", c.path)
			if f != nil || op.ID() != c.op {
				t.Fatalf("got %v %+v, want %s", op, f, c.op)
			}
		})
	}
	if _, f := r.Match("GET", "/v2/files/.json"); f == nil || f.Status != 404 {
		t.Fatalf("empty templated value matched: %+v", f)
	}
}

type reqCase struct {
	name, method, target, ctype, body string
	header                            map[string]string
	status                            int
	code                              string
	pointers                          []string
	repeat                            bool // send each header twice, with another value
}

func runValidate(t *testing.T, r *Route, cases []reqCase, prefix string) {
	for _, c := range cases {
		t.Run(prefix+c.name, func(t *testing.T) {
			req := httptest.NewRequest(c.method, "http://gw"+c.target, nil)
			if c.ctype != "" {
				req.Header.Set("Content-Type", c.ctype)
			}
			for k, v := range c.header {
				req.Header.Add(k, v)
				if c.repeat {
					req.Header.Add(k, v+"x")
				}
			}
			op, f := r.Match(c.method, req.URL.EscapedPath())
			if f != nil {
				t.Fatalf("match refused: %+v", f)
			}
			f = r.Validate(op, req, []byte(c.body))
			if c.status == 0 {
				if f != nil {
					t.Fatalf("refused: %+v", f)
				}
				return
			}
			if f == nil {
				t.Fatalf("accepted, want %d", c.status)
			}
			if f.Status != c.status || f.Code != c.code {
				t.Fatalf("got %d %s, want %d %s (%+v)", f.Status, f.Code, c.status, c.code, f)
			}
			var got []string
			for _, e := range f.Errors {
				got = append(got, e.Pointer)
			}
			for _, p := range c.pointers {
				if !slices.Contains(got, p) {
					t.Fatalf("pointers %v lack %q (%+v)", got, p, f.Errors)
				}
			}
		})
	}
}

const goodOrder = `{"userId":"u1","items":[{"sku":"a","quantity":1,"unitPrice":5}],"note":null}`

func TestValidateOrders(t *testing.T) {
	cases := []reqCase{
		{name: "list ok", method: "GET", target: "/v1/orders?limit=10&status=paid"},
		{name: "limit not integer", method: "GET", target: "/v1/orders?limit=abc", status: 400, code: CodeValidation, pointers: []string{"/query/limit"}},
		{name: "limit fractional", method: "GET", target: "/v1/orders?limit=1.5", status: 400, code: CodeValidation, pointers: []string{"/query/limit"}},
		{name: "limit above maximum", method: "GET", target: "/v1/orders?limit=1000", status: 400, code: CodeValidation, pointers: []string{"/query/limit"}},
		{name: "status outside enum", method: "GET", target: "/v1/orders?status=lost", status: 400, code: CodeValidation, pointers: []string{"/query/status"}},
		{name: "repeated scalar", method: "GET", target: "/v1/orders?limit=1&limit=2", status: 400, code: CodeValidation, pointers: []string{"/query/limit"}},
		{name: "unknown query refused", method: "GET", target: "/v1/orders?admin=true", status: 400, code: CodeValidation, pointers: []string{"/query/admin"}},
		{name: "malformed query", method: "GET", target: "/v1/orders?limit=%zz", status: 400, code: CodeValidation, pointers: []string{"/query"}},
		{name: "path not integer", method: "GET", target: "/v1/orders/abc", status: 400, code: CodeValidation, pointers: []string{"/path/id"}},
		{name: "path below minimum", method: "GET", target: "/v1/orders/0", status: 400, code: CodeValidation, pointers: []string{"/path/id"}},
		{name: "path int64 overflow", method: "GET", target: "/v1/orders/99999999999999999999", status: 400, code: CodeValidation, pointers: []string{"/path/id"}},
		{name: "path pattern", method: "GET", target: "/v1/users/a%20b/orders", status: 400, code: CodeValidation, pointers: []string{"/path/id"}},
		{name: "create ok", method: "POST", target: "/v1/orders", ctype: "application/json", body: goodOrder},
		{name: "create charset ok", method: "POST", target: "/v1/orders", ctype: "application/json; charset=utf-8", body: goodOrder},
		{name: "missing body", method: "POST", target: "/v1/orders", ctype: "application/json", status: 400, code: CodeValidation, pointers: []string{"/body"}},
		{name: "wrong content type", method: "POST", target: "/v1/orders", ctype: "text/plain", body: goodOrder, status: 415, code: CodeUnsupportedMedia},
		{name: "no content type", method: "POST", target: "/v1/orders", body: goodOrder, status: 415, code: CodeUnsupportedMedia},
		{name: "missing required property", method: "POST", target: "/v1/orders", ctype: "application/json", body: `{"userId":"u1"}`, status: 400, code: CodeValidation, pointers: []string{"/body"}},
		{name: "nested pointer", method: "POST", target: "/v1/orders", ctype: "application/json", body: `{"userId":"u1","items":[{"sku":"a","quantity":0,"unitPrice":5}]}`, status: 400, code: CodeValidation, pointers: []string{"/body/items/0/quantity"}},
		{name: "nullable wrong type", method: "POST", target: "/v1/orders", ctype: "application/json", body: `{"userId":"u1","items":[{"sku":"a","quantity":1,"unitPrice":5}],"note":7}`, status: 400, code: CodeValidation, pointers: []string{"/body/note"}},
		{name: "additional property", method: "POST", target: "/v1/orders", ctype: "application/json", body: `{"userId":"u1","items":[{"sku":"a","quantity":1,"unitPrice":5}],"admin":true}`, status: 400, code: CodeValidation, pointers: []string{"/body"}},
		{name: "duplicate key", method: "POST", target: "/v1/orders", ctype: "application/json", body: `{"userId":"evil!","userId":"u1","items":[{"sku":"a","quantity":1,"unitPrice":5}]}`, status: 400, code: CodeValidation, pointers: []string{"/body"}},
		{name: "too deep", method: "POST", target: "/v1/orders", ctype: "application/json", body: strings.Repeat("[", 65) + strings.Repeat("]", 65), status: 400, code: CodeValidation, pointers: []string{"/body"}},
		{name: "trailing garbage", method: "POST", target: "/v1/orders", ctype: "application/json", body: goodOrder + `{}`, status: 400, code: CodeValidation, pointers: []string{"/body"}},
		{name: "header pattern", method: "POST", target: "/v1/orders", ctype: "application/json", body: goodOrder, header: map[string]string{"Idempotency-Key": "bad key!"}, status: 400, code: CodeValidation, pointers: []string{"/header/Idempotency-Key"}},
		{name: "repeated header", method: "POST", target: "/v1/orders", ctype: "application/json", body: goodOrder, header: map[string]string{"Idempotency-Key": "k1"}, status: 400, code: CodeValidation, pointers: []string{"/header/Idempotency-Key"}, repeat: true},
		{name: "body on bodiless operation", method: "GET", target: "/v1/orders/1", ctype: "application/json", body: `{}`, status: 400, code: CodeValidation, pointers: []string{"/body"}},
	}
	for _, doc := range orderDocs {
		runValidate(t, route(t, doc, Options{}), cases, doc+"/")
	}
	t.Run("unknown query allowed by option", func(t *testing.T) {
		runValidate(t, route(t, "orders31.yaml", Options{AllowUnknownQuery: true}),
			[]reqCase{{name: "extra", method: "GET", target: "/v1/orders?utm=1"}}, "")
	})
}

func multipartBody(t *testing.T, parts map[string][2]string) (string, string) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for name, p := range parts {
		h := make(map[string][]string)
		h["Content-Disposition"] = []string{`form-data; name="` + name + `"`}
		if p[1] != "" {
			h["Content-Type"] = []string{p[1]}
		}
		pw, err := w.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		pw.Write([]byte(p[0]))
	}
	w.Close()
	return w.FormDataContentType(), buf.String()
}

func TestValidate31Features(t *testing.T) {
	trace := map[string]string{"X-Trace": "0b9e3f3e-3c4a-4d2a-9d3c-1f2e3d4c5b6a"}
	mpOK, mpOKBody := multipartBody(t, map[string][2]string{"file": {"bytes", "application/octet-stream"}, "meta": {`{"kind":"widget"}`, "application/json"}})
	mpBad, mpBadBody := multipartBody(t, map[string][2]string{"meta": {`{"kind":"gadget"}`, "application/json"}})
	cases := []reqCase{
		{name: "null allowed", method: "POST", target: "/v2/things", ctype: "application/json", body: `{"note":null}`, header: trace},
		{name: "type array refuses number", method: "POST", target: "/v2/things", ctype: "application/json", body: `{"note":5}`, header: trace, status: 400, code: CodeValidation, pointers: []string{"/body/note"}},
		{name: "const", method: "POST", target: "/v2/things", ctype: "application/json", body: `{"kind":"gadget"}`, header: trace, status: 400, code: CodeValidation, pointers: []string{"/body/kind"}},
		{name: "prefixItems ok", method: "POST", target: "/v2/things", ctype: "application/json", body: `{"pair":["a",1]}`, header: trace},
		{name: "prefixItems type", method: "POST", target: "/v2/things", ctype: "application/json", body: `{"pair":["a","b"]}`, header: trace, status: 400, code: CodeValidation, pointers: []string{"/body/pair/1"}},
		{name: "prefixItems extra item", method: "POST", target: "/v2/things", ctype: "application/json", body: `{"pair":["a",1,2]}`, header: trace, status: 400, code: CodeValidation, pointers: []string{"/body/pair/2"}},
		{name: "ref sibling", method: "POST", target: "/v2/things", ctype: "application/json", body: `{"code":"abcdef"}`, header: trace, status: 400, code: CodeValidation, pointers: []string{"/body/code"}},
		{name: "depth 64 ok", method: "POST", target: "/v2/things", ctype: "application/json", body: `{"nested":` + strings.Repeat("[", 63) + strings.Repeat("]", 63) + `}`, header: trace},
		{name: "depth 65 refused", method: "POST", target: "/v2/things", ctype: "application/json", body: `{"nested":` + strings.Repeat("[", 64) + strings.Repeat("]", 64) + `}`, header: trace, status: 400, code: CodeValidation, pointers: []string{"/body"}},
		{name: "duplicate nested key", method: "POST", target: "/v2/things", ctype: "application/json", body: `{"nested":{"a":1,"a":2}}`, header: trace, status: 400, code: CodeValidation, pointers: []string{"/body"}},
		{name: "invalid UTF-8 body", method: "POST", target: "/v2/things", ctype: "application/json", body: "{\"note\":\"\xff\"}", header: trace, status: 400, code: CodeValidation, pointers: []string{"/body"}},
		{name: "form explode=false array", method: "POST", target: "/v2/things?tags=a,b", ctype: "application/json", body: `{}`, header: trace},
		{name: "form explode=false enum", method: "POST", target: "/v2/things?tags=a,z", ctype: "application/json", body: `{}`, header: trace, status: 400, code: CodeValidation, pointers: []string{"/query/tags/1"}},
		{name: "form explode array", method: "POST", target: "/v2/things?ids=1&ids=2", ctype: "application/json", body: `{}`, header: trace},
		{name: "form explode array item type", method: "POST", target: "/v2/things?ids=1&ids=x", ctype: "application/json", body: `{}`, header: trace, status: 400, code: CodeValidation, pointers: []string{"/query/ids/1"}},
		{name: "deepObject", method: "POST", target: "/v2/things?filter[min]=3", ctype: "application/json", body: `{}`, header: trace},
		{name: "deepObject type", method: "POST", target: "/v2/things?filter[min]=x", ctype: "application/json", body: `{}`, header: trace, status: 400, code: CodeValidation, pointers: []string{"/query/filter/min"}},
		{name: "deepObject unknown property", method: "POST", target: "/v2/things?filter[max]=3", ctype: "application/json", body: `{}`, header: trace, status: 400, code: CodeValidation, pointers: []string{"/query/filter"}},
		{name: "pipeDelimited", method: "POST", target: "/v2/things?pipes=a|b", ctype: "application/json", body: `{}`, header: trace},
		{name: "format date", method: "POST", target: "/v2/things?day=2025-13-45", ctype: "application/json", body: `{}`, header: trace, status: 400, code: CodeValidation, pointers: []string{"/query/day"}},
		{name: "format int32", method: "POST", target: "/v2/things?small=3000000000", ctype: "application/json", body: `{}`, header: trace, status: 400, code: CodeValidation, pointers: []string{"/query/small"}},
		{name: "required header missing", method: "POST", target: "/v2/things", ctype: "application/json", body: `{}`, status: 400, code: CodeValidation, pointers: []string{"/header/X-Trace"}},
		{name: "header format uuid", method: "POST", target: "/v2/things", ctype: "application/json", body: `{}`, header: map[string]string{"X-Trace": "nope"}, status: 400, code: CodeValidation, pointers: []string{"/header/X-Trace"}},
		{name: "cookie ok", method: "POST", target: "/v2/things", ctype: "application/json", body: `{}`, header: map[string]string{"X-Trace": trace["X-Trace"], "Cookie": "session=abc123"}},
		{name: "cookie pattern", method: "POST", target: "/v2/things", ctype: "application/json", body: `{}`, header: map[string]string{"X-Trace": trace["X-Trace"], "Cookie": "session=XYZ"}, status: 400, code: CodeValidation, pointers: []string{"/cookie/session"}},
		{name: "form body ok", method: "POST", target: "/v2/things", ctype: "application/x-www-form-urlencoded", body: "name=ab&count=2", header: trace},
		{name: "form body type", method: "POST", target: "/v2/things", ctype: "application/x-www-form-urlencoded", body: "name=ab&count=x", header: trace, status: 400, code: CodeValidation, pointers: []string{"/body/count"}},
		{name: "form body required", method: "POST", target: "/v2/things", ctype: "application/x-www-form-urlencoded", body: "count=2", header: trace, status: 400, code: CodeValidation, pointers: []string{"/body"}},
		{name: "multipart ok", method: "POST", target: "/v2/things", ctype: mpOK, body: mpOKBody, header: trace},
		{name: "multipart invalid", method: "POST", target: "/v2/things", ctype: mpBad, body: mpBadBody, header: trace, status: 400, code: CodeValidation, pointers: []string{"/body", "/body/meta/kind"}},
		{name: "simple array path", method: "GET", target: "/v2/grid/1,2"},
		{name: "simple array path item", method: "GET", target: "/v2/grid/1,x", status: 400, code: CodeValidation, pointers: []string{"/path/coords/1"}},
		{name: "path with suffix", method: "GET", target: "/v2/files/abcdefghijklmno.json", status: 400, code: CodeValidation, pointers: []string{"/path/name"}},
	}
	runValidate(t, route(t, "feat31.yaml", Options{}), cases, "")
}

func TestSecurity(t *testing.T) {
	anon := Caller{}
	readToken := Caller{Authenticated: true, Kind: KindToken, Scopes: []string{"orders:read"}}
	writeToken := Caller{Authenticated: true, Kind: KindToken, Scopes: []string{"orders:read", "orders:write"}}
	key := Caller{Authenticated: true, Kind: KindAPIKey, APIKeyName: "partner", Scopes: []string{"orders:write"}}
	cases := []struct {
		name, doc, method, path string
		caller                  Caller
		status                  int
		code                    string
	}{
		{"anonymous refused", "orders31.yaml", "GET", "/v1/orders", anon, 401, CodeUnauthenticated},
		{"scope satisfies first alternative", "orders31.yaml", "GET", "/v1/orders", readToken, 0, ""},
		{"api key satisfies second alternative", "orders31.yaml", "GET", "/v1/orders", key, 0, ""},
		{"operation security overrides document", "orders31.yaml", "POST", "/v1/orders", readToken, 403, CodeForbidden},
		{"operation scope present", "orders31.yaml", "POST", "/v1/orders", writeToken, 0, ""},
		{"api key cannot satisfy oauth2", "orders31.yaml", "DELETE", "/v1/orders/1", key, 403, CodeForbidden},
		{"anonymous on scoped op", "orders30.yaml", "DELETE", "/v1/orders/1", anon, 401, CodeUnauthenticated},
		{"3.0 scope present", "orders30.yaml", "DELETE", "/v1/orders/1", writeToken, 0, ""},
		{"empty security open", "feat31.yaml", "POST", "/v2/things", anon, 0, ""},
		{"no security anywhere open", "feat31.yaml", "GET", "/v2/things/1", anon, 0, ""},
		{"AND: token alone insufficient", "feat31.yaml", "GET", "/v2/things/mine", Caller{Authenticated: true, Kind: KindToken, Scopes: []string{"things:read"}}, 403, CodeForbidden},
		{"AND: key alone insufficient", "feat31.yaml", "GET", "/v2/things/mine", Caller{Authenticated: true, Kind: KindAPIKey, Scopes: []string{"things:read"}}, 403, CodeForbidden},
		{"apiKey scopes required", "feat31.yaml", "GET", "/v2/files/a.json", Caller{Authenticated: true, Kind: KindAPIKey}, 403, CodeForbidden},
		{"apiKey scopes present", "feat31.yaml", "GET", "/v2/files/a.json", Caller{Authenticated: true, Kind: KindAPIKey, Scopes: []string{"files:read"}}, 0, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := route(t, c.doc, Options{})
			op, f := r.Match(c.method, c.path)
			if f != nil {
				t.Fatalf("match: %+v", f)
			}
			f = r.Security(op, c.caller)
			switch {
			case c.status == 0 && f != nil:
				t.Fatalf("refused: %+v", f)
			case c.status != 0 && (f == nil || f.Status != c.status || f.Code != c.code):
				t.Fatalf("got %+v, want %d %s", f, c.status, c.code)
			}
		})
	}
}

func TestCost(t *testing.T) {
	cases := []struct {
		doc, method, path string
		def, want         int
	}{
		{"orders31.yaml", "GET", "/v1/orders", 1, 5},
		{"orders31.yaml", "POST", "/v1/orders", 1, 10},
		{"orders31.yaml", "GET", "/v1/orders/1", 4, 4},
		{"orders30.yaml", "GET", "/v1/orders/1", 0, 1},
		{"feat31.yaml", "POST", "/v2/things", 1, 7},
	}
	for _, c := range cases {
		t.Run(c.doc+c.method+c.path, func(t *testing.T) {
			r := route(t, c.doc, Options{DefaultCost: c.def})
			op, f := r.Match(c.method, c.path)
			if f != nil {
				t.Fatal(f)
			}
			if got := r.Cost(op); got != c.want {
				t.Fatalf("cost %d, want %d", got, c.want)
			}
		})
	}
}

func TestIdempotent(t *testing.T) {
	cases := []struct {
		doc, method, path string
		want              bool
	}{
		{"orders31.yaml", "GET", "/v1/orders", true},
		{"orders31.yaml", "POST", "/v1/orders", false},
		{"orders31.yaml", "DELETE", "/v1/orders/1", false},
		{"feat31.yaml", "POST", "/v2/things", true}, // x-portcullis-idempotent: true
	}
	for _, c := range cases {
		t.Run(c.doc+c.method+c.path, func(t *testing.T) {
			r := route(t, c.doc, Options{})
			op, f := r.Match(c.method, c.path)
			if f != nil {
				t.Fatal(f)
			}
			if got := r.Idempotent(op); got != c.want {
				t.Fatalf("idempotent %v, want %v", got, c.want)
			}
		})
	}
}

func TestIdempotentExtensionChecked(t *testing.T) {
	d, err := openapi.Load("testdata/idempotent31.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, err = New(d, Options{})
	if err == nil || !strings.Contains(err.Error(), "paths./bad.post.x-portcullis-idempotent: must be true or false") {
		t.Fatalf("New = %v, want the non-boolean x-portcullis-idempotent refused with its path", err)
	}
}

func TestValidateResponse(t *testing.T) {
	order := `{"id":1,"userId":"u","status":"paid","items":[],"total":0,"note":null,"createdAt":"2025-03-01T10:00:00Z"}`
	jsonHdr := http.Header{"Content-Type": {"application/json"}}
	cases := []struct {
		name, doc, method, path string
		status                  int
		header                  http.Header
		body                    string
		pointers                []string
	}{
		{"documented ok", "orders31.yaml", "GET", "/v1/orders/1", 200, jsonHdr, order, nil},
		{"3.0 documented ok", "orders30.yaml", "GET", "/v1/orders/1", 200, jsonHdr, order, nil},
		{"undocumented status", "orders31.yaml", "GET", "/v1/orders/1", 500, jsonHdr, `{}`, []string{"/status"}},
		{"extra field leaks", "orders31.yaml", "GET", "/v1/orders/1", 200, jsonHdr, strings.Replace(order, `"id":1`, `"id":1,"ssn":"123"`, 1), []string{"/body"}},
		{"3.0 extra field leaks", "orders30.yaml", "GET", "/v1/orders/1", 200, jsonHdr, strings.Replace(order, `"id":1`, `"id":1,"ssn":"123"`, 1), []string{"/body"}},
		{"wrong type", "orders31.yaml", "GET", "/v1/orders/1", 200, jsonHdr, strings.Replace(order, `"total":0`, `"total":"0"`, 1), []string{"/body/total"}},
		{"undocumented content type", "orders31.yaml", "GET", "/v1/orders/1", 200, http.Header{"Content-Type": {"text/html"}}, `<p>`, []string{"/header/Content-Type"}},
		{"body where none documented", "orders31.yaml", "DELETE", "/v1/orders/1", 204, nil, `x`, []string{"/body"}},
		{"range response", "feat31.yaml", "GET", "/v2/things/1", 200, nil, ``, nil},
		{"4XX range", "feat31.yaml", "POST", "/v2/things", 404, nil, ``, nil},
		{"required header missing", "feat31.yaml", "POST", "/v2/things", 200, jsonHdr, `{"id":1}`, []string{"/header/X-Rate"}},
		{"header type", "feat31.yaml", "POST", "/v2/things", 200, http.Header{"Content-Type": {"application/json"}, "X-Rate": {"many"}}, `{"id":1}`, []string{"/header/X-Rate"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := route(t, c.doc, Options{})
			op, f := r.Match(c.method, c.path)
			if f != nil {
				t.Fatal(f)
			}
			f = r.ValidateResponse(op, c.status, c.header, []byte(c.body))
			if c.pointers == nil {
				if f != nil {
					t.Fatalf("refused: %+v", f)
				}
				return
			}
			if f == nil || f.Status != 502 || f.Code != CodeInvalidResponse {
				t.Fatalf("got %+v, want 502", f)
			}
			for _, p := range c.pointers {
				if !slices.ContainsFunc(f.Errors, func(e FieldError) bool { return e.Pointer == p }) {
					t.Fatalf("errors %+v lack %s", f.Errors, p)
				}
			}
		})
	}
}

// TestValidateBodyIntegrity: bodies that JSON readers take differently are
// refused, whatever the schema says (docs/security.md, "REST bodies: one
// reading for every back end"). The schema here allows additional
// properties, so only the reader's rules stand between "UserId" and a back
// end that matches names case-insensitively.
func TestValidateBodyIntegrity(t *testing.T) {
	post := func(name, body string, pointers ...string) reqCase {
		c := reqCase{name: name, method: "POST", target: "/v1/transfers", ctype: "application/json", body: body}
		if len(pointers) > 0 {
			c.status, c.code, c.pointers = 400, CodeValidation, pointers
		}
		return c
	}
	cases := []reqCase{
		post("ok", `{"userId":"alice","amount":5,"ledger":9223372036854775807,"ratio":1.5e3,"meta":{"role":"user"},"lines":[{"account":"alice","cents":-9007199254740991}]}`),
		post("case collision top level", `{"userId":"alice","UserId":"bob"}`, "/body"),
		post("case collision nested", `{"userId":"alice","meta":{"role":"user","Role":"admin"}}`, "/body"),
		post("case collision in array", `{"userId":"alice","lines":[{"account":"alice","ACCOUNT":"bob"}]}`, "/body"),
		post("case collision by Kelvin sign", "{\"userId\":\"alice\",\"meta\":{\"k\":1,\"\u212a\":2}}", "/body"),
		post("duplicate key", `{"userId":"bob","userId":"alice"}`, "/body"),
		post("lone surrogate", `{"userId":"alice","note":"\ud800"}`, "/body"),
		post("bom", "\xEF\xBB\xBF{\"userId\":\"alice\"}", "/body"),
		post("invalid utf-8", "{\"userId\":\"alice\",\"note\":\"\xed\xa0\x80\"}", "/body"),
		post("overflow anywhere", `{"userId":"alice","extra":1e400}`, "/body"),
		post("integer with fraction", `{"userId":"alice","amount":5.0}`, "/body/amount"),
		post("integer with exponent", `{"userId":"alice","amount":5e0}`, "/body/amount"),
		post("integer beyond 2^53-1", `{"userId":"alice","amount":9007199254740993}`, "/body/amount"),
		post("nested integer beyond 2^53-1", `{"userId":"alice","lines":[{"cents":-9007199254740992}]}`, "/body/lines/0/cents"),
		post("int64 beyond its range", `{"userId":"alice","ledger":9223372036854775808}`, "/body/ledger"),
	}
	runValidate(t, route(t, "bodies31.yaml", Options{}), cases, "")
	runValidate(t, route(t, "bodies31.yaml", Options{}), []reqCase{
		{name: "utf-16 charset", method: "POST", target: "/v1/transfers", ctype: "application/json; charset=utf-16", body: `{"userId":"alice"}`, status: 415, code: CodeUnsupportedMedia},
	}, "")
	t.Run("case collisions allowed by option", func(t *testing.T) {
		r := route(t, "bodies31.yaml", Options{AllowCaseCollidingKeys: true})
		runValidate(t, r, []reqCase{
			post("allowed", `{"userId":"alice","UserId":"bob","meta":{"role":"user","Role":"admin"}}`),
			post("duplicates still refused", `{"userId":"bob","userId":"alice"}`, "/body"),
		}, "")
	})
}

// TestSecurityKindMatrix: each credential kind against each scheme type;
// only the kind a scheme names satisfies it (docs/security.md, "Credential
// kinds and subject names").
func TestSecurityKindMatrix(t *testing.T) {
	r := route(t, "schemes31.yaml", Options{})
	callers := map[string]Caller{
		"token":                    {Authenticated: true, Kind: KindToken, Scopes: []string{"r"}},
		"api key":                  {Authenticated: true, Kind: KindAPIKey, APIKeyName: "k", Scopes: []string{"r"}},
		"client cert":              {Authenticated: true, Kind: KindClientCert, ClientCert: true},
		"token over a client cert": {Authenticated: true, Kind: KindToken, Scopes: []string{"r"}, ClientCert: true},
		"unknown kind":             {Authenticated: true, Kind: "oidc", Scopes: []string{"r"}},
	}
	allowed := map[string][]string{
		"/bearer":         {"token", "token over a client cert"},
		"/oauth2":         {"token", "token over a client cert"},
		"/oidc":           {"token", "token over a client cert"},
		"/apikey":         {"api key"},
		"/mtls":           {"client cert", "token over a client cert"},
		"/basic":          nil,
		"/token-and-cert": {"token over a client cert"},
	}
	for path, ok := range allowed {
		op, f := r.Match("GET", path)
		if f != nil {
			t.Fatalf("match %s: %+v", path, f)
		}
		for name, c := range callers {
			t.Run(path+"/"+name, func(t *testing.T) {
				f := r.Security(op, c)
				if slices.Contains(ok, name) {
					if f != nil {
						t.Fatalf("refused: %+v", f)
					}
					return
				}
				if f == nil || f.Status != 403 || f.Code != CodeForbidden {
					t.Fatalf("got %+v, want 403 %s", f, CodeForbidden)
				}
			})
		}
	}
}

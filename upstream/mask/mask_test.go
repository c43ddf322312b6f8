package mask

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

const leaky = `{"data":{"user":null,"n":1.50},"errors":[{"message":"column \"ssn\" does not exist at db01.internal:5432","path":["user"],"locations":[{"line":1,"column":3}],"stacktrace":["at Query.user (/srv/app/resolvers.js:42)"],"exception":{"stacktrace":["Error: ..."]},"extensions":{"code":"INTERNAL_SERVER_ERROR","exception":{"stacktrace":["Error at /srv"]},"serviceName":"accounts","traceId":"abc","retryable":true}}],"extensions":{"tracing":{"version":1},"queryPlan":"Fetch(service: accounts)"}}`

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("masked answer is not JSON: %v\n%s", err, b)
	}
	return v
}

func TestMaskGraphQLErrors(t *testing.T) {
	cases := []struct {
		name string
		m    GraphQL
		want string
	}{
		{"default", GraphQL{}, `{"data":{"n":1.5,"user":null},"errors":[{"extensions":{"code":"INTERNAL_SERVER_ERROR"},"locations":[{"column":3,"line":1}],"message":"column \"ssn\" does not exist at db01.internal:5432","path":["user"]}]}`},
		{"allowed extension", GraphQL{AllowExtensions: []string{"retryable", "tracing"}}, `{"data":{"n":1.5,"user":null},"errors":[{"extensions":{"code":"INTERNAL_SERVER_ERROR","retryable":true},"locations":[{"column":3,"line":1}],"message":"column \"ssn\" does not exist at db01.internal:5432","path":["user"]}],"extensions":{"tracing":{"version":1}}}`},
		{"masked messages", GraphQL{MaskMessages: true}, `{"data":{"n":1.5,"user":null},"errors":[{"extensions":{"code":"INTERNAL_SERVER_ERROR"},"locations":[{"column":3,"line":1}],"message":"` + GenericMessage + `","path":["user"]}]}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, masked, err := c.m.Answer([]byte(leaky))
			if err != nil {
				t.Fatal(err)
			}
			got, _ := json.Marshal(decode(t, out))
			if string(got) != c.want {
				t.Fatalf("masked =\n%s\nwant\n%s", got, c.want)
			}
			if strings.Contains(string(out), "stacktrace") || strings.Contains(string(out), "/srv") || strings.Contains(string(out), "queryPlan") {
				t.Fatalf("internals left in %s", out)
			}
			if len(masked) != 1 || !strings.Contains(masked[0].Message, "db01.internal") {
				t.Fatalf("masked = %+v: the original message must reach the log", masked)
			}
		})
	}
}

func TestMaskShapes(t *testing.T) {
	cases := []struct {
		name, in string
		want     string // "" = unchanged
		err      bool
	}{
		{"no errors is untouched", `{"data":{"a":1}}`, "", false},
		{"batch", `[{"data":{"a":1}},{"errors":[{"message":"x","stack":"y"}]}]`, `[{"data":{"a":1}},{"errors":[{"message":"x"}]}]`, false},
		{"html page", `<html><body>Whitelabel Error Page: java.lang.NullPointerException</body></html>`, "", true},
		{"empty", ``, "", true},
		{"truncated", `{"data":`, "", true},
		{"errors not a list", `{"errors":{"message":"x"}}`, "", true},
		{"code not a string is dropped", `{"errors":[{"message":"x","extensions":{"code":{"internal":"db01"}}}]}`, `{"errors":[{"message":"x"}]}`, false},
		{"path with objects is dropped", `{"errors":[{"message":"x","path":[{"secret":1}]}]}`, `{"errors":[{"message":"x"}]}`, false},
		{"locations with extra members dropped", `{"errors":[{"message":"x","locations":[{"line":1,"column":2,"file":"/srv/a.js"}]}]}`, `{"errors":[{"message":"x"}]}`, false},
		{"missing message gets the generic one", `{"errors":[{"detail":"x"}]}`, `{"errors":[{"message":"` + GenericMessage + `"}]}`, false},
		{"unknown top-level members dropped", `{"data":null,"errors":[{"message":"x"}],"debug":{"sql":"select"}}`, `{"errors":[{"message":"x"}],"data":null}`, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, _, err := GraphQL{}.Answer([]byte(c.in))
			if (err != nil) != c.err {
				t.Fatalf("err = %v, want error %v", err, c.err)
			}
			if c.err {
				return
			}
			want := c.want
			if want == "" {
				want = c.in
			}
			if string(out) != want {
				t.Fatalf("out = %s, want %s", out, want)
			}
		})
	}
}

func TestStripHeaders(t *testing.T) {
	h := http.Header{
		"Server": {"nginx/1.18.0"}, "X-Powered-By": {"Express"}, "X-Aspnet-Version": {"4.0.30319"}, "X-Runtime": {"0.01"},
		"X-Backend-Id": {"pod-7"}, "Content-Type": {"application/json"}, "x-powered-by": {"raw lower case"},
	}
	NewHeaders([]string{"x-backend-id"}, []string{"Server"}).Strip(h)
	want := http.Header{"Server": {"nginx/1.18.0"}, "Content-Type": {"application/json"}}
	if !reflect.DeepEqual(h, want) {
		t.Fatalf("headers = %v, want %v", h, want)
	}
}

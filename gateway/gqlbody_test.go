package gateway

import (
	"net/http"
	"strings"
	"testing"

	"github.com/portcullis-gw/portcullis/gateway/errcode"
	"github.com/portcullis-gw/portcullis/gateway/graphqlhttp"
)

// TestGraphQLGETStrict: a GET whose query string Go would read otherwise
// than another stack (a ';' pair, a repeated parameter) is refused; a good
// one goes upstream as the canonical POST.
func TestGraphQLGETStrict(t *testing.T) {
	h := newHarness(t, baseConfig)
	for _, c := range []struct {
		name, query string
		status      int
		want        string
	}{
		{"semicolon pair", "query=%7B+hello+%7D;operationName=x", 400, ""},
		{"bad escape", "query=%7B+hello+%7D&x=%zz", 400, ""},
		{"repeated query", "query=%7B+hello+%7D&query=%7B+hello+%7D", 400, ""},
		{"variables not an object", "query=%7B+hello+%7D&variables=1", 400, ""},
		{"variables null", "query=%7B+hello+%7D&variables=null", 200, `{"query":"{ hello }"}`},
		{"extensions kept", "query=%7B+hello+%7D&extensions=%7B%22a%22%3A1e0%7D", 200, `{"query":"{ hello }","extensions":{"a":1e0}}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := len(h.gql.got())
			resp, body := h.do("GET", "/graphql?"+c.query, nil, "")
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.status, body)
			}
			got := h.gql.got()[before:]
			if c.want == "" {
				if code := gqlCode(t, body); code != errcode.BadRequest || len(got) != 0 {
					t.Fatalf("code %s, %d forwarded", code, len(got))
				}
				return
			}
			if len(got) != 1 || got[0].Method != http.MethodPost || got[0].Body != c.want {
				t.Fatalf("forwarded %+v, want POST %s", got, c.want)
			}
		})
	}
}

// TestGraphQLAnswerMediaType: the upstream's application/json answer is
// relabelled for a client that accepts application/graphql-response+json.
func TestGraphQLAnswerMediaType(t *testing.T) {
	h := newHarness(t, baseConfig)
	resp, body := h.do("POST", "/graphql", map[string]string{"Content-Type": "application/json", "Accept": graphqlhttp.MediaGraphQLResponse}, `{"query":"{ hello }"}`)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), graphqlhttp.MediaGraphQLResponse) {
		t.Fatalf("%d %q: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	resp, _ = h.do("POST", "/graphql", jsonCT, `{"query":"{ hello }"}`)
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("without Accept: %q", ct)
	}
}

package gateway

import (
	"net/http"
	"strings"

	"github.com/portcullis-gw/portcullis/policy/authz"
)

// policiesReadHeaders reports whether any CEL policy reads request.headers
// (from the checked expressions), so the header map is built only for
// configs that use it.
func policiesReadHeaders(p authz.Policies) bool {
	return p.Inputs().Has(authz.InputRequestHeaders)
}

// credentialHeaders never reach a policy: a policy that could read a token
// or key could leak or compare it in ways the identity layer does not.
var credentialHeaders = map[string]bool{"authorization": true, "cookie": true, "x-api-key": true, "proxy-authorization": true}

// policyRequest is what CEL policies see of the HTTP request (the docs/ pages
// section 5: method, path, client IP, selected headers). Header names are
// lower case; a repeated header gives its first value.
func policyRequest(r *http.Request, clientIP string, withHeaders bool) authz.Request {
	req := authz.Request{Method: r.Method, Path: r.URL.Path, ClientIP: clientIP}
	if withHeaders {
		req.Headers = make(map[string]string, len(r.Header))
		for k, vs := range r.Header {
			lk := strings.ToLower(k)
			if len(vs) == 0 || credentialHeaders[lk] {
				continue
			}
			req.Headers[lk] = vs[0]
		}
	}
	return req
}

package upstream

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// strippedSamples holds one name of each listed header and family, as a
// client would spell them.
var strippedSamples = []string{
	"Forwarded", "Forwarded-For", "X-Forwarded", "X-Forwarded-Host", "X-Forwarded-Server", "X-Forwarded-Uri",
	"X-Forwarded-Client-Cert", "X-Original-URL", "X-Rewrite-URL", "X-Original-URI", "X-Middleware-Subrequest",
	"X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override", "X-Original-Method",
	"X-Host", "X-HTTP-Host-Override", "X-Original-Host", "X-Url-Scheme", "X-Scheme", "Front-End-Https",
	"X-Real-IP", "True-Client-IP", "CF-Connecting-IP", "CF-Connecting-IPv6", "CF-Visitor", "Fastly-Client-IP",
	"X-Client-IP", "Client-IP", "X-Cluster-Client-IP", "X-ProxyUser-Ip", "X-Originating-IP", "X-Remote-IP",
	"X-Remote-Addr", "X-Original-For", "X-Original-Forwarded-For", "X-Azure-ClientIP", "X-Azure-SocketIP",
	"X-AppEngine-User-IP", "X-Envoy-Original-Path", "X-Envoy-External-Address", "X-SSL-Client-Cert",
	"SSL-Client-Cert", "X-ARR-ClientCert", "X-Client-Cert", "Client-Cert", "Client-Cert-Chain",
	"X-Amzn-Oidc-Identity", "X-Goog-Authenticated-User-Email", "X-Goog-IAP-JWT-Assertion",
	"X-MS-Client-Principal-Name", "X-MS-Token-AAD-Access-Token", "X-Auth-Request-User",
	"Remote-User", "X-Remote-User", "X-WEBAUTH-USER",
}

func TestRoutingHeadersStripped(t *testing.T) {
	srv, rec := newRecordingUpstream(t)
	p := mustNew(t, Config{URL: srv.URL})
	for _, name := range strippedSamples {
		for _, spelled := range []string{name, strings.ToLower(name), strings.ReplaceAll(name, "-", "_")} {
			t.Run(spelled, func(t *testing.T) {
				in := httptest.NewRequest(http.MethodGet, "http://gw.example/", nil)
				// Set the raw key: Go would canonicalise, a client need not.
				in.Header[spelled] = []string{"forged"}
				in.Header["X-Kept"] = []string{"kept"}
				p.Forward(httptest.NewRecorder(), in, Outbound{})
				got := rec.get(t).Header
				for k, v := range got {
					if headerIs(k, name) && v[0] == "forged" {
						t.Fatalf("upstream received %s: %q", k, v)
					}
				}
				if got.Get("X-Kept") != "kept" {
					t.Fatalf("an unrelated header was stripped: %v", got)
				}
			})
		}
	}
}

func TestForwardHeadersAllowList(t *testing.T) {
	srv, rec := newRecordingUpstream(t)
	p := mustNew(t, Config{URL: srv.URL, ForwardHeaders: []string{"X-Original-URL", "x-user-id"}})
	in := httptest.NewRequest(http.MethodGet, "http://gw.example/", nil)
	in.Header.Set("X-Original-URL", "/allowed")
	in.Header.Set("X-Rewrite-URL", "/not-allowed")
	in.Header.Set("X-User-Id", "forged")
	// The gateway's own identity headers stay stripped even when listed.
	p.Forward(httptest.NewRecorder(), in, Outbound{StripHeaders: []string{"X-User-Id"}})
	got := rec.get(t).Header
	if got.Get("X-Original-URL") != "/allowed" {
		t.Errorf("allow-listed header not forwarded: %v", got)
	}
	if v := got.Get("X-Rewrite-URL"); v != "" {
		t.Errorf("X-Rewrite-URL forwarded: %q", v)
	}
	if v := got.Get("X-User-Id"); v != "" {
		t.Errorf("identity header forwarded through the allow-list: %q", v)
	}
}

func TestForwardHeadersValidate(t *testing.T) {
	for _, c := range []struct {
		names []string
		want  string
	}{
		{[]string{"X-Original-URL", "cf-connecting-ip", "X-Forwarded-Prefix"}, ""},
		{[]string{"X-Custom"}, `forward_headers[0]: "X-Custom" is not stripped by default`},
		{[]string{"X-Real-IP", "bad header"}, `forward_headers[1]: "bad header" is not a header name`},
	} {
		errs := Config{URL: "http://x", Timeout: 1, ForwardHeaders: c.names}.Validate()
		switch {
		case c.want == "" && len(errs) > 0:
			t.Errorf("%v: %v", c.names, errs)
		case c.want != "" && (len(errs) != 1 || !strings.Contains(errs[0].Error(), c.want)):
			t.Errorf("%v: %v, want %q", c.names, errs, c.want)
		}
	}
}

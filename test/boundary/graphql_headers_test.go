package boundary

import (
	"strings"
	"testing"
)

// strippedHeaders are headers back ends and frameworks read as the URL,
// method, scheme, client address or user; a client must never get one
// through (docs/security.md, "Headers stripped"). Written out here, not
// taken from the gateway's list, so that dropping one there fails here.
var strippedHeaders = []string{
	"X-Original-URL", "X-Rewrite-URL", "X-Original-URI", "X-Original-Method", "X-HTTP-Method",
	"X-HTTP-Method-Override", "X-Method-Override", "X-Middleware-Subrequest",
	"True-Client-IP", "X-Client-IP", "Client-IP", "CF-Connecting-IP", "CF-Connecting-IPv6", "Fastly-Client-IP",
	"X-Cluster-Client-IP", "X-ProxyUser-Ip", "X-Real-IP", "X-Originating-IP", "X-Remote-IP", "X-Remote-Addr",
	"X-Host", "X-HTTP-Host-Override", "X-Original-Host", "X-Forwarded-Server", "X-Forwarded-Prefix",
	"X-Forwarded-Uri", "X-Forwarded-Port", "X-Forwarded-Ssl", "X-Forwarded-Scheme", "X-Forwarded-Client-Cert",
	"X-Forwarded-User", "X-Forwarded", "Forwarded", "Forwarded-For", "X-Url-Scheme", "X-Scheme", "Front-End-Https",
	"X-Original-For", "X-Original-Forwarded-For", "X-Azure-ClientIP", "X-Azure-SocketIP", "X-AppEngine-User-IP",
	"X-Envoy-Original-Path", "X-Envoy-External-Address", "CF-Visitor",
	"X-SSL-Client-Cert", "SSL-Client-Cert", "X-ARR-ClientCert", "X-Client-Cert", "Client-Cert",
	"X-Amzn-Oidc-Identity", "X-Goog-Authenticated-User-Email", "X-Goog-IAP-JWT-Assertion",
	"X-MS-Client-Principal-Name", "X-Auth-Request-User", "Remote-User", "X-Remote-User", "X-WEBAUTH-USER",
}

// TestBoundaryGraphQLHeadersStripped sends every listed header (and its
// underscore spelling, which CGI-style servers read alike) to a GraphQL and
// a REST route: no upstream receives the client's value. The /drop route's
// upstream allow-lists X-Original-URL and True-Client-IP: those two, and
// only those, pass there.
func TestBoundaryGraphQLHeadersStripped(t *testing.T) {
	b := startBoundary(t)
	const forged = "forged-by-client"
	hdr := map[string]string{"X-Kept": "kept"}
	for _, h := range strippedHeaders {
		hdr[h] = forged
		hdr[strings.ReplaceAll(h, "-", "_")] = forged
	}
	leaks := func(t *testing.T, got map[string][]string, allowed ...string) {
		t.Helper()
		for k, vs := range got {
			for _, v := range vs {
				if strings.Contains(v, forged) && !sameHeader(allowed, k) {
					t.Errorf("upstream received %s: %s", k, v)
				}
			}
		}
		if len(got["X-Kept"]) != 1 {
			t.Errorf("an unlisted header was stripped: %v", got)
		}
		for _, a := range allowed {
			if len(got[a]) != 1 || got[a][0] != forged {
				t.Errorf("allow-listed %s not forwarded: %v", a, got[a])
			}
		}
	}
	for _, c := range []struct {
		path    string
		up      *jsUpstream
		allowed []string
	}{
		{"/graphql", b.shop, nil},
		{"/drop", b.drop, []string{"X-Original-Url", "True-Client-Ip"}},
	} {
		t.Run("graphql "+c.path, func(t *testing.T) {
			b.resetAll()
			resp, body := send(t, "POST", b.gw.URL(c.path), "application/json", `{"query":"`+qTop+`"}`, hdr)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			got := received(c.up)
			if len(got) != 1 {
				t.Fatalf("upstream received %d requests", len(got))
			}
			leaks(t, got[0].header, c.allowed...)
		})
	}
	t.Run("rest", func(t *testing.T) {
		b.resetAll()
		h := map[string]string{"X-Api-Key": ordersKey}
		for k, v := range hdr {
			h[k] = v
		}
		resp, body := send(t, "GET", b.gw.URL("/api/v1/orders"), "", "", h)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		got := b.set.Orders.Recorder.Requests()
		if len(got) != 1 {
			t.Fatalf("orders received %d requests", len(got))
		}
		leaks(t, got[0].Header)
	})
}

// sameHeader reports whether name is one of list as a CGI-style server
// reads it: case-insensitively, '_' equal to '-' (so an allow-listed
// header passes in either spelling).
func sameHeader(list []string, name string) bool {
	fold := func(s string) string { return strings.ToLower(strings.ReplaceAll(s, "_", "-")) }
	for _, x := range list {
		if fold(x) == fold(name) {
			return true
		}
	}
	return false
}

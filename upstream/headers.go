package upstream

import (
	"net/http"
	"slices"

	"golang.org/x/net/http/httpguts"

	"github.com/portcullis-gw/portcullis/keypath"
)

// Headers a client may send but that back ends, frameworks and the proxies
// in front of them read as the request's real URL, method, scheme, client
// address or authenticated user. Behind the gateway only the gateway may set
// them: a back end that believes one runs another path or method than the
// one checked, or trusts a forged client address or identity. Each is
// stripped from every request unless the upstream's forward_headers lists
// it (docs/security.md, "Headers stripped"). Names match case-insensitively
// with '_' equal to '-', since CGI-style back ends read X-Original_URL as
// X-Original-URL.
//
// Sources, by header family:
//   - URL rewrites: X-Original-URL and X-Rewrite-URL, read by Symfony and
//     Zend/Laminas behind IIS (CVE-2018-14773,
//     https://symfony.com/blog/cve-2018-14773-remove-support-for-legacy-and-risky-http-headers);
//     X-Original-URI (nginx auth_request examples); X-Envoy-Original-Path and
//     the other x-envoy-* headers, which Envoy trusts from internal peers
//     only (https://www.envoyproxy.io/docs/envoy/latest/configuration/http/http_conn_man/headers);
//     X-Middleware-Subrequest, which made Next.js skip its middleware
//     (CVE-2025-29927, https://nextjs.org/blog/cve-2025-29927).
//   - Method overrides: X-HTTP-Method-Override, X-HTTP-Method and
//     X-Method-Override (expressjs/method-override, Rack::MethodOverride,
//     ASP.NET Core UseHttpMethodOverride, Symfony's
//     Request::enableHttpMethodParameterOverride); X-Original-Method (nginx
//     auth_request examples, ingress-nginx).
//   - Host and scheme: X-Forwarded-* (Host, Proto, Port, Prefix, Server,
//     Ssl, Scheme, Uri, Path, Client-Cert; RFC 7239 section 1 lists the
//     family), Forwarded (RFC 7239), X-Host, X-HTTP-Host-Override,
//     X-Original-Host (ASP.NET Core ForwardedHeadersOptions
//     OriginalHostHeaderName), X-Url-Scheme, X-Scheme, Front-End-Https
//     (Microsoft OWA/ISA), and CF-Visitor with the other CF-* headers.
//   - Client address: X-Real-IP (nginx ngx_http_realip_module),
//     True-Client-IP (Akamai, Cloudflare), CF-Connecting-IP and
//     CF-Connecting-IPv6 (https://developers.cloudflare.com/fundamentals/reference/http-headers/),
//     Fastly-Client-IP (https://www.fastly.com/documentation/reference/http/http-headers/Fastly-Client-IP/),
//     X-Client-IP and Client-IP (Rails ActionDispatch::RemoteIp reads
//     HTTP_CLIENT_IP), X-Cluster-Client-IP (Rackspace, Riverbed), X-ProxyUser-Ip
//     (Google services), X-Originating-IP (Microsoft), X-Remote-IP,
//     X-Remote-Addr, X-Original-For (ASP.NET Core), X-Original-Forwarded-For
//     (ingress-nginx), X-Azure-ClientIP and X-Azure-SocketIP (Azure Front
//     Door), X-AppEngine-User-IP (Google App Engine), Forwarded-For and
//     X-Forwarded (without a dash).
//   - Client certificates and identities set by a TLS terminator or an
//     authenticating proxy: X-SSL-* and SSL-Client-* (nginx, HAProxy
//     conventions), X-ARR-ClientCert (IIS ARR, Azure App Service),
//     X-Client-Cert (RFC 9440 names Client-Cert, listed too), X-Amzn-Oidc-*
//     (AWS ALB authentication), X-Goog-Authenticated-User-* and
//     X-Goog-IAP-JWT-Assertion (Google IAP), X-MS-Client-Principal* and
//     X-MS-Token-* (Azure App Service authentication), X-Auth-Request-*
//     (oauth2-proxy), Remote-User, X-Remote-User and X-WEBAUTH-USER
//     (Apache REMOTE_USER conventions, Grafana's auth proxy).
//
// The prefix lists of PortSwigger's Param Miner (resources/headers) were
// the cross-check for what back ends are seen to honour.
var routingHeaders = []string{
	"Forwarded", "Forwarded-For", "X-Forwarded",
	"X-Original-Url", "X-Rewrite-Url", "X-Original-Uri", "X-Middleware-Subrequest",
	"X-Http-Method-Override", "X-Http-Method", "X-Method-Override", "X-Original-Method",
	"X-Host", "X-Http-Host-Override", "X-Original-Host", "X-Url-Scheme", "X-Scheme", "Front-End-Https",
	"X-Real-Ip", "True-Client-Ip", "Fastly-Client-Ip", "X-Client-Ip", "Client-Ip",
	"X-Cluster-Client-Ip", "X-Proxyuser-Ip", "X-Originating-Ip", "X-Remote-Ip", "X-Remote-Addr",
	"X-Original-For", "X-Original-Forwarded-For", "X-Azure-Clientip", "X-Azure-Socketip", "X-Appengine-User-Ip",
	"X-Arr-Clientcert", "X-Client-Cert", "Client-Cert", "Client-Cert-Chain",
	"X-Goog-Iap-Jwt-Assertion", "Remote-User", "X-Remote-User", "X-Webauth-User",
}

// routingPrefixes are header families stripped whole (see routingHeaders).
var routingPrefixes = []string{
	"X-Forwarded-", "X-Envoy-", "Cf-", "X-Ssl-", "Ssl-Client-",
	"X-Amzn-Oidc-", "X-Goog-Authenticated-", "X-Ms-Client-Principal", "X-Ms-Token-", "X-Auth-Request-",
}

// IsRoutingHeader reports whether the gateway strips the header name by
// default (see routingHeaders).
func IsRoutingHeader(name string) bool {
	for _, h := range routingHeaders {
		if headerIs(name, h) {
			return true
		}
	}
	for _, pre := range routingPrefixes {
		if headerHasPrefix(name, pre) {
			return true
		}
	}
	return false
}

// checkForwardHeaders validates an upstream's forward_headers: header
// names the gateway would otherwise strip (anything else is a typo, since
// other headers pass anyway).
func checkForwardHeaders(names []string) keypath.Problems {
	var ps keypath.Problems
	for i, n := range names {
		switch {
		case !httpguts.ValidHeaderFieldName(n):
			ps.Addf(keypath.Index(i), "%q is not a header name", n)
		case !IsRoutingHeader(n):
			ps.Addf(keypath.Index(i), "%q is not stripped by default, so listing it changes nothing", n)
		}
	}
	return ps
}

// stripClientHeaders removes the routing headers (except those allowed)
// and the extra headers, e.g. the identity headers the gateway sets itself,
// from the client's. The Upgrade and Connection headers go elsewhere.
func stripClientHeaders(h http.Header, extra, allow []string) {
	for k := range h {
		if IsRoutingHeader(k) && !slices.ContainsFunc(allow, func(a string) bool { return headerIs(k, a) }) {
			delete(h, k)
			continue
		}
		if slices.ContainsFunc(extra, func(s string) bool { return headerIs(k, s) }) {
			delete(h, k)
		}
	}
}

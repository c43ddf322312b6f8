package gateway

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"runtime/debug"
	"slices"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel/trace"

	"github.com/portcullis-gw/portcullis/gateway/errcode"
	"github.com/portcullis-gw/portcullis/gateway/graphqlhttp"
	"github.com/portcullis-gw/portcullis/gateway/pipeline"
	"github.com/portcullis-gw/portcullis/gateway/resthttp"
	"github.com/portcullis-gw/portcullis/policy/ratelimit"
)

// accept is the outermost middleware and the first and last stage of every
// request: it opens the Exchange (request ID, client address, client
// certificate), and once the handler is done records it in one access log
// line and the request metrics.
func (g *Gateway) accept(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		ex := g.open(r, c.Response().Header())
		ctx, span := g.mon.startSpan(r, ex)
		c.SetRequest(pipeline.WithContext(r, ctx, ex))
		c.Response().Header().Set(echo.HeaderXRequestID, ex.ID)

		if err := next(c); err != nil {
			g.echoError(err, c)
		}
		g.record(r, ex, c.Response().Status, span)
		return nil
	}
}

// open starts the Exchange of a request.
func (g *Gateway) open(r *http.Request, h http.Header) *pipeline.Exchange {
	ex := &pipeline.Exchange{Start: time.Now(), Header: h}
	ex.ClientAddr, ex.ClientIP = clientAddr(r, g.trusted)
	if id := r.Header.Get(echo.HeaderXRequestID); id != "" && g.peerTrusted(r) && validRequestID(id) {
		ex.ID = id
	} else {
		ex.ID = g.idPrefix + strconv.FormatUint(g.idCounter.Add(1), 36)
	}
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		ex.PeerSubject = r.TLS.PeerCertificates[0].Subject.String()
	}
	return ex
}

// record is the last stage and the one place a decision is reported: one
// access log line, the metrics, the span, the live view and the audit
// event.
func (g *Gateway) record(r *http.Request, ex *pipeline.Exchange, status int, span trace.Span) {
	d := ex.Finish(status)
	route := ex.Route
	if route == "" {
		route = "(none)"
	}
	took := time.Since(ex.Start)
	decision := d.Outcome.String()
	g.metrics.requests.WithLabelValues(route, strconv.Itoa(status), decision).Inc()
	g.metrics.duration.WithLabelValues(route).Observe(took.Seconds())
	g.access.write(&accessEntry{
		when: ex.Start, id: ex.ID, method: r.Method, path: r.URL.Path, route: route,
		clientIP: ex.ClientIP, decision: decision, code: d.Code, subject: ex.Subject,
		status: status, duration: took,
	})
	g.mon.observe(r, ex, d, status, route, span)
}

// peerTrusted reports whether the connection comes from a trusted proxy,
// whose X-Request-Id and X-Forwarded-For may be believed.
func (g *Gateway) peerTrusted(r *http.Request) bool {
	peer := ratelimit.ClientIP(r.RemoteAddr, nil, nil)
	return peer.IsValid() && slices.ContainsFunc(g.trusted, func(p netip.Prefix) bool { return p.Contains(peer) })
}

// clientAddr is the connection's peer, or, when the peer is a trusted
// proxy, the right-most X-Forwarded-For address that is not itself trusted
// (ratelimit.ClientIP: everything left of it is client-controlled). The
// string form is what logs and the upstream see; a peer that is no IP
// address (a unix socket) is logged as it is.
func clientAddr(r *http.Request, trusted []netip.Prefix) (netip.Addr, string) {
	a := ratelimit.ClientIP(r.RemoteAddr, r.Header.Values("X-Forwarded-For"), trusted)
	if a.IsValid() {
		return a, a.String()
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return a, host
}

// validRequestID accepts only short IDs of safe characters, so a client
// cannot smuggle log or header injection through a trusted proxy's ID.
func validRequestID(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':') {
			return false
		}
	}
	return true
}

// recoverPanics turns a panic into a 500 in the route's protocol shape; the
// stack goes to the log, never to the client, and the process keeps serving.
func (g *Gateway) recoverPanics(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				// The proxy aborts a response it cannot finish; net/http
				// expects to see this panic to drop the connection.
				panic(v)
			}
			ex := pipeline.Of(c.Request())
			ex.Failed(errcode.Internal)
			g.metrics.panics.Inc()
			g.log.Error("panic while serving request", "request_id", ex.ID, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if !c.Response().Committed {
				render(c, pipeline.Refuse(errcode.Internal, "internal server error"))
			}
			err = nil
		}()
		return next(c)
	}
}

// render records a refusal the gateway makes outside a front door's stages
// and writes it in the request's protocol shape: GraphQL errors on a
// GraphQL route, a problem document everywhere else.
func render(c echo.Context, ref *pipeline.Refusal) {
	ex := pipeline.Of(c.Request())
	ex.Refused(ref)
	if ex.Protocol == pipeline.GraphQL {
		graphqlhttp.Render(c.Response(), c.Request(), ref)
		return
	}
	resthttp.Render(c.Response(), ref)
}

// echoError handles errors echo itself raises (unknown method, router miss).
func (g *Gateway) echoError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		switch he.Code {
		case http.StatusNotFound:
			render(c, pipeline.Refuse(errcode.NotFound, "no route for this path"))
			return
		case http.StatusMethodNotAllowed:
			render(c, pipeline.Refuse(errcode.MethodNotAllowed, "method not allowed"))
			return
		}
	}
	g.log.Error("unhandled error", "request_id", pipeline.Of(c.Request()).ID, "error", err)
	render(c, pipeline.Refuse(errcode.Internal, "internal server error"))
}

package pipeline

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/portcullis-gw/portcullis/gateway/telemetry"
	"github.com/portcullis-gw/portcullis/policy/authn"
	"github.com/portcullis-gw/portcullis/upstream"
)

// Facts are what the audit stream, the spans and the live view report
// about a request beside its decision (docs/monitoring.md). Stages fill
// them as they learn; nothing here is a credential.
type Facts struct {
	// Reason names the check that refused, or that flagged an allowed
	// request (filter mode removing fields); the first one wins.
	Reason string
	// Detail says more for the audit log (the 401's internal cause).
	Detail string
	// Flagged: allowed, but a check found something to audit.
	Flagged bool

	SubjectKind string
	Issuer      string
	Scopes      []string

	OperationType string
	OperationName string
	OperationID   string
	// RouteTemplate is the matched route as configured: the GraphQL path,
	// or the REST prefix and the document's path template.
	RouteTemplate string
	Cost          int64
	// Coordinates are the GraphQL fields the request touches, and
	// UnauthorizedPaths the response paths authorization removed or refused.
	Coordinates       []string
	UnauthorizedPaths []string
}

// noteIdentity records who the caller is.
func (ex *Exchange) noteIdentity(id authn.Identity) {
	if id.IsAnonymous() {
		return
	}
	ex.Facts.SubjectKind, ex.Facts.Issuer, ex.Facts.Scopes = id.Kind, id.Issuer, id.Scopes
}

// noteAudit records the first audit reason with its details.
func (ex *Exchange) noteAudit(reason string, kv []any) {
	if ex.Facts.Reason != "" {
		return
	}
	ex.Facts.Reason = reason
	if len(kv) == 0 {
		return
	}
	var b strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%v=%v", kv[i], kv[i+1])
	}
	ex.Facts.Detail = b.String()
}

// Flag records an audit finding on a request that is still allowed.
func (ex *Exchange) Flag(reason string, paths []string) {
	if ex.Facts.Reason == "" {
		ex.Facts.Reason = reason
	}
	ex.Facts.Flagged = true
	ex.Facts.UnauthorizedPaths = append(ex.Facts.UnauthorizedPaths, paths...)
}

// RunTraced is Run with each stage that names a Span inside that span, a
// child of the request's server span in ctx; the stage that refused
// carries the refusal's code. With tracing off it is Run.
func RunTraced[R any](tr *telemetry.Tracer, ctx context.Context, stages []Stage[R], q R) *Refusal {
	if tr == nil {
		return Run(stages, q)
	}
	for _, s := range stages {
		if s.Span == "" {
			if ref := s.Run(q); ref != nil {
				return ref
			}
			continue
		}
		_, span := tr.Start(ctx, s.Span)
		ref := s.Run(q)
		if ref != nil {
			telemetry.Refused(span, ref.Code)
		}
		span.End()
		if ref != nil {
			return ref
		}
	}
	return nil
}

// Upstream is where a route's upstream calls go, for their client spans.
type Upstream struct {
	host string
	port int
}

// UpstreamOf reads the host and port of an upstream URL once, at load.
func UpstreamOf(raw string) Upstream {
	u, err := url.Parse(raw)
	if err != nil {
		return Upstream{}
	}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	n, _ := strconv.Atoi(port)
	if h, _, err := net.SplitHostPort(u.Host); err == nil {
		host = h
	}
	return Upstream{host: host, port: n}
}

// Send forwards out through p inside a client span whose traceparent the
// upstream receives (https://www.w3.org/TR/trace-context/).
func (s *Shared) Send(p *upstream.Proxy, to Upstream, w http.ResponseWriter, r *http.Request, out upstream.Outbound) *upstream.Failure {
	if s.Tracer == nil {
		return p.Send(w, r, out)
	}
	if out.Header == nil {
		out.Header = http.Header{}
	}
	method := r.Method
	if out.Method != "" {
		method = out.Method
	}
	_, span := s.Tracer.StartClient(r.Context(), method, to.host, to.port, out.Header)
	f := p.Send(w, r, out)
	status, code := 0, ""
	if f != nil {
		code = f.Kind.Code()
	} else if er, ok := w.(*echo.Response); ok {
		status = er.Status
	}
	s.Tracer.EndClient(span, status, code)
	return f
}

package gateway

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/portcullis-gw/portcullis/gateway/config"
	"github.com/portcullis-gw/portcullis/policy/ratelimit"
	"github.com/portcullis-gw/portcullis/upstream"
)

// restRoute is one REST prefix, compiled at load.
type restRoute struct {
	cfg     *config.RESTRoute
	prefix  string
	proxy   *upstream.Proxy
	maxBody int64
}

func (g *Gateway) newRESTRoute(c *config.RESTRoute) (*restRoute, error) {
	p, err := g.newProxy(c.Name, c.Upstream, protoREST)
	if err != nil {
		return nil, err
	}
	return &restRoute{
		cfg:     c,
		prefix:  strings.TrimSuffix(c.Prefix, "/"),
		proxy:   p,
		maxBody: g.cfg.Server.MaxBodyBytes,
	}, nil
}

func (rt *restRoute) serve(g *Gateway, c echo.Context, st *reqState, tbl *routeTable) {
	r := c.Request()
	w := c.Response()
	id, ok := g.identify(c, st, tbl)
	if !ok {
		return
	}
	subj := tbl.subjectOf(id, st.clientIP)
	body, err := readBody(r, rt.maxBody)
	if err != nil {
		status, code, msg := http.StatusBadRequest, CodeBadRequest, "reading request body failed"
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			status, code, msg = http.StatusRequestEntityTooLarge, CodeTooLarge, "request body too large"
		}
		g.refuseREST(c, st, tbl, subj, newProblem(status, code, msg))
		return
	}
	release, ok := g.charge(c, st, tbl, subj, rt.cfg.DefaultCost)
	if !ok {
		return
	}
	defer release()
	// The path goes upstream exactly as matched: the raw (escaped) form,
	// which unsafePath has already proven has no separators in disguise.
	path := r.URL.EscapedPath()
	if rt.cfg.StripPrefix {
		path = strings.TrimPrefix(path, rt.prefix)
		if path == "" {
			path = "/"
		}
	}
	out := upstream.Outbound{
		Path:     path,
		RawQuery: r.URL.RawQuery,
		Body:     body,
		ClientIP: st.clientIP,
		Header:   http.Header{echo.HeaderXRequestID: {st.id}},
	}
	out.StripHeaders = tbl.fwd.apply(out.Header, id, rt.cfg.ForwardAuthorization)
	st.decision = "allow"
	rt.proxy.Forward(w, r, out)
}

// refuseREST answers a REST request refused before forwarding, after
// charging its penalty (a spent budget turns the refusal into 429).
func (g *Gateway) refuseREST(c echo.Context, st *reqState, tbl *routeTable, subj ratelimit.Subject, p Problem) {
	st.deny(p.Code)
	g.audit(st, "rest_refused", "code", p.Code)
	if !g.penalize(c.Request().Context(), st, tbl, c.Response(), subj) {
		p = newProblem(http.StatusTooManyRequests, CodeRateLimited, "rate limit exceeded; retry after the time in Retry-After")
	}
	writeProblem(c.Response(), p)
}

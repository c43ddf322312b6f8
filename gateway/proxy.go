package gateway

import (
	"fmt"
	"net/http"

	"github.com/portcullis-gw/portcullis/upstream"
)

// newProxy builds a route's upstream proxy whose failures are answered in
// the route's protocol shape, counted, and logged with their cause; the
// client never sees the upstream's address.
func (g *Gateway) newProxy(route string, cfg upstream.Config, proto protocol) (*upstream.Proxy, error) {
	p, err := upstream.NewWithOptions(cfg, upstream.PoolOptions{Logger: g.log.With("route", route)})
	if err != nil {
		return nil, fmt.Errorf("building upstream proxy: %w", err)
	}
	p.OnError = func(w http.ResponseWriter, r *http.Request, kind upstream.ErrorKind, err error) {
		code := kind.Code()
		g.metrics.upstreamErrors.WithLabelValues(route, code).Inc()
		g.log.Warn("upstream failed", "route", route, "code", code, "error", err)
		msg := kind.Message()
		st := stateFromRequest(r)
		st.decision, st.code = "error", code
		if proto == protoGraphQL {
			writeGraphQLErrors(w, r, kind.Status(), gqlErr(code, msg))
			return
		}
		writeProblem(w, newProblem(kind.Status(), code, msg))
	}
	if proto == protoGraphQL {
		p.OnResponse = afterResponse
	}
	return p, nil
}

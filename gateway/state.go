package gateway

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/portcullis-gw/portcullis/analysis/rest"
	"github.com/portcullis-gw/portcullis/policy/ratelimit"
)

type protocol uint8

const (
	protoNone protocol = iota
	protoGraphQL
	protoREST
)

// reqState is what the middleware chain learns about one request, read back
// by the access log and metrics once the handler is done.
type reqState struct {
	start      time.Time
	id         string
	clientIP   string
	clientAddr netip.Addr
	route      string
	protocol   protocol
	// subject is the identity's subject once known.
	subject string
	// decision is "allow" once forwarded, or "deny" / "error" with code.
	decision string
	code     string
	// peerSubject is the verified client certificate's subject (mTLS).
	peerSubject string
	// gqlAfter is set when a GraphQL answer needs work on its way back
	// (filter merge, refund, cost extension), for the proxy's response hook.
	gqlAfter *gqlAfter
	// restOp is the matched operation, for response validation.
	restOp *rest.Operation
}

type stateKey struct{}

// stateOf returns the request's state, kept in its context so code that only
// sees the *http.Request (the proxy's error hook) finds it too.
func stateOf(c echo.Context) *reqState { return stateFromRequest(c.Request()) }

func stateFromRequest(r *http.Request) *reqState {
	if st, ok := r.Context().Value(stateKey{}).(*reqState); ok {
		return st
	}
	// Only reachable if a handler runs outside the chain; never nil.
	return &reqState{start: time.Now()}
}

// deny records a refusal for the log and metrics.
func (st *reqState) deny(code string) {
	st.decision = "deny"
	st.code = code
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

func withState(r *http.Request, st *reqState) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), stateKey{}, st))
}

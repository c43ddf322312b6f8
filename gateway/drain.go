package gateway

import (
	"context"
	"net/http"
	"time"

	"github.com/portcullis-gw/portcullis/gateway/config"
)

// shuttingDown names draining in a 503 from /readyz.
const shuttingDown = "shutting down"

// closeWhenDraining makes every response after SIGTERM carry
// "Connection: close" (RFC 9112 section 9.6), so clients open their next
// request on a new connection, which a replica still serving takes. An idle
// keep-alive connection closed under a client that is sending on it is a
// reset request; a response that says close is not.
func (g *Gateway) closeWhenDraining(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.draining.Load() {
			w.Header().Set("Connection", "close")
		}
		h.ServeHTTP(w, r)
	})
}

// drain reports not ready and keeps serving for the drain delay, before
// Serve stops accepting: load balancers see /readyz 503 and stop sending.
func (g *Gateway) drain(grace context.Context) {
	g.draining.Store(true)
	d := config.DefaultDrainDelay
	if p := g.cfg.Server.DrainDelay; p != nil {
		d = *p
	}
	if d <= 0 {
		return
	}
	g.log.Info("draining", "delay", d.String())
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-grace.Done():
	}
}

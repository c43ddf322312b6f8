package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
)

// newServer builds an http.Server with the config's timeouts, so slow-loris
// clients cannot hold connections open.
func (g *Gateway) newServer(h http.Handler) *http.Server {
	s := g.cfg.Server
	return &http.Server{
		Handler:           g.closeWhenDraining(h),
		ReadHeaderTimeout: s.ReadHeaderTimeout,
		ReadTimeout:       s.ReadTimeout,
		WriteTimeout:      s.WriteTimeout,
		IdleTimeout:       s.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(g.log.Handler(), slog.LevelWarn),
	}
}

// Run listens on the configured addresses and serves until ctx is done.
func (g *Gateway) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", g.cfg.Server.Listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", g.cfg.Server.Listen, err)
	}
	var adminLn net.Listener
	if g.cfg.Server.AdminListen != "" {
		adminLn, err = net.Listen("tcp", g.cfg.Server.AdminListen)
		if err != nil {
			ln.Close()
			return fmt.Errorf("listening on %s: %w", g.cfg.Server.AdminListen, err)
		}
	}
	return g.Serve(ctx, ln, adminLn)
}

// Serve serves on the given listeners (adminLn may be nil) until ctx is
// done, then stops accepting and drains in-flight requests within
// shutdown_grace. It returns nil after a clean drain.
func (g *Gateway) Serve(ctx context.Context, ln, adminLn net.Listener) error {
	srv := g.newServer(g.echo)
	if t := g.cfg.Server.TLS; t != nil {
		tlsCfg, err := g.serverTLS(ctx, t)
		if err != nil {
			ln.Close()
			if adminLn != nil {
				adminLn.Close()
			}
			return err
		}
		srv.TLSConfig = tlsCfg
	}
	servers := []*http.Server{srv}
	errc := make(chan error, 2)
	// Decided before serving: ServeTLS itself writes srv.TLSConfig.
	useTLS := srv.TLSConfig != nil
	go func() {
		var err error
		if useTLS {
			err = srv.ServeTLS(ln, "", "")
		} else {
			err = srv.Serve(ln)
		}
		errc <- err
	}()
	attrs := []any{"addr", ln.Addr().String(), "tls", useTLS}
	if adminLn != nil {
		admin := g.newServer(g.AdminHandler())
		servers = append(servers, admin)
		go func() { errc <- admin.Serve(adminLn) }()
		attrs = append(attrs, "admin_addr", adminLn.Addr().String())
	}
	g.ready.start(ctx, g.log)
	g.log.Info("listening", attrs...)

	select {
	case err := <-errc:
		for _, s := range servers {
			s.Close()
		}
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	g.log.Info("shutting down", "grace", g.cfg.Server.ShutdownGrace.String())
	sctx, cancel := context.WithTimeout(context.Background(), g.cfg.Server.ShutdownGrace)
	defer cancel()
	g.drain(sctx)
	var firstErr error
	for _, s := range servers {
		if err := s.Shutdown(sctx); err != nil && firstErr == nil {
			firstErr = fmt.Errorf("draining in-flight requests: %w", err)
			s.Close()
		}
	}
	g.routes.Load().close()
	// After the drain no request records any more: flush what the audit
	// sinks and the span exporter hold, within what is left of the grace.
	if err := g.mon.close(sctx); err != nil {
		g.log.Error("monitoring did not flush before the shutdown grace ended", "error", err.Error())
	}
	return firstErr
}

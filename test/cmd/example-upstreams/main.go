// Command upstreams serves the demo's upstreams (the accounts, products and
// reviews subgraphs and the orders REST service) for `make demo`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/portcullis-gw/portcullis/test/upstreams/accounts"
	"github.com/portcullis-gw/portcullis/test/upstreams/orders"
	"github.com/portcullis-gw/portcullis/test/upstreams/products"
	"github.com/portcullis-gw/portcullis/test/upstreams/reviews"
)

type service struct {
	name, addr, endpoint string
	handler              http.Handler
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	err := run(ctx, os.Args[1:], logger)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		logger.Error("upstreams stopped", "err", err)
		stop()
		os.Exit(1)
	}
}

// run serves until ctx ends (the signal), then shuts every server down.
func run(ctx context.Context, args []string, logger *slog.Logger) error {
	fs := flag.NewFlagSet("upstreams", flag.ContinueOnError)
	accountsAddr := fs.String("accounts", "127.0.0.1:4001", "listen address of the accounts subgraph")
	productsAddr := fs.String("products", "127.0.0.1:4002", "listen address of the products subgraph")
	reviewsAddr := fs.String("reviews", "127.0.0.1:4003", "listen address of the reviews subgraph")
	ordersAddr := fs.String("orders", "127.0.0.1:5000", "listen address of the orders REST service")
	if err := fs.Parse(args); err != nil {
		return err
	}
	services := []service{
		{"accounts", *accountsAddr, "/query", accounts.NewHandler()},
		{"products", *productsAddr, "/query", products.NewHandler()},
		{"reviews", *reviewsAddr, "/query", reviews.NewHandler()},
		{"orders", *ordersAddr, orders.BasePath, orders.NewHandler()},
	}

	// Listen on every address before serving any, so a taken port fails the
	// whole start instead of leaving a partial demo running.
	listeners := make([]net.Listener, 0, len(services))
	defer func() {
		for _, l := range listeners {
			_ = l.Close()
		}
	}()
	for _, s := range services {
		l, err := net.Listen("tcp", s.addr)
		if err != nil {
			return fmt.Errorf("listening for %s on %s: %w", s.name, s.addr, err)
		}
		listeners = append(listeners, l)
	}

	servers := make([]*http.Server, len(services))
	errs := make(chan error, len(services))
	for i, s := range services {
		servers[i] = &http.Server{Handler: s.handler, ReadHeaderTimeout: 5 * time.Second}
		logger.Info("serving", "service", s.name, "url", "http://"+listeners[i].Addr().String()+s.endpoint)
		go func(srv *http.Server, l net.Listener, name string) {
			if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
				errs <- fmt.Errorf("serving %s: %w", name, err)
			}
		}(servers[i], listeners[i], s.name)
	}

	var failed error
	select {
	case <-ctx.Done():
	case failed = <-errs:
	}

	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for i, srv := range servers {
		if err := srv.Shutdown(shutdownCtx); err != nil {
			failed = errors.Join(failed, fmt.Errorf("shutting down %s: %w", services[i].name, err))
		}
	}
	return failed
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"runtime/pprof"
	"sync"
	"syscall"
	"time"

	"github.com/portcullis-gw/portcullis/gateway"
	"github.com/portcullis-gw/portcullis/gateway/config"
	"github.com/portcullis-gw/portcullis/upstream"
)

// serveGateway is a child process: the gateway built and run as
// cmd/portcullis's serve command does (config.Load, gateway.New with the
// access log on stdout, Run until SIGTERM), plus an optional CPU profile of
// its whole life.
func serveGateway(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve-gateway", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("c", "", "config file")
	profile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to `file`")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cfg, err := config.Load(*file)
	if err != nil {
		fmt.Fprintf(stderr, "corebench serve-gateway: %s: %v\n", *file, err)
		return 1
	}
	gw, err := gateway.New(cfg, gateway.WithLogger(log), gateway.WithAccessLog(stdout))
	if err != nil {
		fmt.Fprintf(stderr, "corebench serve-gateway: %v\n", err)
		return 1
	}
	stopProfile, err := startProfile(*profile)
	if err != nil {
		fmt.Fprintf(stderr, "corebench serve-gateway: %v\n", err)
		return 1
	}
	defer stopProfile()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := gw.Run(ctx); err != nil {
		fmt.Fprintf(stderr, "corebench serve-gateway: %v\n", err)
		return 1
	}
	return 0
}

func startProfile(file string) (func(), error) {
	if file == "" {
		return func() {}, nil
	}
	f, err := os.Create(file)
	if err != nil {
		return nil, fmt.Errorf("creating profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("starting profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}, nil
}

// serveBare is a child process: the baseline, a bare httputil.ReverseProxy
// to the upstream, until SIGTERM.
func serveBare(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve-bare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:0", "listen `address`")
	to := fs.String("upstream", "", "upstream base `URL`")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	h, err := bareProxy(*to)
	if err != nil {
		fmt.Fprintf(stderr, "corebench serve-bare: %v\n", err)
		return 1
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(stderr, "corebench serve-bare: %v\n", err)
		return 1
	}
	srv := newServer(h)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(stderr, "corebench serve-bare: %v\n", err)
		return 1
	}
	return 0
}

func newServer(h http.Handler) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute}
}

// bareProxy is the baseline: the standard library's reverse proxy with the
// same idle-connection pool size as the upstream package uses and a pool of
// copy buffers, so the comparison is about what Portcullis adds, not about
// configuration any user of httputil would apply (without a BufferPool it
// allocates 32 KiB per response).
func bareProxy(to string) (http.Handler, error) {
	target, err := url.Parse(to)
	if err != nil || target.Scheme == "" || target.Host == "" {
		return nil, fmt.Errorf("bad upstream URL %q", to)
	}
	t := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost: upstream.DefaultMaxIdleConns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.SetXForwarded()
		},
		Transport:  t,
		BufferPool: &bufferPool{},
		// wrk closes its connections mid-request when a run ends; the
		// proxy's 502s under load are counted by wrk, not logged.
		ErrorLog: log.New(io.Discard, "", 0),
	}, nil
}

// bufferPool recycles the proxy's 32 KiB copy buffers.
type bufferPool struct{ p sync.Pool }

func (b *bufferPool) Get() []byte {
	if v, ok := b.p.Get().(*[]byte); ok {
		return *v
	}
	return make([]byte, 32<<10)
}

func (b *bufferPool) Put(buf []byte) { b.p.Put(&buf) }

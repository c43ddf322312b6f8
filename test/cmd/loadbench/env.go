package main

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/portcullis-gw/portcullis/gateway"
	"github.com/portcullis-gw/portcullis/gateway/config"
	"github.com/portcullis-gw/portcullis/upstream"
)

//go:embed fixtures
var fixtures embed.FS

// The upstream's answers: small and fixed, so the run measures the hops in
// front of it rather than the back end.
const (
	graphqlReply = `{"data":{"hello":"world"}}`
	restReply    = `{"orders":[{"id":"o-1","total":1200},{"id":"o-2","total":450}]}`
	graphqlQuery = `{"query":"{ hello }"}`
	restPath     = "/api/v1/orders"
)

// env is every server of the run, each on its own 127.0.0.1 listener.
type env struct {
	upstream *http.Server
	bare     *http.Server
	upURL    string
	bareURL  string
	gwURL    string
	stopGW   context.CancelFunc
	gwDone   chan error
	tmp      string
}

func startEnv(ctx context.Context, stderr io.Writer) (_ *env, err error) {
	e := &env{}
	defer func() {
		if err != nil {
			e.close()
		}
	}()

	upLn, err := listen()
	if err != nil {
		return nil, err
	}
	e.upURL = "http://" + upLn.Addr().String()
	e.upstream = newServer(upstreamHandler())
	// A server that stops early shows up as a failed target check.
	go func() { _ = e.upstream.Serve(upLn) }()

	bareLn, err := listen()
	if err != nil {
		return nil, err
	}
	e.bareURL = "http://" + bareLn.Addr().String()
	bare, err := bareProxy(e.upURL)
	if err != nil {
		return nil, err
	}
	e.bare = newServer(bare)
	go func() { _ = e.bare.Serve(bareLn) }()

	if e.tmp, err = os.MkdirTemp("", "loadbench-"); err != nil {
		return nil, fmt.Errorf("creating temp dir: %w", err)
	}
	cfg, err := writeConfig(e.tmp, e.upURL)
	if err != nil {
		return nil, err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	gw, err := gateway.New(cfg, gateway.WithLogger(log), gateway.WithAccessLog(io.Discard))
	if err != nil {
		return nil, fmt.Errorf("building gateway: %w", err)
	}
	gwLn, err := listen()
	if err != nil {
		gw.Close()
		return nil, err
	}
	e.gwURL = "http://" + gwLn.Addr().String()
	gctx, cancel := context.WithCancel(ctx)
	e.stopGW, e.gwDone = cancel, make(chan error, 1)
	go func() { e.gwDone <- gw.Serve(gctx, gwLn, nil) }()
	return e, nil
}

func listen() (net.Listener, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listening on 127.0.0.1: %w", err)
	}
	return ln, nil
}

func newServer(h http.Handler) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute}
}

// upstreamHandler answers like a small GraphQL server on /graphql and a REST
// service under /api/; it reads the whole request body, as a real one would.
func upstreamHandler() http.Handler {
	reply := func(body string) http.HandlerFunc {
		b := []byte(body)
		return func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(b)
		}
	}
	mux := http.NewServeMux()
	mux.Handle("/graphql", reply(graphqlReply))
	mux.Handle("/api/", reply(restReply))
	return mux
}

// bareProxy is the baseline: the standard library's reverse proxy with the
// same idle-connection pool size and a copy-buffer pool as our upstream
// package uses, so the comparison is about what Portcullis adds and not
// about configuration any user of httputil would apply (without a
// BufferPool it allocates 32 KiB per response, which slows it markedly).
func bareProxy(to string) (http.Handler, error) {
	target, err := url.Parse(to)
	if err != nil {
		return nil, fmt.Errorf("parsing upstream URL: %w", err)
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

// writeConfig puts the gateway's config and the files it names in dir and
// loads it through the same loader the CLI uses.
func writeConfig(dir, upURL string) (*config.Config, error) {
	for _, name := range []string{"schema.graphql", "orders.yaml", "portcullis.yaml"} {
		b, err := fixtures.ReadFile("fixtures/" + name)
		if err != nil {
			return nil, fmt.Errorf("reading fixture %q: %w", name, err)
		}
		if name == "portcullis.yaml" {
			b = []byte(strings.ReplaceAll(string(b), "{{upstream}}", upURL))
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			return nil, fmt.Errorf("writing %q: %w", name, err)
		}
	}
	cfg, err := config.Load(filepath.Join(dir, "portcullis.yaml"))
	if err != nil {
		return nil, fmt.Errorf("loading gateway config: %w", err)
	}
	return cfg, nil
}

// close stops everything and removes the temp dir; it is safe on a partly
// started env.
func (e *env) close() {
	if e.stopGW != nil {
		e.stopGW()
		if err := <-e.gwDone; err != nil {
			fmt.Fprintf(os.Stderr, "loadbench: stopping gateway: %v\n", err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, s := range []*http.Server{e.bare, e.upstream} {
		if s != nil {
			if err := s.Shutdown(ctx); err != nil {
				s.Close()
			}
		}
	}
	if e.tmp != "" {
		_ = os.RemoveAll(e.tmp)
	}
}

// targets lists what the run drives, in table order. Each proxy row is
// compared with the bare proxy carrying the same request.
func (e *env) targets() []target {
	gql := func(name, base, baseline string) target {
		return target{
			Name: name, Baseline: baseline, Method: http.MethodPost, URL: base + "/graphql",
			Body:   []byte(graphqlQuery),
			Header: http.Header{"Content-Type": {"application/json"}},
			Want:   graphqlReply,
		}
	}
	rest := func(name, base, baseline string) target {
		return target{Name: name, Baseline: baseline, Method: http.MethodGet, URL: base + restPath, Want: restReply}
	}
	return []target{
		gql("direct graphql", e.upURL, "bare-proxy graphql"),
		gql("bare-proxy graphql", e.bareURL, ""),
		gql("portcullis graphql", e.gwURL, "bare-proxy graphql"),
		rest("direct rest", e.upURL, "bare-proxy rest"),
		rest("bare-proxy rest", e.bareURL, ""),
		rest("portcullis rest", e.gwURL, "bare-proxy rest"),
	}
}

// checkTargets sends one request to each target and demands the upstream's
// answer, so a misrouted or refusing target fails the run before it is
// measured (a fast 404 would otherwise look like great throughput). The
// gateway may still be starting: connection refusals are retried briefly.
func checkTargets(ctx context.Context, targets []target) error {
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil}}
	defer c.CloseIdleConnections()
	for _, t := range targets {
		var err error
		for try := 0; try < 50; try++ {
			if err = t.check(ctx, c); err == nil || !isRefused(err) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if err != nil {
			return fmt.Errorf("checking target %q: %w", t.Name, err)
		}
	}
	return nil
}

func isRefused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }

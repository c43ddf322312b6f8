package main

import (
	"bytes"
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
	"github.com/portcullis-gw/portcullis/internal/testkit/redistest"
	"github.com/portcullis-gw/portcullis/test/cmd/benchredis"
	"github.com/portcullis-gw/portcullis/upstream"
)

//go:embed fixtures
var fixtures embed.FS

// The upstream's answers: small and fixed, so the run measures the hops in
// front of it rather than the back end.
const (
	graphqlReply = `{"data":{"hello":"world"}}`
	restReply    = `{"orders":[{"id":"o-1","total":1200},{"id":"o-2","total":450}]}`
	restPath     = "/api/v1/orders"
	// apiKey opens the validated POST; the fixture config holds its SHA-256.
	apiKey = "loadbench-key"
)

// redisTarget is skipped, alone, when Redis does not answer.
const redisTarget = "portcullis graphql (redis limiter)"

// env is every server of the run, each on its own 127.0.0.1 listener.
type env struct {
	upstream *http.Server
	bare     *http.Server
	upURL    string
	bareURL  string
	gwURL    string
	// redisGWURL is the gateway whose limiter keeps its buckets in Redis;
	// empty when Redis did not answer (redisSkip says why).
	redisGWURL string
	redisSkip  string
	redis      *benchRedis
	gateways   []runningGateway
	tmp        string
	// tracingURL and auditURL are gateways exporting spans and audit
	// events to collect.
	tracingURL, auditURL string
	collect              *collector
	collectSrv           *http.Server
}

type runningGateway struct {
	stop context.CancelFunc
	done chan error
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
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if e.gwURL, err = e.startGateway(ctx, log, "memory", "store: memory", ""); err != nil {
		return nil, err
	}
	if err := e.startMonitoring(ctx, log); err != nil {
		return nil, err
	}

	// the docs/ pages measures the Redis store through a second gateway in this
	// process. Without Redis only its row is missing: this is a benchmark,
	// and the other figures are still worth having.
	rd, err := benchredis.Open(ctx, redistest.URL())
	if err != nil {
		e.redisSkip = err.Error()
		return e, nil
	}
	e.redis = rd
	if err := rd.Clean(ctx); err != nil {
		return nil, err
	}
	if e.redisGWURL, err = e.startGateway(ctx, log, "redis", rd.StoreYAML(), ""); err != nil {
		return nil, err
	}
	return e, nil
}

// startMonitoring starts the collector and the two gateways that export to it.
func (e *env) startMonitoring(ctx context.Context, log *slog.Logger) error {
	ln, err := listen()
	if err != nil {
		return err
	}
	e.collect = &collector{}
	e.collectSrv = newServer(e.collect.handler())
	go func() { _ = e.collectSrv.Serve(ln) }()
	tracing, audit := monitoringYAML("http://" + ln.Addr().String())
	if e.tracingURL, err = e.startGateway(ctx, log, "tracing", "store: memory", tracing); err != nil {
		return err
	}
	e.auditURL, err = e.startGateway(ctx, log, "audit", "store: memory", audit)
	return err
}

// startGateway serves a gateway built from the fixture config with the given
// rate_limit store keys and extra top-level sections, from a folder of its
// own under e.tmp.
func (e *env) startGateway(ctx context.Context, log *slog.Logger, name, store, extra string) (string, error) {
	dir := filepath.Join(e.tmp, name)
	if err := os.Mkdir(dir, 0o700); err != nil {
		return "", fmt.Errorf("creating %s: %w", dir, err)
	}
	cfg, err := writeConfig(dir, e.upURL, store, extra)
	if err != nil {
		return "", err
	}
	gw, err := gateway.New(cfg, gateway.WithLogger(log), gateway.WithAccessLog(io.Discard))
	if err != nil {
		return "", fmt.Errorf("building %s gateway: %w", name, err)
	}
	ln, err := listen()
	if err != nil {
		gw.Close()
		return "", err
	}
	gctx, cancel := context.WithCancel(ctx)
	g := runningGateway{stop: cancel, done: make(chan error, 1)}
	go func() { g.done <- gw.Serve(gctx, ln, nil) }()
	e.gateways = append(e.gateways, g)
	return "http://" + ln.Addr().String(), nil
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

// writeConfig puts the gateway's config, with store as its rate_limit
// store keys, and the files it names in dir, and loads it through the same
// loader the CLI uses.
func writeConfig(dir, upURL, store, extra string) (*config.Config, error) {
	for _, name := range []string{"schema.graphql", "orders.yaml", "portcullis.yaml"} {
		b, err := fixtures.ReadFile("fixtures/" + name)
		if err != nil {
			return nil, fmt.Errorf("reading fixture %q: %w", name, err)
		}
		if name == "portcullis.yaml" {
			b = []byte(strings.NewReplacer("{{upstream}}", upURL, "{{store}}", store).Replace(string(b)) + extra)
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
	for _, g := range e.gateways {
		g.stop()
		if err := <-g.done; err != nil {
			fmt.Fprintf(os.Stderr, "loadbench: stopping gateway: %v\n", err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, s := range []*http.Server{e.bare, e.upstream, e.collectSrv} {
		if s != nil {
			if err := s.Shutdown(ctx); err != nil {
				s.Close()
			}
		}
	}
	if e.redis != nil {
		if err := e.redis.Clean(ctx); err != nil {
			fmt.Fprintf(os.Stderr, "loadbench: %v\n", err)
		}
		e.redis.Close()
	}
	if e.tmp != "" {
		_ = os.RemoveAll(e.tmp)
	}
}

// targets lists what the run drives, in table order. Each proxy row is
// compared with the bare proxy carrying the same kind of request.
func (e *env) targets() []target {
	gqlHeader := http.Header{"Content-Type": {"application/json"}}
	gql := func(name, base, baseline string) target {
		return target{
			Name: name, Baseline: baseline, Method: http.MethodPost, URL: base + "/graphql",
			Body: graphqlBody(0), Header: gqlHeader, Want: graphqlReply,
		}
	}
	// the docs/ pages: every request a document the analysis cache has never seen.
	fresh := func(name, base, baseline string) target {
		t := gql(name, base, baseline)
		t.Vary = graphqlBody
		return t
	}
	rest := func(name, base, baseline string) target {
		return target{Name: name, Baseline: baseline, Method: http.MethodGet, URL: base + restPath, Want: restReply}
	}
	// the docs/ pages: a ~1 KB JSON body validated against a dozen typed fields,
	// behind an API key.
	post := func(name, base, baseline string) target {
		return target{
			Name: name, Baseline: baseline, Method: http.MethodPost, URL: base + restPath,
			Body:   orderBody,
			Header: http.Header{"Content-Type": {"application/json"}, "X-Api-Key": {apiKey}},
			Want:   restReply,
		}
	}
	validated := post("portcullis rest (validated POST)", e.gwURL, "bare-proxy rest (POST)")
	// Proof that the row measures validation and authentication: a target
	// that let these through would be measuring a plain proxy.
	validated.Refusals = []refusal{
		{Why: "a body with a mistyped field", Body: badOrderBody(), Header: validated.Header, Status: http.StatusBadRequest},
		{Why: "no API key", Body: orderBody, Header: http.Header{"Content-Type": {"application/json"}}, Status: http.StatusUnauthorized},
	}

	ts := []target{
		gql("direct graphql", e.upURL, "bare-proxy graphql"),
		gql("bare-proxy graphql", e.bareURL, ""),
		gql("portcullis graphql", e.gwURL, "bare-proxy graphql"),
	}
	if e.redisGWURL != "" {
		ts = append(ts, gql(redisTarget, e.redisGWURL, "bare-proxy graphql"))
	}
	if e.tracingURL != "" {
		ts = append(ts, gql(tracingTarget, e.tracingURL, "portcullis graphql"), gql(auditTarget, e.auditURL, "portcullis graphql"))
	}
	return append(ts,
		fresh("bare-proxy graphql (new document each request)", e.bareURL, ""),
		fresh("portcullis graphql (new document each request)", e.gwURL, "bare-proxy graphql (new document each request)"),
		rest("bare-proxy rest", e.bareURL, ""),
		rest("portcullis rest", e.gwURL, "bare-proxy rest"),
		post("bare-proxy rest (POST)", e.bareURL, ""),
		validated,
	)
}

// graphqlBody is the GraphQL POST body of document n: one operation whose
// argument literal is n, so each n is a distinct document to the analysis
// cache (keyed by document hash) while the work per request stays the same.
func graphqlBody(n uint64) []byte {
	return fmt.Appendf(nil, `{"query":"{ hello(name: \"n%d\") }"}`, n)
}

// orderBody is the validated POST's body, a valid NewOrder of ~1 KB.
//
//go:embed fixtures/order.json
var orderBody []byte

// badOrderBody is orderBody with quantity sent as a string.
func badOrderBody() []byte {
	return bytes.Replace(orderBody, []byte(`"quantity": 7,`), []byte(`"quantity": "7",`), 1)
}

// checkTargets sends one request to each target and demands the upstream's
// answer, so a misrouted or refusing target fails the run before it is
// measured (a fast 404 would otherwise look like great throughput), then
// sends each of its refusals and demands the refusal. The gateway may still
// be starting: connection refusals are retried briefly.
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
		for _, r := range t.Refusals {
			if err := t.checkRefusal(ctx, c, r); err != nil {
				return fmt.Errorf("checking that target %q refuses %s: %w", t.Name, r.Why, err)
			}
		}
	}
	return nil
}

func isRefused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }

package upstream

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/textproto"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/portcullis-gw/portcullis/upstream/mask"
)

// Proxy forwards requests to one back end. Set OnError and OnResponse before
// the first Forward; a Proxy is safe for concurrent use afterwards. A caller
// that answers failures in its own shape and decides per request what
// happens to the answer uses Send and Outbound.Answer instead.
type Proxy struct {
	// OnError writes the client's answer when the exchange fails before a
	// response was sent; r is the inbound request given to Forward. err is
	// the cause for logs; it may name the
	// upstream's address and must not be shown to the client. When nil, a
	// plain-text 502/503/504 carrying only the code is written.
	//
	// OnError is not called when the client went away first (its request
	// context is done): nobody is listening and the upstream is not at
	// fault, so Forward only records StatusClientClosedRequest (499).
	OnError func(w http.ResponseWriter, r *http.Request, kind ErrorKind, err error)

	// OnResponse, when set, sees every upstream response before it is sent
	// on (httputil.ReverseProxy.ModifyResponse). Returning an error drops
	// the response and reports KindError (502) through OnError.
	OnResponse func(*http.Response) error

	target  *url.URL
	timeout time.Duration
	pool    *Pool
	rp      *httputil.ReverseProxy
	allow   []string // Config.ForwardHeaders
	// hideHeaders are removed from every answer (mask.NewHeaders).
	hideHeaders mask.Headers
}

// Outbound is what the gateway decided to send upstream for one request.
type Outbound struct {
	// Path is the escaped path (as on the wire) appended to the upstream
	// URL's path; empty means the upstream URL's path exactly.
	Path string
	// RawQuery is the outbound query, without '?'.
	RawQuery string
	// Body replaces the inbound body (e.g. the bytes already read and
	// checked); nil streams the inbound body as is.
	Body []byte
	// Header values are set on the outbound request after stripping, so they
	// win over anything the client sent.
	Header http.Header
	// ClientIP becomes X-Forwarded-For; empty sends none.
	ClientIP string
	// StripHeaders are further client-sent headers to remove, e.g. the
	// identity headers the gateway sets itself.
	StripHeaders []string
	// Method, when set, replaces the inbound method (a GraphQL GET is sent
	// on as a POST, which every subgraph server accepts).
	Method string
	// Idempotent says the request may safely reach the back end twice (a
	// GraphQL query, a GET or HEAD, an operation marked
	// x-portcullis-idempotent): only then are timeouts and 502/503 answers
	// retried. Connect failures are retried for any request.
	Idempotent bool
	// Answer, when set, completes this request's answer before it is sent
	// on, after OnResponse: the caller's plan for what must happen to the
	// answer, handed over with the request. Returning an error drops the
	// response and reports KindError (502).
	Answer func(*http.Response) error
}

// Failure is an exchange that failed before a response was sent: how the
// client is told (Kind) and the cause for logs (Err, which may name the
// upstream's address and must not be shown to the client).
type Failure struct {
	Kind ErrorKind
	Err  error
}

func (f *Failure) Error() string { return f.Kind.Code() + ": " + f.Err.Error() }

// New builds the proxy for one back end: a Pool of its endpoints (see
// NewPool) behind a hardened httputil.ReverseProxy.
func New(cfg Config) (*Proxy, error) { return NewWithOptions(cfg, PoolOptions{}) }

// NewWithOptions is New with the pool's clock and logger.
func NewWithOptions(cfg Config, opts PoolOptions) (*Proxy, error) {
	urls := cfg.Endpoints()
	if len(urls) == 0 {
		return nil, errors.New("configuring upstream: url or urls is required")
	}
	target, err := parseTarget(urls[0])
	if err != nil {
		return nil, err
	}
	https := target.Scheme == "https"
	if !https && (cfg.CAFile != "" || cfg.CertFile != "" || cfg.KeyFile != "") {
		// TLS settings on a plain-http URL are a mistake; sending in clear
		// what the operator meant to protect would fail open.
		return nil, fmt.Errorf("configuring upstream %q: ca_file, cert_file and key_file need an https URL", target.Redacted())
	}
	timeout, _, err := transportLimits(cfg)
	if err != nil {
		return nil, err
	}
	pool, err := NewPool(cfg, opts)
	if err != nil {
		return nil, err
	}
	p := &Proxy{target: target, timeout: timeout, pool: pool, allow: cfg.ForwardHeaders,
		hideHeaders: mask.NewHeaders(cfg.RemoveResponseHeaders, cfg.KeepResponseHeaders)}
	p.rp = &httputil.ReverseProxy{
		Rewrite:        p.rewrite,
		Transport:      pool,
		ModifyResponse: p.modifyResponse,
		ErrorHandler:   p.handleError,
		BufferPool:     bufPool{},
		ErrorLog:       slog.NewLogLogger(slog.Default().Handler(), slog.LevelWarn),
	}
	return p, nil
}

// transportLimits resolves the timeout and idle pool size with defaults.
func transportLimits(cfg Config) (timeout time.Duration, maxIdle int, err error) {
	timeout = cfg.Timeout
	switch {
	case timeout < 0:
		return 0, 0, fmt.Errorf("configuring upstream %q: timeout must not be negative", cfg.URL)
	case timeout == 0:
		timeout = DefaultTimeout
	}
	maxIdle = cfg.MaxIdleConns
	switch {
	case maxIdle < 0:
		return 0, 0, fmt.Errorf("configuring upstream %q: max_idle_conns must not be negative", cfg.URL)
	case maxIdle == 0:
		maxIdle = DefaultMaxIdleConns
	}
	return timeout, maxIdle, nil
}

func parseTarget(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("parsing upstream URL: %w", err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("parsing upstream URL %q: scheme must be http or https", raw)
	case u.Host == "":
		return nil, fmt.Errorf("parsing upstream URL %q: missing host", raw)
	case u.User != nil:
		return nil, fmt.Errorf("parsing upstream URL %q: credentials in the URL are not supported", u.Redacted())
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		// The query comes from each request; a base query would be dropped.
		return nil, fmt.Errorf("parsing upstream URL %q: must not carry a query or fragment", raw)
	}
	return u, nil
}

// CloseIdleConnections releases the pool when the route is replaced or the
// gateway shuts down: it stops the health checks and drops idle
// connections. In-flight requests finish.
func (p *Proxy) CloseIdleConnections() { p.pool.Close() }

// Pool is the proxy's endpoint pool, for status and metrics.
func (p *Proxy) Pool() *Pool { return p.pool }

// Ping sends HEAD to the upstream URL on every endpoint through its own
// transport (so TLS and mTLS are exercised too) and returns one error per
// endpoint that gave no HTTP answer, naming it. Any status proves the back
// end reachable: the question is reachability, not health.
func (p *Proxy) Ping(ctx context.Context) []error {
	path := p.target.EscapedPath()
	if path == "" {
		path = "/"
	}
	if u, err := url.PathUnescape(path); err == nil {
		path = u
	}
	return p.pool.Ping(ctx, path, min(p.timeout, 5*time.Second))
}

type forwardKey struct{}

// forward travels in the outbound request's context from Forward to the
// ReverseProxy callbacks, which only receive the request.
type forward struct {
	in      *http.Request
	out     *Outbound
	path    string
	rawPath string
	// failed is set, instead of answering, when the caller renders
	// failures itself (Send).
	report bool
	failed *Failure
}

// Forward sends the request upstream as out describes and streams the answer
// to w. in is never modified. Failures before the response header are
// answered through OnError; a failure while streaming the body aborts the
// response (http.ErrAbortHandler under a real server, which a recovery
// middleware must re-panic), as the status is already sent.
func (p *Proxy) Forward(w http.ResponseWriter, in *http.Request, out Outbound) {
	if f := p.send(w, in, &out, false); f != nil {
		p.fail(w, in, f.Kind, f.Err)
	}
}

// Send is Forward for a caller that answers failures in its own shape: a
// failure before the response header is returned, with nothing written,
// instead of going to OnError. A client that went away is recorded as
// StatusClientClosedRequest and is no failure.
func (p *Proxy) Send(w http.ResponseWriter, in *http.Request, out Outbound) *Failure {
	return p.send(w, in, &out, true)
}

func (p *Proxy) send(w http.ResponseWriter, in *http.Request, out *Outbound, report bool) *Failure {
	f := &forward{in: in, out: out, report: report}
	var err error
	if f.path, f.rawPath, err = p.joinPath(out.Path); err != nil {
		return &Failure{Kind: KindError, Err: err}
	}
	ctx, cancel := context.WithTimeout(in.Context(), p.timeout)
	defer cancel()
	ctx = WithIdempotent(ctx, out.Idempotent)
	p.rp.ServeHTTP(w, in.WithContext(context.WithValue(ctx, forwardKey{}, f)))
	return f.failed
}

// joinPath appends the escaped request path to the upstream URL's path with
// exactly one slash between them, as net/http/httputil does, without
// cleaning: the path goes upstream exactly as the gateway checked it.
func (p *Proxy) joinPath(escaped string) (path, rawPath string, err error) {
	if escaped == "" {
		if p.target.Path == "" {
			return "/", "", nil
		}
		return p.target.Path, p.target.RawPath, nil
	}
	base := p.target.EscapedPath()
	if !strings.HasPrefix(escaped, "/") {
		escaped = "/" + escaped
	}
	rawPath = strings.TrimSuffix(base, "/") + escaped
	path, err = url.PathUnescape(rawPath)
	if err != nil {
		return "", "", fmt.Errorf("building outbound path: %w", err)
	}
	return path, rawPath, nil
}

func (p *Proxy) rewrite(pr *httputil.ProxyRequest) {
	f, _ := pr.In.Context().Value(forwardKey{}).(*forward)
	if f == nil {
		// Only Forward reaches the ReverseProxy; never forward unprepared.
		f = &forward{out: &Outbound{}, path: "/"}
		if p.target.Path != "" {
			f.path, f.rawPath = p.target.Path, p.target.RawPath
		}
	}
	out := f.out

	pr.Out.URL = &url.URL{
		Scheme:   p.target.Scheme,
		Host:     p.target.Host,
		Path:     f.path,
		RawPath:  f.rawPath,
		RawQuery: cleanQuery(out.RawQuery),
	}
	pr.Out.Host = "" // Host header = the upstream's host; X-Forwarded-Host keeps the client's

	h := pr.Out.Header
	stripClientHeaders(h, out.StripHeaders, p.allow)
	// Upgrades are not forwarded: a tunnel would carry traffic (e.g.
	// GraphQL over WebSocket) that the gateway never inspected.
	h.Del("Connection")
	h.Del("Upgrade")
	if out.ClientIP != "" {
		h.Set("X-Forwarded-For", out.ClientIP)
	}
	if pr.In.Host != "" {
		h.Set("X-Forwarded-Host", pr.In.Host)
	}
	if pr.In.TLS != nil {
		h.Set("X-Forwarded-Proto", "https")
	} else {
		h.Set("X-Forwarded-Proto", "http")
	}
	for k, vs := range out.Header {
		h[textproto.CanonicalMIMEHeaderKey(k)] = vs
	}

	if out.Method != "" {
		pr.Out.Method = out.Method
	}
	if out.Body != nil {
		setBody(pr.Out, out.Body)
	}
}

// setBody makes b the outbound request's body, replacing the inbound one.
func setBody(out *http.Request, b []byte) {
	out.ContentLength = int64(len(b))
	out.TransferEncoding = nil
	out.Trailer = nil
	out.Header.Del("Content-Length")
	// The gateway already read the body, answering any 100-continue.
	out.Header.Del("Expect")
	out.GetBody = func() (io.ReadCloser, error) {
		if len(b) == 0 {
			return http.NoBody, nil
		}
		return io.NopCloser(bytes.NewReader(b)), nil
	}
	out.Body, _ = out.GetBody()
}

func headerIs(k, name string) bool {
	return len(k) == len(name) && headerHasPrefix(k, name)
}

func headerHasPrefix(k, prefix string) bool {
	if len(k) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		if foldHeaderByte(k[i]) != foldHeaderByte(prefix[i]) {
			return false
		}
	}
	return true
}

func foldHeaderByte(c byte) byte {
	switch {
	case c == '_':
		return '-'
	case 'A' <= c && c <= 'Z':
		return c + ('a' - 'A')
	}
	return c
}

// cleanQuery drops query pairs that Go's url.ParseQuery rejects (e.g. with
// ';'), as httputil.ReverseProxy does for the inbound query: a back end that
// splits on ';' would otherwise see parameters the gateway never checked.
func cleanQuery(raw string) string {
	if raw == "" {
		return ""
	}
	if queryParses(raw) {
		return raw
	}
	var b strings.Builder
	for pair := range strings.SplitSeq(raw, "&") {
		if pair == "" || strings.Contains(pair, ";") {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		if _, err := url.QueryUnescape(k); err != nil {
			continue
		}
		if _, err := url.QueryUnescape(v); err != nil {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(pair)
	}
	return b.String()
}

// queryParses reports whether url.ParseQuery accepts raw, without building
// its map: no pair holds ';', and every '%' starts a two-digit hex escape
// (the only errors url.QueryUnescape reports in query mode). Past
// urlMaxPairs pairs it defers to url.ParseQuery, which caps their number.
func queryParses(raw string) bool {
	pairs := 1
	for i := 0; i < len(raw); i++ {
		switch raw[i] {
		case ';':
			return false
		case '&':
			if pairs++; pairs > urlMaxPairs {
				_, err := url.ParseQuery(raw)
				return err == nil
			}
		case '%':
			if i+2 >= len(raw) || !isHex(raw[i+1]) || !isHex(raw[i+2]) {
				return false
			}
			i += 2
		}
	}
	return true
}

// urlMaxPairs is below the number of pairs url.ParseQuery accepts by
// default (the urlmaxqueryparams setting of the net/url documentation).
const urlMaxPairs = 1000

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

var errUpgradeRefused = errors.New("upstream switched protocols; upgrades are not forwarded")

func (p *Proxy) modifyResponse(res *http.Response) error {
	if res.StatusCode == http.StatusSwitchingProtocols {
		return errUpgradeRefused
	}
	// Headers that name the back end's software never reach the client.
	p.hideHeaders.Strip(res.Header)
	p.hideHeaders.Strip(res.Trailer)
	if p.OnResponse != nil {
		if err := p.OnResponse(res); err != nil {
			return err
		}
	}
	if f, _ := res.Request.Context().Value(forwardKey{}).(*forward); f != nil && f.out.Answer != nil {
		return f.out.Answer(res)
	}
	return nil
}

func (p *Proxy) handleError(w http.ResponseWriter, r *http.Request, err error) {
	f, ok := r.Context().Value(forwardKey{}).(*forward)
	if !ok {
		p.fail(w, r, Classify(err), err)
		return
	}
	if f.in.Context().Err() != nil {
		// The client cancelled: not an upstream failure, nobody to answer.
		w.WriteHeader(StatusClientClosedRequest)
		return
	}
	if f.report {
		f.failed = &Failure{Kind: Classify(err), Err: err}
		return
	}
	// OnError sees the inbound request, not ReverseProxy's outbound one,
	// whose URL names the upstream.
	p.fail(w, f.in, Classify(err), err)
}

func (p *Proxy) fail(w http.ResponseWriter, r *http.Request, kind ErrorKind, err error) {
	if p.OnError != nil {
		p.OnError(w, r, kind, err)
		return
	}
	writeDefaultError(w, kind)
}

// bufPool recycles ReverseProxy's copy buffers. It pools array pointers so
// Put does not allocate, as storing a slice in an interface would.
type bufPool struct{}

const bufSize = 32 << 10

var buffers = sync.Pool{New: func() any { return new([bufSize]byte) }}

func (bufPool) Get() []byte { return buffers.Get().(*[bufSize]byte)[:] }

func (bufPool) Put(b []byte) {
	if len(b) == bufSize {
		buffers.Put((*[bufSize]byte)(b))
	}
}

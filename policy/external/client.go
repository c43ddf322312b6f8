package external

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
)

// Decision is the decision point's answer, OPA's result object.
type Decision struct {
	Allow  bool   `json:"allow"`
	Reason string `json:"reason,omitempty"`
	// Remove lists GraphQL coordinates to filter out (filter mode).
	Remove []string `json:"remove,omitempty"`
}

// Result is a Decision with how it was reached.
type Result struct {
	Decision
	// Cached: answered from the decision cache.
	Cached bool
	// Err is why the decision point gave no usable answer; Decision is then
	// on_error's. The cause is for the log, never for the client.
	Err error
}

// Client asks one decision point. It is safe for concurrent use.
type Client struct {
	url     string
	http    *http.Client
	timeout time.Duration
	allowOn bool // on_error: allow
	ttl     time.Duration
	now     func() time.Time
	headers []string

	cache *decisionCache
	group singleflight.Group

	calls  atomic.Uint64
	hits   atomic.Uint64
	errors atomic.Uint64
}

// maxAnswer bounds a decision point's answer read into memory.
const maxAnswer = 1 << 20

// Options are the Client's settings the config does not carry.
type Options struct {
	Now       func() time.Time // default time.Now
	Transport http.RoundTripper
}

// New builds a Client from a validated, defaulted config. It does not
// contact the decision point.
func New(cfg Config, opts Options) (*Client, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate().Err(); err != nil {
		return nil, fmt.Errorf("building external authorization: %w", err)
	}
	tr := opts.Transport
	if tr == nil {
		tr = &http.Transport{
			// Decisions go straight to the configured address: no proxy
			// from the environment sits between the gateway and its policy.
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: cfg.Timeout, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        64,
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     90 * time.Second,
		}
	}
	c := &Client{
		url: cfg.URL, http: &http.Client{Transport: tr, Timeout: cfg.Timeout,
			// A redirect would send the input somewhere the config does not name.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		timeout: cfg.Timeout, allowOn: cfg.OnError == "allow", ttl: cfg.CacheTTL, now: opts.Now,
	}
	for _, h := range cfg.Headers {
		c.headers = append(c.headers, lower(h))
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.ttl > 0 {
		c.cache = newDecisionCache(cfg.CacheSize, maxCacheBytes)
	}
	return c, nil
}

// Headers are the lower-case header names the input carries.
func (c *Client) Headers() []string { return c.headers }

// Stats are the counters of a Client: calls made to the decision point,
// cache hits, failed calls.
func (c *Client) Stats() (calls, hits, errs uint64) {
	return c.calls.Load(), c.hits.Load(), c.errors.Load()
}

// Close releases idle connections.
func (c *Client) Close() { c.http.CloseIdleConnections() }

// Decide asks for in's decision. A failure or an undefined decision gives
// on_error's decision with Err set; it is never cached.
func (c *Client) Decide(ctx context.Context, in *Input) Result {
	bp := buffers.Get().(*[]byte)
	defer buffers.Put(bp)
	body, err := appendRequest((*bp)[:0], in)
	if err != nil {
		return c.failed(fmt.Errorf("encoding input: %w", err))
	}
	*bp = body
	if c.cache != nil {
		if d, ok := c.cache.get(body, c.now()); ok {
			c.hits.Add(1)
			return Result{Decision: d, Cached: true}
		}
	}
	key := string(body)
	// Identical inputs in flight at once make one call.
	v, err, _ := c.group.Do(key, func() (any, error) {
		d, err := c.ask(ctx, []byte(key))
		if err == nil && c.cache != nil {
			c.cache.put(key, d, c.now().Add(c.ttl))
		}
		return d, err
	})
	if err != nil {
		return c.failed(err)
	}
	return Result{Decision: v.(Decision)}
}

func (c *Client) failed(err error) Result {
	c.errors.Add(1)
	r := Result{Err: err}
	if c.allowOn {
		r.Allow = true
	} else {
		r.Reason = "the authorization service gave no decision"
	}
	return r
}

// ask makes one call. OPA answers 200 with {"result": ...}, or 200 with {}
// when the policy defines no such rule (an undefined decision), which is
// no decision at all.
func (c *Client) ask(ctx context.Context, body []byte) (Decision, error) {
	c.calls.Add(1)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return Decision{}, fmt.Errorf("building decision request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return Decision{}, fmt.Errorf("asking the decision point: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return Decision{}, fmt.Errorf("reading the decision: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return Decision{}, fmt.Errorf("decision point answered %d", resp.StatusCode)
	}
	if len(data) > maxAnswer {
		return Decision{}, fmt.Errorf("decision larger than %d bytes", maxAnswer)
	}
	return parseAnswer(data)
}

// parseAnswer reads {"result": {"allow": bool, "reason": string, "remove":
// [string]}}. Anything else (no result, allow missing or not a boolean) is
// an error: a policy that forgot to answer has not allowed anything.
func parseAnswer(data []byte) (Decision, error) {
	var ans struct {
		Result *struct {
			Allow  *bool           `json:"allow"`
			Reason json.RawMessage `json:"reason"`
			Remove []string        `json:"remove"`
		} `json:"result"`
	}
	if err := json.Unmarshal(data, &ans); err != nil {
		return Decision{}, fmt.Errorf("decoding the decision: %w", err)
	}
	if ans.Result == nil {
		return Decision{}, errors.New("the decision is undefined (no result)")
	}
	if ans.Result.Allow == nil {
		return Decision{}, errors.New("the decision has no boolean allow")
	}
	d := Decision{Allow: *ans.Result.Allow, Remove: ans.Result.Remove}
	if len(ans.Result.Reason) > 0 && string(ans.Result.Reason) != "null" {
		if err := json.Unmarshal(ans.Result.Reason, &d.Reason); err != nil {
			return Decision{}, errors.New("the decision's reason is not a string")
		}
	}
	if len(d.Reason) > maxReason {
		d.Reason = strings.ToValidUTF8(d.Reason[:maxReason], "")
	}
	return d, nil
}

// maxReason bounds the reason put in an error message and a log line.
const maxReason = 512

// buffers recycle the input encodings.
var buffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

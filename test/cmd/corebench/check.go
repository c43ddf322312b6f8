package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"
)

// check sends each workload's request through every target and demands the
// upstream's answer (a misrouted or refusing target would otherwise be
// measured as fast), then each refusal through every gateway and demands
// the refusal: the proof that the row measures its checks. A gateway's
// answers must carry the rate limiter's headers, and the Redis-store
// gateway's buckets must be in Redis.
func (b *bench) check(ctx context.Context) error {
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil}}
	defer c.CloseIdleConnections()
	for _, w := range b.workloads {
		for _, t := range b.targets(w) {
			status, h, body, err := send(ctx, c, w.Method, t.url+w.Path, w.Header, w.bodyFor(0))
			if err != nil {
				return fmt.Errorf("checking %s through %s: %w", w.Name, t.name, err)
			}
			if status != http.StatusOK || !bytes.Equal(body, w.Want) {
				return fmt.Errorf("checking %s through %s: got %d %.300q, want 200 and the upstream's answer", w.Name, t.name, status, body)
			}
			if t != b.bare && h.Get("RateLimit") == "" {
				return fmt.Errorf("checking %s through %s: no RateLimit header: is the limiter on?", w.Name, t.name)
			}
			if t == b.bare {
				continue
			}
			for _, r := range w.Refusals {
				if err := checkRefusal(ctx, c, t.url, r); err != nil {
					return fmt.Errorf("checking that %s refuses %s (%s): %w", t.name, w.Name, r.Why, err)
				}
			}
		}
	}
	if b.redisGW != nil {
		return b.checkRedis(ctx, c)
	}
	return nil
}

// checkRedis proves that the Redis-store gateway decides in Redis: a run of
// requests must raise Redis's count of script calls by at least as many.
// (The buckets themselves expire as soon as they are full again, which at
// the run's rates is at once, so they cannot be looked for.) Other clients
// of a shared Redis can only raise the count, never hide a gateway that
// does not call it... unless they make up the difference, which a run of
// sequential requests makes unlikely.
func (b *bench) checkRedis(ctx context.Context, c *http.Client) error {
	w := b.workloads[slices.IndexFunc(b.workloads, func(w workload) bool { return w.Redis })]
	before, err := scriptCalls(ctx, b.redis)
	if err != nil {
		return err
	}
	const n = 50
	for range n {
		if status, _, body, err := send(ctx, c, w.Method, b.redisGW.url+w.Path, w.Header, w.Body); err != nil || status != http.StatusOK {
			return fmt.Errorf("checking %s through %s: %d %.200q %v", w.Name, b.redisGW.name, status, body, err)
		}
	}
	after, err := scriptCalls(ctx, b.redis)
	if err != nil {
		return err
	}
	if after-before < n {
		return fmt.Errorf("%d requests through %s raised Redis's script calls by %d only: is its limiter in Redis?", n, b.redisGW.name, after-before)
	}
	return nil
}

func checkRefusal(ctx context.Context, c *http.Client, base string, r refusal) error {
	status, _, body, err := send(ctx, c, r.Method, base+r.Path, r.Header, r.Body)
	if err != nil {
		return err
	}
	if status != r.Status || !bytes.Contains(body, []byte(r.Contains)) {
		return fmt.Errorf("got %d %.300q, want %d with %q", status, body, r.Status, r.Contains)
	}
	return nil
}

func send(ctx context.Context, c *http.Client, method, url string, h http.Header, body []byte) (int, http.Header, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, nil, err
	}
	for k, v := range h {
		req.Header[k] = v
	}
	res, err := c.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return 0, nil, nil, fmt.Errorf("reading the answer: %w", err)
	}
	return res.StatusCode, res.Header, b, nil
}

// targets are the processes w is sent to: the bare proxy first, then the
// gateway, then (for a Redis row, when Redis answered) the Redis-store
// gateway.
func (b *bench) targets(w workload) []*child {
	ts := []*child{b.bare, b.gateway}
	if w.Redis && b.redisGW != nil {
		ts = append(ts, b.redisGW)
	}
	return ts
}

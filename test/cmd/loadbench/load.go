package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

type options struct {
	duration, warmup time.Duration
	rounds, workers  int
	json             bool
}

var defaultOptions = options{duration: 3 * time.Second, warmup: 500 * time.Millisecond, rounds: 2, workers: 32}

func (o options) validate() error {
	switch {
	case o.duration <= 0:
		return errors.New("-duration must be > 0")
	case o.warmup < 0:
		return errors.New("-warmup must be >= 0")
	case o.rounds < 1:
		return errors.New("-rounds must be >= 1")
	case o.workers < 1 || o.workers > 1024:
		return errors.New("-workers must be between 1 and 1024")
	}
	return nil
}

// target is one request driven at maximum throughput.
type target struct {
	Name string
	// Baseline names the target this one's throughput is divided by; empty
	// for the baselines themselves.
	Baseline string
	Method   string
	URL      string
	// Body is what checkTargets sends; under load too, unless Vary is set.
	Body []byte
	// Vary, when set, makes every request under load distinct: the n-th
	// request of the whole run (n from 1) carries Vary(n).
	Vary   func(n uint64) []byte
	Header http.Header
	// Want is the body the upstream answers; checkTargets demands it.
	Want string
	// Refusals are requests the target must refuse, proving that the checks
	// the row claims to measure are on.
	Refusals []refusal
}

// refusal is a request sent to a target's URL with its method, and the
// status it must get.
type refusal struct {
	Why    string
	Body   []byte
	Header http.Header
	Status int
}

func (t target) check(ctx context.Context, c *http.Client) error {
	status, body, err := send(ctx, c, t.Method, t.URL, t.Body, t.Header)
	if err != nil {
		return err
	}
	if status != http.StatusOK || string(body) != t.Want {
		return fmt.Errorf("got %d %q, want 200 %q", status, body, t.Want)
	}
	return nil
}

func (t target) checkRefusal(ctx context.Context, c *http.Client, r refusal) error {
	status, body, err := send(ctx, c, t.Method, t.URL, r.Body, r.Header)
	if err != nil {
		return err
	}
	if status != r.Status {
		return fmt.Errorf("got %d %q, want %d", status, body, r.Status)
	}
	return nil
}

func send(ctx context.Context, c *http.Client, method, url string, body []byte, h http.Header) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	for k, v := range h {
		req.Header[k] = v
	}
	res, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	if err != nil {
		return 0, nil, fmt.Errorf("reading answer: %w", err)
	}
	return res.StatusCode, b, nil
}

// newTargeter is t's request source for the whole run. A varying target
// keeps one counter across warm-ups, rounds and attacks, so no document
// comes back in a later round (where a cache could answer it); the counter
// is atomic because vegeta's workers call the targeter concurrently.
func newTargeter(t target) vegeta.Targeter {
	if t.Vary == nil {
		return vegeta.NewStaticTargeter(vegeta.Target{Method: t.Method, URL: t.URL, Body: t.Body, Header: t.Header})
	}
	var seq atomic.Uint64
	return func(tgt *vegeta.Target) error {
		if tgt == nil {
			return vegeta.ErrNilTarget
		}
		// vegeta copies Header into each request, so sharing it is safe.
		*tgt = vegeta.Target{Method: t.Method, URL: t.URL, Body: t.Vary(seq.Add(1)), Header: t.Header}
		return nil
	}
}

// sample is one measured attack on one target.
type sample struct {
	requests int
	errors   int
	elapsed  time.Duration
	p50, p99 time.Duration
	firstErr string
}

func (s sample) rps() float64 { return float64(s.requests) / s.elapsed.Seconds() }

// measure runs rounds of warm-up and measured attacks. Each round visits the
// targets in a rotated order, so no target always follows the same
// neighbour (GC debt, CPU frequency, other tenants of the machine).
func measure(ctx context.Context, o options, targets []target, progress io.Writer) (*report, error) {
	clients := make([]*http.Client, len(targets))
	targeters := make([]vegeta.Targeter, len(targets))
	width := 0
	for i := range clients {
		clients[i] = newClient(o.workers)
		defer clients[i].CloseIdleConnections()
		targeters[i] = newTargeter(targets[i])
		width = max(width, len(targets[i].Name))
	}
	samples := make([][]sample, len(targets))
	for round := range o.rounds {
		for k := range targets {
			i := (k + round) % len(targets)
			if o.warmup > 0 {
				attack(ctx, clients[i], targeters[i], targets[i].Name, o.workers, o.warmup)
			}
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("interrupted: %w", err)
			}
			s := attack(ctx, clients[i], targeters[i], targets[i].Name, o.workers, o.duration)
			fmt.Fprintf(progress, "  round %d  %-*s %9.0f req/s  p50 %-9s p99 %-9s errors %d\n",
				round+1, width, targets[i].Name, s.rps(), round3(s.p50), round3(s.p99), s.errors)
			if s.firstErr != "" {
				fmt.Fprintf(progress, "    first error: %s\n", s.firstErr)
			}
			samples[i] = append(samples[i], s)
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("interrupted: %w", err)
			}
		}
	}
	return newReport(o, targets, samples), nil
}

// newClient gives each target its own connection pool, kept across warm-up
// and measurement so measured requests never pay for dialing.
func newClient(workers int) *http.Client {
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			Proxy:               nil, // all traffic stays on 127.0.0.1
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConnsPerHost: workers,
			IdleConnTimeout:     time.Minute,
			DisableCompression:  true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// attack drives tr with a fixed number of workers, each sending its next
// request as soon as the previous answer is read (vegeta's max-throughput
// mode), for d or until ctx is done. An error is any answer outside 2xx, or
// none at all.
func attack(ctx context.Context, c *http.Client, tr vegeta.Targeter, name string, workers int, d time.Duration) sample {
	atk := vegeta.NewAttacker(
		vegeta.Client(c),
		vegeta.Workers(uint64(workers)),
		vegeta.MaxWorkers(uint64(workers)),
		vegeta.MaxBody(64<<10),
	)
	var s sample
	lat := make([]time.Duration, 0, 1<<16)
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
			atk.Stop()
		case <-done:
		}
	}()
	start := time.Now()
	for res := range atk.Attack(tr, vegeta.Rate{Freq: 0}, d, name) {
		s.requests++
		lat = append(lat, res.Latency)
		if res.Code < 200 || res.Code > 299 {
			s.errors++
			if s.firstErr == "" {
				s.firstErr = fmt.Sprintf("code %d %s", res.Code, res.Error)
			}
		}
	}
	s.elapsed = time.Since(start)
	slices.Sort(lat)
	s.p50, s.p99 = quantile(lat, 0.50), quantile(lat, 0.99)
	return s
}

// quantile is the nearest-rank quantile of sorted latencies.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func round3(d time.Duration) time.Duration {
	switch {
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	case d >= time.Microsecond:
		return d.Round(time.Microsecond)
	}
	return d
}

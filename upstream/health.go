package upstream

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

func healthDefaults(h HealthConfig) HealthConfig {
	if h.Interval == 0 {
		h.Interval = DefaultHealthInterval
	}
	if h.Timeout == 0 {
		h.Timeout = min(DefaultHealthTimeout, h.Interval)
	}
	if h.HealthyAfter == 0 {
		h.HealthyAfter = DefaultHealthyAfter
	}
	if h.UnhealthyAfter == 0 {
		h.UnhealthyAfter = DefaultUnhealthyAfter
	}
	return h
}

// startHealth runs one checker per endpoint until Close. Endpoints start
// healthy: a check that has not run yet must not hold traffic back.
func (p *Pool) startHealth(h HealthConfig, routeTimeout time.Duration) {
	h.Timeout = min(h.Timeout, routeTimeout)
	for _, e := range p.eps {
		p.checks.Add(1)
		go func() {
			defer p.checks.Done()
			t := time.NewTicker(h.Interval)
			defer t.Stop()
			for {
				p.checkOnce(e, h)
				select {
				case <-p.stop:
					return
				case <-t.C:
				}
			}
		}()
	}
}

// checkOnce sends GET h.Path; a 2xx answer passes, anything else fails.
func (p *Pool) checkOnce(e *endpoint, h HealthConfig) {
	ctx, cancel := context.WithTimeout(context.Background(), h.Timeout)
	defer cancel()
	go func() {
		select {
		case <-p.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	why := ""
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.scheme+"://"+e.host+h.Path, nil)
	if err == nil {
		req.Header.Set("User-Agent", "portcullis-health")
		var res *http.Response
		if res, err = e.transport.RoundTrip(req); err == nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 4<<10))
			_ = res.Body.Close()
			if res.StatusCode < 200 || res.StatusCode > 299 {
				why = fmt.Sprintf("health check: HTTP %d", res.StatusCode)
			}
		}
	}
	if err != nil {
		why = "health check: " + err.Error()
	}
	if e.checked(why == "", why, p.now(), h) {
		if why == "" {
			p.log.Info("upstream endpoint healthy again", "endpoint", e.host)
		} else {
			p.log.Warn("upstream endpoint unhealthy", "endpoint", e.host, "last_error", why)
		}
	}
}

package upstream

import (
	"fmt"
	"net/http"
)

// NewClient builds an HTTP client for a back end the gateway calls itself
// (a subgraph of a federated route) rather than proxies to: the same
// transport, TLS files and timeout rules as New, with the timeout bounding
// each whole exchange.
func NewClient(cfg Config) (*http.Client, error) {
	target, err := parseTarget(cfg.URL)
	if err != nil {
		return nil, err
	}
	https := target.Scheme == "https"
	if !https && (cfg.CAFile != "" || cfg.CertFile != "" || cfg.KeyFile != "") {
		return nil, fmt.Errorf("configuring upstream %q: ca_file, cert_file and key_file need an https URL", cfg.URL)
	}
	timeout := cfg.Timeout
	switch {
	case timeout < 0:
		return nil, fmt.Errorf("configuring upstream %q: timeout must not be negative", cfg.URL)
	case timeout == 0:
		timeout = DefaultTimeout
	}
	maxIdle := cfg.MaxIdleConns
	switch {
	case maxIdle < 0:
		return nil, fmt.Errorf("configuring upstream %q: max_idle_conns must not be negative", cfg.URL)
	case maxIdle == 0:
		maxIdle = DefaultMaxIdleConns
	}
	t, err := newTransport(https, cfg, timeout, maxIdle)
	if err != nil {
		return nil, err
	}
	// A subgraph is asked, never followed: a redirect would send the
	// gateway's identity headers to wherever the subgraph points.
	noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &http.Client{Transport: t, Timeout: timeout, CheckRedirect: noRedirect}, nil
}

package upstream

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"
)

const (
	// DefaultTimeout applies when Config.Timeout is zero: no timeout at all
	// would let one stuck back end hold gateway connections forever.
	DefaultTimeout = 30 * time.Second
	// DefaultMaxIdleConns applies when Config.MaxIdleConns is zero. A gateway
	// talks to few hosts at high concurrency; net/http's default of 2 idle
	// connections per host would make it redial under load.
	DefaultMaxIdleConns = 256

	dialTimeout         = 5 * time.Second
	tlsHandshakeTimeout = 10 * time.Second
	idleConnTimeout     = 90 * time.Second
	keepAlive           = 30 * time.Second
)

// newTransport builds the connection pool for one upstream. Files are read
// here, once; nothing is loaded on the request path.
func newTransport(https bool, cfg Config, timeout time.Duration, maxIdle int) (*http.Transport, error) {
	dialer := &net.Dialer{Timeout: min(dialTimeout, timeout), KeepAlive: keepAlive}
	t := &http.Transport{
		// No Proxy: an HTTP_PROXY in the gateway's environment must not
		// silently reroute (and expose) traffic meant for the back end.
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		MaxIdleConns:          0, // no global cap; the per-host cap bounds the pool
		MaxIdleConnsPerHost:   maxIdle,
		IdleConnTimeout:       idleConnTimeout,
		TLSHandshakeTimeout:   min(tlsHandshakeTimeout, timeout),
		ResponseHeaderTimeout: timeout,
		ExpectContinueTimeout: time.Second,
		// Encodings pass through untouched: the client negotiated them with
		// the back end, and transparent gunzip would drop Content-Encoding.
		DisableCompression: true,
		ForceAttemptHTTP2:  https,
	}
	if !https {
		return t, nil
	}
	tc, err := tlsConfig(cfg)
	if err != nil {
		return nil, err
	}
	t.TLSClientConfig = tc
	return t, nil
}

func tlsConfig(cfg Config) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("loading upstream CA %q: %w", cfg.CAFile, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("loading upstream CA %q: %w", cfg.CAFile, errNoPEMCerts)
		}
		tc.RootCAs = pool
	}
	if cfg.CertFile != "" || cfg.KeyFile != "" {
		if cfg.CertFile == "" || cfg.KeyFile == "" {
			return nil, errors.New("loading upstream client certificate: cert_file and key_file must be set together")
		}
		cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("loading upstream client certificate %q: %w", cfg.CertFile, err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

var errNoPEMCerts = errors.New("no PEM certificates found")

package gateway

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/portcullis-gw/portcullis/gateway/config"
)

// serverTLS builds the listener's TLS config: TLS 1.2+, HTTP/2 by ALPN, a
// certificate re-read when its files change, and with a client CA, client
// certificates required and verified.
func (g *Gateway) serverTLS(ctx context.Context, t *config.TLS) (*tls.Config, error) {
	cr, err := newCertReloader(t.CertFile, t.KeyFile)
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: cr.get,
		NextProtos:     []string{"h2", "http/1.1"},
	}
	if t.ClientCAFile != "" {
		pem, err := os.ReadFile(t.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("reading client CA %q: %w", t.ClientCAFile, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("reading client CA %q: no PEM certificates", t.ClientCAFile)
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	go cr.watch(ctx, g, time.Second)
	return cfg, nil
}

// certReloader keeps the serving certificate and swaps it when the files'
// modification times change, so rotated certificates need no restart.
type certReloader struct {
	certFile, keyFile string
	mu                sync.RWMutex
	cert              *tls.Certificate
	certMod, keyMod   time.Time
}

func newCertReloader(certFile, keyFile string) (*certReloader, error) {
	cr := &certReloader{certFile: certFile, keyFile: keyFile}
	if err := cr.load(); err != nil {
		return nil, err
	}
	return cr, nil
}

func (cr *certReloader) load() error {
	cs, err := os.Stat(cr.certFile)
	if err != nil {
		return fmt.Errorf("reading TLS certificate: %w", err)
	}
	ks, err := os.Stat(cr.keyFile)
	if err != nil {
		return fmt.Errorf("reading TLS key: %w", err)
	}
	cert, err := tls.LoadX509KeyPair(cr.certFile, cr.keyFile)
	if err != nil {
		return fmt.Errorf("loading TLS key pair %q: %w", cr.certFile, err)
	}
	cr.mu.Lock()
	cr.cert, cr.certMod, cr.keyMod = &cert, cs.ModTime(), ks.ModTime()
	cr.mu.Unlock()
	return nil
}

func (cr *certReloader) changed() bool {
	cs, err1 := os.Stat(cr.certFile)
	ks, err2 := os.Stat(cr.keyFile)
	if err1 != nil || err2 != nil {
		return false
	}
	cr.mu.RLock()
	defer cr.mu.RUnlock()
	return !cs.ModTime().Equal(cr.certMod) || !ks.ModTime().Equal(cr.keyMod)
}

func (cr *certReloader) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	cr.mu.RLock()
	defer cr.mu.RUnlock()
	return cr.cert, nil
}

// watch polls the files: a half-written pair fails to load and the old
// certificate stays in use until the next poll succeeds.
func (cr *certReloader) watch(ctx context.Context, g *Gateway, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !cr.changed() {
			continue
		}
		if err := cr.load(); err != nil {
			g.log.Warn("TLS certificate reload failed; keeping the current one", "error", err)
			continue
		}
		g.log.Info("TLS certificate reloaded", "cert_file", cr.certFile)
	}
}

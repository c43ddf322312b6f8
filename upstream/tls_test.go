package upstream

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portcullis-gw/portcullis/upstream/tlstest"
)

// tlsUpstream starts an https recorder serving a certificate from ca; with
// clientCAs set it requires a client certificate signed by one of them.
func tlsUpstream(t *testing.T, ca *tlstest.CA, http2 bool, clientCAs *x509.CertPool) (*httptest.Server, *recorder) {
	t.Helper()
	rec := &recorder{}
	srv := httptest.NewUnstartedServer(rec)
	srv.TLS = ca.ServerConfig(t, "127.0.0.1", "localhost")
	if clientCAs != nil {
		srv.TLS.ClientAuth = tls.RequireAndVerifyClientCert
		srv.TLS.ClientCAs = clientCAs
	}
	srv.EnableHTTP2 = http2
	srv.Config.ErrorLog = quietLog()
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, rec
}

func TestForwardHTTPS(t *testing.T) {
	ca, otherCA := tlstest.NewCA(t), tlstest.NewCA(t)
	clientCert, clientKey := ca.IssueClient(t, "portcullis-gateway")
	otherCert, otherKey := otherCA.IssueClient(t, "intruder")

	tests := []struct {
		name       string
		http2      bool
		clientCAs  *x509.CertPool
		cfg        Config // URL filled in
		wantStatus int
		wantProto  int
		wantPeerCN string
		wantErr    func(error) bool
	}{
		{name: "verified with ca_file", cfg: Config{CAFile: ca.CertFile}, wantStatus: 200, wantProto: 1},
		{name: "http2 negotiated", http2: true, cfg: Config{CAFile: ca.CertFile}, wantStatus: 200, wantProto: 2},
		{
			name: "unknown authority without ca_file", cfg: Config{}, wantStatus: 502,
			wantErr: func(err error) bool { var e x509.UnknownAuthorityError; return errors.As(err, &e) },
		},
		{
			name: "wrong ca_file", cfg: Config{CAFile: otherCA.CertFile}, wantStatus: 502,
			wantErr: func(err error) bool { var e x509.UnknownAuthorityError; return errors.As(err, &e) },
		},
		{
			name: "mTLS with client certificate", clientCAs: ca.Pool(),
			cfg:        Config{CAFile: ca.CertFile, CertFile: clientCert, KeyFile: clientKey},
			wantStatus: 200, wantProto: 1, wantPeerCN: "portcullis-gateway",
		},
		{
			name: "mTLS without client certificate", clientCAs: ca.Pool(),
			cfg: Config{CAFile: ca.CertFile}, wantStatus: 502,
			wantErr: func(err error) bool { return strings.Contains(err.Error(), "certificate required") },
		},
		{
			name: "mTLS with certificate from another CA", clientCAs: ca.Pool(),
			cfg: Config{CAFile: ca.CertFile, CertFile: otherCert, KeyFile: otherKey}, wantStatus: 502,
			wantErr: func(err error) bool { return strings.Contains(err.Error(), "unknown certificate authority") },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, rec := tlsUpstream(t, ca, tt.http2, tt.clientCAs)
			cfg := tt.cfg
			cfg.URL = srv.URL
			p := mustNew(t, cfg)
			fails := recordFailures(p)
			w := httptest.NewRecorder()
			p.Forward(w, httptest.NewRequest(http.MethodGet, "/", nil), Outbound{})
			if w.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d (failures %v)", w.Code, tt.wantStatus, *fails)
			}
			if tt.wantStatus != http.StatusOK {
				if len(*fails) != 1 || (*fails)[0].kind != KindError || !tt.wantErr((*fails)[0].err) {
					t.Fatalf("failures = %v, want one KindError of the expected cause", *fails)
				}
				if rec.count() != 0 {
					t.Fatal("the upstream handler ran although the handshake should have failed")
				}
				return
			}
			got := rec.get(t)
			if got.ProtoMajor != tt.wantProto || got.PeerCN != tt.wantPeerCN {
				t.Fatalf("upstream saw HTTP/%d peer %q, want HTTP/%d peer %q", got.ProtoMajor, got.PeerCN, tt.wantProto, tt.wantPeerCN)
			}
		})
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	ca := tlstest.NewCA(t)
	cert, key := ca.IssueClient(t, "gw")
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")

	tests := []struct {
		name    string
		cfg     Config
		wantMsg string
		wantIs  error
	}{
		{"empty URL", Config{}, "url or urls is required", nil},
		{"ftp scheme", Config{URL: "ftp://backend"}, "scheme must be http or https", nil},
		{"no host", Config{URL: "http:///query"}, "missing host", nil},
		{"credentials in URL", Config{URL: "https://user:secret@backend"}, "credentials", nil},
		{"query in URL", Config{URL: "http://backend/q?debug=1"}, "query or fragment", nil},
		{"unparsable URL", Config{URL: "http://backend:port:x"}, "parsing upstream URL", nil},
		{"negative timeout", Config{URL: "http://backend", Timeout: -1}, "timeout", nil},
		{"negative pool", Config{URL: "http://backend", MaxIdleConns: -1}, "max_idle_conns", nil},
		{"TLS files on http", Config{URL: "http://backend", CAFile: ca.CertFile}, "need an https URL", nil},
		{"missing CA", Config{URL: "https://backend", CAFile: missing}, `loading upstream CA "` + missing + `"`, fs.ErrNotExist},
		{"CA without PEM", Config{URL: "https://backend", CAFile: garbage}, "loading upstream CA", errNoPEMCerts},
		{"cert without key", Config{URL: "https://backend", CertFile: cert}, "set together", nil},
		{"key without cert", Config{URL: "https://backend", KeyFile: key}, "set together", nil},
		{"missing client cert", Config{URL: "https://backend", CertFile: missing, KeyFile: key}, "loading upstream client certificate", fs.ErrNotExist},
		{"key not matching cert", Config{URL: "https://backend", CertFile: cert, KeyFile: garbage}, "loading upstream client certificate", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := New(tt.cfg)
			if err == nil {
				t.Fatalf("New accepted %+v", tt.cfg)
			}
			if p != nil {
				t.Fatal("New returned a proxy with an error")
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("error %q does not contain %q", err, tt.wantMsg)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Fatalf("error %v does not wrap %v", err, tt.wantIs)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Fatalf("error %q leaks the URL's password", err)
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	p := mustNew(t, Config{URL: "https://backend"})
	tr := p.pool.eps[0].transport
	if p.timeout != DefaultTimeout || tr.ResponseHeaderTimeout != DefaultTimeout || tr.MaxIdleConnsPerHost != DefaultMaxIdleConns {
		t.Errorf("defaults: timeout %v, header timeout %v, idle per host %d", p.timeout, tr.ResponseHeaderTimeout, tr.MaxIdleConnsPerHost)
	}
	if !tr.DisableCompression || !tr.ForceAttemptHTTP2 || tr.Proxy != nil {
		t.Error("transport must keep encodings, attempt HTTP/2 over https and ignore proxy environment variables")
	}
	if tr.TLSClientConfig == nil || tr.TLSClientConfig.MinVersion != tls.VersionTLS12 || tr.TLSClientConfig.RootCAs != nil {
		t.Error("https upstream without ca_file must use the system pool with TLS 1.2 minimum")
	}
	if plain := mustNew(t, Config{URL: "http://backend", MaxIdleConns: 7}).pool.eps[0].transport; plain.ForceAttemptHTTP2 || plain.MaxIdleConnsPerHost != 7 {
		t.Error("plain http upstream: no HTTP/2, configured pool size")
	}
}

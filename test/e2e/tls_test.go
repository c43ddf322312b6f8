package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-gw/portcullis/internal/testkit/gatewaytest"
	"github.com/portcullis-gw/portcullis/upstream/tlstest"
)

// TestTLS: the gateway terminates TLS 1.2+ with HTTP/2, requires and verifies
// client certificates when client_ca_file is set, reaches an https upstream
// verified against a custom CA with mTLS, and picks up a rotated certificate
// without a restart.
func TestTLS(t *testing.T) {
	serverCA := tlstest.NewCA(t)   // signs the gateway's serving certificate
	clientCA := tlstest.NewCA(t)   // signs client certificates
	upstreamCA := tlstest.NewCA(t) // signs the upstream's certificate and the gateway's client cert to it

	// An https upstream that insists on a client certificate from upstreamCA.
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cn := ""
		if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
			cn = r.TLS.PeerCertificates[0].Subject.CommonName
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"data":{"hello":"from tls upstream"},"peer":%q}`, cn)
	}))
	up.TLS = upstreamCA.ServerConfig(t, "127.0.0.1")
	up.TLS.ClientAuth = tls.RequireAndVerifyClientCert
	up.TLS.ClientCAs = upstreamCA.Pool()
	up.StartTLS()
	t.Cleanup(up.Close)

	certFile, keyFile := serverCA.Issue(t, "127.0.0.1")
	gwClientCert, gwClientKey := upstreamCA.IssueClient(t, "portcullis-gateway")
	cfg := fmt.Sprintf(`
server:
  listen: 127.0.0.1:0
  admin_listen: 127.0.0.1:0
  tls: {cert_file: %q, key_file: %q, client_ca_file: %q}
graphql:
  - name: shop
    path: /graphql
    upstream: {url: "%s/query", timeout: 5s, ca_file: %q, cert_file: %q, key_file: %q}
    schema: {supergraph: ../../testdata/schemas/shop.graphql}
`, certFile, keyFile, clientCA.CertFile, up.URL, upstreamCA.CertFile, gwClientCert, gwClientKey)
	cfg = strings.Replace(cfg, "../../testdata/schemas/shop.graphql", absPath(t, "../testdata/schemas/shop.graphql"), 1)
	gw := gatewaytest.Start(t, gatewaytest.WriteConfig(t, cfg))

	roots := x509.NewCertPool()
	roots.AddCert(serverCA.Cert)
	cCert, cKey := clientCA.IssueClient(t, "alice")
	pair, err := tls.LoadX509KeyPair(cCert, cKey)
	if err != nil {
		t.Fatal(err)
	}
	client := func(certs ...tls.Certificate) *http.Client {
		return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			ForceAttemptHTTP2: true,
			TLSClientConfig:   &tls.Config{RootCAs: roots, Certificates: certs},
		}}
	}
	url := "https://" + gw.Addr() + "/graphql"
	body := `{"query":"{ hello }"}`

	t.Run("https with a client certificate reaches the https upstream over mTLS", func(t *testing.T) {
		resp, err := client(pair).Post(url, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || !strings.Contains(string(b), `"peer":"portcullis-gateway"`) {
			t.Fatalf("%d %s", resp.StatusCode, b)
		}
		if resp.ProtoMajor != 2 {
			t.Errorf("protocol %s, want HTTP/2", resp.Proto)
		}
		if resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 {
			t.Errorf("TLS state %+v", resp.TLS)
		}
	})
	t.Run("no client certificate is refused", func(t *testing.T) {
		resp, err := client().Post(url, "application/json", strings.NewReader(body))
		if err == nil {
			resp.Body.Close()
			t.Fatalf("request without a client certificate got %d", resp.StatusCode)
		}
	})
	t.Run("a client certificate from another CA is refused", func(t *testing.T) {
		other := tlstest.NewCA(t)
		c, k := other.IssueClient(t, "mallory")
		bad, _ := tls.LoadX509KeyPair(c, k)
		resp, err := client(bad).Post(url, "application/json", strings.NewReader(body))
		if err == nil {
			resp.Body.Close()
			t.Fatalf("foreign client certificate got %d", resp.StatusCode)
		}
	})
	t.Run("TLS 1.1 is refused", func(t *testing.T) {
		c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
			RootCAs: roots, Certificates: []tls.Certificate{pair}, MaxVersion: tls.VersionTLS11,
		}}}
		if resp, err := c.Get(url); err == nil {
			resp.Body.Close()
			t.Fatal("TLS 1.1 handshake succeeded")
		}
	})
	t.Run("a rotated certificate is served without a restart", func(t *testing.T) {
		newCert, newKey := serverCA.Issue(t, "127.0.0.1")
		certPEM, _ := os.ReadFile(newCert)
		keyPEM, _ := os.ReadFile(newKey)
		want, _ := tls.X509KeyPair(certPEM, keyPEM)
		wantLeaf, _ := x509.ParseCertificate(want.Certificate[0])
		// Key first, then cert: the reloader keeps the old pair while the
		// two files disagree.
		if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(20 * time.Second)
		for {
			conn, err := tls.Dial("tcp", gw.Addr(), &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{pair}})
			if err == nil {
				got := conn.ConnectionState().PeerCertificates[0]
				conn.Close()
				if got.SerialNumber.Cmp(wantLeaf.SerialNumber) == 0 {
					return
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("still serving the old certificate (last error %v)", err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
}

func absPath(t *testing.T, p string) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return wd + "/" + p
}

// Package upstream forwards requests to back ends through a hardened
// httputil.ReverseProxy and maps transport failures to gateway errors.
package upstream

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/portcullis-gw/portcullis/keypath"
	"golang.org/x/net/http/httpguts"
)

// Config is one route's back end.
type Config struct {
	// URL is the back end's base URL (http or https).
	URL string `yaml:"url"`
	// Timeout bounds the whole upstream exchange (headers and body).
	Timeout time.Duration `yaml:"timeout"`
	// CAFile is a PEM bundle trusted for https upstreams instead of the system pool.
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile are the client certificate for mTLS to the back end.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// MaxIdleConns is the idle keep-alive pool per upstream host.
	MaxIdleConns int `yaml:"max_idle_conns"`
	// ForwardHeaders lets client headers through that the gateway strips by
	// default because back ends read them as the URL, method, client address
	// or user (IsRoutingHeader), for the rare back end that needs one.
	ForwardHeaders []string `yaml:"forward_headers"`
	// RemoveResponseHeaders are removed from every answer beside the
	// fingerprinting ones (mask.FingerprintHeaders); KeepResponseHeaders
	// lets one of those through.
	RemoveResponseHeaders []string `yaml:"remove_response_headers"`
	KeepResponseHeaders   []string `yaml:"keep_response_headers"`
}

// Validate reports every problem in c without I/O, each at its key path
// relative to c. The config loader checks that files exist.
func (c Config) Validate() keypath.Problems {
	var ps keypath.Problems
	if err := checkURL(c.URL); err != nil {
		ps.Addf(keypath.Key("url"), "%v", err)
	}
	if c.Timeout <= 0 {
		ps.Addf(keypath.Key("timeout"), "must be > 0")
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		ps.Addf(keypath.Key("cert_file"), "cert_file and key_file must be set together")
	}
	if c.MaxIdleConns < 0 {
		ps.Addf(keypath.Key("max_idle_conns"), "must be >= 0")
	}
	ps.AddAll(keypath.Key("forward_headers"), checkForwardHeaders(c.ForwardHeaders))
	for _, l := range []struct {
		key   string
		names []string
	}{{"remove_response_headers", c.RemoveResponseHeaders}, {"keep_response_headers", c.KeepResponseHeaders}} {
		for i, n := range l.names {
			if !httpguts.ValidHeaderFieldName(n) {
				ps.Addf(keypath.Key(l.key).Index(i), "%q is not a header name", n)
			}
		}
	}
	return ps
}

func checkURL(raw string) error {
	if raw == "" {
		return errors.New("is required")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("invalid URL %q", raw)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("must be an absolute http or https URL, got %q", raw)
	}
	if u.User != nil {
		// Credentials in the URL would end up in logs and error messages.
		return errors.New("must not contain credentials")
	}
	if u.Fragment != "" {
		return errors.New("must not contain a fragment")
	}
	return nil
}

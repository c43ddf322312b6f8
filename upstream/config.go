// Package upstream forwards requests to back ends through a hardened
// httputil.ReverseProxy and maps transport failures to gateway errors.
package upstream

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
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
}

// Validate reports every problem in c without I/O; each message starts with
// the key path relative to c. The config loader checks that files exist.
func (c Config) Validate() []error {
	var errs []error
	if err := checkURL(c.URL); err != nil {
		errs = append(errs, fmt.Errorf("url: %w", err))
	}
	if c.Timeout <= 0 {
		errs = append(errs, errors.New("timeout: must be > 0"))
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		errs = append(errs, errors.New("cert_file: cert_file and key_file must be set together"))
	}
	if c.MaxIdleConns < 0 {
		errs = append(errs, errors.New("max_idle_conns: must be >= 0"))
	}
	errs = append(errs, checkForwardHeaders(c.ForwardHeaders)...)
	return errs
}

func checkURL(raw string) error {
	if raw == "" {
		return errors.New("is required")
	}
	if !strings.Contains(raw, "://") && !strings.HasPrefix(raw, "/") {
		// url.Parse reads "127.0.0.1:8902/x" as scheme "127.0.0.1" or fails
		// on the colon: name what is missing instead.
		return fmt.Errorf("must be an absolute http or https URL, got %q: the scheme is missing (did you mean \"http://%s\"?)", raw, raw)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("must be an absolute http or https URL, got %q: %v", raw, errors.Unwrap(err))
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

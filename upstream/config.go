// Package upstream forwards requests to back ends through a hardened
// httputil.ReverseProxy and maps transport failures to gateway errors.
package upstream

import "time"

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
}

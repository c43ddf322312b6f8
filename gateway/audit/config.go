// Package audit turns the gateway's decisions into OCSF API Activity events
// and delivers them to SIEM collectors (HTTP such as Splunk HEC or
// Elasticsearch, syslog over TCP, UDP or TLS, a file, or the operational
// log) through bounded queues that never slow a request
// (docs/monitoring.md).
package audit

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"time"

	"github.com/portcullis-gw/portcullis/keypath"
)

// Defaults for what the config leaves out.
const (
	DefaultAggregateWindow = 10 * time.Second
	DefaultBatchSize       = 100
	DefaultFlushInterval   = time.Second
	DefaultQueueSize       = 10000
	DefaultTimeout         = 5 * time.Second
	DefaultMaxRetries      = 5
	// DefaultFacility is RFC 5424's "log audit" (13).
	DefaultFacility = 13
	// maxAggregateKeys bounds the distinct denials held for aggregation; past
	// it a denial is sent on at once instead of being held.
	maxAggregateKeys = 10000
)

// Config is the audit section.
type Config struct {
	// IncludeAllowed sends an event for every allowed request too.
	IncludeAllowed bool `yaml:"include_allowed"`
	// AggregateWindow folds identical denials (subject, route, code,
	// reason) seen inside it into one event with a count; 0 takes the
	// default, a negative value sends every denial on its own.
	AggregateWindow time.Duration `yaml:"aggregate_window"`
	// Sinks receive every event; absent, one log sink.
	Sinks []SinkConfig `yaml:"sinks"`
}

// SinkConfig is one destination.
type SinkConfig struct {
	// Type is log, http, syslog or file.
	Type string `yaml:"type"`
	// Name labels the sink's metrics; default its type (type-N when two
	// sinks share a type).
	Name string `yaml:"name"`
	// Format of the event body: ocsf (the only one today).
	Format string `yaml:"format"`

	// URL, Headers and Envelope are for type http. Envelope frames a batch:
	// ndjson (one event per line, for Splunk HEC's raw endpoint and most
	// collectors), splunk_hec (HEC's event endpoint) or elasticsearch_bulk
	// (the _bulk API's action and document lines).
	URL      string            `yaml:"url"`
	Headers  map[string]string `yaml:"headers"`
	Envelope string            `yaml:"envelope"`

	// Address is for type syslog: tcp://host:port, udp://host:port or
	// tls://host:port; CAFile and ServerName verify a tls collector.
	Address    string `yaml:"address"`
	CAFile     string `yaml:"ca_file"`
	ServerName string `yaml:"server_name"`
	// Facility is the RFC 5424 facility (0-23).
	Facility *int `yaml:"facility"`

	// Path is for type file; the file is reopened by Auditor.Reopen
	// (SIGHUP), for logrotate.
	Path string `yaml:"path"`

	BatchSize     int           `yaml:"batch_size"`
	FlushInterval time.Duration `yaml:"flush_interval"`
	QueueSize     int           `yaml:"queue_size"`
	Timeout       time.Duration `yaml:"timeout"`
	MaxRetries    int           `yaml:"max_retries"`
}

var sinkNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// WithDefaults fills every zero value with its default.
func (c Config) WithDefaults() Config {
	if c.AggregateWindow == 0 {
		c.AggregateWindow = DefaultAggregateWindow
	}
	if c.Sinks == nil {
		c.Sinks = []SinkConfig{{Type: "log"}}
	}
	sinks := make([]SinkConfig, len(c.Sinks))
	count := map[string]int{}
	for _, s := range c.Sinks {
		count[s.Type]++
	}
	seen := map[string]int{}
	for i, s := range c.Sinks {
		if s.Name == "" {
			s.Name = s.Type
			if count[s.Type] > 1 {
				s.Name = fmt.Sprintf("%s-%d", s.Type, seen[s.Type])
			}
			seen[s.Type]++
		}
		if s.Format == "" {
			s.Format = "ocsf"
		}
		if s.Envelope == "" && s.Type == "http" {
			s.Envelope = "ndjson"
		}
		if s.Facility == nil {
			f := DefaultFacility
			s.Facility = &f
		}
		setInt(&s.BatchSize, DefaultBatchSize)
		setInt(&s.QueueSize, DefaultQueueSize)
		setInt(&s.MaxRetries, DefaultMaxRetries)
		if s.FlushInterval == 0 {
			s.FlushInterval = DefaultFlushInterval
		}
		if s.Timeout == 0 {
			s.Timeout = DefaultTimeout
		}
		sinks[i] = s
	}
	c.Sinks = sinks
	return c
}

func setInt(p *int, def int) {
	if *p == 0 {
		*p = def
	}
}

// Validate reports every problem in a defaulted c; each message starts with
// the key path relative to the audit section.
func (c Config) Validate() keypath.Problems {
	var ps keypath.Problems
	add := func(path keypath.Path, format string, args ...any) { ps.Addf(path, format, args...) }
	names := map[string]bool{}
	for i, s := range c.Sinks {
		p := keypath.Key("sinks").Index(i)
		if !sinkNameRE.MatchString(s.Name) {
			add(p.Key("name"), "%q must match %s", s.Name, sinkNameRE)
		} else if names[s.Name] {
			add(p.Key("name"), "duplicate sink name %q", s.Name)
		}
		names[s.Name] = true
		if s.Format != "ocsf" {
			add(p.Key("format"), "must be ocsf, got %q", s.Format)
		}
		switch s.Type {
		case "log":
		case "http":
			if err := checkHTTPURL(s.URL); err != nil {
				add(p.Key("url"), "%v", err)
			}
			switch s.Envelope {
			case "ndjson", "splunk_hec", "elasticsearch_bulk":
			default:
				add(p.Key("envelope"), "must be ndjson, splunk_hec or elasticsearch_bulk, got %q", s.Envelope)
			}
		case "syslog":
			if err := checkSyslogAddress(s.Address); err != nil {
				add(p.Key("address"), "%v", err)
			} else if (s.CAFile != "" || s.ServerName != "") && !isTLSAddress(s.Address) {
				add(p.Key("ca_file"), "ca_file and server_name need a tls:// address")
			}
			if f := *s.Facility; f < 0 || f > 23 {
				add(p.Key("facility"), "must be 0-23 (RFC 5424 section 6.2.1), got %d", f)
			}
		case "file":
			if s.Path == "" {
				add(p.Key("path"), "is required for a file sink")
			}
		default:
			add(p.Key("type"), "must be log, http, syslog or file, got %q", s.Type)
		}
		for _, f := range []struct {
			key string
			bad bool
		}{
			{"batch_size", s.BatchSize < 1 || s.BatchSize > 10000},
			{"queue_size", s.QueueSize < 1 || s.QueueSize > 1_000_000},
			{"max_retries", s.MaxRetries < 0 || s.MaxRetries > 100},
			{"flush_interval", s.FlushInterval <= 0},
			{"timeout", s.Timeout <= 0},
		} {
			if f.bad {
				add(p.Key(f.key), "out of range (docs/monitoring.md lists the bounds)")
			}
		}
	}
	return ps
}

func checkHTTPURL(raw string) error {
	if raw == "" {
		return errors.New("is required for an http sink")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("must be an absolute http or https URL, got %q", raw)
	}
	return nil
}

func checkSyslogAddress(raw string) error {
	if raw == "" {
		return errors.New("is required for a syslog sink")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Path != "" {
		return fmt.Errorf("must be tcp://host:port, udp://host:port or tls://host:port, got %q", raw)
	}
	switch u.Scheme {
	case "tcp", "udp", "tls":
	default:
		return fmt.Errorf("scheme must be tcp, udp or tls, got %q", raw)
	}
	if _, _, err := net.SplitHostPort(u.Host); err != nil {
		return fmt.Errorf("must name a port, got %q", raw)
	}
	return nil
}

func isTLSAddress(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && u.Scheme == "tls"
}

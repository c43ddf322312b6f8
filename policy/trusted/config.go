// Package trusted holds a GraphQL route's trusted documents: the manifests
// an API owner publishes (Apollo's persisted query manifest or a plain map
// of id to document), per client or shared, and the record of operations
// seen in traffic that a team reviews and exports as a manifest
// (docs/governance.md, "Trusted documents").
package trusted

import (
	"maps"
	"regexp"
	"slices"
	"time"

	"github.com/portcullis-gw/portcullis/keypath"
)

// Modes of a route's persisted_operations section.
const (
	ModeOff      = "off"
	ModeAPQ      = "allow_apq"
	ModeAudit    = "audit"
	ModeSafelist = "safelist"
)

// Config is a GraphQL route's persisted_operations section.
type Config struct {
	// Mode is off, allow_apq, audit or safelist.
	Mode string `yaml:"mode"`
	// Manifest and Manifests are merged into the route's shared list, used by
	// requests that name no client (or a client without its own list).
	Manifest  string   `yaml:"manifest"`
	Manifests []string `yaml:"manifests"`
	// Clients maps a client name (the graphql-client-name or
	// apollographql-client-name header) to that client's own manifest.
	Clients map[string]string `yaml:"clients"`
	// Record keeps the operations that passed every check, for export.
	Record *RecordConfig `yaml:"record"`
}

// RecordConfig is the learning store of persisted_operations.record.
type RecordConfig struct {
	File string `yaml:"file"`
	// MaxOperations bounds the distinct operations kept (default 10000);
	// MaxBytes bounds their documents' total size (default 16 MiB).
	MaxOperations int   `yaml:"max_operations"`
	MaxBytes      int64 `yaml:"max_bytes"`
	// FlushInterval is how often a changed record is written to File
	// (default 10s); it is always written on shutdown and reload.
	FlushInterval time.Duration `yaml:"flush_interval"`
}

// Defaults of the record store.
const (
	DefaultMaxOperations = 10000
	DefaultMaxBytes      = 16 << 20
	DefaultFlushInterval = 10 * time.Second
)

// WithDefaults fills the zero values the documented defaults stand for.
func (c Config) WithDefaults() Config {
	if c.Mode == "" {
		c.Mode = ModeOff
	}
	if r := c.Record; r != nil {
		rc := *r
		if rc.MaxOperations == 0 {
			rc.MaxOperations = DefaultMaxOperations
		}
		if rc.MaxBytes == 0 {
			rc.MaxBytes = DefaultMaxBytes
		}
		if rc.FlushInterval == 0 {
			rc.FlushInterval = DefaultFlushInterval
		}
		c.Record = &rc
	}
	return c
}

// Files is every manifest file of the config: the shared ones, then the
// clients' in name order.
func (c Config) Files() []string {
	out := slices.Clone(c.Manifests)
	if c.Manifest != "" {
		out = append([]string{c.Manifest}, out...)
	}
	for _, name := range slices.Sorted(maps.Keys(c.Clients)) {
		out = append(out, c.Clients[name])
	}
	return out
}

// clientNameRE keeps client names short and printable: they are matched
// against a header and written to logs and metrics.
var clientNameRE = regexp.MustCompile(`^[A-Za-z0-9 ._@/-]{1,64}$`)

// Validate reports every problem without I/O; each message starts with the
// key path relative to the section.
func (c Config) Validate() keypath.Problems {
	var ps keypath.Problems
	lists := c.Manifest != "" || len(c.Manifests) > 0 || len(c.Clients) > 0
	switch c.Mode {
	case ModeOff, ModeAPQ:
		if lists {
			ps.Addf(keypath.Key("manifest"), "only used with mode audit or safelist")
		}
	case ModeAudit:
	case ModeSafelist:
		if !lists {
			ps.Addf(keypath.Key("manifest"), "is required when mode is safelist (or manifests, or clients)")
		}
	default:
		ps.Addf(keypath.Key("mode"), "must be off, allow_apq, audit or safelist, got %q", c.Mode)
	}
	for i, f := range c.Manifests {
		if f == "" {
			ps.Addf(keypath.Key("manifests").Index(i), "must not be empty")
		}
	}
	for _, name := range slices.Sorted(maps.Keys(c.Clients)) {
		if !clientNameRE.MatchString(name) {
			ps.Addf(keypath.Key("clients").Key(name), "client name must match %s", clientNameRE)
		}
		if c.Clients[name] == "" {
			ps.Addf(keypath.Key("clients").Key(name), "must name a manifest file")
		}
	}
	if r := c.Record; r != nil {
		if c.Mode == ModeOff || c.Mode == ModeAPQ {
			ps.Addf(keypath.Key("record"), "only used with mode audit or safelist")
		}
		if r.File == "" {
			ps.Addf(keypath.Key("record").Key("file"), "is required")
		}
		if r.MaxOperations < 0 {
			ps.Addf(keypath.Key("record").Key("max_operations"), "must be > 0 (0 means the default 10000)")
		}
		if r.MaxBytes < 0 {
			ps.Addf(keypath.Key("record").Key("max_bytes"), "must be > 0 (0 means the default 16 MiB)")
		}
		if r.FlushInterval < 0 {
			ps.Addf(keypath.Key("record").Key("flush_interval"), "must be > 0 (0 means the default 10s)")
		}
	}
	return ps
}

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/portcullis-gw/portcullis/test/cmd/benchredis"
	vegeta "github.com/tsenart/vegeta/v12/lib"
)

func TestGraphQLBody(t *testing.T) {
	seen := map[string]uint64{}
	for n := range uint64(1000) {
		b := graphqlBody(n)
		var req struct {
			Query string `json:"query"`
		}
		if err := json.Unmarshal(b, &req); err != nil {
			t.Fatalf("graphqlBody(%d) = %s: not JSON: %v", n, b, err)
		}
		if prev, dup := seen[req.Query]; dup {
			t.Fatalf("graphqlBody(%d) and graphqlBody(%d) carry the same document %q", n, prev, req.Query)
		}
		seen[req.Query] = n
	}
}

// TestTargeterVaries drives a varying targeter from many goroutines, as
// vegeta's workers do, and across two "attacks" of one run: no body may
// repeat, or a cache could answer the repeat.
func TestTargeterVaries(t *testing.T) {
	tr := newTargeter(target{Method: http.MethodPost, URL: "http://x/graphql", Vary: graphqlBody,
		Header: http.Header{"Content-Type": {"application/json"}}})
	const goroutines, each = 8, 500
	collect := func() []string {
		var mu sync.Mutex
		var bodies []string
		var wg sync.WaitGroup
		for range goroutines {
			wg.Go(func() {
				for range each {
					var tgt vegeta.Target
					if err := tr(&tgt); err != nil {
						t.Error(err)
						return
					}
					if tgt.Method != http.MethodPost || tgt.URL != "http://x/graphql" || tgt.Header.Get("Content-Type") != "application/json" {
						t.Errorf("target %+v lost the method, URL or header", tgt)
					}
					mu.Lock()
					bodies = append(bodies, string(tgt.Body))
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		return bodies
	}
	all := append(collect(), collect()...)
	seen := map[string]bool{}
	for _, b := range all {
		if seen[b] {
			t.Fatalf("body %s sent twice", b)
		}
		seen[b] = true
	}
	if len(seen) != 2*goroutines*each {
		t.Errorf("got %d distinct bodies, want %d", len(seen), 2*goroutines*each)
	}
	if err := tr(nil); !errors.Is(err, vegeta.ErrNilTarget) {
		t.Errorf("tr(nil) = %v, want ErrNilTarget", err)
	}
}

func TestTargeterStatic(t *testing.T) {
	body := []byte(`{"query":"{ hello }"}`)
	tr := newTargeter(target{Method: http.MethodPost, URL: "http://x/graphql", Body: body})
	for range 3 {
		var tgt vegeta.Target
		if err := tr(&tgt); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(tgt.Body, body) {
			t.Fatalf("static targeter sent %s, want %s", tgt.Body, body)
		}
	}
}

func TestOrderBodies(t *testing.T) {
	if n := len(orderBody); n < 900 || n > 1200 {
		t.Errorf("order.json is %d bytes, want about 1 KB", n)
	}
	var order map[string]any
	if err := json.Unmarshal(orderBody, &order); err != nil {
		t.Fatalf("order.json: %v", err)
	}
	if len(order) < 12 {
		t.Errorf("order.json has %d fields, want a dozen", len(order))
	}
	var bad map[string]any
	if err := json.Unmarshal(badOrderBody(), &bad); err != nil {
		t.Fatalf("bad order: %v", err)
	}
	if _, ok := bad["quantity"].(string); !ok {
		t.Errorf("bad order's quantity is %#v, want a string", bad["quantity"])
	}
}

// TestWriteConfig loads the fixture config with each store, as the run
// does, so a broken fixture fails here rather than minutes into a bench.
func TestWriteConfig(t *testing.T) {
	r := &benchRedis{}
	var err error
	if r.Opts, err = benchredis.ParseURL("redis://:s3cr%22et@127.0.0.1:6390/15"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, store, wantStore string
		wantDB                 int
	}{
		{"memory", "store: memory", "memory", 0},
		{"redis", r.StoreYAML(), "redis", 15},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := writeConfig(t.TempDir(), "http://127.0.0.1:1", tt.store, "")
			if err != nil {
				t.Fatal(err)
			}
			rl := cfg.RateLimit
			if rl.Store != tt.wantStore || rl.Redis.DB != tt.wantDB {
				t.Errorf("store %q db %d, want %q %d", rl.Store, rl.Redis.DB, tt.wantStore, tt.wantDB)
			}
			if tt.wantStore == "redis" && (rl.Redis.Address != "127.0.0.1:6390" || rl.Redis.Password != `s3cr"et`) {
				t.Errorf("redis %+v, want the URL's address and password", rl.Redis)
			}
		})
	}
}

// TestMonitoringConfigs: the monitoring rows' gateways really export.
func TestMonitoringConfigs(t *testing.T) {
	tracing, audit := monitoringYAML("http://127.0.0.1:1")
	cfg, err := writeConfig(t.TempDir(), "http://127.0.0.1:1", "store: memory", tracing)
	if err != nil {
		t.Fatal(err)
	}
	if tr := cfg.Telemetry.Tracing; tr.Exporter != "otlp" || *tr.SampleRatio != 1 || tr.Endpoint != "http://127.0.0.1:1" {
		t.Errorf("tracing %+v", tr)
	}
	cfg, err = writeConfig(t.TempDir(), "http://127.0.0.1:1", "store: memory", audit)
	if err != nil {
		t.Fatal(err)
	}
	if a := cfg.Audit; !a.IncludeAllowed || len(a.Sinks) != 1 || a.Sinks[0].Type != "http" {
		t.Errorf("audit %+v", a)
	}
	if err := (&collector{}).check(); err == nil {
		t.Error("a collector that received nothing passes")
	}
}

func TestParseRedisURLRefusesWhatConfigCannotSay(t *testing.T) {
	for _, u := range []string{"rediss://127.0.0.1:6379/15", "redis://user:pw@127.0.0.1:6379/15", "http://%zz"} {
		t.Run(u, func(t *testing.T) {
			if _, err := benchredis.ParseURL(u); err == nil {
				t.Errorf("benchredis.ParseURL(%q) = nil error", u)
			} else if strings.Contains(err.Error(), "pw") {
				t.Errorf("error %q quotes the password", err)
			}
		})
	}
}

package ratelimit

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis-gw/portcullis/internal/testkit/fakeclock"
	"github.com/portcullis-gw/portcullis/internal/testkit/redistest"
)

// logRecorder keeps the messages a Limiter logs.
type logRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func (r *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *logRecorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	r.msgs = append(r.msgs, rec.Message)
	r.mu.Unlock()
	return nil
}
func (r *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *logRecorder) WithGroup(string) slog.Handler      { return r }
func (r *logRecorder) count(msg string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, m := range r.msgs {
		if m == msg {
			n++
		}
	}
	return n
}

const (
	msgDown = "rate limit store unavailable"
	msgUp   = "rate limit store available again"
)

func testConfig(store, onErr, addr string) Config {
	return Config{
		Store:        store,
		Redis:        Redis{Address: addr},
		OnStoreError: onErr,
		Key:          "subject",
		Tiers: map[string]Tier{
			"anonymous": {Rate: 1, Per: time.Hour, Burst: 3},
			"default":   {Rate: 1, Per: time.Hour, Burst: 5},
			"partner":   {Rate: 10, Per: time.Second, Burst: 20},
		},
	}
}

func newLimiter(t *testing.T, cfg Config, opts Options) *Limiter {
	t.Helper()
	l, err := New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

func TestLimiterMemoryCharges(t *testing.T) {
	clock := fakeclock.New(epoch)
	l := newLimiter(t, testConfig("memory", "fail_closed", ""), Options{Now: clock.Now})
	ctx := context.Background()
	alice := Subject{Key: "sub:alice", Tier: "partner"}

	d, err := l.Charge(ctx, alice, 15)
	if err != nil || !d.Allowed || d.Tier != "partner" || d.Remaining != 5 {
		t.Fatalf("first charge: %+v %v", d, err)
	}
	d, _ = l.Charge(ctx, alice, 21)
	if !d.TooExpensive || d.Allowed || d.Remaining != 5 {
		t.Errorf("charge above burst: %+v", d)
	}
	d, _ = l.Charge(ctx, alice, 6)
	if d.Allowed || d.RetryAfter != 100*time.Millisecond {
		t.Errorf("over budget: %+v", d)
	}
	want := []HeaderField{
		{"RateLimit-Policy", `"partner";q=20;w=2`},
		{"RateLimit", `"partner";r=5;t=2`},
		{"Retry-After", "1"},
	}
	if got := l.Headers(d); !slices.Equal(got, want) {
		t.Errorf("headers %v, want %v", got, want)
	}
	if err := l.Refund(ctx, alice, 10); err != nil {
		t.Fatal(err)
	}
	if d, _ = l.Charge(ctx, alice, 15); !d.Allowed || d.Remaining != 0 {
		t.Errorf("after refund of 10: %+v", d)
	}
	if _, err := l.Charge(ctx, alice, -1); err == nil {
		t.Error("negative cost accepted")
	}

	// A tier nobody configured is charged as "default", never unlimited.
	d, _ = l.Charge(ctx, Subject{Key: "sub:bob", Tier: "enterprise"}, 5)
	if d.Tier != "default" || d.Remaining != 0 {
		t.Errorf("unknown tier: %+v", d)
	}
	if d, _ = l.Charge(ctx, Subject{Key: "sub:bob", Tier: "enterprise"}, 1); d.Allowed {
		t.Errorf("unknown tier is unlimited: %+v", d)
	}

	if got := metricValue(t, l.metrics.decisions.WithLabelValues("partner", "limited")); got != 1 {
		t.Errorf("limited decisions for partner = %v, want 1", got)
	}
	if got := metricValue(t, l.metrics.decisions.WithLabelValues("partner", "too_expensive")); got != 1 {
		t.Errorf("too_expensive decisions for partner = %v, want 1", got)
	}
	if n := len(l.Collectors()); n != 3 {
		t.Errorf("%d collectors, want decisions, store errors and store up", n)
	}
}

func TestLimiterUnknownTierWithoutDefault(t *testing.T) {
	cfg := testConfig("memory", "fail_closed", "")
	delete(cfg.Tiers, "default")
	l := newLimiter(t, cfg, Options{})
	if _, err := l.Charge(context.Background(), Subject{Key: "k", Tier: "nope"}, 1); !errors.Is(err, ErrUnknownTier) {
		t.Errorf("err = %v, want ErrUnknownTier", err)
	}
	if _, ok := l.Acquire("k", "nope"); ok {
		t.Error("Acquire let an unknown tier through")
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  func(*Config)
	}{
		{"store", func(c *Config) { c.Store = "etcd" }},
		{"on_store_error", func(c *Config) { c.OnStoreError = "" }},
		{"key", func(c *Config) { c.Key = "cookie" }},
		{"tier", func(c *Config) { c.Tiers["default"] = Tier{Rate: 0, Per: time.Second, Burst: 1} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig("memory", "fail_closed", "")
			tt.cfg(&cfg)
			if l, err := New(cfg, Options{}); err == nil {
				l.Close()
				t.Error("New accepted it")
			}
		})
	}
}

func TestLimiterFailClosedDeadStore(t *testing.T) {
	// A listener that accepts and never answers: the worst kind of dead.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	for _, addr := range []string{"127.0.0.1:1", silent.Addr().String()} {
		t.Run(addr, func(t *testing.T) {
			logs := &logRecorder{}
			l := newLimiter(t, testConfig("redis", "fail_closed", addr), Options{
				Timeout: 50 * time.Millisecond, ProbeMin: time.Hour, Logger: slog.New(logs),
			})
			ctx := context.Background()
			s := Subject{Key: "sub:alice", Tier: "default"}
			start := time.Now()
			_, err := l.Charge(ctx, s, 1)
			if !errors.Is(err, ErrStoreUnavailable) {
				t.Fatalf("err = %v, want ErrStoreUnavailable", err)
			}
			// Far above the 50ms timeout, far below a hang.
			if el := time.Since(start); el > 2*time.Second {
				t.Errorf("dead store answered after %s", el)
			}
			for range 20 {
				if _, err := l.Charge(ctx, s, 1); !errors.Is(err, ErrStoreUnavailable) {
					t.Fatalf("err = %v, want ErrStoreUnavailable", err)
				}
			}
			if l.StoreUp() || metricValue(t, l.metrics.storeUp) != 0 {
				t.Error("store still reported up")
			}
			if n := logs.count(msgDown); n != 1 {
				t.Errorf("logged %q %d times, want once", msgDown, n)
			}
			if got := metricValue(t, l.metrics.decisions.WithLabelValues("default", "unavailable")); got != 21 {
				t.Errorf("unavailable decisions = %v, want 21", got)
			}
			// A charge above burst is refused as such even without a store.
			if d, err := l.Charge(ctx, s, 6); err != nil || !d.TooExpensive {
				t.Errorf("too expensive without store: %+v %v", d, err)
			}
		})
	}
}

func TestLimiterFailOpenLimitsLocally(t *testing.T) {
	l := newLimiter(t, testConfig("redis", "fail_open", "127.0.0.1:1"), Options{Timeout: 50 * time.Millisecond, ProbeMin: time.Hour})
	ctx := context.Background()
	s := Subject{Key: "sub:mallory", Tier: "default"}
	allowed := 0
	for range 10 {
		d, err := l.Charge(ctx, s, 1)
		if err != nil {
			t.Fatalf("fail_open returned %v", err)
		}
		if d.Allowed {
			allowed++
		}
	}
	if allowed != 5 {
		t.Errorf("fail_open allowed %d of 10, want the burst of 5", allowed)
	}
}

func TestLimiterRecoversWhenStoreReturns(t *testing.T) {
	for _, mode := range []string{"fail_closed", "fail_open"} {
		t.Run(mode, func(t *testing.T) {
			base := redistest.Client(t, -1)
			prefix := redistest.Prefix(t, base, "portcullis:rl:")
			proxy := newTCPProxy(t, redistest.Options(t, -1).Addr)
			logs := &logRecorder{}
			cfg := testConfig("redis", mode, proxy.addr)
			cfg.Redis.DB = redistest.Options(t, -1).DB
			l := newLimiter(t, cfg, Options{
				Timeout: 200 * time.Millisecond, ProbeMin: 5 * time.Millisecond, ProbeMax: 20 * time.Millisecond,
				Logger: slog.New(logs), RedisStore: RedisOptions{Prefix: prefix},
			})
			ctx := context.Background()
			s := Subject{Key: "sub:carol", Tier: "default"}
			if d, err := l.Charge(ctx, s, 2); err != nil || d.Remaining != 3 {
				t.Fatalf("before outage: %+v %v", d, err)
			}

			proxy.Stop()
			var outage []Decision
			for range 10 {
				d, err := l.Charge(ctx, s, 1)
				switch {
				case mode == "fail_closed" && !errors.Is(err, ErrStoreUnavailable):
					t.Fatalf("outage: err = %v, want ErrStoreUnavailable", err)
				case mode == "fail_open" && err != nil:
					t.Fatalf("outage: fail_open returned %v", err)
				}
				outage = append(outage, d)
			}
			if mode == "fail_open" {
				allowed := 0
				for _, d := range outage {
					if d.Allowed {
						allowed++
					}
				}
				if allowed != 5 {
					t.Errorf("local limiter allowed %d of 10, want 5", allowed)
				}
			}

			proxy.Start()
			waitFor(t, l.StoreUp)
			// Back on Redis, where carol had spent 2 of 5.
			if d, err := l.Charge(ctx, s, 1); err != nil || !d.Allowed || d.Remaining != 2 {
				t.Errorf("after recovery: %+v %v", d, err)
			}
			if logs.count(msgDown) != 1 || logs.count(msgUp) != 1 {
				t.Errorf("logs %v: want one outage and one recovery line", logs.msgs)
			}
			if metricValue(t, l.metrics.storeUp) != 1 {
				t.Error("store_up gauge not back to 1")
			}
		})
	}
}

// waitFor polls cond until it holds; the overall bound only stops a broken
// build from hanging, it measures nothing.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition never held")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestLimiterAuthFailures(t *testing.T) {
	l := newLimiter(t, testConfig("memory", "fail_closed", ""), Options{AuthFailure: Tier{Rate: 1, Per: time.Minute, Burst: 3}})
	ctx := context.Background()
	attacker := netip.MustParseAddr("2001:db8:1:2::1")
	sameNet := netip.MustParseAddr("2001:db8:1:2:ffff::9")
	other := netip.MustParseAddr("192.0.2.7")
	for i := range 3 {
		d, err := l.ChargeAuthFailure(ctx, attacker)
		if err != nil || !d.Allowed || d.Tier != TierAuthFailure {
			t.Fatalf("failure %d: %+v %v", i, d, err)
		}
	}
	// Rotating addresses inside one /64 does not buy more guesses.
	d, _ := l.ChargeAuthFailure(ctx, sameNet)
	if d.Allowed {
		t.Error("fourth failure from the same /64 allowed")
	}
	if h := l.Headers(d); len(h) != 3 || h[0].Value != `"auth_failure";q=3;w=180` {
		t.Errorf("headers %v", h)
	}
	if d, _ := l.ChargeAuthFailure(ctx, other); !d.Allowed {
		t.Error("another client paid for the attacker")
	}
	// The failure budget is apart from the ordinary anonymous one.
	anon := l.SubjectFor(Caller{Anonymous: true, IP: attacker})
	if d, _ := l.Charge(ctx, anon, 1); !d.Allowed {
		t.Error("auth failures spent the anonymous budget")
	}
}

func TestLimiterPenalty(t *testing.T) {
	l := newLimiter(t, testConfig("memory", "fail_closed", ""), Options{Penalty: 2})
	ctx := context.Background()
	s := Subject{Key: "sub:guesser", Tier: "default"}
	for _, want := range []bool{true, true, false} {
		if d, _ := l.ChargePenalty(ctx, s); d.Allowed != want || d.Cost != 2 {
			t.Errorf("penalty: %+v, want allowed=%v", d, want)
		}
	}
}

func TestAcquire(t *testing.T) {
	l := newLimiter(t, testConfig("memory", "fail_closed", ""), Options{MaxInFlight: map[string]int{"partner": 2}})
	r1, ok1 := l.Acquire("sub:a", "partner")
	r2, ok2 := l.Acquire("sub:a", "partner")
	_, ok3 := l.Acquire("sub:a", "partner")
	if !ok1 || !ok2 || ok3 {
		t.Fatalf("ok = %v %v %v, want true true false", ok1, ok2, ok3)
	}
	if _, ok := l.Acquire("sub:b", "partner"); !ok {
		t.Error("another key shares a's slots")
	}
	r1()
	r1() // twice must not free two slots
	if _, ok := l.Acquire("sub:a", "partner"); !ok {
		t.Error("released slot not reusable")
	}
	if _, ok := l.Acquire("sub:a", "partner"); ok {
		t.Error("double release freed a second slot")
	}
	r2()
	for range 100 {
		if _, ok := l.Acquire("sub:a", "default"); !ok {
			t.Fatal("tier without a cap refused")
		}
	}
	if got := metricValue(t, l.metrics.decisions.WithLabelValues("partner", "concurrency")); got != 2 {
		t.Errorf("concurrency refusals = %v, want 2", got)
	}
}

func TestSubjectFor(t *testing.T) {
	ip4 := netip.MustParseAddr("192.0.2.1")
	ip6 := netip.MustParseAddr("2001:db8::1234")
	long := strings.Repeat("x", 300)
	tests := []struct {
		key  string
		c    Caller
		want Subject
	}{
		{"subject", Caller{Anonymous: true, Subject: "ignored", IP: ip4}, Subject{"ip:192.0.2.1", "anonymous"}},
		{"api_key", Caller{Anonymous: true, IP: ip6}, Subject{"ip:2001:db8::/64", "anonymous"}},
		{"subject", Caller{Tier: "partner", Subject: "u1", IP: ip4}, Subject{"sub:u1", "partner"}},
		{"subject", Caller{Subject: "u1", IP: ip4}, Subject{"sub:u1", "default"}},
		{"subject", Caller{Tier: "default", IP: ip4}, Subject{"ip:192.0.2.1", "default"}},
		{"api_key", Caller{Tier: "partner", Subject: "apikey:acme", APIKeyName: "acme", IP: ip4}, Subject{"key:acme", "partner"}},
		{"api_key", Caller{Tier: "default", Subject: "u1", IP: ip4}, Subject{"sub:u1", "default"}},
		{"ip", Caller{Tier: "partner", Subject: "u1", IP: netip.MustParseAddr("::ffff:192.0.2.1")}, Subject{"ip:192.0.2.1", "partner"}},
		{"subject", Caller{Tier: "default", Subject: "192.0.2.1"}, Subject{"sub:192.0.2.1", "default"}},
		{"subject", Caller{Subject: long}, Subject{"h:", "default"}},
	}
	for _, tt := range tests {
		t.Run(tt.key+" "+tt.want.Key, func(t *testing.T) {
			cfg := testConfig("memory", "fail_closed", "")
			cfg.Key = tt.key
			l := newLimiter(t, cfg, Options{})
			got := l.SubjectFor(tt.c)
			if tt.want.Key == "h:" {
				if !strings.HasPrefix(got.Key, "h:") || len(got.Key) > maxKeyLen {
					t.Errorf("long key kept: %d bytes", len(got.Key))
				}
				return
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestClientIP(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	tests := []struct {
		name   string
		remote string
		xff    []string
		want   string
	}{
		{"direct", "198.51.100.1:5555", nil, "198.51.100.1"},
		{"spoofed header from untrusted peer", "198.51.100.1:5555", []string{"1.2.3.4"}, "198.51.100.1"},
		{"one trusted proxy", "10.0.0.2:80", []string{"198.51.100.9"}, "198.51.100.9"},
		{"client prepends a lie", "10.0.0.2:80", []string{"1.2.3.4, 198.51.100.9"}, "198.51.100.9"},
		{"chain of proxies", "10.0.0.2:80", []string{"198.51.100.9, 10.1.1.1", "10.2.2.2"}, "198.51.100.9"},
		{"garbage behind proxy", "10.0.0.2:80", []string{"nonsense"}, "10.0.0.2"},
		{"trusted without header", "[::1]:80", nil, "::1"},
		{"mapped peer", "[::ffff:198.51.100.1]:1", nil, "198.51.100.1"},
		{"unparsable peer", "nope", nil, "invalid IP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ClientIP(tt.remote, tt.xff, trusted).String(); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestLimiterCloseLeavesNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	l, err := New(testConfig("redis", "fail_open", "127.0.0.1:1"), Options{
		Timeout: 20 * time.Millisecond, ProbeMin: time.Millisecond, ProbeMax: 2 * time.Millisecond,
		Memory: MemoryOptions{SweepInterval: time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	// Start the probe and the janitor: the store is marked down after
	// downAfter errors in a row.
	for i := 0; i < downAfter; i++ {
		if !l.StoreUp() {
			t.Fatalf("store marked down after %d errors, want %d", i, downAfter)
		}
		if _, err := l.Charge(context.Background(), Subject{Key: "k", Tier: "default"}, 1); err != nil {
			t.Fatal(err)
		}
	}
	if l.StoreUp() {
		t.Fatal("dead store reported up")
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	waitFor(t, func() bool { return runtime.NumGoroutine() <= before })
}

// TestTwoGatewaysShareOneBudget: two Limiters, each with its own Redis client
// as two gateway processes have, admit exactly one budget between them.
func TestTwoGatewaysShareOneBudget(t *testing.T) {
	base := redistest.Client(t, -1)
	prefix := redistest.Prefix(t, base, "portcullis:rl:")
	ro := redistest.Options(t, -1)
	cfg := testConfig("redis", "fail_closed", ro.Addr)
	cfg.Redis.DB, cfg.Redis.Password = ro.DB, ro.Password
	cfg.Tiers["default"] = Tier{Rate: 1, Per: time.Hour, Burst: 50}
	var mu sync.Mutex
	counts := map[bool]int{}
	var wg sync.WaitGroup
	for range 2 {
		l := newLimiter(t, cfg, Options{Timeout: time.Second, RedisStore: RedisOptions{Prefix: prefix}})
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 10 {
					d, err := l.Charge(context.Background(), Subject{Key: "sub:shared", Tier: "default"}, 1)
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					counts[d.Allowed]++
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	if counts[true] != 50 || counts[false] != 110 {
		t.Errorf("allowed %d, refused %d; want exactly 50 and 110", counts[true], counts[false])
	}
	// Different clients stay independent on the same store.
	l := newLimiter(t, cfg, Options{RedisStore: RedisOptions{Prefix: prefix}})
	if d, err := l.Charge(context.Background(), Subject{Key: "sub:other", Tier: "default"}, 50); err != nil || !d.Allowed {
		t.Errorf("another client: %+v %v", d, err)
	}
}

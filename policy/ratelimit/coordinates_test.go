package ratelimit

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-gw/portcullis/internal/testkit/fakeclock"
	"github.com/portcullis-gw/portcullis/internal/testkit/redistest"
)

func coordinateLimiter(t *testing.T, store string, clock *fakeclock.Clock) *Limiter {
	t.Helper()
	cfg := Config{Store: store, OnStoreError: "fail_closed", Key: "subject",
		Tiers: map[string]Tier{"default": {Rate: 100, Per: time.Second, Burst: 100}, "anonymous": {Rate: 100, Per: time.Second, Burst: 100}},
		Coordinates: []CoordinateLimit{
			{Coordinate: "Mutation.login", Rate: 5, Per: time.Minute, Burst: 5, Key: "ip"},
			{Operation: "orders.createOrder", Rate: 2, Per: time.Minute, Burst: 2, Key: "subject"},
		}}
	opts := Options{Now: clock.Now}
	if store == "redis" {
		c := redistest.Client(t, -1)
		opts.RedisClient = c
		opts.RedisStore = RedisOptions{Prefix: redistest.Prefix(t, c, "portcullis:rl:"), Now: clock.Now}
		cfg.Redis.Address = "127.0.0.1:6379"
	}
	l, err := New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func TestCoordinateLimits(t *testing.T) {
	for _, store := range []string{"memory", "redis"} {
		t.Run(store, func(t *testing.T) {
			clock := fakeclock.New(epoch)
			l := coordinateLimiter(t, store, clock)
			ctx := context.Background()
			ip := netip.MustParseAddr("192.0.2.7")
			alice := Caller{Subject: "jwt:iss#alice", IP: ip}
			bob := Caller{Subject: "jwt:iss#bob", IP: ip}
			other := Caller{Subject: "jwt:iss#alice", IP: netip.MustParseAddr("192.0.2.8")}

			// 100 uses in one request can never pass a burst of 5.
			d, err := l.ChargeCoordinate(ctx, 0, alice, 100)
			if err != nil || d.Allowed || !d.TooExpensive {
				t.Fatalf("100 logins = %+v, %v", d, err)
			}
			// Keyed by IP: alice and bob share one budget from one address.
			steps := []struct {
				c       Caller
				n       int
				allowed bool
			}{{alice, 3, true}, {bob, 2, true}, {alice, 1, false}, {other, 5, true}, {other, 1, false}}
			for i, s := range steps {
				d, err := l.ChargeCoordinate(ctx, 0, s.c, s.n)
				if err != nil || d.Allowed != s.allowed {
					t.Fatalf("step %d: %+v, %v; want allowed=%v", i, d, err, s.allowed)
				}
			}
			d, _ = l.ChargeCoordinate(ctx, 0, alice, 1)
			h := l.CoordinateHeaders(0, d)
			if len(h) != 3 || h[0].Value != `"Mutation.login";q=5;w=60` || !strings.HasPrefix(h[1].Value, `"Mutation.login";r=0;t=`) || h[2].Name != "Retry-After" {
				t.Fatalf("headers = %+v", h)
			}
			// One use refills in per/rate = 12s.
			clock.Advance(12 * time.Second)
			if d, _ := l.ChargeCoordinate(ctx, 0, bob, 1); !d.Allowed {
				t.Fatalf("after refill: %+v", d)
			}

			// The operation limit is keyed by subject: one IP, two budgets.
			for i, s := range []struct {
				c       Caller
				allowed bool
			}{{alice, true}, {alice, true}, {alice, false}, {bob, true}} {
				if d, _ := l.ChargeCoordinate(ctx, 1, s.c, 1); d.Allowed != s.allowed {
					t.Fatalf("operation step %d: %+v", i, d)
				}
			}
			// A refund gives the uses back.
			if err := l.RefundCoordinate(ctx, 1, alice, 1); err != nil {
				t.Fatal(err)
			}
			if d, _ := l.ChargeCoordinate(ctx, 1, alice, 1); !d.Allowed {
				t.Fatalf("after refund: %+v", d)
			}
			// The coordinate buckets are not the tier's: the cost budget is whole.
			if d, _ := l.Charge(ctx, l.SubjectFor(alice), 100); !d.Allowed {
				t.Fatalf("tier budget touched by coordinate charges: %+v", d)
			}
			if _, err := l.ChargeCoordinate(ctx, 7, alice, 1); err == nil {
				t.Fatal("an unknown limit index was charged")
			}
		})
	}
}

func TestCoordinateLimitsFailClosed(t *testing.T) {
	cfg := Config{Store: "redis", Redis: Redis{Address: "127.0.0.1:1"}, OnStoreError: "fail_closed", Key: "subject",
		Tiers:       map[string]Tier{"default": {Rate: 1, Per: time.Second, Burst: 1}},
		Coordinates: []CoordinateLimit{{Coordinate: "Mutation.login", Rate: 5, Per: time.Minute, Burst: 5}}}
	l, err := New(cfg, Options{Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := l.ChargeCoordinate(context.Background(), 0, Caller{Anonymous: true, IP: netip.MustParseAddr("192.0.2.1")}, 1); err == nil {
		t.Fatal("an unreachable store answered a coordinate charge under fail_closed")
	}
}

func TestCoordinateLimitsValidate(t *testing.T) {
	base := Config{Store: "memory", OnStoreError: "fail_closed", Key: "subject"}
	cases := []struct {
		name string
		c    CoordinateLimit
		want string
	}{
		{"ok", CoordinateLimit{Coordinate: "Mutation.login", Rate: 1, Per: time.Second, Burst: 1}, ""},
		{"both", CoordinateLimit{Coordinate: "Mutation.login", Operation: "a.b", Rate: 1, Per: time.Second, Burst: 1}, "exactly one"},
		{"neither", CoordinateLimit{Rate: 1, Per: time.Second, Burst: 1}, "exactly one"},
		{"bad coordinate", CoordinateLimit{Coordinate: "login", Rate: 1, Per: time.Second, Burst: 1}, "Type.field"},
		{"bad operation", CoordinateLimit{Operation: "createOrder", Rate: 1, Per: time.Second, Burst: 1}, "route.operationId"},
		{"bad key", CoordinateLimit{Coordinate: "Mutation.login", Rate: 1, Per: time.Second, Burst: 1, Key: "cookie"}, "key: must be"},
		{"zero rate", CoordinateLimit{Coordinate: "Mutation.login", Per: time.Second, Burst: 1}, "rate: must be > 0"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := base
			cfg.Coordinates = []CoordinateLimit{c.c}
			errs := cfg.Validate()
			if c.want == "" {
				if len(errs) > 0 {
					t.Fatal(errs)
				}
				return
			}
			if len(errs) != 1 || !strings.Contains(errs[0].Error(), c.want) || !strings.HasPrefix(errs[0].Error(), "coordinates[0]") {
				t.Fatalf("Validate = %v, want one coordinates[0] error containing %q", errs, c.want)
			}
		})
	}
	cfg := base
	cfg.Coordinates = []CoordinateLimit{{Coordinate: "Mutation.login", Rate: 1, Per: time.Second, Burst: 1}, {Coordinate: "Mutation.login", Rate: 2, Per: time.Second, Burst: 2}}
	if errs := cfg.Validate(); len(errs) != 1 || !strings.Contains(errs[0].Error(), "already has a limit") {
		t.Fatalf("duplicate: %v", errs)
	}
}

package ratelimit

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-gw/portcullis/internal/testkit/redistest"
)

func TestRedisConfigValidate(t *testing.T) {
	base := func(r Redis) Config {
		return Config{Store: "redis", Redis: r, OnStoreError: "fail_closed", Key: "subject"}
	}
	tests := []struct {
		name string
		r    Redis
		want string // "" = valid
	}{
		{"standalone", Redis{Address: "r:6379"}, ""},
		{"standalone without address", Redis{}, "redis.address: is required"},
		{"standalone with addresses", Redis{Address: "r:6379", Addresses: []string{"s:1"}}, "redis.addresses: only for mode sentinel or cluster"},
		{"sentinel", Redis{Mode: RedisSentinel, Addresses: []string{"s1:26379", "s2:26379"}, MasterName: "m"}, ""},
		{"sentinel without master", Redis{Mode: RedisSentinel, Addresses: []string{"s1:26379"}}, "redis.master_name: is required in mode sentinel"},
		{"sentinel without addresses", Redis{Mode: RedisSentinel, MasterName: "m"}, "redis.addresses: is required in mode sentinel"},
		{"sentinel with address", Redis{Mode: RedisSentinel, Address: "r:1", Addresses: []string{"s:1"}, MasterName: "m"}, "redis.address: not used in mode sentinel"},
		{"cluster", Redis{Mode: RedisCluster, Addresses: []string{"c1:6379"}}, ""},
		{"cluster db", Redis{Mode: RedisCluster, Addresses: []string{"c1:6379"}, DB: 2}, "redis.db: a Redis Cluster has only database 0"},
		{"cluster bad address", Redis{Mode: RedisCluster, Addresses: []string{"c1"}}, "redis.addresses[0]: must be host:port"},
		{"master name outside sentinel", Redis{Address: "r:1", MasterName: "m"}, "redis.master_name: only for mode sentinel"},
		{"unknown mode", Redis{Mode: "ring", Address: "r:1"}, "redis.mode: must be standalone, sentinel or cluster"},
		{"tls half a key pair", Redis{Address: "r:1", TLS: &RedisTLS{CertFile: "c.pem"}}, "redis.tls.cert_file: cert_file and key_file must be set together"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := base(tt.r).Validate()
			got := errs.Err()
			switch {
			case tt.want == "" && got != nil:
				t.Fatalf("valid config refused: %v", got)
			case tt.want != "" && (got == nil || !strings.Contains(got.Error(), tt.want)):
				t.Fatalf("Validate() = %v, want %q", got, tt.want)
			}
		})
	}
}

// A fail_closed limiter on an unreachable Redis is not ready, without any
// request having failed: the watch pings the idle store. The memory store
// and fail_open always are.
func TestLimiterReady(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	tiers := map[string]Tier{"default": {Rate: 1, Per: time.Second, Burst: 1}}
	build := func(store, mode, addr string) *Limiter {
		l, err := New(Config{Store: store, Redis: Redis{Address: addr}, OnStoreError: mode, Key: "subject", Tiers: tiers},
			Options{Watch: 5 * time.Millisecond, ProbeMin: 5 * time.Millisecond, ProbeMax: 10 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = l.Close() })
		return l
	}
	if !build("memory", "fail_closed", "").Ready() {
		t.Fatal("memory store not ready")
	}
	if !build("redis", "fail_open", dead).Ready() {
		t.Fatal("fail_open must be ready whatever Redis does")
	}
	l := build("redis", "fail_closed", dead)
	deadline := time.Now().Add(20 * time.Second)
	for l.StoreUp() {
		if time.Now().After(deadline) {
			t.Fatal("the watch never noticed the dead store")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if l.Ready() {
		t.Fatal("fail_closed limiter ready on a dead store")
	}
	if err := l.Ping(context.Background()); err == nil {
		t.Fatal("Ping on a dead store succeeded")
	}
	live := build("redis", "fail_closed", redistest.Options(t, -1).Addr)
	deadline = time.Now().Add(20 * time.Second)
	for !live.Ready() {
		if time.Now().After(deadline) {
			t.Fatal("fail_closed limiter on a live Redis never became ready")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

package resilience

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/portcullis-gw/portcullis/policy/ratelimit"
	"github.com/portcullis-gw/portcullis/upstream/tlstest"
)

// Redis topologies as people run them, each against real redis-server
// processes on loopback ports of the test's own: a 3-master Cluster, a
// master with a replica and a Sentinel (failover mid-test), ACL users and
// TLS.

// rtServer is one redis-server (or Sentinel) process.
type rtServer struct {
	port int
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
	done chan struct{}
}

func (s *rtServer) addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

func (s *rtServer) output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.String()
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

// rtStart runs redis-server with args (a config file first for Sentinel)
// on a free port; ready tells when it serves.
func rtStart(t *testing.T, port int, args ...string) *rtServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server is not installed (the Redis topology tests start their own; .ci/run installs it): %v", err)
	}
	s := &rtServer{port: port, done: make(chan struct{})}
	s.cmd = exec.Command(bin, args...)
	s.cmd.Stdout = lockedWriter{&s.mu, &s.out}
	s.cmd.Stderr = lockedWriter{&s.mu, &s.out}
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("starting redis-server: %v", err)
	}
	go func() { _ = s.cmd.Wait(); close(s.done) }()
	t.Cleanup(func() {
		_ = s.cmd.Process.Kill()
		<-s.done
		if t.Failed() {
			t.Logf("redis on %d:\n%s", s.port, s.output())
		}
	})
	return s
}

func rtServerArgs(t *testing.T, port int, extra ...string) []string {
	dir := t.TempDir()
	return append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir}, extra...)
}

// rtWait retries f until it succeeds; a bound against a hang, not a timing assertion.
func rtWait(t *testing.T, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func rtPing(opts *redis.Options) func() error {
	return func() error {
		c := redis.NewClient(opts)
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		return c.Ping(ctx).Err()
	}
}

// rtTier refills one unit an hour: within a test, Remaining only moves
// with charges, so it can be checked exactly.
var rtTier = ratelimit.Tier{Rate: 1, Per: time.Hour, Burst: 1000}

func rtLimiter(t *testing.T, r ratelimit.Redis) *ratelimit.Limiter {
	t.Helper()
	l, err := ratelimit.New(ratelimit.Config{
		Store: "redis", Redis: r, OnStoreError: "fail_closed", Key: "subject",
		Tiers: map[string]ratelimit.Tier{"default": rtTier}, Timeout: time.Second,
	}, ratelimit.Options{ProbeMin: 20 * time.Millisecond, ProbeMax: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

// charge charges one unit, retrying through a store outage (a failover).
func charge(t *testing.T, l *ratelimit.Limiter, key string) ratelimit.Decision {
	t.Helper()
	var d ratelimit.Decision
	rtWait(t, "a charge the store accepts", func() error {
		var err error
		d, err = l.Charge(context.Background(), ratelimit.Subject{Key: key, Tier: "default"}, 1)
		return err
	})
	return d
}

// A 3-master Cluster: keys spread over the masters (each bucket is one
// hash-tagged key), and every bucket counts exactly.
func TestRedisCluster(t *testing.T) {
	var nodes []*rtServer
	for range 3 {
		port := freePort(t)
		nodes = append(nodes, rtStart(t, port, rtServerArgs(t, port, "--cluster-enabled", "yes",
			"--cluster-config-file", "nodes-"+strconv.Itoa(port)+".conf", "--cluster-node-timeout", "2000")...))
	}
	args := []string{"--cluster", "create"}
	for _, n := range nodes {
		rtWait(t, "cluster node "+n.addr(), rtPing(&redis.Options{Addr: n.addr()}))
		args = append(args, n.addr())
	}
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.Command("redis-cli", args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	rtWait(t, "cluster_state:ok", func() error {
		c := redis.NewClient(&redis.Options{Addr: nodes[0].addr()})
		defer c.Close()
		info, err := c.ClusterInfo(context.Background()).Result()
		if err != nil {
			return err
		}
		if !strings.Contains(info, "cluster_state:ok") {
			return fmt.Errorf("cluster not ok yet")
		}
		return nil
	})

	l := rtLimiter(t, ratelimit.Redis{Mode: ratelimit.RedisCluster, Addresses: []string{nodes[0].addr()}})
	const keys, per = 30, 5
	for k := range keys {
		key := "cluster-user-" + strconv.Itoa(k)
		for i := range per {
			if d := charge(t, l, key); !d.Allowed || d.Remaining != rtTier.Burst-i-1 {
				t.Fatalf("%s charge %d: %+v, want allowed with %d left", key, i, d, rtTier.Burst-i-1)
			}
		}
	}
	used := 0
	for _, n := range nodes {
		c := redis.NewClient(&redis.Options{Addr: n.addr()})
		size, err := c.DBSize(context.Background()).Result()
		c.Close()
		if err != nil {
			t.Fatal(err)
		}
		if size > 0 {
			used++
		}
	}
	if used < 2 {
		t.Fatalf("buckets on %d of 3 masters: the limiter must spread keys over the Cluster", used)
	}
}

// A master, its replica and a Sentinel: a failover mid-test moves the
// limiter to the promoted replica, and the budget spent before it is still
// spent after it. Writes are replicated asynchronously: what the master
// acknowledged but had not sent to the replica when it failed is lost (the
// operator guide says how much); here the test waits for the replica to
// acknowledge (WAIT) before the failover, so nothing may be lost.
func TestRedisSentinelFailover(t *testing.T) {
	mport, rport, sport := freePort(t), freePort(t), freePort(t)
	master := rtStart(t, mport, rtServerArgs(t, mport)...)
	rtWait(t, "master", rtPing(&redis.Options{Addr: master.addr()}))
	replica := rtStart(t, rport, rtServerArgs(t, rport, "--replicaof", "127.0.0.1", strconv.Itoa(mport))...)
	rtWait(t, "replica in sync", func() error {
		c := redis.NewClient(&redis.Options{Addr: replica.addr()})
		defer c.Close()
		info, err := c.Info(context.Background(), "replication").Result()
		if err != nil {
			return err
		}
		if !strings.Contains(info, "master_link_status:up") {
			return fmt.Errorf("replica link not up yet")
		}
		return nil
	})
	conf := filepath.Join(t.TempDir(), "sentinel.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(`port %d
bind 127.0.0.1
sentinel monitor shop 127.0.0.1 %d 1
sentinel down-after-milliseconds shop 1000
sentinel failover-timeout shop 5000
`, sport, mport)), 0o600); err != nil {
		t.Fatal(err)
	}
	sentinel := rtStart(t, sport, conf, "--sentinel")
	sc := redis.NewSentinelClient(&redis.Options{Addr: sentinel.addr()})
	defer sc.Close()
	rtWait(t, "the Sentinel to see the replica", func() error {
		reps, err := sc.Replicas(context.Background(), "shop").Result()
		if err != nil {
			return err
		}
		if len(reps) == 0 {
			return fmt.Errorf("no replica known yet")
		}
		return nil
	})

	l := rtLimiter(t, ratelimit.Redis{Mode: ratelimit.RedisSentinel, Addresses: []string{sentinel.addr()}, MasterName: "shop"})
	const before = 10
	for i := range before {
		if d := charge(t, l, "failover-user"); !d.Allowed || d.Remaining != rtTier.Burst-i-1 {
			t.Fatalf("charge %d before failover: %+v", i, d)
		}
	}
	mc := redis.NewClient(&redis.Options{Addr: master.addr()})
	defer mc.Close()
	if n, err := mc.Wait(context.Background(), 1, 5*time.Second).Result(); err != nil || n < 1 {
		t.Fatalf("WAIT for the replica: %d %v", n, err)
	}
	// The Sentinel refuses (NOGOODSLAVE) until its periodic INFO of the
	// replica is fresh enough; ask again until it accepts.
	rtWait(t, "SENTINEL FAILOVER accepted", func() error { return sc.Failover(context.Background(), "shop").Err() })
	rtWait(t, "the replica promoted", func() error {
		addr, err := sc.GetMasterAddrByName(context.Background(), "shop").Result()
		if err != nil {
			return err
		}
		if addr[1] != strconv.Itoa(rport) {
			return fmt.Errorf("master still %v", addr)
		}
		return nil
	})
	// The next accepted charge lands on the new master, and counts from
	// where the old one left off.
	d := charge(t, l, "failover-user")
	if !d.Allowed || d.Remaining != rtTier.Burst-before-1 {
		t.Fatalf("first charge after failover: %+v, want %d left (no budget lost or refunded)", d, rtTier.Burst-before-1)
	}
	rc := redis.NewClient(&redis.Options{Addr: replica.addr()})
	defer rc.Close()
	if role, err := rc.Do(context.Background(), "ROLE").Slice(); err != nil || role[0] != "master" {
		t.Fatalf("the promoted replica's role: %v %v", role, err)
	}
}

// ACL users: the limiter authenticates as a named user; a wrong password
// is a store error (fail_closed refuses), never an unlimited pass.
func TestRedisACLUser(t *testing.T) {
	port := freePort(t)
	srv := rtStart(t, port, rtServerArgs(t, port, "--user", "default", "off", "--user", "gateway", "on", ">s3cret-acl", "~portcullis:*", "+@all")...)
	rtWait(t, "redis with ACL", rtPing(&redis.Options{Addr: srv.addr(), Username: "gateway", Password: "s3cret-acl"}))
	l := rtLimiter(t, ratelimit.Redis{Address: srv.addr(), Username: "gateway", Password: "s3cret-acl"})
	if d := charge(t, l, "acl-user"); !d.Allowed || d.Remaining != rtTier.Burst-1 {
		t.Fatalf("charge as an ACL user: %+v", d)
	}
	bad := rtLimiter(t, ratelimit.Redis{Address: srv.addr(), Username: "gateway", Password: "wrong"})
	if _, err := bad.Charge(context.Background(), ratelimit.Subject{Key: "acl-user", Tier: "default"}, 1); err == nil {
		t.Fatal("a wrong password must fail the charge (fail_closed)")
	}
	if err := bad.Ping(context.Background()); err == nil || !strings.Contains(err.Error(), "WRONGPASS") {
		t.Fatalf("Ping with a wrong password: %v, want WRONGPASS", err)
	}
}

// TLS with a client certificate: the limiter trusts the configured CA and
// presents its certificate; without the CA it refuses the server.
func TestRedisTLS(t *testing.T) {
	ca := tlstest.NewCA(t)
	serverCert, serverKey := ca.Issue(t, "127.0.0.1", "localhost")
	clientCert, clientKey := ca.IssueClient(t, "gateway")
	port := freePort(t)
	srv := rtStart(t, port, rtServerArgs(t, 0, "--tls-port", strconv.Itoa(port), "--tls-cert-file", serverCert,
		"--tls-key-file", serverKey, "--tls-ca-cert-file", ca.CertFile, "--tls-auth-clients", "yes")...)
	cert, err := tls.LoadX509KeyPair(clientCert, clientKey)
	if err != nil {
		t.Fatal(err)
	}
	rtWait(t, "redis over TLS", rtPing(&redis.Options{Addr: srv.addr(), TLSConfig: &tls.Config{RootCAs: ca.Pool(), Certificates: []tls.Certificate{cert}}}))

	l := rtLimiter(t, ratelimit.Redis{Address: srv.addr(), TLS: &ratelimit.RedisTLS{CAFile: ca.CertFile, CertFile: clientCert, KeyFile: clientKey}})
	if d := charge(t, l, "tls-user"); !d.Allowed || d.Remaining != rtTier.Burst-1 {
		t.Fatalf("charge over TLS: %+v", d)
	}
	untrusting := rtLimiter(t, ratelimit.Redis{Address: srv.addr(), TLS: &ratelimit.RedisTLS{CertFile: clientCert, KeyFile: clientKey}})
	if err := untrusting.Ping(context.Background()); err == nil {
		t.Fatal("a server signed by an unconfigured CA must be refused")
	}
}

// go-redis's own log lines come out as JSON records of the gateway's
// logger, not as plain text on stderr.
func TestRedisClientLogsJSON(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	ratelimit.LogRedisTo(slogJSON(lockedWriter{&mu, &buf}))
	defer ratelimit.LogRedisTo(slogJSON(os.Stderr))
	// A Sentinel client with no Sentinel reachable logs its failures.
	l := rtLimiter(t, ratelimit.Redis{Mode: ratelimit.RedisSentinel, Addresses: []string{"127.0.0.1:" + strconv.Itoa(freePort(t))}, MasterName: "none"})
	_, _ = l.Charge(context.Background(), ratelimit.Subject{Key: "k", Tier: "default"}, 1)
	rtWait(t, "a go-redis log line", func() error {
		mu.Lock()
		defer mu.Unlock()
		if buf.Len() == 0 {
			return fmt.Errorf("nothing logged yet")
		}
		return nil
	})
	mu.Lock()
	defer mu.Unlock()
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if !strings.HasPrefix(line, "{") || !strings.Contains(line, `"component":"go-redis"`) {
			t.Fatalf("not a JSON record of the gateway's logger: %q", line)
		}
	}
}

// lockedWriter serialises writes to a buffer that the test reads while a
// process or a logger writes to it.
type lockedWriter struct {
	mu  *sync.Mutex
	buf *bytes.Buffer
}

func (w lockedWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(b)
}

func slogJSON(w io.Writer) *slog.Logger { return slog.New(slog.NewJSONHandler(w, nil)) }

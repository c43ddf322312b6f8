package test

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// rlRedisURL is the shared Redis CI starts.
func rlRedisURL() string {
	if u := os.Getenv("REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/15"
}

// rlSharedRedis connects to the shared Redis, on database db rather than the
// URL's: the gateway's keys are fixed (portcullis:rl:{...}), so a test gets a
// database of its own instead of a key prefix. It fails, never skips, when
// Redis is not there.
func rlSharedRedis(t *testing.T, db int) (*redis.Client, *redis.Options) {
	t.Helper()
	opts, err := redis.ParseURL(rlRedisURL())
	if err != nil {
		t.Fatalf("parsing REDIS_URL %q: %v", rlRedisURL(), err)
	}
	opts.DB = db
	c := redis.NewClient(opts)
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("connecting to Redis at %s (db %d): %v", opts.Addr, db, err)
	}
	return c, opts
}

// rlDeleteKeys removes the keys matching pattern now and when the test ends,
// so a rerun starts from full buckets. Nothing else in the database is
// touched: other tests may share it.
func rlDeleteKeys(t *testing.T, c *redis.Client, pattern string) {
	t.Helper()
	del := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		iter := c.Scan(ctx, 0, pattern, 100).Iterator()
		for iter.Next(ctx) {
			if err := c.Del(ctx, iter.Val()).Err(); err != nil {
				return err
			}
		}
		return iter.Err()
	}
	if err := del(); err != nil {
		t.Fatalf("deleting %s: %v", pattern, err)
	}
	t.Cleanup(func() {
		if err := del(); err != nil {
			t.Errorf("deleting %s: %v", pattern, err)
		}
	})
}

// rlRedisChild is a redis-server of the test's own, so an outage can be
// staged by killing it without touching the machine's Redis.
type rlRedisChild struct {
	t    *testing.T
	bin  string
	dir  string
	port int

	mu   sync.Mutex
	cmd  *exec.Cmd
	out  *bytes.Buffer
	done chan struct{}
}

func rlStartRedisChild(t *testing.T) *rlRedisChild {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server is not installed (the Redis outage tests start their own; .ci/run installs it): %v", err)
	}
	ln := listen(t)
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	rc := &rlRedisChild{t: t, bin: bin, dir: t.TempDir(), port: port}
	rc.start()
	t.Cleanup(rc.kill)
	return rc
}

func (rc *rlRedisChild) addr() string { return "127.0.0.1:" + strconv.Itoa(rc.port) }

// start runs redis-server on rc's port (again, after kill) and waits until
// it answers PING.
func (rc *rlRedisChild) start() {
	rc.t.Helper()
	rc.mu.Lock()
	cmd := exec.Command(rc.bin, "--port", strconv.Itoa(rc.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", rc.dir)
	out := &bytes.Buffer{}
	cmd.Stdout = lockedWriter{&rc.mu, out}
	cmd.Stderr = lockedWriter{&rc.mu, out}
	rc.mu.Unlock()
	if err := cmd.Start(); err != nil {
		rc.t.Fatalf("starting redis-server: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	rc.mu.Lock()
	rc.cmd, rc.out, rc.done = cmd, out, done
	rc.mu.Unlock()

	c := redis.NewClient(&redis.Options{Addr: rc.addr(), DialTimeout: time.Second, MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(15 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return
		}
		select {
		case <-done:
			rc.t.Fatalf("redis-server on port %d exited: %s", rc.port, rc.output())
		default:
		}
		if time.Now().After(deadline) {
			rc.t.Fatalf("redis-server on port %d never answered PING: %v\n%s", rc.port, err, rc.output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill stops the server abruptly, as a crash would, and waits for it to go.
func (rc *rlRedisChild) kill() {
	rc.mu.Lock()
	cmd, done := rc.cmd, rc.done
	rc.cmd = nil
	rc.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-done
}

func (rc *rlRedisChild) output() string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.out == nil {
		return ""
	}
	return rc.out.String()
}

// client is a connection to the child for assertions on its keys.
func (rc *rlRedisChild) client() *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: rc.addr(), DialTimeout: time.Second, MaxRetries: -1})
	rc.t.Cleanup(func() { _ = c.Close() })
	return c
}

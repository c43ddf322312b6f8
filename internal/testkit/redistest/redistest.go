// Package redistest gives tests the real Redis they need: the shared one CI
// starts (REDIS_URL, default 127.0.0.1:6379 database 15), key namespaces
// deleted afterwards, and redis-server children a test may kill to stage an
// outage. A missing Redis fails the test at once with what to start; it
// never skips and never waits out a timeout.
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/portcullis-gw/portcullis/internal/testkit/syncbuf"
)

// DefaultURL is the shared Redis when REDIS_URL is not set: the database
// the tests use for scratch work.
const DefaultURL = "redis://127.0.0.1:6379/15"

// pingTimeout bounds the first PING: a Redis that is not there answers
// "connection refused" at once, a black-holed address must not hang.
const pingTimeout = 3 * time.Second

// URL is REDIS_URL, or DefaultURL.
func URL() string {
	if u := os.Getenv("REDIS_URL"); u != "" {
		return u
	}
	return DefaultURL
}

// Options parses URL; db >= 0 replaces the URL's database.
func Options(t testing.TB, db int) *redis.Options {
	t.Helper()
	opts, err := redis.ParseURL(URL())
	if err != nil {
		// Not %v of the URL: it may hold a password.
		t.Fatalf("REDIS_URL is not a redis:// URL: %v", err)
	}
	if db >= 0 {
		opts.DB = db
	}
	return opts
}

// Client connects to the shared Redis (database db, or the URL's when db
// is negative), closed when the test ends.
func Client(t testing.TB, db int) *redis.Client {
	t.Helper()
	opts := Options(t, db)
	c := redis.NewClient(opts)
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), pingTimeout)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatal(NotRunning(opts.Addr, opts.DB, err))
	}
	return c
}

// NotRunning is the failure message for a Redis that does not answer,
// naming what to start.
func NotRunning(addr string, db int, err error) string {
	return fmt.Sprintf("Redis is not answering at %s (db %d): %v\n"+
		"These tests need a real Redis: start one (redis-server --port 6379 --save ''; .ci/run starts it) "+
		"or set REDIS_URL to one.", addr, db, err)
}

// Prefix is a key namespace of the test's own under base (base +
// "test-<random>:"), deleted when the test ends: the database is shared,
// so nothing else is flushed.
func Prefix(t testing.TB, c redis.UniversalClient, base string) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	prefix := base + "test-" + hex.EncodeToString(b[:]) + ":"
	t.Cleanup(func() {
		if err := deleteKeys(c, prefix+"*"); err != nil {
			t.Errorf("deleting %s*: %v", prefix, err)
		}
	})
	return prefix
}

// DeleteKeys removes the keys matching pattern now and when the test ends,
// so a rerun starts clean. Nothing else in the database is touched.
func DeleteKeys(t testing.TB, c redis.UniversalClient, pattern string) {
	t.Helper()
	if err := deleteKeys(c, pattern); err != nil {
		t.Fatalf("deleting %s: %v", pattern, err)
	}
	t.Cleanup(func() {
		if err := deleteKeys(c, pattern); err != nil {
			t.Errorf("deleting %s: %v", pattern, err)
		}
	})
}

func deleteKeys(c redis.UniversalClient, pattern string) error {
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

// Child is a redis-server of the test's own, so an outage can be staged by
// killing it without touching the machine's Redis.
type Child struct {
	t    testing.TB
	bin  string
	dir  string
	port int

	mu   sync.Mutex
	cmd  *exec.Cmd
	out  *syncbuf.Buffer
	done chan struct{}
}

// StartChild runs redis-server on a free port until the test ends.
func StartChild(t testing.TB) *Child {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server is not installed; the Redis outage tests start their own (apt-get install -y redis-server; .ci/run installs it): %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	rc := &Child{t: t, bin: bin, dir: t.TempDir(), port: port}
	rc.Start()
	t.Cleanup(rc.Kill)
	return rc
}

// Addr is the child's host:port.
func (rc *Child) Addr() string { return "127.0.0.1:" + strconv.Itoa(rc.port) }

// Start runs redis-server on the child's port (again, after Kill) and
// waits until it answers PING.
func (rc *Child) Start() {
	rc.t.Helper()
	rc.mu.Lock()
	cmd := exec.Command(rc.bin, "--port", strconv.Itoa(rc.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", rc.dir)
	out := &syncbuf.Buffer{}
	cmd.Stdout = out
	cmd.Stderr = out
	rc.mu.Unlock()
	if err := cmd.Start(); err != nil {
		rc.t.Fatalf("starting redis-server: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	rc.mu.Lock()
	rc.cmd, rc.out, rc.done = cmd, out, done
	rc.mu.Unlock()

	c := redis.NewClient(&redis.Options{Addr: rc.Addr(), DialTimeout: time.Second, MaxRetries: -1})
	defer c.Close()
	// A hang guard for a loaded machine, not a timing assertion.
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

// Kill stops the server abruptly, as a crash would, and waits for it to go.
func (rc *Child) Kill() {
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

func (rc *Child) output() string {
	rc.mu.Lock()
	out := rc.out
	rc.mu.Unlock()
	if out == nil {
		return ""
	}
	return out.String()
}

// Client is a connection to the child for assertions on its keys.
func (rc *Child) Client() *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: rc.Addr(), DialTimeout: time.Second, MaxRetries: -1})
	rc.t.Cleanup(func() { _ = c.Close() })
	return c
}

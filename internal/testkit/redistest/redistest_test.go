package redistest

import (
	"fmt"
	"net"
	"runtime"
	"strings"
	"testing"
)

// fatalTB records a Fatal instead of failing the real test.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Fatal(args ...any) { f.msg = fmt.Sprint(args...); runtime.Goexit() }
func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// TestMissingRedisNamesWhatToStart: with nothing listening, Client fails
// the test with a message that says what to start and how to point
// elsewhere.
func TestMissingRedisNamesWhatToStart(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	t.Setenv("REDIS_URL", "redis://"+addr+"/3")
	f := &fatalTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		Client(f, -1)
	}()
	<-done
	for _, want := range []string{"Redis is not answering at " + addr + " (db 3)", "redis-server", "REDIS_URL"} {
		if !strings.Contains(f.msg, want) {
			t.Errorf("message %q lacks %q", f.msg, want)
		}
	}
}

func TestURL(t *testing.T) {
	t.Setenv("REDIS_URL", "")
	if URL() != DefaultURL {
		t.Errorf("URL() = %q without REDIS_URL", URL())
	}
	t.Setenv("REDIS_URL", "redis://10.0.0.1:6380/2")
	if o := Options(t, 7); o.Addr != "10.0.0.1:6380" || o.DB != 7 {
		t.Errorf("Options = %s db %d", o.Addr, o.DB)
	}
}

// TestSharedRedis uses the real one: a prefix is the test's own and is
// emptied afterwards.
func TestSharedRedis(t *testing.T) {
	c := Client(t, -1)
	var prefix string
	t.Run("prefix", func(t *testing.T) {
		prefix = Prefix(t, c, "portcullis:testkit:")
		if err := c.Set(t.Context(), prefix+"k", "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
	})
	if n, err := c.Exists(t.Context(), prefix+"k").Result(); err != nil || n != 0 {
		t.Errorf("key under %s survived its test: %d %v", prefix, n, err)
	}
}

// TestChild stages an outage: the child answers, then, killed, does not.
func TestChild(t *testing.T) {
	rc := StartChild(t)
	c := rc.Client()
	if err := c.Ping(t.Context()).Err(); err != nil {
		t.Fatalf("child does not answer: %v", err)
	}
	rc.Kill()
	if err := c.Ping(t.Context()).Err(); err == nil {
		t.Fatal("a killed child answered")
	}
	rc.Start()
	if err := c.Ping(t.Context()).Err(); err != nil {
		t.Fatalf("restarted child does not answer: %v", err)
	}
}

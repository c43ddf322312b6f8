package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// child is a proxy under test: a process of its own, pinned to the gateway
// core with GOMAXPROCS=1.
type child struct {
	name string
	url  string
	cmd  *exec.Cmd
	done chan error
}

// startChild runs this executable with args under taskset on core, and
// waits until addr accepts connections.
func startChild(name, taskset, core, addr string, stderr io.Writer, args ...string) (*child, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("finding corebench's own executable: %w", err)
	}
	cmd := exec.Command(taskset, append([]string{"-c", core, self}, args...)...)
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
	cmd.Stdout = nil // the access log: written, then discarded by /dev/null
	cmd.Stderr = &prefixWriter{w: stderr, prefix: name + ": "}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	c := &child{name: name, url: "http://" + addr, cmd: cmd, done: make(chan error, 1)}
	go func() { c.done <- cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			return c, nil
		}
		select {
		case err := <-c.done:
			c.done <- err
			return nil, fmt.Errorf("%s exited before listening: %v", name, err)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			c.stop()
			return nil, fmt.Errorf("%s is not listening on %s after 30s", name, addr)
		}
	}
}

// stop asks the child to finish (SIGTERM: a profile is written on the way
// out) and kills it if it has not within 10 seconds.
func (c *child) stop() {
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

// cpuTime is the CPU time the child has used so far (user + system), from
// /proc/PID/stat (proc(5), fields 14 and 15, in clock ticks of 1/100 s,
// the value of sysconf(_SC_CLK_TCK) on Linux).
func (c *child) cpuTime() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", c.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces: fields count from after
	// its closing parenthesis.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, errors.New("unreadable /proc stat")
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, errors.New("short /proc stat")
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, errors.New("unreadable /proc stat times")
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}

// freeAddr is a loopback address nothing listens on right now.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("listening on 127.0.0.1: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// serveLocal serves h on a loopback port in this process (the load core).
func serveLocal(h http.Handler) (*http.Server, string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", fmt.Errorf("listening on 127.0.0.1: %w", err)
	}
	srv := newServer(h)
	go func() { _ = srv.Serve(ln) }()
	return srv, "http://" + ln.Addr().String(), nil
}

// writeGatewayConfig writes the fixture config (with its schema and OpenAPI
// files) into dir, filled in, and returns its path.
func writeGatewayConfig(dir string, fill map[string]string) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	for _, name := range []string{"schema.graphql", "orders.yaml", "portcullis.yaml"} {
		b := fixture(name)
		if name == "portcullis.yaml" {
			s := string(b)
			for k, v := range fill {
				s = strings.ReplaceAll(s, "{{"+k+"}}", v)
			}
			b = []byte(s)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			return "", err
		}
	}
	return filepath.Join(dir, "portcullis.yaml"), nil
}

// prefixWriter prefixes each write (a log line) of a child's stderr.
type prefixWriter struct {
	w      io.Writer
	prefix string
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	if _, err := fmt.Fprintf(p.w, "%s%s", p.prefix, b); err != nil {
		return 0, err
	}
	return len(b), nil
}

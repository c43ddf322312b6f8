// Package audittest runs real collectors for audit tests: an HTTP
// collector, and a syslog listener over TCP, TLS or UDP that parses RFC 5424
// messages with RFC 6587 octet-counting framing.
package audittest

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Collector is an HTTP endpoint that stores each event it receives. Fail,
// when set, answers a request instead (e.g. 503 to force a retry).
type Collector struct {
	URL string

	mu       sync.Mutex
	events   []map[string]any
	requests []*http.Request
	bodies   [][]byte
	fail     func(n int) int
	n        int
	srv      *httptest.Server
}

// NewCollector starts a collector; envelope is how it reads a batch:
// ndjson, splunk_hec or elasticsearch_bulk.
func NewCollector(t testing.TB, envelope string) *Collector {
	c := &Collector{}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		c.mu.Lock()
		c.n++
		fail := c.fail
		n := c.n
		c.mu.Unlock()
		if fail != nil {
			if status := fail(n); status != 0 {
				w.WriteHeader(status)
				return
			}
		}
		evs, err := parseBatch(envelope, body)
		if err != nil {
			t.Errorf("collector: %v in %q", err, body)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		c.mu.Lock()
		c.events = append(c.events, evs...)
		c.requests = append(c.requests, r)
		c.bodies = append(c.bodies, body)
		c.mu.Unlock()
		if envelope == "elasticsearch_bulk" {
			fmt.Fprintf(w, `{"took":1,"errors":false,"items":[]}`)
			return
		}
		fmt.Fprint(w, `{"text":"Success","code":0}`)
	}))
	c.URL = c.srv.URL
	t.Cleanup(c.srv.Close)
	return c
}

// FailWith makes the collector answer request n (from 1) with the status
// fn returns; 0 means answer normally.
func (c *Collector) FailWith(fn func(n int) int) {
	c.mu.Lock()
	c.fail = fn
	c.mu.Unlock()
}

// Close stops the collector (a dead sink from now on).
func (c *Collector) Close() { c.srv.Close() }

// Events returns what the collector holds so far.
func (c *Collector) Events() []map[string]any {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]map[string]any(nil), c.events...)
}

// Requests returns the requests that delivered events (headers included).
func (c *Collector) Requests() []*http.Request {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*http.Request(nil), c.requests...)
}

// Wait polls until the collector holds at least n events or 20s pass.
func (c *Collector) Wait(t testing.TB, n int) []map[string]any {
	t.Helper()
	return waitFor(t, n, c.Events)
}

func waitFor(t testing.TB, n int, get func() []map[string]any) []map[string]any {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		evs := get()
		if len(evs) >= n {
			return evs
		}
		if time.Now().After(deadline) {
			t.Fatalf("collector holds %d events, want %d", len(evs), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func parseBatch(envelope string, body []byte) ([]map[string]any, error) {
	var out []map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	for i := 0; dec.More(); i++ {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			return nil, err
		}
		switch envelope {
		case "splunk_hec":
			ev, ok := m["event"].(map[string]any)
			if !ok || m["time"] == nil {
				return nil, fmt.Errorf("HEC event without event or time")
			}
			m = ev
		case "elasticsearch_bulk":
			if i%2 == 0 {
				if _, ok := m["create"]; !ok {
					return nil, fmt.Errorf("bulk line %d is no create action", i)
				}
				continue
			}
		}
		out = append(out, m)
	}
	if envelope != "elasticsearch_bulk" || len(body) == 0 || body[len(body)-1] == '\n' {
		return out, nil
	}
	return nil, fmt.Errorf("bulk body must end with a newline")
}

// Syslog is a listening syslog collector.
type Syslog struct {
	Addr string // host:port

	mu       sync.Mutex
	messages []Message
	ln       net.Listener
	pc       net.PacketConn
}

// Message is one parsed RFC 5424 message.
type Message struct {
	Priority                         int
	Version                          int
	Timestamp, Host, App, ProcID, ID string
	StructuredData                   string
	Body                             []byte
	Event                            map[string]any
}

// NewSyslog listens on network "tcp" or "udp"; with tlsCfg, TCP is TLS.
func NewSyslog(t testing.TB, network string, tlsCfg *tls.Config) *Syslog {
	s := &Syslog{}
	if network == "udp" {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		s.pc, s.Addr = pc, pc.LocalAddr().String()
		go s.readUDP(t)
		t.Cleanup(func() { pc.Close() })
		return s
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if tlsCfg != nil {
		ln = tls.NewListener(ln, tlsCfg)
	}
	s.ln, s.Addr = ln, ln.Addr().String()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go s.readTCP(t, conn)
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return s
}

// Close stops listening.
func (s *Syslog) Close() {
	if s.ln != nil {
		s.ln.Close()
	}
	if s.pc != nil {
		s.pc.Close()
	}
}

func (s *Syslog) readUDP(t testing.TB) {
	buf := make([]byte, 65536)
	for {
		n, _, err := s.pc.ReadFrom(buf)
		if err != nil {
			return
		}
		s.add(t, append([]byte(nil), buf[:n]...))
	}
}

// readTCP reads octet-counted frames: MSG-LEN SP SYSLOG-MSG.
func (s *Syslog) readTCP(t testing.TB, conn net.Conn) {
	defer conn.Close()
	r := bufio.NewReader(conn)
	for {
		lenStr, err := r.ReadString(' ')
		if err != nil {
			return
		}
		n, err := strconv.Atoi(strings.TrimSuffix(lenStr, " "))
		if err != nil || n <= 0 || n > 1<<20 {
			t.Errorf("syslog: bad frame length %q", lenStr)
			return
		}
		msg := make([]byte, n)
		if _, err := io.ReadFull(r, msg); err != nil {
			return
		}
		s.add(t, msg)
	}
}

func (s *Syslog) add(t testing.TB, raw []byte) {
	m, err := ParseRFC5424(raw)
	if err != nil {
		t.Errorf("syslog: %v in %q", err, raw)
		return
	}
	s.mu.Lock()
	s.messages = append(s.messages, m)
	s.mu.Unlock()
}

// Messages returns what was received so far.
func (s *Syslog) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// Wait polls until at least n messages arrived or 20s pass.
func (s *Syslog) Wait(t testing.TB, n int) []Message {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ms := s.Messages()
		if len(ms) >= n {
			return ms
		}
		if time.Now().After(deadline) {
			t.Fatalf("syslog collector holds %d messages, want %d", len(ms), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ParseRFC5424 splits HEADER SP STRUCTURED-DATA SP MSG (RFC 5424 section
// 6) and decodes MSG as JSON.
func ParseRFC5424(raw []byte) (Message, error) {
	var m Message
	if len(raw) < 4 || raw[0] != '<' {
		return m, fmt.Errorf("no PRI")
	}
	end := bytes.IndexByte(raw, '>')
	if end < 2 || end > 4 {
		return m, fmt.Errorf("bad PRI")
	}
	pri, err := strconv.Atoi(string(raw[1:end]))
	if err != nil || pri > 191 {
		return m, fmt.Errorf("bad PRI %q", raw[1:end])
	}
	m.Priority = pri
	fields := bytes.SplitN(raw[end+1:], []byte(" "), 8)
	if len(fields) != 8 {
		return m, fmt.Errorf("header has %d fields, want 8", len(fields))
	}
	if m.Version, err = strconv.Atoi(string(fields[0])); err != nil || m.Version != 1 {
		return m, fmt.Errorf("version %q, want 1", fields[0])
	}
	if _, err := time.Parse(time.RFC3339Nano, string(fields[1])); err != nil {
		return m, fmt.Errorf("timestamp: %v", err)
	}
	m.Timestamp, m.Host, m.App, m.ProcID, m.ID = string(fields[1]), string(fields[2]), string(fields[3]), string(fields[4]), string(fields[5])
	m.StructuredData = string(fields[6])
	m.Body = fields[7]
	dec := json.NewDecoder(bytes.NewReader(m.Body))
	dec.UseNumber()
	if err := dec.Decode(&m.Event); err != nil {
		return m, fmt.Errorf("MSG is not JSON: %v", err)
	}
	if dec.More() {
		return m, fmt.Errorf("MSG holds more than one JSON value")
	}
	return m, nil
}

package audit

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"sync"
)

func newSink(sc SinkConfig, opts Options) (sink, error) {
	switch sc.Type {
	case "log":
		return &logSink{log: opts.Logger}, nil
	case "http":
		return newHTTPSink(sc), nil
	case "syslog":
		return newSyslogSink(sc)
	case "file":
		return newFileSink(sc.Path)
	}
	return nil, fmt.Errorf("unknown sink type %q", sc.Type)
}

// logSink is the operational log's "denied" line, one per event.
type logSink struct{ log *slog.Logger }

func (logSink) wantsOCSF() bool { return false }
func (logSink) close() error    { return nil }

func (s *logSink) deliver(_ context.Context, evs []Event, _ [][]byte) error {
	for i := range evs {
		ev := &evs[i]
		attrs := []slog.Attr{
			slog.Bool("audit", true),
			slog.String("request_id", ev.RequestID),
			slog.String("route", ev.Route),
			slog.String("client_ip", ev.ClientIP),
			slog.String("subject", ev.Subject),
			slog.String("reason", ev.Reason),
			slog.String("code", ev.Code),
			slog.Int("status", ev.Status),
		}
		if ev.Detail != "" {
			attrs = append(attrs, slog.String("detail", ev.Detail))
		}
		if len(ev.Scopes) > 0 {
			attrs = append(attrs, slog.String("scopes", scopesString(ev.Scopes)))
		}
		if ev.Count > 1 {
			attrs = append(attrs, slog.Int("count", ev.Count), slog.Time("first", ev.StartTime), slog.Time("last", ev.EndTime))
		}
		msg := "denied"
		switch ev.Decision {
		case Allowed:
			msg = "allowed"
		case Failed:
			msg = "failed"
		}
		s.log.LogAttrs(context.Background(), slog.LevelInfo, msg, attrs...)
	}
	return nil
}

// httpSink posts each batch to a collector.
type httpSink struct {
	url      string
	headers  http.Header
	envelope string
	client   *http.Client
	body     bytes.Buffer
}

func newHTTPSink(sc SinkConfig) *httpSink {
	h := http.Header{}
	for k, v := range sc.Headers {
		h.Set(k, v)
	}
	ct := "application/x-ndjson"
	if sc.Envelope == "splunk_hec" {
		ct = "application/json"
	}
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", ct)
	}
	return &httpSink{url: sc.URL, headers: h, envelope: sc.Envelope, client: &http.Client{
		// A collector that redirects is misconfigured; following would
		// send the credentials in headers elsewhere.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (*httpSink) wantsOCSF() bool { return true }

func (s *httpSink) close() error { s.client.CloseIdleConnections(); return nil }

func (s *httpSink) deliver(ctx context.Context, evs []Event, docs [][]byte) error {
	s.body.Reset()
	for i, d := range docs {
		switch s.envelope {
		case "splunk_hec":
			// https://docs.splunk.com/Documentation/Splunk/latest/Data/FormateventsforHTTPEventCollector
			s.body.WriteString(`{"time":`)
			s.body.WriteString(strconv.FormatFloat(float64(evs[i].Time.UnixMilli())/1000, 'f', 3, 64))
			s.body.WriteString(`,"sourcetype":"ocsf:api_activity","event":`)
			s.body.Write(d)
			s.body.WriteString("}\n")
		case "elasticsearch_bulk":
			// The _bulk API's NDJSON: an action line, then the document.
			s.body.WriteString("{\"create\":{}}\n")
			s.body.Write(d)
			s.body.WriteByte('\n')
		default:
			s.body.Write(d)
			s.body.WriteByte('\n')
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(s.body.Bytes()))
	if err != nil {
		return permanent{err}
	}
	for k, v := range s.headers {
		req.Header[k] = v
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	reply, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		if s.envelope == "elasticsearch_bulk" {
			return bulkErrors(reply)
		}
		return nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return fmt.Errorf("collector answered %d", resp.StatusCode)
	}
	return permanent{fmt.Errorf("collector refused the batch with %d", resp.StatusCode)}
}

// bulkErrors reads the _bulk answer, which is 200 even when documents were
// refused (its "errors" member says so).
func bulkErrors(reply []byte) error {
	var r struct {
		Errors bool `json:"errors"`
	}
	if err := json.Unmarshal(reply, &r); err != nil {
		return fmt.Errorf("reading the _bulk answer: %w", err)
	}
	if r.Errors {
		return permanent{fmt.Errorf("elasticsearch refused some documents: %.200s", reply)}
	}
	return nil
}

// syslogSink writes RFC 5424 messages: over TCP and TLS with octet-counting
// framing (RFC 6587 section 3.4.1, RFC 5425 section 4.3), over UDP one
// message per datagram (RFC 5426).
type syslogSink struct {
	network, addr string
	tls           *tls.Config
	facility      int
	host, app     string
	pid           string
	conn          net.Conn
	msg, frame    []byte
}

func newSyslogSink(sc SinkConfig) (*syslogSink, error) {
	u, err := url.Parse(sc.Address)
	if err != nil {
		return nil, err
	}
	s := &syslogSink{network: u.Scheme, addr: u.Host, facility: *sc.Facility, app: "portcullis", pid: strconv.Itoa(os.Getpid())}
	if s.host, err = os.Hostname(); err != nil || s.host == "" {
		s.host = "-"
	}
	if u.Scheme == "tls" {
		s.network = "tcp"
		s.tls = &tls.Config{MinVersion: tls.VersionTLS12, ServerName: sc.ServerName}
		if s.tls.ServerName == "" {
			s.tls.ServerName, _, _ = net.SplitHostPort(u.Host)
		}
		if sc.CAFile != "" {
			pem, err := os.ReadFile(sc.CAFile)
			if err != nil {
				return nil, fmt.Errorf("reading ca_file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("ca_file %s holds no PEM certificate", sc.CAFile)
			}
			s.tls.RootCAs = pool
		}
	}
	return s, nil
}

func (*syslogSink) wantsOCSF() bool { return true }

func (s *syslogSink) close() error {
	if s.conn != nil {
		return s.conn.Close()
	}
	return nil
}

func (s *syslogSink) dial(ctx context.Context) error {
	if s.conn != nil {
		return nil
	}
	d := &net.Dialer{}
	var err error
	if s.tls != nil {
		td := &tls.Dialer{NetDialer: d, Config: s.tls}
		s.conn, err = td.DialContext(ctx, s.network, s.addr)
	} else {
		s.conn, err = d.DialContext(ctx, s.network, s.addr)
	}
	return err
}

func (s *syslogSink) deliver(ctx context.Context, evs []Event, docs [][]byte) error {
	if err := s.dial(ctx); err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = s.conn.SetWriteDeadline(dl)
	}
	s.frame = s.frame[:0]
	for i, d := range docs {
		s.msg = s.format(s.msg[:0], &evs[i], d)
		if s.network == "udp" {
			if _, err := s.conn.Write(s.msg); err != nil {
				s.reset()
				return err
			}
			continue
		}
		s.frame = strconv.AppendInt(s.frame, int64(len(s.msg)), 10)
		s.frame = append(s.frame, ' ')
		s.frame = append(s.frame, s.msg...)
	}
	if s.network == "udp" {
		return nil
	}
	if _, err := s.conn.Write(s.frame); err != nil {
		// Part of the frame may be out: the collector sees a truncated
		// message, then the whole batch again on the new connection.
		s.reset()
		return err
	}
	return nil
}

func (s *syslogSink) reset() {
	if s.conn != nil {
		s.conn.Close()
		s.conn = nil
	}
}

// format writes one RFC 5424 message (section 6): PRI, version 1,
// timestamp, host, app, procid, msgid, no structured data, the JSON.
func (s *syslogSink) format(b []byte, ev *Event, doc []byte) []byte {
	sev := 6 // informational
	if ev.Decision != Allowed {
		sev = 4 // warning
	}
	b = append(b, '<')
	b = strconv.AppendInt(b, int64(s.facility*8+sev), 10)
	b = append(b, ">1 "...)
	b = ev.Time.UTC().AppendFormat(b, "2006-01-02T15:04:05.000000Z07:00")
	b = append(b, ' ')
	b = append(b, s.host...)
	b = append(b, ' ')
	b = append(b, s.app...)
	b = append(b, ' ')
	b = append(b, s.pid...)
	b = append(b, " ocsf-6003 - "...)
	return append(b, doc...)
}

// fileSink appends one event per line; reopen starts a new file at the
// same path after logrotate renamed the old one.
type fileSink struct {
	path string
	mu   sync.Mutex
	f    *os.File
	buf  []byte
}

func newFileSink(path string) (*fileSink, error) {
	s := &fileSink{path: path}
	if err := s.reopen(); err != nil {
		return nil, err
	}
	return s, nil
}

func (*fileSink) wantsOCSF() bool { return true }

func (s *fileSink) reopen() error {
	f, err := os.OpenFile(s.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("opening audit file: %w", err)
	}
	s.mu.Lock()
	old := s.f
	s.f = f
	s.mu.Unlock()
	if old != nil {
		return old.Close()
	}
	return nil
}

func (s *fileSink) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return err
}

func (s *fileSink) deliver(_ context.Context, _ []Event, docs [][]byte) error {
	s.buf = s.buf[:0]
	for _, d := range docs {
		s.buf = append(s.buf, d...)
		s.buf = append(s.buf, '\n')
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return permanent{fmt.Errorf("audit file %s is closed", s.path)}
	}
	_, err := s.f.Write(s.buf)
	return err
}

package gateway

import (
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/portcullis-gw/portcullis/analysis/jsonstrict"
)

// accessLog writes one JSON object per request. It is hand-rolled rather
// than a slog handler because it runs on every request and slog's JSON
// handler was the largest cost of the gateway's own in a profile (make
// bench); the output is the same shape slog would print.
type accessLog struct {
	mu  sync.Mutex
	w   io.Writer
	buf sync.Pool
}

func newAccessLog(w io.Writer) *accessLog {
	return &accessLog{w: w, buf: sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}}
}

type accessEntry struct {
	when                                                       time.Time
	id, method, path, route, clientIP, decision, code, subject string
	status                                                     int
	duration                                                   time.Duration
}

func (l *accessLog) write(e *accessEntry) {
	if l == nil || l.w == nil {
		return
	}
	bp := l.buf.Get().(*[]byte)
	b := (*bp)[:0]
	b = append(b, `{"time":"`...)
	b = e.when.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","level":"INFO","msg":"request"`...)
	b = appendField(b, "request_id", e.id)
	b = appendField(b, "method", e.method)
	b = appendField(b, "path", e.path)
	b = appendField(b, "route", e.route)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(e.status), 10)
	b = append(b, `,"duration_ms":`...)
	b = strconv.AppendFloat(b, float64(e.duration.Microseconds())/1000, 'f', -1, 64)
	b = appendField(b, "client_ip", e.clientIP)
	b = appendField(b, "decision", e.decision)
	if e.code != "" {
		b = appendField(b, "code", e.code)
	}
	if e.subject != "" {
		b = appendField(b, "subject", e.subject)
	}
	b = append(b, "}\n"...)
	l.mu.Lock()
	_, _ = l.w.Write(b)
	l.mu.Unlock()
	*bp = b
	l.buf.Put(bp)
}

func appendField(b []byte, key, val string) []byte {
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, '"', ':')
	return jsonstrict.AppendString(b, val)
}

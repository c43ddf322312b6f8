package gateway

import (
	"io"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
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
	return appendJSONString(b, val)
}

const hexDigits = "0123456789abcdef"

// appendJSONString quotes s as a JSON string; invalid UTF-8 becomes U+FFFD,
// so a hostile path can never break the line's JSON.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			b = append(b, c)
			i++
			continue
		}
		if c < utf8.RuneSelf {
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

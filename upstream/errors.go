package upstream

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"syscall"
)

// ErrorKind is how a failed upstream exchange is reported to the client
// . The zero value is KindError, so an unclassified
// failure is a plain 502 rather than something milder.
type ErrorKind int

const (
	// KindError: the upstream answered badly or the exchange broke (502).
	KindError ErrorKind = iota
	// KindUnavailable: the upstream could not be reached at all (503).
	KindUnavailable
	// KindTimeout: the upstream did not answer within the route's timeout (504).
	KindTimeout
)

// StatusClientClosedRequest is recorded (nginx's 499) when the client went
// away before the upstream answered; nobody reads it, but access logs and
// metrics see why the exchange ended.
const StatusClientClosedRequest = 499

// Status is the HTTP status the client receives.
func (k ErrorKind) Status() int {
	switch k {
	case KindUnavailable:
		return http.StatusServiceUnavailable
	case KindTimeout:
		return http.StatusGatewayTimeout
	}
	return http.StatusBadGateway
}

// Code is the public error code of the docs/ pages
func (k ErrorKind) Code() string {
	switch k {
	case KindUnavailable:
		return "UPSTREAM_UNAVAILABLE"
	case KindTimeout:
		return "UPSTREAM_TIMEOUT"
	}
	return "UPSTREAM_ERROR"
}

// Message is a public message that names no upstream address.
func (k ErrorKind) Message() string {
	switch k {
	case KindUnavailable:
		return "upstream unavailable"
	case KindTimeout:
		return "upstream timed out"
	}
	return "upstream failed"
}

func (k ErrorKind) String() string { return k.Code() }

// Classify maps a transport error to the kind the client is told about.
//
// Any failure to establish the connection (refused, unreachable, DNS, dial
// timeout) is KindUnavailable: nothing reached the upstream, so a retry by
// the client is safe and 503 says so. Deadlines after that are KindTimeout.
// Everything else — TLS verification, a connection dropped mid-exchange, a
// malformed response, a refused response hook — is KindError.
func Classify(err error) ErrorKind {
	if err == nil {
		return KindError
	}
	if errors.Is(err, ErrBreakerOpen) {
		return KindUnavailable
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return KindUnavailable
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return KindUnavailable
	}
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH) {
		return KindUnavailable
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return KindTimeout
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return KindTimeout
	}
	return KindError
}

// writeDefaultError answers in plain text with the code only: the cause may
// name the upstream's address, which clients must never see.
func writeDefaultError(w http.ResponseWriter, kind ErrorKind) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(kind.Status())
	_, _ = io.WriteString(w, kind.Code()+": "+kind.Message()+"\n")
}

package gateway

import "log/slog"

// audit records a denial as one structured event in the operational log
// , with the request's facts and the reason.
func (g *Gateway) audit(st *reqState, reason string, kv ...any) {
	attrs := append([]any{
		slog.Bool("audit", true),
		slog.String("request_id", st.id),
		slog.String("route", st.route),
		slog.String("client_ip", st.clientIP),
		slog.String("subject", st.subject),
		slog.String("reason", reason),
	}, kv...)
	g.log.Info("denied", attrs...)
}

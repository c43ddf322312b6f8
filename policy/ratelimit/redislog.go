package ratelimit

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/redis/go-redis/v9"
)

// LogRedisTo sends go-redis's own log lines (pool, Sentinel and Cluster
// events) to log as warnings, instead of the plain-text lines go-redis
// writes to stderr by default, which would break a JSON log stream. It is
// process-wide, as go-redis's logger is.
func LogRedisTo(log *slog.Logger) {
	redis.SetLogger(redisLogger{log: log})
}

type redisLogger struct{ log *slog.Logger }

func (r redisLogger) Printf(ctx context.Context, format string, v ...any) {
	r.log.LogAttrs(ctx, slog.LevelWarn, "redis client", slog.String("component", "go-redis"),
		slog.String("detail", strings.TrimSpace(fmt.Sprintf(format, v...))))
}

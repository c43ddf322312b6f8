package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis-gw/portcullis/test/cmd/benchredis"
)

// benchRedis is the Redis behind the Redis-store row (test/cmd/benchredis).
type benchRedis = benchredis.Redis

// redisURL is REDIS_URL, defaulting to a database of its own (the
// in-process loadbench uses 15, the tests 0 and 2).
func redisURL() string {
	if u := os.Getenv("REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/13"
}

// scriptCalls is how many EVAL and EVALSHA commands Redis has run since it
// started (INFO commandstats): the limiter decides in one script call per
// request.
func scriptCalls(ctx context.Context, r *benchRedis) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	info, err := r.Client.Info(ctx, "commandstats").Result()
	if err != nil {
		return 0, fmt.Errorf("reading Redis INFO commandstats: %w", err)
	}
	var total int64
	for _, line := range strings.Split(info, "\n") {
		line = strings.TrimSpace(line)
		for _, cmd := range []string{"cmdstat_eval:calls=", "cmdstat_evalsha:calls="} {
			if rest, ok := strings.CutPrefix(line, cmd); ok {
				n, err := strconv.ParseInt(strings.SplitN(rest, ",", 2)[0], 10, 64)
				if err != nil {
					return 0, fmt.Errorf("reading Redis INFO commandstats: %q", line)
				}
				total += n
			}
		}
	}
	return total, nil
}

package main

import "github.com/portcullis-gw/portcullis/test/cmd/benchredis"

// benchRedis is the Redis behind the Redis-store target (test/cmd/benchredis).
type benchRedis = benchredis.Redis

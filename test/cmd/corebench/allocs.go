package main

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/portcullis-gw/portcullis/gateway"
	"github.com/portcullis-gw/portcullis/gateway/config"
)

// allocRow is the allocations per request of one workload through the
// bare proxy's handler and the gateway's, in this process, against the
// same loopback upstream: both figures include the upstream's and the
// client's side, so their difference is what the gateway adds.
type allocRow struct {
	name     string
	bare, gw float64
	// goal is the most the gateway may add; 0 for none.
	goal float64
}

// allocGoal: on the medium query the gateway may allocate at most this many
// times more per request than the bare proxy.
const allocGoal = 40

// allocRuns is the number of requests averaged per figure.
const allocRuns = 300

// measureAllocs runs every workload through both handlers in-process
// (testing.AllocsPerRun counts mallocs of the whole process, upstream
// included, with GOMAXPROCS=1).
func measureAllocs(b *bench) ([]allocRow, error) {
	cfg, err := config.Load(b.cfgFile)
	if err != nil {
		return nil, fmt.Errorf("loading %s: %w", b.cfgFile, err)
	}
	quiet := slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelError}))
	gw, err := gateway.New(cfg, gateway.WithLogger(quiet), gateway.WithAccessLog(io.Discard))
	if err != nil {
		return nil, fmt.Errorf("building the in-process gateway: %w", err)
	}
	defer gw.Close()
	bare, err := bareProxy(b.upURL)
	if err != nil {
		return nil, err
	}
	var rows []allocRow
	for _, w := range b.workloads {
		row := allocRow{name: w.Name}
		if w.Name == "medium query" {
			row.goal = allocGoal
		}
		for _, h := range []struct {
			name string
			h    http.Handler
			out  *float64
		}{{"bare proxy", bare, &row.bare}, {"portcullis", gw.Handler(), &row.gw}} {
			var n uint64 = 1
			var failed error
			serve := func() {
				n++
				req := httptest.NewRequest(w.Method, w.Path, bytes.NewReader(w.bodyFor(n)))
				req.Header = w.Header.Clone()
				rec := httptest.NewRecorder()
				h.h.ServeHTTP(rec, req)
				if failed == nil && (rec.Code != http.StatusOK || !bytes.Equal(rec.Body.Bytes(), w.Want)) {
					failed = fmt.Errorf("%s through the in-process %s: got %d %.200q", w.Name, h.name, rec.Code, rec.Body.Bytes())
				}
			}
			serve()
			if failed != nil {
				return nil, failed
			}
			*h.out = testing.AllocsPerRun(allocRuns, serve)
			if failed != nil {
				return nil, failed
			}
		}
		rows = append(rows, row)
	}
	return rows, nil
}

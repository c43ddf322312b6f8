package main

import (
	"bytes"
	"net/http"
	"testing"
)

// BenchmarkRequestPath is every workload through the bare proxy's handler
// and the gateway's, in-process (over loopback HTTP, against the same
// upstream): ns/op and allocs/op of the whole request path, upstream side
// included in both, for profiles (-cpuprofile) and allocation work. The
// pinned figures of record are corebench's.
func BenchmarkRequestPath(b *testing.B) {
	env := inProcessBench(b, false)
	handlers := []struct {
		name string
		url  string
	}{{"bare", env.bare.url}, {"portcullis", env.gateway.url}}
	for _, w := range env.workloads {
		for _, h := range handlers {
			b.Run(w.Name+"/"+h.name, func(b *testing.B) {
				c := &http.Client{Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 4, DisableCompression: true}}
				defer c.CloseIdleConnections()
				var n uint64
				b.ReportAllocs()
				for b.Loop() {
					n++
					req, _ := http.NewRequest(w.Method, h.url+w.Path, bytes.NewReader(w.bodyFor(n)))
					req.Header = w.Header.Clone()
					res, err := c.Do(req)
					if err != nil {
						b.Fatal(err)
					}
					var buf bytes.Buffer
					_, _ = buf.ReadFrom(res.Body)
					res.Body.Close()
					if res.StatusCode != http.StatusOK || !bytes.Equal(buf.Bytes(), w.Want) {
						b.Fatalf("%d %d bytes, want %d: %.200q", res.StatusCode, buf.Len(), len(w.Want), buf.Bytes())
					}
				}
			})
		}
	}
}

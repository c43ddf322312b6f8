package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// wrkScript is the Lua script of one workload: method, headers and body
// (read from a file, so any bytes pass), a per-request body when the
// workload varies, and a done hook printing the figures on one line that
// parseWrk reads. A varying body's counter starts at the script's offset,
// so no two runs of one process send the same document.
const wrkScript = `
local f = assert(io.open(%q, "rb"))
local body = f:read("*a")
f:close()
wrk.method = %q
wrk.body = body
%s
local vary, offset = %t, %d
if vary then
  local prefix, suffix = body:match("^(.-)@N@(.*)$")
  local n = offset
  request = function()
    n = n + 1
    return wrk.format(nil, nil, nil, prefix .. n .. suffix)
  end
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("COREBENCH %%d %%d %%d %%d %%d %%d %%d %%.0f %%.0f\n",
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
`

// wrkRun is the result of one wrk run.
type wrkRun struct {
	requests int
	elapsed  time.Duration
	// errors: connection, read, write, timeout errors and answers with a
	// status of 400 or more.
	errors   int
	p50, p99 time.Duration
}

func (r wrkRun) rps() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.requests) / r.elapsed.Seconds()
}

// loader runs wrk on the load core.
type loader struct {
	wrk, taskset string
	core         string
	connections  int
	dir          string
	scripts      map[string]string
	runs         int
}

// script writes (once per workload) the Lua script and body file of w.
func (l *loader) script(w workload, offset int) (string, error) {
	key := fmt.Sprintf("%s/%d", w.Name, offset)
	if s, ok := l.scripts[key]; ok {
		return s, nil
	}
	n := len(l.scripts)
	bodyFile := filepath.Join(l.dir, fmt.Sprintf("body-%d", n))
	if err := os.WriteFile(bodyFile, w.Body, 0o600); err != nil {
		return "", err
	}
	names := make([]string, 0, len(w.Header))
	for k := range w.Header {
		names = append(names, k)
	}
	sort.Strings(names)
	var hdr strings.Builder
	for _, k := range names {
		fmt.Fprintf(&hdr, "wrk.headers[%q] = %q\n", k, w.Header.Get(k))
	}
	src := fmt.Sprintf(wrkScript, bodyFile, w.Method, hdr.String(), w.Vary, offset)
	file := filepath.Join(l.dir, fmt.Sprintf("script-%d.lua", n))
	if err := os.WriteFile(file, []byte(src), 0o600); err != nil {
		return "", err
	}
	l.scripts[key] = file
	return file, nil
}

// run drives base+w.Path with w for d.
func (l *loader) run(ctx context.Context, w workload, base string, d time.Duration) (wrkRun, error) {
	l.runs++
	// A varying workload gets a fresh range of a billion documents per run.
	offset := 0
	if w.Vary {
		offset = l.runs * 1_000_000_000
	}
	script, err := l.script(w, offset)
	if err != nil {
		return wrkRun{}, err
	}
	secs := max(1, int(d.Round(time.Second)/time.Second))
	args := []string{"-c", l.core, l.wrk, "-t1", "-c" + strconv.Itoa(l.connections),
		"-d" + strconv.Itoa(secs) + "s", "--timeout", "10s", "-s", script, base + w.Path}
	cmd := exec.CommandContext(ctx, l.taskset, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return wrkRun{}, fmt.Errorf("wrk %s: %w: %s", strings.Join(args[2:], " "), err, strings.TrimSpace(errOut.String()))
	}
	return parseWrk(out.Bytes())
}

// parseWrk reads the done hook's line from wrk's output.
func parseWrk(out []byte) (wrkRun, error) {
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 10 || f[0] != "COREBENCH" {
			continue
		}
		var v [9]int64
		for i := range v {
			n, err := strconv.ParseFloat(f[i+1], 64)
			if err != nil {
				return wrkRun{}, fmt.Errorf("wrk's summary line %q: %w", sc.Text(), err)
			}
			v[i] = int64(n)
		}
		return wrkRun{
			requests: int(v[0]),
			elapsed:  time.Duration(v[1]) * time.Microsecond,
			errors:   int(v[2] + v[3] + v[4] + v[5] + v[6]),
			p50:      time.Duration(v[7]) * time.Microsecond,
			p99:      time.Duration(v[8]) * time.Microsecond,
		}, nil
	}
	return wrkRun{}, fmt.Errorf("wrk printed no summary line:\n%s", out)
}

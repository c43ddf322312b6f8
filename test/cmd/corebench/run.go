package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/portcullis-gw/portcullis/test/cmd/benchredis"
)

type options struct {
	duration, warmup time.Duration
	rounds           int
	connections      int
	gatewayCore      int
	loadCore         int
	only             string
	profileDir       string
	allocs           bool
}

// pinnedEnv marks the re-executed, pinned orchestrator.
const pinnedEnv = "COREBENCH_PINNED"

func parseOptions(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("corebench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.DurationVar(&o.duration, "duration", 4*time.Second, "measured load `time` per target per round (whole seconds)")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured load `time` before each measurement (whole seconds, 0 for none)")
	fs.IntVar(&o.rounds, "rounds", 3, "rounds; each ratio is the median of the rounds' ratios")
	fs.IntVar(&o.connections, "connections", 16, "wrk connections (one thread)")
	fs.IntVar(&o.gatewayCore, "gateway-core", 0, "CPU the proxies under test are pinned to")
	fs.IntVar(&o.loadCore, "load-core", 1, "CPU wrk, the upstream and corebench are pinned to")
	fs.StringVar(&o.only, "only", "", "comma-separated workload names or prefixes (small, medium, large, rest, new) to run; all when empty")
	fs.StringVar(&o.profileDir, "cpuprofile", "", "write each gateway's CPU profile of the whole run into `dir`")
	fs.BoolVar(&o.allocs, "allocs", true, "measure allocations per request in-process first")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	switch {
	case o.duration < time.Second:
		return o, errors.New("-duration must be at least 1s")
	case o.warmup < 0:
		return o, errors.New("-warmup must be >= 0")
	case o.rounds < 1:
		return o, errors.New("-rounds must be >= 1")
	case o.connections < 1 || o.connections > 1024:
		return o, errors.New("-connections must be between 1 and 1024")
	case o.gatewayCore < 0 || o.loadCore < 0 || o.gatewayCore == o.loadCore:
		return o, errors.New("-gateway-core and -load-core must be two different CPUs")
	}
	return o, nil
}

// tools finds wrk and taskset, saying how to get them.
func tools() (wrk, taskset string, err error) {
	if taskset, err = exec.LookPath("taskset"); err != nil {
		return "", "", errors.New("taskset not found: install util-linux (apt-get install -y util-linux)")
	}
	if wrk, err = exec.LookPath("wrk"); err != nil {
		return "", "", errors.New("wrk not found: install it (apt-get install -y wrk) or put it on PATH")
	}
	return wrk, taskset, nil
}

// pinSelf re-executes corebench under taskset on the load core, so
// everything it starts in-process (upstream, issuer) stays off the gateway
// core. It returns only on failure.
func pinSelf(taskset string, o options, args []string) error {
	if n := runtime.NumCPU(); n < 2 || o.gatewayCore >= n || o.loadCore >= n {
		return fmt.Errorf("this machine offers %d CPUs to corebench; it needs two (-gateway-core %d, -load-core %d)",
			n, o.gatewayCore, o.loadCore)
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding corebench's own executable: %w", err)
	}
	argv := append([]string{taskset, "-c", strconv.Itoa(o.loadCore), self}, args...)
	return syscall.Exec(taskset, argv, append(os.Environ(), pinnedEnv+"=1"))
}

func run(args []string, stdout, stderr io.Writer) (int, error) {
	o, err := parseOptions(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, nil
		}
		return 2, err
	}
	wrk, taskset, err := tools()
	if err != nil {
		return 1, err
	}
	if os.Getenv(pinnedEnv) == "" {
		return 1, pinSelf(taskset, o, args)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	b, err := newBench(ctx, o, wrk, taskset, stderr)
	if err != nil {
		return 1, err
	}
	defer b.close()
	if err := b.check(ctx); err != nil {
		return 1, err
	}
	if o.allocs {
		if b.allocs, err = measureAllocs(b); err != nil {
			return 1, err
		}
	}
	rep, err := b.measure(ctx)
	if err != nil {
		return 1, err
	}
	rep.write(stdout)
	if rep.failed() {
		return 1, fmt.Errorf("%d of %d requests failed under load", rep.errors, rep.requests)
	}
	if rep.errors > 0 {
		fmt.Fprintf(stderr, "corebench: %d of %d requests failed under load (tolerated: at most %.1f%%)\n",
			rep.errors, rep.requests, 100*maxErrorShare)
	}
	return 0, nil
}

// bench is one run: the in-process upstream and issuer, the children, the
// workloads and wrk.
type bench struct {
	o         options
	stderr    io.Writer
	tmp       string
	servers   []func()
	upURL     string
	issuer    *issuer
	toks      tokens
	replies   replies
	workloads []workload
	bare      *child
	gateway   *child
	redisGW   *child
	redisSkip string
	redis     *benchRedis
	cfgFile   string
	load      *loader
	allocs    []allocRow
}

func newBench(ctx context.Context, o options, wrk, taskset string, stderr io.Writer) (_ *bench, err error) {
	b := &bench{o: o, stderr: stderr, replies: newReplies()}
	defer func() {
		if err != nil {
			b.close()
		}
	}()
	if b.tmp, err = os.MkdirTemp("", "corebench-"); err != nil {
		return nil, err
	}
	b.load = &loader{wrk: wrk, taskset: taskset, core: strconv.Itoa(o.loadCore), connections: o.connections,
		dir: b.tmp, scripts: map[string]string{}}
	if b.issuer, err = newIssuer(); err != nil {
		return nil, err
	}
	srv, issURL, err := serveLocal(b.issuer.handler())
	if err != nil {
		return nil, err
	}
	b.servers = append(b.servers, func() { srv.Close() })
	b.issuer.url = issURL
	up, upURL, err := serveLocal(upstreamHandler(b.replies))
	if err != nil {
		return nil, err
	}
	b.servers = append(b.servers, func() { up.Close() })
	b.upURL = upURL
	if b.toks.full, err = b.issuer.token("reader", "books:read", "users:email", "orders:read", "orders:write"); err != nil {
		return nil, err
	}
	if b.toks.narrow, err = b.issuer.token("guest", "books:read", "orders:read"); err != nil {
		return nil, err
	}
	b.workloads = selectWorkloads(workloads(b.toks, b.replies), o.only)
	if len(b.workloads) == 0 {
		return nil, fmt.Errorf("-only %q names no workload", o.only)
	}
	core := strconv.Itoa(o.gatewayCore)
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	if b.bare, err = startChild("bare-proxy", taskset, core, addr, stderr, "serve-bare", "-listen", addr, "-upstream", upURL); err != nil {
		return nil, err
	}
	if b.gateway, b.cfgFile, err = b.startGateway("portcullis", taskset, core, "store: memory"); err != nil {
		return nil, err
	}
	if slices.ContainsFunc(b.workloads, func(w workload) bool { return w.Redis }) {
		if err := b.startRedisGateway(ctx, taskset, core); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// startRedisGateway starts the gateway whose limiter keeps its buckets in
// Redis; when Redis does not answer, its row says so and the run goes on.
func (b *bench) startRedisGateway(ctx context.Context, taskset, core string) error {
	rd, err := benchredis.Open(ctx, redisURL())
	if err != nil {
		b.redisSkip = err.Error() + " (start redis-server, or set REDIS_URL)"
		fmt.Fprintf(b.stderr, "corebench: Redis did not answer, the Redis-store row is not measured: %s\n", b.redisSkip)
		return nil
	}
	b.redis = rd
	if err := rd.Clean(ctx); err != nil {
		return err
	}
	b.redisGW, _, err = b.startGateway("portcullis-redis", taskset, core, rd.StoreYAML())
	return err
}

func (b *bench) startGateway(name, taskset, core, store string) (*child, string, error) {
	listen, err := freeAddr()
	if err != nil {
		return nil, "", err
	}
	admin, err := freeAddr()
	if err != nil {
		return nil, "", err
	}
	cfg, err := writeGatewayConfig(filepath.Join(b.tmp, name), map[string]string{
		"listen": listen, "admin": admin, "issuer": b.issuer.url, "upstream": b.upURL, "store": store,
	})
	if err != nil {
		return nil, "", err
	}
	args := []string{"serve-gateway", "-c", cfg}
	if b.o.profileDir != "" {
		if err := os.MkdirAll(b.o.profileDir, 0o755); err != nil {
			return nil, "", err
		}
		abs, err := filepath.Abs(filepath.Join(b.o.profileDir, name+".pprof"))
		if err != nil {
			return nil, "", err
		}
		args = append(args, "-cpuprofile", abs)
	}
	c, err := startChild(name, taskset, core, listen, b.stderr, args...)
	return c, cfg, err
}

func (b *bench) close() {
	for _, c := range []*child{b.bare, b.gateway, b.redisGW} {
		if c != nil {
			c.stop()
		}
	}
	for _, s := range b.servers {
		s()
	}
	if b.redis != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := b.redis.Clean(ctx); err != nil {
			fmt.Fprintf(b.stderr, "corebench: %v\n", err)
		}
		cancel()
		b.redis.Close()
	}
	if b.tmp != "" {
		_ = os.RemoveAll(b.tmp)
	}
}

// selectWorkloads keeps the workloads whose name starts with one of the
// comma-separated prefixes in only (case-insensitive); all when only is
// empty.
func selectWorkloads(ws []workload, only string) []workload {
	if only == "" {
		return ws
	}
	var out []workload
	for _, w := range ws {
		for _, p := range strings.Split(only, ",") {
			if p = strings.TrimSpace(p); p != "" && strings.HasPrefix(strings.ToLower(w.Name), strings.ToLower(p)) {
				out = append(out, w)
				break
			}
		}
	}
	return out
}

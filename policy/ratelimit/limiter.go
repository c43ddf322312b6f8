package ratelimit

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/netip"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// Tier names the Limiter itself uses.
const (
	TierAnonymous   = "anonymous"
	TierDefault     = "default"
	TierAuthFailure = "auth_failure" // failed credentials, keyed by client IP
)

// Options are the Limiter's settings that the rate_limit config section does
// not (yet) carry. Zero values take the documented defaults.
type Options struct {
	Logger *slog.Logger     // state changes, once each; default discards
	Now    func() time.Time // clock of the memory stores; default time.Now

	// Timeout bounds each store call so a dead Redis never hangs a request.
	// Default 100ms.
	Timeout time.Duration
	// ProbeMin and ProbeMax bound the backoff of the probe that notices the
	// store is back. Defaults 100ms and 5s.
	ProbeMin, ProbeMax time.Duration
	// Watch is how often an idle Redis store is pinged, so readiness sees
	// an outage that no request has met yet. Default 1s; < 0: never.
	Watch time.Duration

	// Memory tunes the memory store (the primary one, or fail_open's local one).
	Memory MemoryOptions

	// Redis: Cluster, Sentinel and TLS settings beside cfg.Redis.
	Redis RedisClientOptions
	// RedisClient, when set, is used instead of one built from cfg.Redis; the
	// Limiter does not close it.
	RedisClient redis.UniversalClient
	// RedisStore tunes the Redis store (key prefix; a test clock).
	RedisStore RedisOptions

	// MaxInFlight caps concurrent requests per key, per tier name; absent or
	// <= 0: no cap.
	MaxInFlight map[string]int
	// Penalty is charged for a request refused before forwarding. Default 1.
	Penalty int
	// AuthFailure is the budget of failed credential checks per client IP.
	// Default 10 per minute, burst 20.
	AuthFailure Tier
	// IPv6Prefix keys IPv6 clients by their network, since one host owns a
	// whole /64. Default 64; 128 keys by address.
	IPv6Prefix int
}

// RedisClientOptions are the go-redis UniversalClient settings the config's
// redis section lacks.
type RedisClientOptions struct {
	Addrs      []string // several seed addresses (Cluster, Sentinel); default [cfg.Redis.Address]
	MasterName string   // Sentinel master name: the client follows failovers
	Cluster    bool     // Redis Cluster even with one seed address
	Username   string
	TLS        *tls.Config
	PoolSize   int // default go-redis's (10 per CPU)
}

// Subject is who is charged: a key from KeyFor and a tier name.
type Subject struct {
	Key  string
	Tier string
}

// ErrUnknownTier is returned for a subject whose tier is not configured and
// no "default" tier exists to stand in.
var ErrUnknownTier = errors.New("unknown rate limit tier")

// Limiter charges subjects in cost units against their tier's budget.
type Limiter struct {
	tiers    map[string]*tierInfo
	auth     *tierInfo
	coords   []coordinateRule
	coordCfg []CoordinateLimit
	key      string
	penalty  int
	minCost  int
	ipv6Bits int
	timeout  time.Duration
	probeMin time.Duration
	probeMax time.Duration
	failOpen bool
	log      *slog.Logger

	primary  Store
	remote   *RedisStore  // nil for the memory store
	local    *MemoryStore // the memory store, or fail_open's stand-in
	client   redis.UniversalClient
	ownsConn bool

	up atomic.Bool
	// reached is set by the first PING Redis answered: until then a
	// fail_closed limiter is not ready, whatever up says.
	reached atomic.Bool
	watch   time.Duration
	// fails counts store errors in a row; one slow call under load is not
	// an outage, so the store is marked down only at downAfter.
	fails   atomic.Int32
	probeMu sync.Mutex // orders starting a probe against Close
	closed  bool
	probing sync.WaitGroup
	stop    chan struct{}

	inflight *inflight
	metrics  *metrics
}

type tierInfo struct {
	name   string
	tier   Tier
	policy string
	// policyValue is policy as a header value, shared by every response:
	// its capacity is its length, so an append copies.
	policyValue []string
	cap         int
	results     [numResults]prometheus.Counter
}

const (
	// DefaultTimeout bounds each store call when the config sets none.
	DefaultTimeout = 250 * time.Millisecond
	// downAfter store errors in a row mark the store down.
	downAfter = 3
	// defaultPoolSize covers many concurrent callers without waiting for a
	// connection (go-redis's own default is 10 per CPU).
	defaultPoolSize = 64
)

// New builds a Limiter from a validated config. It does not contact Redis:
// a store that is down at start is handled like one that fails later.
func New(cfg Config, opts Options) (*Limiter, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	// The config's settings come first; Options only fills what the config
	// section leaves out (tests, embedding).
	opts.Timeout = cmp.Or(cfg.Timeout, opts.Timeout, DefaultTimeout)
	opts.Penalty = cmp.Or(cfg.Penalty, opts.Penalty)
	if cfg.AuthFailures != nil {
		opts.AuthFailure = *cfg.AuthFailures
	}
	for name, t := range cfg.Tiers {
		if t.MaxInFlight > 0 {
			if opts.MaxInFlight == nil {
				opts.MaxInFlight = map[string]int{}
			}
			opts.MaxInFlight[name] = t.MaxInFlight
		}
	}
	if opts.ProbeMin <= 0 {
		opts.ProbeMin = 100 * time.Millisecond
	}
	if opts.ProbeMax < opts.ProbeMin {
		opts.ProbeMax = max(5*time.Second, opts.ProbeMin)
	}
	if opts.Penalty <= 0 {
		opts.Penalty = 1
	}
	minCost := max(cfg.MinCost, 1)
	if opts.AuthFailure == (Tier{}) {
		opts.AuthFailure = Tier{Rate: 10, Per: time.Minute, Burst: 20}
	}
	if opts.IPv6Prefix <= 0 || opts.IPv6Prefix > 128 {
		opts.IPv6Prefix = 64
	}
	if opts.Now != nil && opts.Memory.Now == nil {
		opts.Memory.Now = opts.Now
	}
	switch cfg.Key {
	case "subject", "api_key", "ip":
	default:
		return nil, fmt.Errorf("building rate limiter: key must be subject, api_key or ip, got %q", cfg.Key)
	}
	if cfg.OnStoreError != "fail_open" && cfg.OnStoreError != "fail_closed" {
		return nil, fmt.Errorf("building rate limiter: on_store_error must be fail_closed or fail_open, got %q", cfg.OnStoreError)
	}
	l := &Limiter{
		tiers:    make(map[string]*tierInfo, len(cfg.Tiers)),
		key:      cfg.Key,
		penalty:  max(opts.Penalty, minCost),
		minCost:  minCost,
		ipv6Bits: opts.IPv6Prefix,
		timeout:  opts.Timeout,
		probeMin: opts.ProbeMin,
		probeMax: opts.ProbeMax,
		failOpen: cfg.OnStoreError == "fail_open",
		watch:    opts.Watch,
		log:      opts.Logger,
		stop:     make(chan struct{}),
		inflight: newInflight(),
		metrics:  newMetrics(),
	}
	for _, name := range slices.Sorted(maps.Keys(cfg.Tiers)) {
		ti, err := l.newTier(name, cfg.Tiers[name], opts.MaxInFlight[name])
		if err != nil {
			return nil, err
		}
		l.tiers[name] = ti
	}
	auth, err := l.newTier(TierAuthFailure, opts.AuthFailure, 0)
	if err != nil {
		return nil, err
	}
	l.auth = auth
	if err := l.newCoordinateRules(cfg.Coordinates); err != nil {
		return nil, err
	}
	l.coordCfg = slices.Clone(cfg.Coordinates)

	switch cfg.Store {
	case "memory":
		l.local = NewMemoryStore(opts.Memory)
		l.primary = l.local
	case "redis":
		l.client = opts.RedisClient
		if l.client == nil {
			ro, err := redisOptions(cfg, opts)
			if err != nil {
				return nil, err
			}
			l.client = redis.NewUniversalClient(ro)
			l.ownsConn = true
		}
		rs := opts.RedisStore
		if rs.Timeout <= 0 {
			rs.Timeout = opts.Timeout
		}
		l.remote = NewRedisStore(l.client, rs)
		l.primary = l.remote
		if l.failOpen {
			l.local = NewMemoryStore(opts.Memory)
		}
	default:
		return nil, fmt.Errorf("building rate limiter: store must be memory or redis, got %q", cfg.Store)
	}
	l.up.Store(true)
	l.metrics.storeUp.Set(1)
	if l.remote == nil {
		l.reached.Store(true)
	} else if l.watch >= 0 {
		if l.watch == 0 {
			l.watch = time.Second
		}
		l.probing.Add(1)
		go l.watchStore()
	}
	return l, nil
}

// watchStore pings Redis at once and then every l.watch while it is up
// (the probe takes over while it is down), so an outage with no traffic
// still shows in readiness and the store_up metric.
func (l *Limiter) watchStore() {
	defer l.probing.Done()
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		if l.up.Load() {
			ctx, cancel := context.WithTimeout(context.Background(), max(l.timeout, 250*time.Millisecond))
			err := l.remote.ping(ctx)
			cancel()
			if err == nil {
				l.reached.Store(true)
			} else {
				l.markDown(err)
			}
		}
		t.Reset(l.watch)
	}
}

// Ready reports whether the limiter can decide requests as configured: a
// fail_closed Redis store must have answered and be up; the memory store
// and fail_open (which falls back to memory) always can.
func (l *Limiter) Ready() bool {
	if l.remote == nil || l.failOpen {
		return true
	}
	return l.reached.Load() && l.up.Load()
}

// Ping asks the store to answer once (Redis PING; nil for the memory
// store): for `portcullis check --online`.
func (l *Limiter) Ping(ctx context.Context) error {
	if l.remote == nil {
		return nil
	}
	return l.remote.ping(ctx)
}

func (l *Limiter) newTier(name string, t Tier, inflightCap int) (*tierInfo, error) {
	if _, err := newParams(t); err != nil {
		return nil, fmt.Errorf("building rate limiter: tiers.%s: %w", name, err)
	}
	ti := &tierInfo{name: name, tier: t, policy: PolicyHeader(name, t), cap: inflightCap}
	ti.policyValue = []string{ti.policy}[:1:1]
	for r := range ti.results {
		ti.results[r] = l.metrics.decision(name, result(r))
	}
	return ti, nil
}

// redisOptions maps the redis section (and Options.Redis, which wins where
// set) onto go-redis's universal client: MasterName makes it a Sentinel
// failover client, IsClusterMode a Cluster client, anything else a single
// server.
func redisOptions(cfg Config, opts Options) (*redis.UniversalOptions, error) {
	r := cfg.Redis
	addrs := opts.Redis.Addrs
	if len(addrs) == 0 {
		addrs = r.Addresses
	}
	if len(addrs) == 0 {
		addrs = []string{r.Address}
	}
	tlsCfg := opts.Redis.TLS
	if tlsCfg == nil && r.TLS != nil {
		var err error
		if tlsCfg, err = redisTLS(*r.TLS); err != nil {
			return nil, err
		}
	}
	return &redis.UniversalOptions{
		Addrs:            addrs,
		Username:         cmp.Or(opts.Redis.Username, r.Username),
		Password:         r.Password,
		SentinelUsername: r.SentinelUsername,
		SentinelPassword: r.SentinelPassword,
		DB:               r.DB,
		MasterName:       cmp.Or(opts.Redis.MasterName, r.MasterName),
		IsClusterMode:    opts.Redis.Cluster || r.Mode == RedisCluster,
		TLSConfig:        tlsCfg,
		PoolSize:         cmp.Or(opts.Redis.PoolSize, defaultPoolSize),
		// Every wait is bounded by the per-call timeout; a retry would only
		// spend it again on a store that just failed.
		MaxRetries:            -1,
		DialTimeout:           opts.Timeout,
		ReadTimeout:           opts.Timeout,
		WriteTimeout:          opts.Timeout,
		PoolTimeout:           opts.Timeout,
		ContextTimeoutEnabled: true,
	}, nil
}

// redisTLS loads the TLS files once, at build time.
func redisTLS(t RedisTLS) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("building rate limiter: redis.tls.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("building rate limiter: redis.tls.ca_file %q: no PEM certificate found", t.CAFile)
		}
		tc.RootCAs = pool
	}
	if t.CertFile != "" || t.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("building rate limiter: redis.tls.cert_file: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// Close stops the probe and the janitor and closes the Redis client the
// Limiter built.
func (l *Limiter) Close() error {
	l.probeMu.Lock()
	if l.closed {
		l.probeMu.Unlock()
		return nil
	}
	l.closed = true
	close(l.stop)
	l.probeMu.Unlock()
	l.probing.Wait()
	var errs []error
	if l.remote != nil {
		errs = append(errs, l.remote.Close())
	}
	if l.local != nil {
		errs = append(errs, l.local.Close())
	}
	if l.ownsConn && l.client != nil {
		errs = append(errs, l.client.Close())
	}
	return errors.Join(errs...)
}

func (l *Limiter) tier(name string) (*tierInfo, error) {
	if ti, ok := l.tiers[name]; ok {
		return ti, nil
	}
	// A token may name a plan this gateway has no budget for; it is charged
	// as an ordinary caller rather than refused or let through unlimited.
	if ti, ok := l.tiers[TierDefault]; ok {
		return ti, nil
	}
	return nil, fmt.Errorf("charging tier %q: %w", name, ErrUnknownTier)
}

// Charge charges s cost units, at least MinCost. A cost above the tier's
// burst is refused with TooExpensive, without spending budget. When the store fails, fail_closed
// returns an error wrapping ErrStoreUnavailable (answer 503
// RATE_LIMIT_UNAVAILABLE) and fail_open decides with the local memory store.
func (l *Limiter) Charge(ctx context.Context, s Subject, cost int) (Decision, error) {
	ti, err := l.tier(s.Tier)
	if err != nil {
		return Decision{}, err
	}
	if cost >= 0 {
		cost = max(cost, l.minCost)
	}
	return l.charge(ctx, ti, s.Key, cost)
}

// MinCost is the least Charge spends (rate_limit.min_cost, default 1); a
// refund must leave at least this much charged.
func (l *Limiter) MinCost() int { return l.minCost }

// ChargePenalty charges the configured penalty (never less than MinCost) to
// a request refused before
// forwarding (bad document, limit, authorization, bad REST input), so probing
// through error messages spends budget like any other traffic.
func (l *Limiter) ChargePenalty(ctx context.Context, s Subject) (Decision, error) {
	return l.Charge(ctx, s, l.penalty)
}

// ChargeAuthFailure counts one failed credential check against the client
// IP's own budget (Options.AuthFailure). When the decision is refused the
// gateway answers 429 to that IP's further attempts.
func (l *Limiter) ChargeAuthFailure(ctx context.Context, ip netip.Addr) (Decision, error) {
	// "!" cannot start a tier name, so these keys never meet a tier's.
	return l.chargeKey(ctx, l.auth, "!auth:"+l.ipKey(ip), 1)
}

func (l *Limiter) charge(ctx context.Context, ti *tierInfo, key string, cost int) (Decision, error) {
	return l.chargeKey(ctx, ti, ti.name+":"+key, cost)
}

func (l *Limiter) chargeKey(ctx context.Context, ti *tierInfo, key string, cost int) (Decision, error) {
	if cost < 0 {
		return Decision{}, fmt.Errorf("charging %q: %w", key, errNegative)
	}
	d, err := l.allow(ctx, ti, key, cost)
	if err != nil {
		if cost > ti.tier.Burst {
			// The refusal does not depend on the store; only r and t are
			// unknown, and the budget is untouched either way.
			ti.results[resultTooExpensive].Inc()
			return Decision{Tier: ti.name, Cost: cost, Limit: ti.tier.Burst, TooExpensive: true}, nil
		}
		ti.results[resultUnavailable].Inc()
		return Decision{Tier: ti.name, Cost: cost, Limit: ti.tier.Burst}, err
	}
	d.Tier = ti.name
	switch {
	case d.Allowed:
		ti.results[resultAllowed].Inc()
	case d.TooExpensive:
		ti.results[resultTooExpensive].Inc()
	default:
		ti.results[resultLimited].Inc()
	}
	return d, nil
}

// allow asks the active store and handles its failure.
func (l *Limiter) allow(ctx context.Context, ti *tierInfo, key string, cost int) (Decision, error) {
	if l.remote == nil {
		return l.local.Allow(ctx, key, ti.tier, cost)
	}
	if !l.up.Load() {
		if l.failOpen {
			return l.local.Allow(ctx, key, ti.tier, cost)
		}
		return Decision{}, ErrStoreUnavailable
	}
	cctx, cancel := context.WithTimeout(ctx, l.timeout)
	d, err := l.remote.Allow(cctx, key, ti.tier, cost)
	cancel()
	if err == nil {
		if l.fails.Load() != 0 {
			l.fails.Store(0)
		}
		return d, nil
	}
	if ctx.Err() != nil {
		// The caller went away: not the store's fault.
		return Decision{}, fmt.Errorf("charging rate limit: %w", ctx.Err())
	}
	l.storeFailed(err)
	if l.failOpen {
		return l.local.Allow(ctx, key, ti.tier, cost)
	}
	return Decision{}, fmt.Errorf("%w: %w", ErrStoreUnavailable, err)
}

// Refund gives units back to s, as when a response proved cheaper than its
// estimate (the docs/ pages: refund = estimate - actual when positive, charged
// up front and returned after the upstream answers). The bucket never exceeds
// its burst, so a refund cannot bank credit beyond a full bucket.
func (l *Limiter) Refund(ctx context.Context, s Subject, units int) error {
	ti, err := l.tier(s.Tier)
	if err != nil {
		return err
	}
	if units == 0 {
		return nil
	}
	key := ti.name + ":" + s.Key
	if l.remote == nil {
		return l.local.Refund(ctx, key, ti.tier, units)
	}
	if !l.up.Load() {
		if l.failOpen {
			return l.local.Refund(ctx, key, ti.tier, units)
		}
		return ErrStoreUnavailable
	}
	cctx, cancel := context.WithTimeout(ctx, l.timeout)
	err = l.remote.Refund(cctx, key, ti.tier, units)
	cancel()
	if err != nil && ctx.Err() == nil {
		l.storeFailed(err)
		return fmt.Errorf("%w: %w", ErrStoreUnavailable, err)
	}
	return err
}

// StoreUp reports whether the shared store is answering (always true for the
// memory store).
func (l *Limiter) StoreUp() bool { return l.up.Load() }

// storeFailed counts the error and, after downAfter in a row, marks the
// store down, logs once and starts the probe that brings it back. The
// request that met the error is refused (fail_closed) or served locally
// (fail_open) either way.
func (l *Limiter) storeFailed(err error) {
	l.metrics.storeErrors.Inc()
	if l.fails.Add(1) < downAfter {
		return
	}
	l.markDown(err)
}

// markDown marks the store down, logs once and starts the probe that
// brings it back.
func (l *Limiter) markDown(err error) {
	if !l.up.CompareAndSwap(true, false) {
		return
	}
	l.fails.Store(0)
	l.metrics.storeUp.Set(0)
	mode := "fail_closed: refusing with 503"
	if l.failOpen {
		mode = "fail_open: limiting per replica in memory"
	}
	l.log.Warn("rate limit store unavailable", "error", err, "mode", mode)
	l.probeMu.Lock()
	defer l.probeMu.Unlock()
	if l.closed {
		return
	}
	l.probing.Add(1)
	go l.probe()
}

// probe pings the store with exponential backoff until it answers.
func (l *Limiter) probe() {
	defer l.probing.Done()
	wait := l.probeMin
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), max(l.timeout, 250*time.Millisecond))
		err := l.remote.ping(ctx)
		cancel()
		if err == nil {
			l.reached.Store(true)
			l.up.Store(true)
			l.metrics.storeUp.Set(1)
			l.log.Info("rate limit store available again")
			return
		}
		l.metrics.storeErrors.Inc()
		wait = min(wait*2, l.probeMax)
		t.Reset(wait)
	}
}

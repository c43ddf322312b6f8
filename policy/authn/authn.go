package authn

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// headerAPIKey is X-API-Key in net/http's canonical form.
const headerAPIKey = "X-Api-Key"

// Option configures an Authenticator.
type Option func(*options)

type options struct {
	now             func() time.Time
	client          *http.Client
	log             *slog.Logger
	refreshInterval time.Duration
	backoffMin      time.Duration
	backoffMax      time.Duration
	attemptTimeout  time.Duration
	cacheSize       int
}

// WithClock sets the time source for token times, the token cache and the
// JWKS refresh limit.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithHTTPClient sets the client used to reach IdPs. Its Transport must be an
// *http.Transport (or nil) when an issuer has a ca_file.
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.client = c } }

// WithLogger sets the logger for IdP availability and key refreshes.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithRefreshInterval sets the least time between two token-triggered JWKS
// fetches of one issuer (default DefaultRefreshInterval).
func WithRefreshInterval(d time.Duration) Option {
	return func(o *options) { o.refreshInterval = d }
}

// WithRetryBackoff sets the first and the longest wait between discovery
// attempts of an issuer that is not ready (default 1s doubling to 30s).
func WithRetryBackoff(first, longest time.Duration) Option {
	return func(o *options) { o.backoffMin, o.backoffMax = first, longest }
}

// WithCacheSize bounds the verified-token cache (default DefaultCacheSize);
// 0 disables it.
func WithCacheSize(n int) Option { return func(o *options) { o.cacheSize = n } }

// Authenticator turns request credentials into an Identity. It is safe for
// concurrent use.
type Authenticator struct {
	anonymous bool
	issuers   []*issuer
	byIssuer  map[string]*issuer
	apiKeys   []apiKey
	cache     *tokenCache
	now       func() time.Time
	log       *slog.Logger

	pending atomic.Int32  // issuers not ready yet
	readyCh chan struct{} // closed when pending reaches 0

	stopCtx   context.Context
	stop      context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// New builds an Authenticator. Configuration errors fail; an unreachable IdP
// does not: New makes one discovery attempt per issuer (bounded by ctx),
// then keeps retrying in the background with backoff until Close, and
// Ready reports false meanwhile.
func New(ctx context.Context, cfg Config, opts ...Option) (*Authenticator, error) {
	o := options{
		now:             time.Now,
		client:          &http.Client{},
		log:             slog.New(slog.DiscardHandler),
		refreshInterval: DefaultRefreshInterval,
		backoffMin:      time.Second,
		backoffMax:      30 * time.Second,
		attemptTimeout:  10 * time.Second,
		cacheSize:       DefaultCacheSize,
	}
	for _, opt := range opts {
		opt(&o)
	}
	if o.backoffMin <= 0 || o.backoffMax < o.backoffMin {
		return nil, errors.New("creating authenticator: invalid retry backoff")
	}
	// Validate again: a zero or hand-built Config must fail closed too.
	if err := cfg.Validate().Err(); err != nil {
		return nil, fmt.Errorf("creating authenticator: %w", err)
	}
	keys, err := compileAPIKeys(cfg.APIKeys)
	if err != nil {
		return nil, fmt.Errorf("creating authenticator: %w", err)
	}
	a := &Authenticator{
		anonymous: cfg.Anonymous,
		byIssuer:  map[string]*issuer{},
		apiKeys:   keys,
		cache:     newTokenCache(o.cacheSize),
		now:       o.now,
		log:       o.log,
		readyCh:   make(chan struct{}),
	}
	for i, c := range cfg.OIDC {
		is, err := newIssuer(c, o.client, &o)
		if err != nil {
			return nil, fmt.Errorf("creating authenticator: oidc[%d]: %w", i, err)
		}
		a.byIssuer[c.Issuer] = is
		a.issuers = append(a.issuers, is)
	}
	a.pending.Store(int32(len(a.issuers)))
	if len(a.issuers) == 0 {
		close(a.readyCh)
	}
	a.stopCtx, a.stop = context.WithCancel(context.Background())
	var first sync.WaitGroup
	for _, is := range a.issuers {
		first.Add(1)
		a.wg.Add(1)
		go a.run(ctx, is, &o, first.Done)
	}
	first.Wait()
	return a, nil
}

// run sets an issuer up, retrying with exponential backoff until it works or
// the Authenticator is closed.
func (a *Authenticator) run(firstCtx context.Context, is *issuer, o *options, firstDone func()) {
	defer a.wg.Done()
	attempt := func(ctx context.Context) bool {
		ctx, cancel := context.WithTimeout(ctx, o.attemptTimeout)
		defer cancel()
		if err := is.setup(ctx); err != nil {
			is.lastErr.Store(&err)
			is.log.Warn("identity provider not ready", "error", err)
			return false
		}
		is.log.Info("identity provider ready")
		if a.pending.Add(-1) == 0 {
			close(a.readyCh)
		}
		return true
	}
	ok := attempt(firstCtx)
	firstDone()
	delay := o.backoffMin
	for !ok {
		t := time.NewTimer(delay)
		select {
		case <-a.stopCtx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		ok = attempt(a.stopCtx)
		delay = min(delay*2, o.backoffMax)
	}
}

// Ready reports whether every configured issuer has loaded its keys.
func (a *Authenticator) Ready() bool { return a.pending.Load() == 0 }

// Unready lists, by their index in Config.OIDC, the issuers whose discovery
// or first JWKS fetch has not succeeded yet, each with the last attempt's
// error: what `portcullis check --online` reports.
func (a *Authenticator) Unready() map[int]error {
	out := map[int]error{}
	for i, is := range a.issuers {
		if is.state.Load() != nil {
			continue
		}
		err := errors.New("discovery has not succeeded yet")
		if p := is.lastErr.Load(); p != nil {
			err = *p
		}
		out[i] = err
	}
	return out
}

// WaitReady blocks until Ready or until ctx ends.
func (a *Authenticator) WaitReady(ctx context.Context) error {
	select {
	case <-a.readyCh:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for identity providers: %w", ctx.Err())
	}
}

// Close stops the background discovery retries. Authenticate keeps working
// with what was loaded.
func (a *Authenticator) Close() error {
	a.closeOnce.Do(func() {
		a.stop()
		a.wg.Wait()
	})
	return nil
}

// Authenticate reads the request's credential:
//
//   - Authorization: Bearer <JWT> from a configured issuer;
//   - X-API-Key: <key> whose SHA-256 is configured;
//   - neither: Anonymous(), with ErrNoCredentials when the config does not
//     admit anonymous callers (the caller decides per route).
//
// A credential that is present but invalid returns an *AuthError and a zero
// Identity, never the anonymous one. A request with both a bearer token and
// an API key is refused as ambiguous: which one should win is a guess, and a
// guess lets an attacker pair a stolen low-value key with a forged token
// hoping the weaker check is the one applied.
//
// The request is only read.
func (a *Authenticator) Authenticate(ctx context.Context, r *http.Request) (Identity, error) {
	// Direct map reads with canonical names: Header.Values would
	// canonicalise "X-API-Key" on every request.
	authz := r.Header["Authorization"]
	keys := r.Header[headerAPIKey]
	switch {
	case len(authz) > 0 && len(keys) > 0:
		return Identity{}, authErr(ReasonAmbiguous, errors.New("both Authorization and X-API-Key present"))
	case len(authz) > 0:
		tok, err := bearerToken(authz)
		if err != nil {
			return Identity{}, authErr(ReasonMalformed, err)
		}
		return a.authenticateToken(ctx, tok)
	case len(keys) > 0:
		return a.lookupAPIKey(keys)
	}
	if a.anonymous {
		return Anonymous(), nil
	}
	return Anonymous(), ErrNoCredentials
}

func (a *Authenticator) authenticateToken(ctx context.Context, tok string) (Identity, error) {
	// Hash the string's bytes in place: Sum256 neither keeps nor changes
	// them, and a copy would be the hot path's only allocation.
	key := sha256.Sum256(unsafe.Slice(unsafe.StringData(tok), len(tok)))
	now := a.now()
	if id, ok := a.cache.get(key, now); ok {
		return id, nil
	}
	h, iss, err := peekToken(tok)
	if ae := (*AuthError)(nil); errors.As(err, &ae) {
		return Identity{}, ae
	}
	if err != nil {
		return Identity{}, authErr(ReasonMalformed, err)
	}
	is := a.byIssuer[iss]
	if is == nil {
		return Identity{}, authErr(ReasonUnknownIssuer, fmt.Errorf("issuer %q not configured", iss))
	}
	id, until, err := is.verify(ctx, tok, h, now)
	if err != nil {
		return Identity{}, err
	}
	if limit := now.Add(maxCacheTTL); until.After(limit) {
		until = limit
	}
	a.cache.put(key, id, until, now)
	return id, nil
}

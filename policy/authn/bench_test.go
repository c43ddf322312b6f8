package authn_test

import (
	"context"
	"testing"

	"github.com/portcullis-gw/portcullis/internal/testkit/fakeclock"
	"github.com/portcullis-gw/portcullis/policy/authn"
	"github.com/portcullis-gw/portcullis/policy/authn/oidctest"
)

// The cached path is the request path's cost for a returning token (the docs/ pages
// goal: under 1 µs); the uncached one is a full RS256 verification.
func BenchmarkAuthenticate(b *testing.B) {
	for _, bc := range []struct {
		name string
		opts []authn.Option
	}{
		{"Cached", nil},
		{"Uncached", []authn.Option{authn.WithCacheSize(0)}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			clk := fakeclock.New(epoch)
			iss := oidctest.NewIssuer(b, oidctest.WithClock(clk.Now))
			a := readyAuth(b, iss, clk, bc.opts...)
			r := bearer(iss.Sign(with(userClaims(), "realm_access", map[string]any{"roles": []any{"user"}})))
			ctx := context.Background()
			if _, err := a.Authenticate(ctx, r); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := a.Authenticate(ctx, r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkAuthenticateAPIKey(b *testing.B) {
	a := newAuth(b, apiKeyConfig(), fakeclock.New(epoch))
	r := withHeader("X-API-Key", partnerKey)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Authenticate(ctx, r); err != nil {
			b.Fatal(err)
		}
	}
}

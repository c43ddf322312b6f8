package ratelimit

import (
	"crypto/sha256"
	"encoding/base64"
	"net"
	"net/netip"
	"strings"
)

// Caller is what the key choice needs to know of an identity.
type Caller struct {
	Anonymous  bool
	Tier       string // the identity's tier; ignored for anonymous callers
	Subject    string // authn.Identity.Principal: kind and issuer included ("jwt:<iss>#<sub>", "apikey:<name>")
	APIKeyName string // the key's configured name, never the secret
	IP         netip.Addr
}

// maxKeyLen bounds what a client's token can make the stores hold per key.
const maxKeyLen = 128

// SubjectFor picks the budget a caller is charged against, following
// rate_limit.key. Anonymous callers are always keyed by client IP and tier
// "anonymous", whatever the setting: they have nothing else. A caller missing
// the configured attribute falls back to its subject, then to its IP. The
// prefixes keep a subject that looks like an IP off that IP's budget.
func (l *Limiter) SubjectFor(c Caller) Subject {
	if c.Anonymous {
		return Subject{Key: "ip:" + l.ipKey(c.IP), Tier: TierAnonymous}
	}
	tier := c.Tier
	if tier == "" {
		tier = TierDefault
	}
	var key string
	switch {
	case l.key == "api_key" && c.APIKeyName != "":
		key = "key:" + c.APIKeyName
	case l.key != "ip" && c.Subject != "":
		key = "sub:" + c.Subject
	default:
		key = "ip:" + l.ipKey(c.IP)
	}
	return Subject{Key: hashLong(key), Tier: tier}
}

// hashLong replaces a key longer than maxKeyLen by its digest.
func hashLong(key string) string {
	if len(key) <= maxKeyLen {
		return key
	}
	sum := sha256.Sum256([]byte(key))
	return "h:" + base64.RawURLEncoding.EncodeToString(sum[:])
}

// ipKey is an IPv4 address, or the IPv6 network of Options.IPv6Prefix bits.
func (l *Limiter) ipKey(ip netip.Addr) string {
	ip = ip.Unmap()
	if !ip.IsValid() {
		return "invalid"
	}
	if ip.Is6() && l.ipv6Bits < 128 {
		p, err := ip.WithZone("").Prefix(l.ipv6Bits)
		if err == nil {
			return p.String()
		}
	}
	return ip.WithZone("").String()
}

// ClientIP is the address rate limits are keyed by. X-Forwarded-For is read
// only through trusted proxies: walking from the peer leftwards, the first
// address that is not a trusted proxy is the client. A client can prepend
// anything to the header, so nothing left of that point is believed.
// xForwardedFor holds every X-Forwarded-For header value in order.
func ClientIP(remoteAddr string, xForwardedFor []string, trusted []netip.Prefix) netip.Addr {
	host := remoteAddr
	if h, _, err := net.SplitHostPort(remoteAddr); err == nil {
		host = h
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	peer = peer.Unmap()
	if !isTrusted(peer, trusted) {
		return peer
	}
	client := peer
	for i := len(xForwardedFor) - 1; i >= 0; i-- {
		hops := strings.Split(xForwardedFor[i], ",")
		for j := len(hops) - 1; j >= 0; j-- {
			hop, err := netip.ParseAddr(strings.TrimSpace(hops[j]))
			if err != nil {
				// Garbage from beyond the last trusted hop: that hop is as far
				// as the chain can be followed.
				return client
			}
			client = hop.Unmap()
			if !isTrusted(client, trusted) {
				return client
			}
		}
	}
	return client
}

func isTrusted(ip netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

package upstream

import (
	"math/rand/v2"
	"net/url"
	"strings"
	"testing"
)

// TestQueryParsesAgreesWithParseQuery: the allocation-free check accepts
// exactly what url.ParseQuery accepts, on hand-picked queries and on
// random ones from the characters that matter.
func TestQueryParsesAgreesWithParseQuery(t *testing.T) {
	cases := []string{"a=1", "a=1&b=2", "a=1;b=2", "a=%41", "a=%4", "a=%", "a=%zz", "%41=b", "a=%41%", "&&", "a", "a=b=c",
		"a+b=c+d", "a=%e2%82%ac", "a=1&%gg", ";", "a=%2", "q=" + strings.Repeat("x&", 999), "q=" + strings.Repeat("x&", 10000)}
	r := rand.New(rand.NewPCG(1, 2))
	const alphabet = "a=&;%0fG+"
	for range 20000 {
		b := make([]byte, r.IntN(12))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		cases = append(cases, string(b))
	}
	for _, q := range cases {
		_, err := url.ParseQuery(q)
		if got := queryParses(q); got != (err == nil) {
			t.Fatalf("queryParses(%.60q) = %v, url.ParseQuery error %v", q, got, err)
		}
	}
}

package openapi

import (
	"encoding/json"
	"math/big"
	"testing"
)

// TestNumberFastPaths: the decimal fast path compares and classifies every
// number exactly as big.Rat does, at the edges of its range too.
func TestNumberFastPaths(t *testing.T) {
	numbers := []string{"0", "-0", "1", "-1", "0.5", "-0.5", "1289.4", "1000000", "1000000.0", "1000000.00001",
		"999999.99999", "-0.0", "0.10", "12.000", "123456789012345678", "1234567890123456789", "0.000000000000000001",
		"-99999999999999999.9", "9.99999999999999999", "1e3", "1.5E-2", "12345678901234567890.5"}
	bounds := []string{"0", "1", "-1", "1000000", "-1000000", "999999999999999999", "-999999999999999999", "1/2", "7", "100000000000000000"}
	for _, ns := range numbers {
		for _, bs := range bounds {
			r, _ := new(big.Rat).SetString(bs)
			b := newBound(r)
			n := parseNumber(json.Number(ns))
			got, ok := n.cmp(b)
			want, _ := new(big.Rat).SetString(ns)
			if !ok || got != want.Cmp(r) {
				t.Errorf("cmp(%s, %s) = %d %v, want %d", ns, bs, got, ok, want.Cmp(r))
			}
		}
		want, _ := new(big.Rat).SetString(ns)
		n := parseNumber(json.Number(ns))
		if n.isInteger() != want.IsInt() {
			t.Errorf("isInteger(%s) = %v, want %v", ns, n.isInteger(), want.IsInt())
		}
	}
	if n := parseNumber("1289.4"); !n.dec || n.mant != 12894 || n.scale != 1 {
		t.Errorf("1289.4 parsed as %+v: not on the fast path", n)
	}
}

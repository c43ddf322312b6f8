package openapi

import (
	"encoding/json"
	"errors"
	"math"
	"math/big"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// openAPIFormats are the formats OpenAPI adds to JSON Schema (3.0.3 section
// 4.4, OpenAPI format registry); integers must fit their width.
var openAPIFormats = []*jsonschema.Format{
	{Name: "int32", Validate: intRange(math.MinInt32, math.MaxInt32)},
	{Name: "int64", Validate: intRange(math.MinInt64, math.MaxInt64)},
	{Name: "float", Validate: func(any) error { return nil }},
	{Name: "double", Validate: func(any) error { return nil }},
}

func intRange(lo, hi int64) func(any) error {
	return func(v any) error {
		var r *big.Rat
		switch n := v.(type) {
		case json.Number:
			r, _ = new(big.Rat).SetString(string(n))
		case float64:
			r = new(big.Rat)
			if r.SetFloat64(n) == nil {
				return errors.New("not a finite number")
			}
		case int:
			r = new(big.Rat).SetInt64(int64(n))
		case int64:
			r = new(big.Rat).SetInt64(n)
		default:
			return nil // other formats apply to other types
		}
		if r == nil {
			return errors.New("not a number")
		}
		if !r.IsInt() || r.Num().Cmp(big.NewInt(lo)) < 0 || r.Num().Cmp(big.NewInt(hi)) > 0 {
			return errors.New("out of range")
		}
		return nil
	}
}

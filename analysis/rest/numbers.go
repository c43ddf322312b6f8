package rest

import (
	"encoding/json"
	"strconv"

	"github.com/portcullis-gw/portcullis/schema/openapi"
)

// maxSafeInteger is 2^53-1, the largest integer every IEEE 754 double reader
// holds exactly (RFC 7493 section 2.2, I-JSON).
const maxSafeInteger = 1<<53 - 1

// checkIntegers walks v beside the body schema's shape and refuses, where the
// schema says integer, numbers that readers take to different values:
//
//   - a fraction or exponent (1.0, 1e2, 0.5e1): integers to JSON Schema, but
//     Go's and Jackson's integer readers refuse or truncate them, and
//     JavaScript's parseInt reads "0.5e1" as 0 (the rule parameters follow);
//   - a magnitude above 2^53-1: JavaScript and every double-based reader round
//     9007199254740993 to 9007199254740992 while Go and Java read it exactly;
//     with `format: int64` the int64 range is allowed instead, since the
//     document then promises a 64-bit reader.
//
// Positions the shape does not reach (composition keywords,
// additionalProperties) keep the reader's own rule: every number a finite
// double.
func checkIntegers(v any, sh *openapi.Shape, ptr string, add adder) {
	if sh == nil {
		return
	}
	switch t := v.(type) {
	case json.Number:
		if !sh.Is("integer") {
			return
		}
		s := string(t)
		if !isPlainInteger(s) {
			add(ptr, "integer must be written without a fraction or exponent")
			return
		}
		n, err := strconv.ParseInt(s, 10, 64)
		switch {
		case err != nil:
			add(ptr, "integer out of the 64-bit range")
		case sh.Format != "int64" && (n > maxSafeInteger || n < -maxSafeInteger):
			add(ptr, "integer beyond 2^53-1 is read differently by double-based readers (declare format: int64 to allow it)")
		}
	case map[string]any:
		for k, x := range t {
			if p, ok := sh.Properties[k]; ok {
				checkIntegers(x, p, pointer(ptr, k), add)
			}
		}
	case []any:
		for i, x := range t {
			checkIntegers(x, sh.Items, pointer(ptr, strconv.Itoa(i)), add)
		}
	}
}

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
	// The path is kept as tokens and joined into a pointer only for a
	// refusal: most bodies pass, and building a pointer per value would cost
	// more than the check.
	walkIntegers(v, sh, make([]string, 0, 8), func(path []string, detail string) {
		add(pointer(ptr, path...), detail)
	})
}

func walkIntegers(v any, sh *openapi.Shape, path []string, add func([]string, string)) {
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
			add(path, "integer must be written without a fraction or exponent")
			return
		}
		n, err := strconv.ParseInt(s, 10, 64)
		switch {
		case err != nil:
			add(path, "integer out of the 64-bit range")
		case sh.Format != "int64" && (n > maxSafeInteger || n < -maxSafeInteger):
			add(path, "integer beyond 2^53-1 is read differently by double-based readers (declare format: int64 to allow it)")
		}
	case map[string]any:
		if len(sh.Properties) == 0 {
			return
		}
		for k, x := range t {
			if p, ok := sh.Properties[k]; ok {
				walkIntegers(x, p, append(path, k), add)
			}
		}
	case []any:
		if sh.Items == nil {
			return
		}
		for i, x := range t {
			walkIntegers(x, sh.Items, append(path, strconv.Itoa(i)), add)
		}
	}
}

package rest

import (
	"github.com/portcullis-gw/portcullis/analysis/jsonstrict"
)

// decodeJSON parses one JSON document with the strict reader every check of
// this package uses (docs/security.md, "REST bodies: one reading for every
// back end"): duplicate keys, invalid UTF-8, lone surrogates, a BOM, numbers
// beyond a double's range and nesting deeper than maxDepth are refused, so
// the upstream cannot read another value than the one validated.
// caseColliding lets member names that differ only in case through.
func decodeJSON(data []byte, maxDepth int, caseColliding bool) (any, error) {
	return jsonstrict.Decode(data, jsonstrict.Options{MaxDepth: maxDepth, AllowCaseCollidingKeys: caseColliding})
}

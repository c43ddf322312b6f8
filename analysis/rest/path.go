package rest

// CheckPath says why an escaped request path could mean something other
// than what a plain match sees (dot or empty segments, encoded separators,
// dots or percents, matrix parameters, backslashes, control characters,
// malformed escapes, invalid UTF-8, overlong paths), or "" when it is safe.
// The gateway applies it to every request before choosing a route, so all
// routes share the one definition Match uses.
func CheckPath(escaped string) string {
	_, _, why := cleanSegments(escaped)
	return why
}

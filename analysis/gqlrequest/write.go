package gqlrequest

import "unicode/utf8"

// AppendRequest appends the canonical JSON form of r: the members query,
// operationName, variables, extensions, documentId in that order, each only
// when present (null and absent are one meaning and both are left out);
// nested members keep the order they were sent in. Strings are escaped as
// RFC 8259 section 7 requires and no more; numbers are their literal text.
func AppendRequest(dst []byte, r *Request) []byte {
	dst = append(dst, '{')
	first := true
	member := func(name string) {
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = appendString(dst, name)
		dst = append(dst, ':')
	}
	if r.HasQuery || r.Query != "" {
		member(MemberQuery)
		dst = appendString(dst, r.Query)
	}
	if r.OperationName != "" {
		member(MemberOperationName)
		dst = appendString(dst, r.OperationName)
	}
	if r.Variables.kind == Object {
		member(MemberVariables)
		dst = AppendValue(dst, r.Variables)
	}
	if r.Extensions.kind == Object {
		member(MemberExtensions)
		dst = AppendValue(dst, r.Extensions)
	}
	if r.HasDocumentID {
		member(MemberDocumentID)
		dst = appendString(dst, r.DocumentID)
	}
	return append(dst, '}')
}

// AppendBatch appends the canonical form of a batch: an array of
// AppendRequest forms.
func AppendBatch(dst []byte, rs []Request) []byte {
	dst = append(dst, '[')
	for i := range rs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendRequest(dst, &rs[i])
	}
	return append(dst, ']')
}

// AppendValue appends v as JSON. Absent is written as null.
func AppendValue(dst []byte, v Value) []byte {
	switch v.kind {
	case Bool, Number:
		return append(dst, v.text...)
	case String:
		return appendString(dst, v.text)
	case Array:
		dst = append(dst, '[')
		for i, m := range v.items {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = AppendValue(dst, m.Value)
		}
		return append(dst, ']')
	case Object:
		dst = append(dst, '{')
		for i, m := range v.items {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, m.Name)
			dst = append(dst, ':')
			dst = AppendValue(dst, m.Value)
		}
		return append(dst, '}')
	}
	return append(dst, "null"...)
}

const hexDigits = "0123456789abcdef"

// appendString writes s quoted: '"', '\\' and the control characters are
// escaped (the short forms where RFC 8259 has one), everything else is
// copied. s is valid UTF-8 when it came from the reader; any invalid byte
// of a string set by the caller becomes U+FFFD, so the output is always
// valid JSON.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				dst = append(dst, s[start:i]...)
				dst = append(dst, "\ufffd"...)
				i++
				start = i
				continue
			}
			i += n
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\f':
			dst = append(dst, '\\', 'f')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
		}
		i++
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

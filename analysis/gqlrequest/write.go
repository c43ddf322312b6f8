package gqlrequest

import "github.com/portcullis-gw/portcullis/analysis/jsonstrict"

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
		dst = jsonstrict.AppendString(dst, name)
		dst = append(dst, ':')
	}
	if r.HasQuery || r.Query != "" {
		member(MemberQuery)
		dst = jsonstrict.AppendString(dst, r.Query)
	}
	if r.OperationName != "" {
		member(MemberOperationName)
		dst = jsonstrict.AppendString(dst, r.OperationName)
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
		dst = jsonstrict.AppendString(dst, r.DocumentID)
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
		return jsonstrict.AppendString(dst, v.text)
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
			dst = jsonstrict.AppendString(dst, m.Name)
			dst = append(dst, ':')
			dst = AppendValue(dst, m.Value)
		}
		return append(dst, '}')
	}
	return append(dst, "null"...)
}

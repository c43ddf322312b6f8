package analysis

import (
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/lexer"
)

// CountTokens counts the lexer tokens of src, without the end-of-file token
// . It stops as soon as the count passes max, so a huge
// document costs no more than max tokens of lexing; then n is
// max+1 and over is true. max <= 0 means no limit. A lexing error ends the
// count: the parser reports it.
func CountTokens(src string, max int) (n int, over bool) {
	lx := lexer.New(&ast.Source{Input: src})
	for {
		tok, err := lx.ReadToken()
		if err != nil || tok.Kind == lexer.EOF {
			return n, false
		}
		if tok.Kind == lexer.Comment {
			continue // an ignored token (GraphQL spec 2.1.7), as graphql-js counts
		}
		n++
		if max > 0 && n > max {
			return n, true
		}
	}
}

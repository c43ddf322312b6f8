package openapi

import (
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The fast path re-expresses a compiled jsonschema.Schema as a small tree of
// Go checks for the keywords request bodies actually use. jsonschema's own
// validator turns every number into a big.Rat through fmt.Sprint and
// allocates per keyword, which costs about 100 µs on a 1 KB body; the tree
// below allocates nothing on a valid value.
//
// It is built from the compiled schema rather than from the document, so the
// draft's reading of the schema (draft 4 ignoring $ref siblings, boolean
// exclusiveMinimum, 3.0 nullable already rewritten, regexp dialect, format
// checkers) is jsonschema's own. Any keyword the tree does not model makes the
// whole schema keep the jsonschema path: a differential test and fuzz test
// hold the two to the same decisions and locations.

// JSON types as bits, so a type list is one mask test.
const (
	tNull uint8 = 1 << iota
	tBoolean
	tNumber
	tInteger
	tString
	tArray
	tObject
)

var typeBits = map[string]uint8{
	"null": tNull, "boolean": tBoolean, "number": tNumber, "integer": tInteger,
	"string": tString, "array": tArray, "object": tObject,
}

type fmtKind uint8

const (
	fmtNone  fmtKind = iota
	fmtNoop          // float, double: any number
	fmtInt32         // integers that fit the width
	fmtInt64
	fmtOther // jsonschema's own checker
)

// fastNode mirrors one compiled schema. Negative min/max counts mean absent.
type fastNode struct {
	boolSchema *bool // a `true` or `false` schema; nothing else applies

	types     uint8 // 0: any type
	typeNames string

	constVal *any
	enum     []any
	// Rendered at load for the failure messages, so a stream of bad values
	// does not re-encode the schema's lists.
	constDesc, enumDesc string

	fmtKind fmtKind
	format  *jsonschema.Format

	ref     *fastNode
	refOnly bool // drafts before 2019-09 ignore $ref siblings

	minProps, maxProps int
	required           []string
	props              map[string]*fastNode
	propList           []namedNode // props sorted by name: lookups beat map iteration
	addlFalse          bool
	addl               *fastNode

	minItems, maxItems int
	prefix             []*fastNode
	rest               *fastNode // items after prefix
	restFalse          bool      // draft 4 additionalItems: false

	minLen, maxLen int
	pattern        jsonschema.Regexp

	minimum, maximum, exclMin, exclMax, multipleOf *bound

	allOf, anyOf, oneOf []*fastNode
	not                 *fastNode
}

type namedNode struct {
	name string
	node *fastNode
}

// bound is a numeric keyword's value, with an int64 copy when it has one so
// that integer instances compare without big.Rat.
type bound struct {
	rat   *big.Rat
	i     int64
	isInt bool
}

func newBound(r *big.Rat) *bound {
	if r == nil {
		return nil
	}
	b := &bound{rat: r}
	if r.IsInt() && r.Num().IsInt64() {
		b.i, b.isInt = r.Num().Int64(), true
	}
	return b
}

// errFallback says the schema uses something the fast path does not model.
type errFallback struct{ why string }

func (e *errFallback) Error() string { return "fast path unavailable: " + e.why }

type fastCompiler struct {
	nodes map[*jsonschema.Schema]*fastNode
}

// compileFast returns the fast tree for s, or an *errFallback naming the
// first keyword it cannot model.
func compileFast(s *jsonschema.Schema) (*fastNode, error) {
	fc := &fastCompiler{nodes: map[*jsonschema.Schema]*fastNode{}}
	return fc.node(s)
}

func (fc *fastCompiler) node(s *jsonschema.Schema) (*fastNode, error) {
	if n, ok := fc.nodes[s]; ok {
		return n, nil
	}
	n := &fastNode{minProps: -1, maxProps: -1, minItems: -1, maxItems: -1, minLen: -1, maxLen: -1}
	// Registered before the children so recursive schemas (trees, lists)
	// close on themselves.
	fc.nodes[s] = n
	if s.Bool != nil {
		b := *s.Bool
		n.boolSchema = &b
		return n, nil
	}
	if err := unsupported(s); err != nil {
		return nil, err
	}
	// A chain of $refs that returns to its start without moving into the
	// value is a cycle jsonschema reports at validation time.
	for r, seen := s.Ref, map[*jsonschema.Schema]bool{s: true}; r != nil; r = r.Ref {
		if seen[r] {
			return nil, &errFallback{"$ref cycle"}
		}
		seen[r] = true
	}
	if s.Types != nil && !s.Types.IsEmpty() {
		names := s.Types.ToStrings()
		for _, t := range names {
			n.types |= typeBits[t]
		}
		n.typeNames = strings.Join(names, " or ")
	}
	if s.Const != nil {
		if !plainJSON(*s.Const) {
			return nil, &errFallback{"const value type"}
		}
		n.constVal = s.Const
		n.constDesc = describe(*s.Const)
	}
	if s.Enum != nil {
		for _, v := range s.Enum.Values {
			if !plainJSON(v) {
				return nil, &errFallback{"enum value type"}
			}
		}
		n.enum = s.Enum.Values
		n.enumDesc = describeList(s.Enum.Values)
	}
	if s.Format != nil {
		n.format = s.Format
		switch s.Format {
		case openAPIFormats[0]:
			n.fmtKind = fmtInt32
		case openAPIFormats[1]:
			n.fmtKind = fmtInt64
		case openAPIFormats[2], openAPIFormats[3]:
			n.fmtKind = fmtNoop
		default:
			n.fmtKind = fmtOther
		}
	}
	var err error
	if s.Ref != nil {
		if n.ref, err = fc.node(s.Ref); err != nil {
			return nil, err
		}
		n.refOnly = s.DraftVersion < 2019
	}
	if s.MinProperties != nil {
		n.minProps = *s.MinProperties
	}
	if s.MaxProperties != nil {
		n.maxProps = *s.MaxProperties
	}
	n.required = s.Required
	if len(s.Properties) > 0 {
		n.props = make(map[string]*fastNode, len(s.Properties))
		for k, ps := range s.Properties {
			if n.props[k], err = fc.node(ps); err != nil {
				return nil, err
			}
			n.propList = append(n.propList, namedNode{k, n.props[k]})
		}
		slices.SortFunc(n.propList, func(a, b namedNode) int { return strings.Compare(a.name, b.name) })
	}
	switch a := s.AdditionalProperties.(type) {
	case nil:
	case bool:
		n.addlFalse = !a
	case *jsonschema.Schema:
		if n.addl, err = fc.node(a); err != nil {
			return nil, err
		}
	default:
		return nil, &errFallback{"additionalProperties form"}
	}
	if s.MinItems != nil {
		n.minItems = *s.MinItems
	}
	if s.MaxItems != nil {
		n.maxItems = *s.MaxItems
	}
	if err := fc.items(s, n); err != nil {
		return nil, err
	}
	if s.MinLength != nil {
		n.minLen = *s.MinLength
	}
	if s.MaxLength != nil {
		n.maxLen = *s.MaxLength
	}
	n.pattern = s.Pattern
	n.minimum, n.maximum = newBound(s.Minimum), newBound(s.Maximum)
	n.exclMin, n.exclMax = newBound(s.ExclusiveMinimum), newBound(s.ExclusiveMaximum)
	n.multipleOf = newBound(s.MultipleOf)
	for _, l := range []struct {
		from []*jsonschema.Schema
		to   *[]*fastNode
	}{{s.AllOf, &n.allOf}, {s.AnyOf, &n.anyOf}, {s.OneOf, &n.oneOf}} {
		for _, sub := range l.from {
			c, err := fc.node(sub)
			if err != nil {
				return nil, err
			}
			*l.to = append(*l.to, c)
		}
	}
	if s.Not != nil {
		if n.not, err = fc.node(s.Not); err != nil {
			return nil, err
		}
	}
	return n, nil
}

func (fc *fastCompiler) items(s *jsonschema.Schema, n *fastNode) error {
	var err error
	if s.DraftVersion < 2020 {
		switch it := s.Items.(type) {
		case nil:
		case *jsonschema.Schema:
			n.rest, err = fc.node(it)
			return err
		case []*jsonschema.Schema:
			for _, sub := range it {
				c, err := fc.node(sub)
				if err != nil {
					return err
				}
				n.prefix = append(n.prefix, c)
			}
		default:
			return &errFallback{"items form"}
		}
		switch a := s.AdditionalItems.(type) {
		case nil:
		case bool:
			n.restFalse = !a
		case *jsonschema.Schema:
			n.rest, err = fc.node(a)
		default:
			return &errFallback{"additionalItems form"}
		}
		return err
	}
	for _, sub := range s.PrefixItems {
		c, err := fc.node(sub)
		if err != nil {
			return err
		}
		n.prefix = append(n.prefix, c)
	}
	if s.Items2020 != nil {
		n.rest, err = fc.node(s.Items2020)
	}
	return err
}

// unsupported names the first keyword of s the fast path leaves to
// jsonschema.
func unsupported(s *jsonschema.Schema) error {
	var why string
	switch {
	case s.RecursiveRef != nil || s.DynamicRef != nil:
		why = "$recursiveRef/$dynamicRef"
	case s.If != nil || s.Then != nil || s.Else != nil:
		why = "if/then/else"
	case s.PropertyNames != nil:
		why = "propertyNames"
	case len(s.PatternProperties) > 0:
		why = "patternProperties"
	case len(s.Dependencies) > 0 || len(s.DependentRequired) > 0 || len(s.DependentSchemas) > 0:
		why = "dependencies"
	case s.UnevaluatedProperties != nil || s.UnevaluatedItems != nil:
		why = "unevaluated*"
	case s.UniqueItems:
		why = "uniqueItems"
	case s.Contains != nil || s.MinContains != nil || s.MaxContains != nil:
		why = "contains"
	case s.ContentEncoding != nil || s.ContentMediaType != nil || s.ContentSchema != nil:
		why = "content*"
	case len(s.Extensions) > 0:
		why = "vocabulary extension"
	default:
		return nil
	}
	return &errFallback{why}
}

// plainJSON reports whether v is made only of the types encoding/json and
// jsonschema.UnmarshalJSON produce with UseNumber.
func plainJSON(v any) bool {
	switch t := v.(type) {
	case nil, bool, string, json.Number:
		return true
	case []any:
		for _, x := range t {
			if !plainJSON(x) {
				return false
			}
		}
		return true
	case map[string]any:
		for _, x := range t {
			if !plainJSON(x) {
				return false
			}
		}
		return true
	}
	return false
}

// fastRun is one validation. path is the instance location being checked;
// a violation copies it.
type fastRun struct {
	path  []string
	out   []Violation
	abort bool // the value holds a Go type the fast path does not model
}

func (r *fastRun) fail(format string, args ...any) {
	r.out = append(r.out, Violation{Location: slices.Clone(r.path), Message: fmt.Sprintf(format, args...)})
}

func typeOfValue(v any) uint8 {
	switch v.(type) {
	case nil:
		return tNull
	case bool:
		return tBoolean
	case json.Number:
		return tNumber
	case string:
		return tString
	case []any:
		return tArray
	case map[string]any:
		return tObject
	}
	return 0
}

func typeName(t uint8) string {
	switch t {
	case tNull:
		return "null"
	case tBoolean:
		return "boolean"
	case tNumber:
		return "number"
	case tString:
		return "string"
	case tArray:
		return "array"
	case tObject:
		return "object"
	}
	return "unknown"
}

// validate checks v against n, in jsonschema's order: a type, const, enum
// or format failure ends the check of this value, later keywords add up.
func (r *fastRun) validate(n *fastNode, v any) {
	if r.abort {
		return
	}
	if n.boolSchema != nil {
		if !*n.boolSchema {
			r.fail("no value is allowed here")
		}
		return
	}
	t := typeOfValue(v)
	if t == 0 {
		r.abort = true
		return
	}
	var num number
	if t == tNumber {
		num = parseNumber(v.(json.Number))
	}
	if n.types != 0 && n.types&t == 0 {
		if !(t == tNumber && n.types&tInteger != 0 && num.isInteger()) {
			r.fail("must be %s, not %s", n.typeNames, typeName(t))
			return
		}
	}
	if n.constVal != nil && !r.equal(v, *n.constVal) {
		r.fail("must be %s", n.constDesc)
		return
	}
	if n.enum != nil {
		ok := false
		for _, e := range n.enum {
			if r.equal(v, e) {
				ok = true
				break
			}
		}
		if !ok {
			r.fail("must be one of %s", n.enumDesc)
			return
		}
	}
	if n.fmtKind != fmtNone && !r.checkFormat(n, v, t, &num) {
		r.fail("must be a valid %q", n.format.Name)
		return
	}
	if n.ref != nil {
		r.validate(n.ref, v)
		if n.refOnly {
			return
		}
	}
	switch t {
	case tObject:
		r.object(n, v.(map[string]any))
	case tArray:
		r.array(n, v.([]any))
	case tString:
		r.str(n, v.(string))
	case tNumber:
		r.number(n, &num)
	}
	for _, c := range n.allOf {
		r.validate(c, v)
	}
	if len(n.anyOf) > 0 {
		r.anyOf(n, v)
	}
	if len(n.oneOf) > 0 {
		r.oneOf(n, v)
	}
	if n.not != nil && len(r.trial(n.not, v)) == 0 {
		r.fail("must not match the excluded schema")
	}
}

// trial validates v against n on the side, returning its violations.
func (r *fastRun) trial(n *fastNode, v any) []Violation {
	sub := fastRun{path: r.path}
	sub.validate(n, v)
	r.abort = r.abort || sub.abort
	return sub.out
}

func (r *fastRun) anyOf(n *fastNode, v any) {
	var all []Violation
	for _, c := range n.anyOf {
		out := r.trial(c, v)
		if len(out) == 0 {
			return
		}
		all = append(all, out...)
	}
	r.out = append(r.out, all...)
}

func (r *fastRun) oneOf(n *fastNode, v any) {
	var all []Violation
	matched := 0
	for _, c := range n.oneOf {
		out := r.trial(c, v)
		if len(out) == 0 {
			matched++
			if matched > 1 {
				r.fail("must match exactly one alternative, matches several")
				return
			}
			continue
		}
		all = append(all, out...)
	}
	if matched == 0 {
		r.out = append(r.out, all...)
	}
}

func (r *fastRun) checkFormat(n *fastNode, v any, t uint8, num *number) bool {
	switch n.fmtKind {
	case fmtNoop:
		return true
	case fmtInt32, fmtInt64:
		if t != tNumber {
			return true
		}
		if num.small {
			return n.fmtKind == fmtInt64 || (num.i >= -1<<31 && num.i <= 1<<31-1)
		}
	}
	return n.format.Validate(v) == nil
}

func (r *fastRun) object(n *fastNode, obj map[string]any) {
	if n.minProps >= 0 && len(obj) < n.minProps {
		r.fail("must have at least %d properties", n.minProps)
	}
	if n.maxProps >= 0 && len(obj) > n.maxProps {
		r.fail("must have at most %d properties", n.maxProps)
	}
	var missing []string
	for _, k := range n.required {
		if _, ok := obj[k]; !ok {
			missing = append(missing, k)
		}
	}
	if missing != nil {
		r.fail("missing required properties: %s", quoteList(missing))
	}
	if n.props == nil && n.addl == nil && !n.addlFalse {
		return
	}
	seen := 0
	for _, p := range n.propList {
		pv, ok := obj[p.name]
		if !ok {
			continue
		}
		seen++
		r.path = append(r.path, p.name)
		r.validate(p.node, pv)
		r.path = r.path[:len(r.path)-1]
	}
	if seen == len(obj) || (n.addl == nil && !n.addlFalse) {
		return
	}
	var extra []string
	for k, pv := range obj {
		if _, ok := n.props[k]; ok {
			continue
		}
		if n.addl == nil {
			extra = append(extra, k)
			continue
		}
		r.path = append(r.path, k)
		r.validate(n.addl, pv)
		r.path = r.path[:len(r.path)-1]
	}
	if extra != nil {
		slices.Sort(extra)
		r.fail("properties not allowed: %s", quoteList(extra))
	}
}

// quoteList names properties; they come from the request, so each is
// quoted (escaping control characters) and long ones are cut.
func quoteList(names []string) string {
	const max = 5
	var b strings.Builder
	for i, s := range names {
		if i == max {
			fmt.Fprintf(&b, " and %d more", len(names)-max)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		if utf8.RuneCountInString(s) > 64 {
			s = string([]rune(s)[:64]) + "…"
		}
		b.WriteString(strconv.Quote(s))
	}
	return b.String()
}

func (r *fastRun) array(n *fastNode, arr []any) {
	if n.minItems >= 0 && len(arr) < n.minItems {
		r.fail("must have at least %d items", n.minItems)
	}
	if n.maxItems >= 0 && len(arr) > n.maxItems {
		r.fail("must have at most %d items", n.maxItems)
	}
	for i, item := range arr {
		c := n.rest
		if i < len(n.prefix) {
			c = n.prefix[i]
		} else if c == nil {
			if n.restFalse {
				r.fail("must have at most %d items", len(n.prefix))
			}
			break
		}
		r.path = append(r.path, strconv.Itoa(i))
		r.validate(c, item)
		r.path = r.path[:len(r.path)-1]
	}
}

func (r *fastRun) str(n *fastNode, s string) {
	if n.minLen >= 0 || n.maxLen >= 0 {
		l := utf8.RuneCountInString(s)
		if n.minLen >= 0 && l < n.minLen {
			r.fail("must be at least %d characters long", n.minLen)
		}
		if n.maxLen >= 0 && l > n.maxLen {
			r.fail("must be at most %d characters long", n.maxLen)
		}
	}
	if n.pattern != nil && !n.pattern.MatchString(s) {
		r.fail("must match the pattern %s", n.pattern.String())
	}
}

func (r *fastRun) number(n *fastNode, num *number) {
	if n.minimum != nil {
		if c, ok := num.cmp(n.minimum); !ok || c < 0 {
			r.fail("must be at least %s", n.minimum.rat.RatString())
		}
	}
	if n.maximum != nil {
		if c, ok := num.cmp(n.maximum); !ok || c > 0 {
			r.fail("must be at most %s", n.maximum.rat.RatString())
		}
	}
	if n.exclMin != nil {
		if c, ok := num.cmp(n.exclMin); !ok || c <= 0 {
			r.fail("must be greater than %s", n.exclMin.rat.RatString())
		}
	}
	if n.exclMax != nil {
		if c, ok := num.cmp(n.exclMax); !ok || c >= 0 {
			r.fail("must be less than %s", n.exclMax.rat.RatString())
		}
	}
	if m := n.multipleOf; m != nil {
		var ok bool
		if num.small && m.isInt && m.i != 0 {
			ok = num.i%m.i == 0
		} else if rat := num.ratValue(); rat != nil && m.rat.Sign() != 0 {
			ok = new(big.Rat).Quo(rat, m.rat).IsInt()
		}
		if !ok {
			r.fail("must be a multiple of %s", m.rat.RatString())
		}
	}
}

// number is a json.Number read exactly: as an int64 when it is written as a
// plain integer that surely fits, else as a big.Rat, built only on demand
// (the same parse jsonschema does, so the two agree on every input).
type number struct {
	s     string
	i     int64
	small bool
	// dec: the number is mant / 10^scale exactly (a plain decimal such as
	// 1289.4 with at most 18 digits), compared with integer bounds without
	// big.Rat.
	mant  int64
	scale int
	dec   bool
	rat   *big.Rat
	tried bool
}

// pow10 are the powers of ten an int64 holds.
var pow10 = func() (p [19]int64) {
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

func parseNumber(n json.Number) number {
	s := string(n)
	digits := strings.TrimPrefix(s, "-")
	// 18 digits always fit an int64; longer integers take the big.Rat road.
	if len(digits) > 0 && len(digits) <= 19 {
		dot, plain := -1, true
		for i := 0; i < len(digits); i++ {
			switch c := digits[i]; {
			case c == '.' && dot < 0 && i > 0 && i < len(digits)-1:
				dot = i
			case c < '0' || c > '9':
				plain = false
			}
			if !plain {
				break
			}
		}
		switch {
		case plain && dot < 0 && len(digits) <= 18:
			if i, err := strconv.ParseInt(s, 10, 64); err == nil {
				return number{s: s, i: i, small: true}
			}
		case plain && dot > 0:
			if m, err := strconv.ParseInt(s[:len(s)-len(digits)]+digits[:dot]+digits[dot+1:], 10, 64); err == nil {
				return number{s: s, mant: m, scale: len(digits) - dot - 1, dec: true}
			}
		}
	}
	return number{s: s}
}

// ratValue is nil for a number big.Rat cannot hold (an exponent in the
// millions); such a number is neither an integer nor comparable.
func (n *number) ratValue() *big.Rat {
	if n.small {
		return new(big.Rat).SetInt64(n.i)
	}
	if !n.tried {
		n.tried = true
		n.rat, _ = new(big.Rat).SetString(n.s)
	}
	return n.rat
}

func (n *number) isInteger() bool {
	if n.small {
		return true
	}
	if n.dec {
		return n.mant%pow10[n.scale] == 0
	}
	r := n.ratValue()
	return r != nil && r.IsInt()
}

// cmp compares n with b; ok is false when n cannot be compared.
func (n *number) cmp(b *bound) (int, bool) {
	if n.small && b.isInt {
		return cmpInt(n.i, b.i), true
	}
	// mant/10^scale against i: mant against i*10^scale, when that product
	// fits an int64 (|i| < 10^(18-scale)).
	if n.dec && b.isInt && b.i > -pow10[18-n.scale] && b.i < pow10[18-n.scale] {
		return cmpInt(n.mant, b.i*pow10[n.scale]), true
	}
	r := n.ratValue()
	if r == nil {
		return 0, false
	}
	return r.Cmp(b.rat), true
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// equal is jsonschema's equality: numbers by value (1, 1.0 and 1e0 are
// equal), objects and arrays deeply. b comes from the schema; a value of a
// type the fast path does not model aborts it.
func (r *fastRun) equal(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case string:
		y, ok := b.(string)
		return ok && x == y
	case json.Number:
		y, ok := b.(json.Number)
		if !ok {
			return false
		}
		if x == y {
			return true
		}
		nx, ny := parseNumber(x), parseNumber(y)
		if nx.small && ny.small {
			return nx.i == ny.i
		}
		rx, ry := nx.ratValue(), ny.ratValue()
		return rx != nil && ry != nil && rx.Cmp(ry) == 0
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !r.equal(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, xv := range x {
			yv, ok := y[k]
			if !ok || !r.equal(xv, yv) {
				return false
			}
		}
		return true
	}
	r.abort = true
	return false
}

// describe renders a schema value (never a request value) for a message.
func describe(v any) string {
	b, err := json.Marshal(v)
	if err != nil || len(b) > 80 {
		return "the value the schema fixes"
	}
	return string(b)
}

func describeList(vs []any) string {
	b, err := json.Marshal(vs)
	if err != nil || len(b) > 200 {
		return "the values the schema lists"
	}
	return string(b)
}

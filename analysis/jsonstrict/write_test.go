package jsonstrict

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestAppendString: whatever the string, the output is one valid JSON
// string that reads back as the input, invalid UTF-8 replaced by U+FFFD.
func TestAppendString(t *testing.T) {
	for _, tt := range []struct{ in, want, wire string }{
		{"plain", "plain", `"plain"`},
		{`q"b\s`, `q"b\s`, `"q\"b\\s"`},
		{"a\nb\rc\td\be\ff", "a\nb\rc\td\be\ff", `"a\nb\rc\td\be\ff"`},
		{"nul\x00 esc\x1b", "nul\x00 esc\x1b", `"nul\u0000 esc\u001b"`},
		{"bad \xff byte", "bad \ufffd byte", "\"bad \ufffd byte\""},
		{"trunc \xe2\x82", "trunc \ufffd\ufffd", "\"trunc \ufffd\ufffd\""},
		{"ünïcode ✓", "ünïcode ✓", `"ünïcode ✓"`},
		{"line\u2028para\u2029", "line\u2028para\u2029", `"line\u2028para\u2029"`},
		{`{"injected":1}` + "\n", `{"injected":1}` + "\n", `"{\"injected\":1}\n"`},
	} {
		got := AppendString([]byte("x"), tt.in)
		if !strings.HasPrefix(string(got), "x") || string(got[1:]) != tt.wire {
			t.Errorf("AppendString(%q) = %q, want %q", tt.in, got[1:], tt.wire)
			continue
		}
		var back string
		if err := json.Unmarshal(got[1:], &back); err != nil || back != tt.want {
			t.Errorf("AppendString(%q) reads back as %q (%v), want %q", tt.in, back, err, tt.want)
		}
	}
}

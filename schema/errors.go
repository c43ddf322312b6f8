package schema

import (
	"fmt"
	"strings"
)

// CompositionError is one composition rule violation, named with the code
// the federation ecosystem (Apollo composition) uses.
type CompositionError struct {
	Code       string   `json:"code"`
	Subgraphs  []string `json:"subgraphs,omitempty"`
	Coordinate string   `json:"coordinate,omitempty"`
	Message    string   `json:"message"`
}

func (e CompositionError) String() string {
	var b strings.Builder
	b.WriteString(e.Code)
	if len(e.Subgraphs) > 0 {
		fmt.Fprintf(&b, " [%s]", strings.Join(e.Subgraphs, ", "))
	}
	if e.Coordinate != "" {
		b.WriteString(" " + e.Coordinate)
	}
	b.WriteString(": " + e.Message)
	return b.String()
}

// CompositionErrors are every error of a failed composition.
type CompositionErrors struct {
	Errors []CompositionError
}

func (e *CompositionErrors) Error() string {
	lines := make([]string, len(e.Errors))
	for i, c := range e.Errors {
		lines[i] = c.String()
	}
	return fmt.Sprintf("%d composition error(s):\n%s", len(e.Errors), strings.Join(lines, "\n"))
}

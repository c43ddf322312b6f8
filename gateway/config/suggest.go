package config

import (
	"slices"
	"strings"

	"github.com/agnivade/levenshtein"
)

// Suggest returns the candidate closest to word when it is close enough to
// be a typo of it ("listn" for "listen", "upstrem" for "upstream"), or "".
// Close enough: at most a third of word's letters edited, at least one (a
// swap of two adjacent letters or a change of case counts as one edit);
// ties go to the candidate that sorts first, so the answer is stable.
func Suggest(word string, candidates []string) string {
	best, bestDist := "", 0
	limit := max(1, len(word)/3)
	sorted := slices.Clone(candidates)
	slices.Sort(sorted)
	for _, c := range sorted {
		if c == word {
			continue
		}
		d := levenshtein.ComputeDistance(word, c)
		if strings.EqualFold(word, c) || swapped(word, c) {
			d = 1
		}
		if d <= limit && (best == "" || d < bestDist) {
			best, bestDist = c, d
		}
	}
	return best
}

// swapped reports whether a and b differ by one swap of adjacent letters
// ("tsl", "tls"), a typo Levenshtein distance counts as two edits.
func swapped(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	i := 0
	for i < len(a) && a[i] == b[i] {
		i++
	}
	return i+1 < len(a) && a[i] == b[i+1] && a[i+1] == b[i] && a[i+2:] == b[i+2:]
}

// didYouMean is the suffix of an "unknown" problem: `; did you mean "x"?`.
func didYouMean(word string, candidates []string) string {
	if s := Suggest(word, candidates); s != "" {
		return `; did you mean "` + s + `"?`
	}
	return ""
}

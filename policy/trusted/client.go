package trusted

import (
	"errors"
	"net/http"
	"regexp"
)

// The headers clients name themselves with: GraphQL's common convention
// and Apollo's (Apollo Client sends apollographql-client-name/-version).
var (
	nameHeaders    = []string{"Graphql-Client-Name", "Apollographql-Client-Name"}
	versionHeaders = []string{"Graphql-Client-Version", "Apollographql-Client-Version"}
)

var clientVersionRE = regexp.MustCompile(`^[A-Za-z0-9 ._+@/-]{1,64}$`)

// ClientOf reads the client's name and version from the request headers.
// Each header may appear once, and the two spellings must agree: readers
// that take the first or the last of two values would disagree on which
// list a request is checked against. A name or version outside the short
// printable form is refused rather than logged or recorded.
func ClientOf(h http.Header) (name, version string, err error) {
	if name, err = oneOf(h, nameHeaders, clientNameRE); err != nil {
		return "", "", err
	}
	if version, err = oneOf(h, versionHeaders, clientVersionRE); err != nil {
		return "", "", err
	}
	return name, version, nil
}

func oneOf(h http.Header, names []string, re *regexp.Regexp) (string, error) {
	var v string
	for _, n := range names {
		vs := h[n]
		switch {
		case len(vs) == 0:
			continue
		case len(vs) > 1:
			return "", errors.New(n + " appears more than once")
		case v != "" && vs[0] != v:
			return "", errors.New(names[0] + " and " + names[1] + " disagree")
		case !re.MatchString(vs[0]):
			return "", errors.New(n + " must match " + re.String())
		}
		v = vs[0]
	}
	return v, nil
}

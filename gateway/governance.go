package gateway

import (
	"fmt"

	"github.com/portcullis-gw/portcullis/gateway/config"
)

// checkCoordinateLimits refuses a GraphQL coordinate limit that no route's
// schema has: a typo there would look like protection and count nothing.
// A route whose schema is not loaded yet (fetched later) leaves the
// question open, so nothing is refused then.
func (rt *routeTable) checkCoordinateLimits(cfg *config.Config) error {
	for i, c := range cfg.RateLimit.Coordinates {
		if c.Coordinate == "" {
			continue
		}
		found, open := false, false
		for _, r := range rt.graphql {
			has, loaded := r.HasCoordinate(c.Coordinate)
			found = found || has
			open = open || !loaded
		}
		if !found && !open {
			return fmt.Errorf("rate_limit.coordinates[%d].coordinate: no GraphQL route's schema has the field %s", i, c.Coordinate)
		}
	}
	return nil
}

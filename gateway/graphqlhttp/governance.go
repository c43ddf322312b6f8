package graphqlhttp

import (
	"github.com/portcullis-gw/portcullis/analysis"
	"github.com/portcullis-gw/portcullis/gateway/errcode"
	"github.com/portcullis-gw/portcullis/gateway/pipeline"
	"github.com/portcullis-gw/portcullis/policy/external"
	"github.com/portcullis-gw/portcullis/policy/ratelimit"
	"github.com/portcullis-gw/portcullis/policy/trusted"
)

// The governance stages of the GraphQL door: trusted documents, the
// external decision point and per-coordinate limits (docs/governance.md).

// governed is what the governance stages found about a request.
type governed struct {
	client, clientVersion string
	list                  *trusted.List
	checks                []entryCheck
	// unknown counts the entries audit mode let through unlisted.
	unknown int
	// remove holds, per entry, the coordinates the decision point asked
	// filter mode to remove.
	remove []map[string]bool
	// coordHeaders are the allowed coordinate limits' RateLimit pairs.
	coordHeaders []ratelimit.HeaderField
}

// stagePersisted resolves ids and hashes to documents, in the list of the
// client the request names.
func (q *request) stagePersisted() *pipeline.Refusal {
	rt := q.rt
	if rt.persisted == nil {
		return nil
	}
	if rt.persisted.lists != nil {
		var err error
		if q.gov.client, q.gov.clientVersion, err = trusted.ClientOf(q.r.Header); err != nil {
			return pipeline.Refuse(errcode.BadRequest, err.Error())
		}
		q.gov.list = rt.persisted.lists.For(q.gov.client)
	}
	q.gov.checks = make([]entryCheck, len(q.params))
	for i := range q.params {
		ref, check := rt.persisted.resolveEntry(q.gov.list, &q.params[i], &q.reqs[i])
		if ref != nil {
			return ref
		}
		q.gov.checks[i] = check
	}
	return nil
}

// stageTrusted decides the entries whose text was not listed byte for
// byte, by their parsed form: listed, refused (safelist) or let through
// and reported (audit).
func (q *request) stageTrusted() *pipeline.Refusal {
	rt := q.rt
	for i, c := range q.gov.checks {
		if c != entryPending {
			continue
		}
		ref, unknown := rt.persisted.checkListed(q.gov.list, q.params[i], q.reports[i])
		if ref != nil {
			return ref
		}
		if unknown {
			q.gov.unknown++
		}
	}
	return nil
}

// stageExternal asks the external decision point about every entry. A deny
// refuses the request; "remove" lists coordinates that the authorization
// stage then removes (filter mode) or refuses (reject mode).
func (q *request) stageExternal() *pipeline.Refusal {
	rt := q.rt
	if rt.external == nil {
		return nil
	}
	for i, rep := range q.reports {
		in := rt.externalInput(q, rep)
		d, ref := rt.shared.Decide(q.r.Context(), q.ex, rt.external, in)
		if ref != nil {
			return ref
		}
		if len(d.Remove) == 0 {
			continue
		}
		if q.gov.remove == nil {
			q.gov.remove = make([]map[string]bool, len(q.reports))
		}
		q.gov.remove[i] = make(map[string]bool, len(d.Remove))
		for _, c := range d.Remove {
			q.gov.remove[i][c] = true
		}
	}
	return nil
}

func (rt *Route) externalInput(q *request, rep *analysis.Report) *external.Input {
	in := &external.Input{
		Identity: pipeline.IdentityInput(q.id), Route: rt.cfg.Name, Protocol: "graphql",
		Operation: &external.Operation{Type: rep.OperationType, Name: rep.OperationName},
		ClientIP:  q.ex.ClientIP, Headers: pipeline.HeadersInput(q.r, rt.external.Headers()),
	}
	in.Coordinates = make([]external.Coordinate, len(rep.Fields))
	for i, f := range rep.Fields {
		in.Coordinates[i] = external.Coordinate{Coordinate: f.Coordinate, Path: f.Path, Arguments: f.Arguments}
	}
	return in
}

// removeFor is the coordinates to remove from entry i.
func (q *request) removeFor(i int) map[string]bool {
	if q.gov.remove == nil {
		return nil
	}
	return q.gov.remove[i]
}

// stageCoordinates charges the uses of each limited coordinate: every
// alias, fragment spread and batch entry counts (analysis.Coordinates).
func (q *request) stageCoordinates() *pipeline.Refusal {
	rt := q.rt
	w := q.sch.coords
	if w.Len() == 0 {
		return nil
	}
	counts := make([]int, w.Len())
	if !w.Count(q.reports, counts) {
		return nil
	}
	uses := make([]pipeline.CoordinateUse, 0, len(counts))
	for i, n := range counts {
		if n > 0 {
			uses = append(uses, pipeline.CoordinateUse{Limit: q.sch.coordLimits[i], Count: n})
		}
	}
	var ref *pipeline.Refusal
	q.gov.coordHeaders, ref = rt.shared.ChargeCoordinates(q.r.Context(), q.ex, pipeline.CallerOf(q.id, q.ex.ClientAddr), uses)
	return ref
}

// passed is what happens once a request passed every check: the record
// learns its operations and audit mode reports the unlisted ones.
func (rt *Route) passed(q *request) {
	pipeline.AddCoordinateHeaders(q.ex, q.gov.coordHeaders)
	ps := rt.persisted
	if ps == nil {
		return
	}
	if q.gov.unknown > 0 {
		if c := rt.shared.Counters.UnknownOperations; c != nil {
			c.WithLabelValues(rt.cfg.Name, q.gov.client).Add(float64(q.gov.unknown))
		}
		rt.shared.AuditPassed(q.ex, "unknown_operation", "client", q.gov.client, "client_version", q.gov.clientVersion, "operations", q.gov.unknown)
	}
	if ps.rec == nil {
		return
	}
	for i, p := range q.params {
		rep := q.reports[i]
		ps.rec.Record(trusted.Seen{Body: p.Query, Name: rep.OperationName, Type: rep.OperationType, Client: q.gov.client, ClientVersion: q.gov.clientVersion})
	}
}

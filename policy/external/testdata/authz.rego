# The decision the gateway asks for: authorization.external.url names
# /v1/data/portcullis/authz/decision.
package portcullis.authz

import rego.v1

default allow := false

allow if {
	input.protocol == "graphql"
	not denied_mutation
}

allow if {
	input.protocol == "rest"
	input.rest.operation_id in {"listOrders", "getOrder"}
}

allow if {
	input.protocol == "rest"
	input.rest.operation_id == "createOrder"
	"orders:write" in input.identity.scopes
}

denied_mutation if {
	some c in input.coordinates
	c.coordinate == "Mutation.deleteUser"
	not "admin" in input.identity.roles
}

reason := "only admins may delete users" if denied_mutation
else := "orders:write scope required" if {
	input.protocol == "rest"
	not allow
}
else := ""

# Fields removed in filter mode: e-mail addresses without the pii:read scope.
remove contains c.coordinate if {
	some c in input.coordinates
	c.coordinate == "User.email"
	not "pii:read" in input.identity.scopes
}

decision := {"allow": allow, "reason": reason, "remove": remove}

# A rule that is never defined: asking for it gives an undefined decision.
undefined_decision if false

# A rule whose value is no decision object.
not_an_object := true

# The decision the governance end-to-end tests ask for, against the bundled
# schemas (configs/schemas) and the orders document (configs/specs).
package portcullis.authz

import rego.v1

default allow := false

# GraphQL: everything but updating a user without the users:admin scope.
allow if {
	input.protocol == "graphql"
	not denied_mutation
}

# REST: listing orders needs the caller's tier to be "partner".
allow if {
	input.protocol == "rest"
	input.rest.operation_id == "listOrders"
	input.identity.tier == "partner"
}

allow if {
	input.protocol == "rest"
	input.rest.operation_id != "listOrders"
}

denied_mutation if {
	some c in input.coordinates
	c.coordinate == "Mutation.updateUser"
	not "users:admin" in input.identity.scopes
}

reason := "only user administrators may update users" if denied_mutation
else := "listing orders is for partners" if {
	input.protocol == "rest"
	not allow
}
else := ""

# Filter mode removes user names for callers without users:names.
remove contains c.coordinate if {
	some c in input.coordinates
	c.coordinate == "User.username"
	not "users:names" in input.identity.scopes
}

decision := {"allow": allow, "reason": reason, "remove": remove}

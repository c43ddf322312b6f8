package audit

import (
	"strconv"
	"strings"

	"github.com/portcullis-gw/portcullis/analysis/jsonstrict"
)

// OCSFVersion is the OCSF schema version the events follow
// (https://schema.ocsf.io/1.5.0/classes/api_activity).
const OCSFVersion = "1.5.0"

// OCSF API Activity (class 6003 in category 6, Application Activity).
const (
	ocsfCategory = 6
	ocsfClass    = 6003
)

// Product names the gateway in metadata.product.
type Product struct {
	Name, Vendor, Version string
}

// activity maps a REST method or a GraphQL operation type to the OCSF API
// Activity activity_id: 1 Create, 2 Read, 3 Update, 4 Delete, 99 Other.
func activity(ev *Event) (int, string) {
	if ev.Protocol == "graphql" {
		switch ev.OperationType {
		case "query", "subscription":
			return 2, "Read"
		case "mutation":
			// A mutation changes data; which way is the resolver's business.
			return 3, "Update"
		}
		return 99, "Other"
	}
	switch ev.Method {
	case "POST":
		return 1, "Create"
	case "GET", "HEAD":
		return 2, "Read"
	case "PUT", "PATCH":
		return 3, "Update"
	case "DELETE":
		return 4, "Delete"
	}
	return 99, "Other"
}

// severity: an allowed request is Informational (1); a refusal of identity
// or authorization Medium (3); any other refusal or failure Low (2).
func severity(ev *Event) (int, string) {
	switch {
	case ev.Decision == Allowed:
		return 1, "Informational"
	case ev.Status == 401 || ev.Status == 403:
		return 3, "Medium"
	}
	return 2, "Low"
}

// AppendOCSF appends ev as one OCSF API Activity JSON object. It is
// written by hand, field by field, because it runs for every audited
// request; docs/monitoring.md lists the whole mapping.
func AppendOCSF(b []byte, ev *Event, p *Product) []byte {
	actID, actName := activity(ev)
	sevID, sevName := severity(ev)
	j := jw{b: b}
	j.open()
	j.intField("activity_id", int64(actID))
	j.strField("activity_name", actName)
	j.intField("category_uid", ocsfCategory)
	j.strField("category_name", "Application Activity")
	j.intField("class_uid", ocsfClass)
	j.strField("class_name", "API Activity")
	j.intField("type_uid", ocsfClass*100+int64(actID))
	j.strField("type_name", "API Activity: "+actName)
	j.intField("time", ev.Time.UnixMilli())
	j.intField("severity_id", int64(sevID))
	j.strField("severity", sevName)
	if ev.Decision == Allowed {
		j.intField("action_id", 1)
		j.strField("action", "Allowed")
		j.intField("disposition_id", 1)
		j.strField("disposition", "Allowed")
	} else if ev.Decision == Denied {
		j.intField("action_id", 2)
		j.strField("action", "Denied")
		j.intField("disposition_id", 2)
		j.strField("disposition", "Blocked")
	} else {
		// Every check passed; the answer still failed (upstream, store).
		j.intField("action_id", 1)
		j.strField("action", "Allowed")
	}
	if ev.Decision == Allowed {
		j.intField("status_id", 1)
		j.strField("status", "Success")
	} else {
		j.intField("status_id", 2)
		j.strField("status", "Failure")
		j.strField("status_code", ev.Code)
		if ev.Reason != "" {
			j.strField("status_detail", ev.Reason)
		}
	}
	j.strField("message", message(ev))
	if ev.Count > 1 {
		j.intField("count", int64(ev.Count))
		j.intField("start_time", ev.StartTime.UnixMilli())
		j.intField("end_time", ev.EndTime.UnixMilli())
	}
	appendMetadata(&j, ev, p)
	appendActor(&j, ev)
	appendAPI(&j, ev)
	j.key("src_endpoint")
	j.open()
	j.strField("ip", ev.ClientIP)
	j.close()
	j.key("http_request")
	j.open()
	j.strField("http_method", ev.Method)
	j.key("url")
	j.open()
	j.strField("path", ev.Path)
	j.close()
	if ev.UserAgent != "" {
		j.strField("user_agent", ev.UserAgent)
	}
	j.strField("uid", ev.RequestID)
	j.close()
	if ev.Status != 0 {
		j.key("http_response")
		j.open()
		j.intField("code", int64(ev.Status))
		j.close()
	}
	appendUnmapped(&j, ev)
	j.close()
	return j.b
}

func message(ev *Event) string {
	switch ev.Decision {
	case Allowed:
		return "allowed " + ev.Method + " on route " + ev.Route
	case Denied:
		return "denied " + ev.Method + " on route " + ev.Route + ": " + ev.Code
	}
	return "failed " + ev.Method + " on route " + ev.Route + ": " + ev.Code
}

func appendMetadata(j *jw, ev *Event, p *Product) {
	j.key("metadata")
	j.open()
	j.strField("version", OCSFVersion)
	j.key("profiles")
	j.b = append(j.b, `["security_control"]`...)
	j.first = false
	j.key("product")
	j.open()
	j.strField("name", p.Name)
	j.strField("vendor_name", p.Vendor)
	j.strField("version", p.Version)
	j.close()
	j.strField("correlation_uid", ev.RequestID)
	j.strField("log_name", "audit")
	j.close()
}

func appendActor(j *jw, ev *Event) {
	j.key("actor")
	j.open()
	j.key("user")
	j.open()
	if ev.Subject == "" {
		j.strField("uid", "anonymous")
		j.intField("type_id", 0)
		j.strField("type", "Unknown")
	} else {
		j.strField("uid", ev.Subject)
		// type_id 99 (Other) carries the credential kind in type, as OCSF
		// allows for values its enum does not list.
		j.intField("type_id", 99)
		j.strField("type", ev.SubjectKind)
	}
	j.close()
	if ev.Issuer != "" {
		j.key("idp")
		j.open()
		j.strField("name", ev.Issuer)
		j.close()
	}
	if len(ev.Scopes) > 0 {
		j.key("authorizations")
		j.b = append(j.b, '[')
		for i, s := range ev.Scopes {
			if i > 0 {
				j.b = append(j.b, ',')
			}
			j.first = true
			j.open()
			j.key("policy")
			j.open()
			j.strField("name", s)
			j.strField("desc", "OAuth 2.0 scope held by the caller")
			j.close()
			j.close()
		}
		j.b = append(j.b, ']')
		j.first = false
	}
	j.close()
}

func appendAPI(j *jw, ev *Event) {
	j.key("api")
	j.open()
	switch {
	case ev.OperationName != "":
		j.strField("operation", ev.OperationName)
	case ev.OperationType != "":
		j.strField("operation", ev.OperationType)
	case ev.OperationID != "":
		j.strField("operation", ev.OperationID)
	default:
		j.strField("operation", ev.Method)
	}
	j.key("service")
	j.open()
	j.strField("name", ev.Route)
	j.close()
	j.key("request")
	j.open()
	j.strField("uid", ev.RequestID)
	j.close()
	j.close()
}

func appendUnmapped(j *jw, ev *Event) {
	j.key("unmapped")
	j.open()
	j.strField("decision", ev.Decision.String())
	if ev.Protocol != "" {
		j.strField("protocol", ev.Protocol)
	}
	if ev.OperationType != "" {
		j.strField("graphql_operation_type", ev.OperationType)
	}
	if ev.OperationID != "" {
		j.strField("operation_id", ev.OperationID)
	}
	if ev.Detail != "" {
		j.strField("detail", ev.Detail)
	}
	if ev.Cost != 0 {
		j.intField("cost", ev.Cost)
	}
	if len(ev.Coordinates) > 0 {
		j.strList("coordinates", ev.Coordinates)
	}
	if len(ev.UnauthorizedPaths) > 0 {
		j.strList("unauthorized_paths", ev.UnauthorizedPaths)
	}
	j.close()
}

// jw appends JSON objects; first tracks whether a comma is due.
type jw struct {
	b     []byte
	first bool
}

func (j *jw) open() {
	j.b = append(j.b, '{')
	j.first = true
}

func (j *jw) close() {
	j.b = append(j.b, '}')
	j.first = false
}

func (j *jw) key(k string) {
	if !j.first {
		j.b = append(j.b, ',')
	}
	j.first = false
	j.b = append(j.b, '"')
	j.b = append(j.b, k...)
	j.b = append(j.b, '"', ':')
}

func (j *jw) strField(k, v string) {
	j.key(k)
	j.b = AppendJSONString(j.b, v)
}

func (j *jw) intField(k string, v int64) {
	j.key(k)
	j.b = strconv.AppendInt(j.b, v, 10)
}

func (j *jw) strList(k string, vs []string) {
	j.key(k)
	j.b = append(j.b, '[')
	for i, v := range vs {
		if i > 0 {
			j.b = append(j.b, ',')
		}
		j.b = AppendJSONString(j.b, v)
	}
	j.b = append(j.b, ']')
}

// AppendJSONString quotes s as a JSON string with the module's one string
// writer (jsonstrict.AppendString): invalid UTF-8 becomes U+FFFD and line
// separators are escaped, so no value can break the event's JSON or the
// syslog frame around it.
func AppendJSONString(b []byte, s string) []byte { return jsonstrict.AppendString(b, s) }

// scopesString is the space-separated scope list for the log sink.
func scopesString(s []string) string { return strings.Join(s, " ") }

// Package testkit is the home of the helpers tests share: the fake clock
// (fakeclock), the Redis the tests need (redistest), the recording upstream
// (upstreamtest) and the gateway process starter (gatewaytest). Only tests
// import these packages: _test.go files anywhere, and the packages under
// test/ (test/deps_test.go checks it).
package testkit

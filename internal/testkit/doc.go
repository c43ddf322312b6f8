// Package testkit is the home of the helpers tests share, one package a
// job: fakeclock (an injected clock), redistest (the Redis the tests need),
// upstreamtest (the recording upstream), gatewaytest (the gateway process,
// its replies and the assertions on them), golden (golden files with
// -update) and syncbuf (a child process's output). Only tests import these
// packages: _test.go files anywhere, and the packages under test/
// (test/deps_test.go checks it).
package testkit

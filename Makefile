# Portcullis: everything a fresh machine with only Go needs.
GO              ?= go
BIN             := bin
VERSION         ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS         := -X main.version=$(VERSION)

.PHONY: all build demo test lint bench bench-go bench-core fuzz clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/portcullis ./cmd/portcullis
	$(GO) build -o $(BIN)/example-upstreams ./test/cmd/upstreams

## demo: the gateway in front of the bundled example upstreams (in-memory limiter, no external services)
demo: build
	bash test/demo.sh

## lint: gofmt, go vet, staticcheck (a tool directive in go.mod) and a tidy go.mod
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...
	@$(GO) mod tidy -diff >/dev/null || { echo "go.mod/go.sum are not tidy: run go mod tidy"; $(GO) mod tidy -diff; exit 1; }

## test: lint, then every test (unit, end-to-end, fuzz seeds) with the race detector
test: lint
	$(GO) test -race -count=1 -timeout 8m ./...

## bench: Go benchmarks of the request path, the pinned per-core benchmark (the figure of record:
## each proxy alone on one core with GOMAXPROCS=1, wrk and the upstream on the other), then the
## in-process load comparison. COREBENCH_FLAGS passes flags (-rounds, -duration, -only, -cpuprofile DIR).
COREBENCH_FLAGS ?=
bench: bench-go bench-core
	$(GO) run ./test/cmd/loadbench

bench-go:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 1s ./gateway/... ./upstream/... ./analysis/... ./policy/... ./schema/...

bench-core:
	@command -v wrk >/dev/null 2>&1 || { echo "make bench: wrk not found; installing it with apt-get"; \
	  apt-get install -y wrk >/dev/null 2>&1 || sudo -n apt-get install -y wrk >/dev/null 2>&1 || \
	  { echo "make bench: could not install wrk: install it (apt-get install -y wrk; brew install wrk) and re-run"; exit 1; }; }
	@command -v taskset >/dev/null 2>&1 || { echo "make bench: taskset not found: install util-linux (apt-get install -y util-linux)"; exit 1; }
	$(GO) build -o $(BIN)/corebench ./test/cmd/corebench
	$(BIN)/corebench $(COREBENCH_FLAGS)

## fuzz: run each fuzz target for FUZZTIME (default 20s); new finds land in testdata/fuzz
FUZZTIME ?= 20s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzGraphQLFrontDoor$$' -fuzztime $(FUZZTIME) ./gateway/
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./gateway/config/
	$(GO) test -run '^$$' -fuzz '^FuzzAnalyze$$' -fuzztime $(FUZZTIME) ./analysis/
	$(GO) test -run '^$$' -fuzz '^FuzzMatch$$' -fuzztime $(FUZZTIME) ./analysis/rest/
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./analysis/gqlrequest/
	$(GO) test -run '^$$' -fuzz '^FuzzParseSDL$$' -fuzztime $(FUZZTIME) ./schema/

clean:
	rm -rf $(BIN)

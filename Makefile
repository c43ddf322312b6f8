# Portcullis: everything a fresh machine with only Go needs.
GO              ?= go
BIN             := bin
VERSION         ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS         := -X main.version=$(VERSION)

.PHONY: all build demo test lint bench fuzz clean

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

## bench: Go benchmarks of the request path, then the end-to-end load comparison
bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 1s ./gateway/... ./upstream/... ./analysis/... ./policy/... ./schema/...
	$(GO) run ./test/cmd/loadbench

## fuzz: run each fuzz target for FUZZTIME (default 20s); new finds land in testdata/fuzz
FUZZTIME ?= 20s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzGraphQLFrontDoor$$' -fuzztime $(FUZZTIME) ./gateway/
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./gateway/config/
	$(GO) test -run '^$$' -fuzz '^FuzzAnalyze$$' -fuzztime $(FUZZTIME) ./analysis/
	$(GO) test -run '^$$' -fuzz '^FuzzMatch$$' -fuzztime $(FUZZTIME) ./analysis/rest/
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./analysis/gqlrequest/
	$(GO) test -run '^$$' -fuzz '^FuzzParseSDL$$' -fuzztime $(FUZZTIME) ./schema/
	$(GO) test -run '^$$' -fuzz '^FuzzFederatedFilter$$' -fuzztime $(FUZZTIME) ./test/

clean:
	rm -rf $(BIN)

# The README's two commands are `make dev` and `make test`.
GO ?= go
JS_DIRS := itest/js

.PHONY: dev test unit js fmt lint bench fuzz official cluster-up cluster-down

dev:
	$(GO) run ./cmd/switchboard dev

# The whole test suite: JS test clients, then every Go test with the race detector.
test: js
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 12m ./...

unit:
	$(GO) test -race -count=1 ./protocol/... ./edge/...

js:
	@for d in $(JS_DIRS); do \
		if [ -f $$d/package-lock.json ]; then (cd $$d && npm ci --no-audit --no-fund --loglevel=error); fi; \
	done

fmt:
	gofmt -w $$(git ls-files '*.go')

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet ./...

bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./protocol/... ./edge/...

fuzz:
	$(GO) test -run='^$$' -fuzz=FuzzDecodePayload -fuzztime=60s ./protocol/engineio

# Needs local copies of the two protocol repositories; see docs/conformance.md.
official:
	scripts/run-official.sh $(ENGINE_IO_PROTOCOL) $(SOCKET_IO_PROTOCOL)

# A local cluster of loopback processes (NATS, Redis, 3 edges, HAProxy, the chat service).
cluster-up:
	scripts/cluster.sh up $(N)

cluster-down:
	scripts/cluster.sh down

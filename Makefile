# xenbox: debug unikernels built for Xen PV on EC2 on a local Xen, with gdb.
#
#   make demo   set up this machine, boot Xen under QEMU and debug the bundled sample
#   make test   set up this machine, then lint, unit tests and the end-to-end suite under Xen
#   make bench  benchmarks, written to build/bench.txt

SHELL := /usr/bin/env bash
export PATH := $(PATH):/usr/local/go/bin
GO ?= go
BUILD := $(CURDIR)/build
XENBOX := $(BUILD)/bin/xenbox
SAMPLE := $(BUILD)/sample

.PHONY: all deps build sample demo test test-unit test-netns test-e2e lint bench clean

all: build

deps:
	test/harness/host-deps.sh

build:
	$(GO) build -o $(XENBOX) ./tools/cmd/xenbox

sample:
	$(MAKE) -C examples/sample-unikernel OUT=$(SAMPLE)

demo: deps build sample
	test/demo.sh

test: deps lint test-unit test-netns test-e2e

test-unit:
	$(GO) test -count=1 ./tools/...

# The metadata redirect, with the real vif hook and iptables, in network namespaces the test
# makes (needs root).
test-netns: build
	XENBOX_NETNS=1 $(GO) test -count=1 -v ./test/netns/...

test-e2e: build sample
	XENBOX_E2E=1 $(GO) test -count=1 -v -timeout 40m ./test/e2e/...

lint:
	@unformatted="$$(gofmt -l tools test)"; \
	  if [[ -n "$$unformatted" ]]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	shellcheck -x provisioners/*.sh provisioners/vif-metadata provisioners/vif-metadata.hook \
	  test/harness/*.sh test/guests/*.sh test/*.sh examples/sample-unikernel/*.sh .ci/run

bench: deps build sample
	XENBOX_NETNS=1 XENBOX_E2E=1 XENBOX_BENCH_OUT=$(BUILD)/bench.txt $(GO) test -count=1 \
	  -run '^$$' -bench . -benchtime 1x -timeout 40m ./test/netns/... ./test/e2e/...
	@cat $(BUILD)/bench.txt

clean:
	rm -rf $(BUILD)

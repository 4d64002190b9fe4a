# xenbox: debug unikernels built for Xen PV on EC2 on a local Xen, with gdb.
#
#   make demo   set up this machine, boot Xen under QEMU and debug the bundled sample
#   make test   set up this machine, then lint, unit tests, the end-to-end suite under Xen,
#               and the box: baked with Packer, brought up with Vagrant, debugged in
#   make box    bake the Vagrant box (libvirt) into build/, offline
#   make bench  benchmarks, written to build/bench.txt

SHELL := /usr/bin/env bash
export PATH := $(PATH):/usr/local/go/bin
GO ?= go
BUILD := $(CURDIR)/build
XENBOX := $(BUILD)/bin/xenbox
SAMPLE := $(BUILD)/sample

.PHONY: all deps build build-linux sample demo box test test-unit test-netns test-e2e \
	test-box test-vagrant lint bench clean

all: build

deps:
	test/harness/host-deps.sh

build:
	$(GO) build -o $(XENBOX) ./tools/cmd/xenbox

# The xenbox the box runs (metadata service, doctor): static, for linux/amd64.
build-linux:
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 $(GO) build -trimpath -o $(BUILD)/linux-amd64/xenbox \
	  ./tools/cmd/xenbox

sample:
	$(MAKE) -C examples/sample-unikernel OUT=$(SAMPLE)

demo: deps build sample
	test/demo.sh

box: deps
	packer/build-box.sh

test: deps lint test-unit test-netns test-e2e test-box

test-unit:
	$(GO) test -count=1 ./tools/... ./packer/... ./provisioners/... ./test/provisioners/...

# The metadata redirect, with the real vif hook and iptables, in network namespaces the test
# makes (needs root).
test-netns: build
	XENBOX_NETNS=1 $(GO) test -count=1 -v ./test/netns/...

test-e2e: build sample
	XENBOX_E2E=1 $(GO) test -count=1 -v -timeout 40m ./test/e2e/...

# The box's acceptance: bake it for real, then bring it up with Vagrant and debug the sample in
# it from this machine.
test-box: box test-vagrant

# Vagrant on libvirt, in a network namespace of the test's own (needs root and a baked box).
test-vagrant: build build-linux sample
	XENBOX_VAGRANT=1 $(GO) test -count=1 -v -timeout 30m ./test/vagrant/...

lint:
	@unformatted="$$(gofmt -l tools test packer provisioners)"; \
	  if [[ -n "$$unformatted" ]]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	shellcheck -x provisioners/*.sh provisioners/vif-metadata provisioners/vif-metadata.hook \
	  test/harness/*.sh test/guests/*.sh test/*.sh examples/sample-unikernel/*.sh .ci/run \
	  packer/*.sh vagrant/*.sh
	ruby -c Vagrantfile >/dev/null
	packer/build-box.sh lint

bench: deps build sample box
	rm -f $(BUILD)/bench.txt
	XENBOX_NETNS=1 XENBOX_E2E=1 XENBOX_BOX_BENCH=1 XENBOX_BENCH_OUT=$(BUILD)/bench.txt \
	  $(GO) test -count=1 -p 1 -run '^$$' -bench . -benchtime 1x -timeout 60m \
	  ./test/netns/... ./test/e2e/... ./test/box/...
	@cat $(BUILD)/bench.txt

clean:
	rm -rf $(BUILD)

# cloudplane: `make run` starts the platform, `make test` runs every test.
SHELL := /bin/bash
BUILD ?= build
ASAN_BUILD ?= build-asan

.PHONY: all build asan web tofu run test clean bench

all: build

$(BUILD)/build.ninja:
	cmake -S backend -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null

$(ASAN_BUILD)/build.ninja:
	cmake -S backend -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCP_SANITIZE=ON >/dev/null

build: $(BUILD)/build.ninja
	ninja -C $(BUILD) --quiet

asan: $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD) --quiet

web:
	@scripts/build-web.sh

tofu:
	@scripts/install-tofu.sh >/dev/null

run:
	@scripts/bootstrap.sh run
	@$(MAKE) --no-print-directory build web
	@tofu=$$(scripts/install-tofu.sh) && \
	  export CLOUDPLANE_TF_BINARY="$${CLOUDPLANE_TF_BINARY:-$$tofu}" && \
	  exec ./$(BUILD)/cloudplane serve

test:
	@scripts/test.sh

bench: build
	@bench/api.sh

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) frontend/dist

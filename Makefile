# cloudplane: `make run` starts the platform, `make test` runs every test.
SHELL := /bin/bash
BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60

FUZZ_API_SECONDS ?= 900

.PHONY: all build asan fuzz fuzz-api web tofu run test clean bench check-modules

all: build

$(BUILD)/build.ninja:
	cmake -S backend -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null

$(ASAN_BUILD)/build.ninja:
	cmake -S backend -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCP_SANITIZE=ON >/dev/null

build: $(BUILD)/build.ninja
	ninja -C $(BUILD) --quiet

asan: $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD) --quiet

# libFuzzer targets (backend/fuzz), FUZZ_SECONDS each; new corpus entries stay in a temp dir.
fuzz:
	@FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_BUILD=$(FUZZ_BUILD) scripts/fuzz.sh

# The API contract check with a larger budget than make test's (FUZZ_API_SECONDS,
# FUZZ_API_SEED); BINARY=build-asan/cloudplane runs it against the ASan build.
fuzz-api: build
	@scripts/bootstrap.sh test
	@tofu=$$(scripts/install-tofu.sh) && mirror=$$(scripts/install-provider.sh) && \
	  CP_TOFU="$$tofu" CLOUDPLANE_PROVIDER_MIRROR="$$mirror" python3 tests/contract/run.py \
	    --binary "$${BINARY:-$(BUILD)/cloudplane}" --max-time $(FUZZ_API_SECONDS) --seed $${FUZZ_API_SEED:-11}

web:
	@scripts/build-web.sh

tofu:
	@scripts/install-tofu.sh >/dev/null

run:
	@scripts/bootstrap.sh run
	@$(MAKE) --no-print-directory build web
	@tofu=$$(scripts/install-tofu.sh) && mirror=$$(scripts/install-provider.sh) && \
	  export CLOUDPLANE_TF_BINARY="$${CLOUDPLANE_TF_BINARY:-$$tofu}" && \
	  export CLOUDPLANE_PROVIDER_MIRROR="$${CLOUDPLANE_PROVIDER_MIRROR:-$$mirror}" && \
	  export CLOUDPLANE_MAIL_OUTBOX="$${CLOUDPLANE_MAIL_OUTBOX:-$$PWD/var/outbox}" && \
	  exec ./$(BUILD)/cloudplane serve

test:
	@scripts/test.sh

# The modules alone: provider-schema check of the cloud modules (and its tests),
# then tests/modules/check_modules.sh (catalog, fmt, inputs, sandbox apply).
check-modules:
	@rc=0; \
	  python3 tests/modules/schema/check_schema.py || rc=1; \
	  python3 -m pytest -q -p no:cacheprovider tests/modules || rc=1; \
	  tofu=$$(scripts/install-tofu.sh) && $(MAKE) --no-print-directory build && \
	    tests/modules/check_modules.sh "$$tofu" || rc=1; \
	  exit $$rc

# Every benchmark (bench/all.sh, under 15 minutes), then bench/results.md.
bench: build
	@scripts/bootstrap.sh test
	@bench/all.sh

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) frontend/dist

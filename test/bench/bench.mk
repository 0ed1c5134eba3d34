# Benchmarks, included by the top-level Makefile.
#   make bench-build   the Google Benchmark harness, the workloads and the callgrind programs
#   make bench         bench-build, then scripts/bench-compare.sh --quick (BENCH_ARGS to change)
#   make bench-full    bench-build, then the full comparison (about 30-40 minutes)
#   make bench-callgrind  instructions per malloc+free pair under callgrind
# The binaries link no allocator: the comparison runs each one under LD_PRELOAD.
BENCH_DIR       := $(B)/bench
BENCH_CFLAGS    := -std=gnu11 -O2 -g -Wall -Wextra -Werror -pthread -fno-builtin-malloc -fno-builtin-free
BENCH_CXXFLAGS  := -std=c++17 -O2 -g -Wall -Wextra -Werror -pthread
BENCH_WORKLOADS := $(patsubst test/bench/workloads/%.c,$(BENCH_DIR)/%,$(wildcard test/bench/workloads/*.c))
BENCH_CALLGRIND := $(patsubst test/bench/callgrind/%.c,$(BENCH_DIR)/callgrind/%,$(wildcard test/bench/callgrind/*.c))
BENCH_ARGS      ?= --quick

.PHONY: bench bench-build bench-full bench-callgrind
bench-build: lib $(BENCH_DIR)/harness $(BENCH_WORKLOADS) $(BENCH_CALLGRIND)

$(BENCH_DIR)/harness: test/bench/harness.cc
	@mkdir -p $(@D)
	$(CXX) $(BENCH_CXXFLAGS) -o $@ $< -lbenchmark -lpthread
$(BENCH_DIR)/%: test/bench/workloads/%.c test/bench/workloads/common.h
	@mkdir -p $(@D)
	$(CC) $(BENCH_CFLAGS) -o $@ $<
# the callgrind programs: see test/bench/callgrind/pairs.h
$(BENCH_DIR)/callgrind/%: test/bench/callgrind/%.c test/bench/callgrind/pairs.h
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -O2 -g -Wall -Wextra -Werror -pthread -fno-builtin-malloc -fno-builtin-free -o $@ $<

bench: bench-build
	scripts/bench-compare.sh --no-build --build $(B) $(BENCH_ARGS)
bench-full: bench-build
	scripts/bench-compare.sh --no-build --build $(B)
bench-callgrind: bench-build
	scripts/callgrind-pairs.sh --no-build --build $(B)

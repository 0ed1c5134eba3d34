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

# ---- the collector side by side (test/bench/gc/README.md) --------------------------------------
#   make bench-gc-build   the programs of test/bench/gc: planted leaks, GCBench, the leaky loop and
#                         the live heap, each against bdwgc (libgc-dev, -lgc) and plain malloc
#   make bench-gc         bench-gc-build, then scripts/gc-compare.sh (BENCH_GC_ARGS: its options,
#                         e.g. BENCH_GC_ARGS="--quick" or "--only pauses --rounds 3")
BENCH_GC       := $(BENCH_DIR)/gc
BENCH_GC_ARGS  ?=
BENCH_GC_BINS  := $(BENCH_GC)/planted $(BENCH_GC)/lsan_init.so \
	$(foreach v,bdw nofree free,$(BENCH_GC)/gcbench-$(v) $(BENCH_GC)/leaky-$(v)) \
	$(BENCH_GC)/heap-bdw $(BENCH_GC)/heap-malloc
BENCH_GC_VDEF   = $(if $(filter bdw,$(1)),-DGCB_BDW,$(if $(filter nofree,$(1)),-DGCB_NOFREE,-DGCB_FREE))
BENCH_GC_VLIB   = $(if $(filter bdw,$(1)),-lgc)

.PHONY: bench-gc bench-gc-build
bench-gc-build: lib $(BENCH_GC_BINS)

# planted: -O1 and frame pointers (LeakSanitizer's default unwinder walks them), -rdynamic so that
# every finder can name the plant_* functions
$(BENCH_GC)/planted: test/bench/gc/planted.c
	@mkdir -p $(@D)
	$(CC) $(BENCH_CFLAGS) -O1 -fno-omit-frame-pointer -rdynamic -o $@ $<
$(BENCH_GC)/lsan_init.so: test/bench/gc/lsan_init.c
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -O2 -Wall -Wextra -Werror -shared -fPIC -o $@ $< -ldl
$(BENCH_GC)/gcbench-%: test/bench/gc/gcbench.c
	@mkdir -p $(@D)
	$(CC) $(BENCH_CFLAGS) $(call BENCH_GC_VDEF,$*) -o $@ $< $(call BENCH_GC_VLIB,$*)
$(BENCH_GC)/leaky-%: test/bench/gc/leaky.c
	@mkdir -p $(@D)
	$(CC) $(BENCH_CFLAGS) $(call BENCH_GC_VDEF,$*) -o $@ $< $(call BENCH_GC_VLIB,$*)
$(BENCH_GC)/heap-bdw: test/bench/gc/heap.c
	@mkdir -p $(@D)
	$(CC) $(BENCH_CFLAGS) -DGCB_BDW -o $@ $< -lgc
$(BENCH_GC)/heap-malloc: test/bench/gc/heap.c preload/goalloc.h
	@mkdir -p $(@D)
	$(CC) $(BENCH_CFLAGS) -Ipreload -DGCB_MALLOC -o $@ $< -ldl

bench-gc: bench-gc-build
	scripts/gc-compare.sh --no-build --build $(B) $(BENCH_GC_ARGS)

# ---- RSS over time (scripts/rss-compare.sh) -----------------------------------------------------
#   make rss-build   the launcher's RSS sampler, the workloads, test/bench/rss/ and the never-freeing
#                    leaky loop
#   make rss         rss-build, then scripts/rss-compare.sh --quick (RSS_ARGS: its options, e.g.
#                    RSS_ARGS="--rounds 5" for the full sizes, or "--quick --only growfree,bursts")
BENCH_RSS := $(BENCH_DIR)/rss
RSS_ARGS  ?= --quick
.PHONY: rss rss-build
rss-build: lib launcher $(BENCH_WORKLOADS) $(BENCH_RSS)/growfree $(BENCH_RSS)/bursts $(BENCH_GC)/leaky-nofree
$(BENCH_RSS)/%: test/bench/rss/%.c
	@mkdir -p $(@D)
	$(CC) $(BENCH_CFLAGS) -o $@ $<
rss: rss-build
	scripts/rss-compare.sh --no-build --build $(B) $(RSS_ARGS)

# goalloc — build, test, install.  `make` builds build/libgoalloc.so; `make test` runs the suite.
CC      ?= cc
CXX     ?= c++
PREFIX  ?= /usr/local
DESTDIR ?=
B       := build

# DWARF 4: valgrind 3.19 cannot read the DWARF 5 that clang 14 emits by default.
WARN    := -Wall -Wextra -Werror
CSTD    := -std=gnu11
# -fno-builtin-*: the compiler must not turn our own malloc+memset into a call to calloc (or
# similar) inside the allocator itself.
# -iquote core: core's headers are included as "name.h" only, so that <malloc.h> is still the C
# library's and not core/malloc.h.
# -DGA_SIGNALS_WRAPPED: the library installs the program's signal handlers behind its trampoline
# (preload/signal.c), so its fast paths store nothing for the re-entry guard (core/mcache.h).
LIBCFLAGS := $(CSTD) -O2 -gdwarf-4 -fPIC $(WARN) -fvisibility=hidden -ftls-model=initial-exec \
	-DGA_SIGNALS_WRAPPED \
	-fno-semantic-interposition -fno-builtin-malloc -fno-builtin-free -fno-builtin-calloc \
	-fno-builtin-realloc -fexceptions -I$(B)/gen -iquote core -Ipreload $(FLAVOUR_CFLAGS) $(EXTRA_CFLAGS)
# -Bsymbolic-functions: goalloc's own calls between its exported functions (operator new →
# goalloc_malloc, ...) bind directly, not through the PLT.
LIBLDFLAGS := -shared -Wl,-z,initfirst -Wl,-soname,libgoalloc.so -Wl,-z,now -Wl,--no-undefined \
	-Wl,--gc-sections -Wl,-Bsymbolic-functions
TESTCFLAGS := $(CSTD) -O1 -gdwarf-4 $(WARN) -pthread -Itest -Ipreload -iquote core -I$(B)/gen $(FLAVOUR_CFLAGS)
# The debug flavour (`make debug`, in build-debug/): GA_ASSERT on the invariants and the lock-order
# witness compiled in (-DGA_DEBUG), at -O1 so that a debugger still sees most variables. It applies
# to the library and to the unit tests, which link the core.
DEBUG_B      := build-debug
DEBUG_CFLAGS := -DGA_DEBUG -O1 -foptimize-sibling-calls

CORE_SRC    := $(wildcard core/*.c)
PRELOAD_SRC := $(wildcard preload/*.c)
LIB_SRC     := $(CORE_SRC) $(PRELOAD_SRC)
HDRS        := $(wildcard core/*.h preload/*.h) $(B)/gen/sizeclasses.h

UNIT_SRC  := $(wildcard test/unit/t_*.c)
UNIT_BIN  := $(UNIT_SRC:test/unit/%.c=$(B)/test/unit/%)
API_SRC   := $(wildcard test/api/t_*.c)
API_BIN   := $(API_SRC:test/api/%.c=$(B)/test/api/%)
FAULT_SRC := $(wildcard test/faults/t_*.c)
FAULT_BIN := $(FAULT_SRC:test/faults/%.c=$(B)/test/faults/%)
TESTS_SH  := $(wildcard test/unit/*.sh test/preload/*.sh test/api/*.sh test/faults/*.sh test/programs/*.sh test/fuzz/*.sh \
	test/scripts/*.sh)
# The collector's tests (test/gc/): programs t_*.c run with goalloc preloaded by their own .sh
# drivers, which set the GC mode; lib_*.c become shared libraries they dlopen. Natively only (and
# in the debug flavour): under memcheck and ThreadSanitizer the GC modes refuse to start.
GC_SRC    := $(wildcard test/gc/t_*.c)
GC_BIN    := $(GC_SRC:test/gc/%.c=$(B)/test/gc/%)
GC_LIBSRC := $(wildcard test/gc/lib_*.c)
GC_LIBS   := $(GC_LIBSRC:test/gc/%.c=$(B)/test/gc/%.so)
GC_SH     := $(wildcard test/gc/*.sh)

.PHONY: launcher gc-tests test-gc all lib valgrind-lib tests test test-valgrind test-tsan check-exports install clean debug debug-tests test-debug fault-lib
all: lib launcher
lib: $(B)/libgoalloc.so

# ---- size classes --------------------------------------------------------------------------
$(B)/gen/mksizeclasses: sizeclass_gen/mksizeclasses.c
	@mkdir -p $(@D)
	$(CC) -O2 $(WARN) -o $@ $<
$(B)/gen/sizeclasses.h: sizeclass_gen/sizeclasses.txt $(B)/gen/mksizeclasses
	$(B)/gen/mksizeclasses sizeclass_gen/sizeclasses.txt $@

# ---- the library (release and valgrind flavours) -------------------------------------------
$(B)/libgoalloc.so: $(LIB_SRC) $(HDRS)
	$(CC) $(LIBCFLAGS) $(LIBLDFLAGS) -o $@ $(LIB_SRC)
valgrind-lib: $(B)/valgrind/libgoalloc.so
$(B)/valgrind/libgoalloc.so: $(LIB_SRC) $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(LIBCFLAGS) -DGOALLOC_VALGRIND $(LIBLDFLAGS) -o $@ $(LIB_SRC)

# The fault-injection flavour: chosen mmap/mremap/madvise calls fail on request (core/os.c,
# GOALLOC_FAULT_* variables); test/faults/ runs its programs under it.
fault-lib: $(B)/fault/libgoalloc.so
$(B)/fault/libgoalloc.so: $(LIB_SRC) $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(LIBCFLAGS) -DGA_FAULT_INJECT $(LIBLDFLAGS) -o $@ $(LIB_SRC)

# ---- the launcher ---------------------------------------------------------------------------
# `goalloc [options] -- program args...` (scripts/goalloc.in): the build tree's copy runs the
# library it was built beside; `make install` writes one for the installed paths. rss-sample
# (scripts/rss-sample.c) samples a program's RSS for --rss-plot and scripts/rss-compare.sh.
# launcher_sed LIB,RSS-SAMPLE,RSS-PLOT: scripts/goalloc.in with those paths substituted.
launcher_sed = sed -e 's|@LIB@|$(1)|g' -e 's|@RSS_SAMPLE@|$(2)|g' -e 's|@RSS_PLOT@|$(3)|g' scripts/goalloc.in
launcher: $(B)/goalloc $(B)/rss-sample
$(B)/goalloc: scripts/goalloc.in
	@mkdir -p $(@D)
	$(call launcher_sed,$(abspath $(B))/libgoalloc.so,$(abspath $(B))/rss-sample,$(CURDIR)/scripts/rss-plot.sh) > $@.tmp
	chmod 755 $@.tmp && mv $@.tmp $@
$(B)/rss-sample: scripts/rss-sample.c
	@mkdir -p $(@D)
	$(CC) $(CSTD) -O2 $(WARN) -o $@ $<

# ---- tests ------------------------------------------------------------------------------------
# Unit tests link the core directly (no exported malloc names); API tests are plain programs run
# with the library preloaded.
$(B)/test/unit/%: test/unit/%.c $(CORE_SRC) $(HDRS) test/tap.h test/death.h
	@mkdir -p $(@D)
	$(CC) $(TESTCFLAGS) -o $@ $< $(CORE_SRC)
$(B)/test/api/%: test/api/%.c $(HDRS) test/tap.h test/death.h $(wildcard test/api/*.h)
	@mkdir -p $(@D)
	$(CC) $(TESTCFLAGS) -o $@ $< -lm
# The death tests hand the allocator bad pointers and sizes: the compiler must not drop or change
# those calls.
$(B)/test/api/t_death $(B)/test/api/t_owner: TESTCFLAGS += -fno-builtin
# GC test programs: -fno-builtin (they plant leaks the compiler would otherwise remove), frame
# pointers and symbols kept (their reports name functions), linked with -rdynamic so dladdr
# names their functions too.
$(B)/test/gc/%: test/gc/%.c $(HDRS) test/tap.h $(wildcard test/gc/*.h)
	@mkdir -p $(@D)
	$(CC) $(TESTCFLAGS) -fno-builtin -fno-omit-frame-pointer -rdynamic -o $@ $< -ldl -lm
$(B)/test/gc/%.so: test/gc/%.c $(wildcard test/gc/*.h)
	@mkdir -p $(@D)
	$(CC) $(TESTCFLAGS) -fno-builtin -fPIC -shared -o $@ $<
gc-tests: $(GC_BIN) $(GC_LIBS)
debug-tests: lib $(UNIT_BIN) $(API_BIN) $(GC_BIN) $(GC_LIBS) $(B)/fuzz/fuzz_ops
debug:
	$(MAKE) --no-print-directory B=$(DEBUG_B) FLAVOUR_CFLAGS="$(DEBUG_CFLAGS)" lib
# Programs that test/faults/*.sh run (natively only: they set resource limits and inject faults).
$(B)/test/faults/%: test/faults/%.c $(HDRS) test/tap.h $(wildcard test/api/*.h)
	@mkdir -p $(@D)
	$(CC) $(TESTCFLAGS) -Itest/api -o $@ $< -lm
tests: lib launcher $(B)/bench/rss/growfree valgrind-lib fault-lib $(UNIT_BIN) $(API_BIN) $(FAULT_BIN) $(GC_BIN) $(GC_LIBS) $(B)/fuzz/fuzz_ops

PROVE ?= prove
# `make test` = the suite natively, then natively again against the debug flavour, then the unit
# and API tests under memcheck, then the threaded tests under ThreadSanitizer.
test: tests
	GOALLOC_LIB=$(CURDIR)/$(B)/libgoalloc.so GOALLOC_VALGRIND_LIB=$(CURDIR)/$(B)/valgrind/libgoalloc.so \
	GOALLOC_FAULT_LIB=$(CURDIR)/$(B)/fault/libgoalloc.so \
	GOALLOC_BUILD=$(B) $(PROVE) -j2 --exec test/run-one.sh $(UNIT_BIN) $(API_BIN) $(TESTS_SH) $(GC_SH)
	$(MAKE) --no-print-directory test-debug
	$(MAKE) --no-print-directory test-valgrind
	$(MAKE) --no-print-directory test-tsan

# The native suite against the debug flavour (its assertions and lock witness), with every span,
# exiting thread's cache and, at exit, the whole heap verified (GOALLOC_CHECK=1). Not the scripts
# that need the valgrind flavour or install the release library.
DEBUG_SKIP_SH := test/api/valgrind_uaf.sh test/preload/t_install.sh test/preload/t_launcher.sh \
	test/scripts/t_rss_compare.sh
test-debug:
	$(MAKE) --no-print-directory B=$(DEBUG_B) FLAVOUR_CFLAGS="$(DEBUG_CFLAGS)" debug-tests
	GOALLOC_LIB=$(CURDIR)/$(DEBUG_B)/libgoalloc.so GOALLOC_BUILD=$(DEBUG_B) GOALLOC_CHECK=1 \
	$(PROVE) -j2 --exec test/run-one.sh $(UNIT_BIN:$(B)/%=$(DEBUG_B)/%) $(API_BIN:$(B)/%=$(DEBUG_B)/%) \
	  $(filter-out $(DEBUG_SKIP_SH),$(TESTS_SH)) $(GC_SH)

# The collector's tests alone (natively).
test-gc: lib $(GC_BIN) $(GC_LIBS)
	GOALLOC_LIB=$(CURDIR)/$(B)/libgoalloc.so GOALLOC_BUILD=$(B) $(PROVE) -j2 --exec test/run-one.sh $(GC_SH)

# Unit and API tests under memcheck, goalloc's own blocks checked through client requests (the
# heavy tests scale themselves down under valgrind; t_uaf_valgrind is driven by its .sh). t_oom
# runs natively only: the RLIMIT_AS it sets bounds valgrind's own memory as well, and once the
# program has used the address space up, memcheck has none left to translate the code that the
# failure paths then run for the first time, so whether it passes depends on how much code valgrind
# translated before (it failed with the clang build of the library and passed with gcc's).
VALGRIND_SKIP := $(B)/test/api/t_uaf_valgrind $(B)/test/api/t_oom
test-valgrind: tests
	GOALLOC_LIB=$(CURDIR)/$(B)/valgrind/libgoalloc.so GOALLOC_UNDER_VALGRIND=1 GOALLOC_BUILD=$(B) \
	$(PROVE) -j2 --exec test/run-one.sh $(UNIT_BIN) $(filter-out $(VALGRIND_SKIP),$(API_BIN))

# Threaded tests with ThreadSanitizer: goalloc's entry points linked in directly (TSan owns the
# libc names), built with -fsanitize=thread, and -mcx16 so that the owners' 16-byte
# compare-and-swap (core/mowner.h) is one instruction TSan instruments, not a libatomic call.
TSAN_TESTS := $(filter $(B)/test/api/t_threads%,$(API_BIN))
test-tsan: $(B)/gen/sizeclasses.h
	@mkdir -p $(B)/tsan
	for t in $(TSAN_TESTS:$(B)/test/api/%=%); do \
	  $(CC) $(CSTD) -O1 -g -fsanitize=thread -mcx16 -pthread -DGOALLOC_DIRECT -DGOALLOC_NO_LIBC_NAMES \
	    -Itest -Ipreload -iquote core -I$(B)/gen -o $(B)/tsan/$$t test/api/$$t.c $(CORE_SRC) \
	    preload/malloc.c preload/foreign.c || exit 1; \
	done
	GOALLOC_BUILD=$(B) TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
	$(PROVE) -j1 $(TSAN_TESTS:$(B)/test/api/%=$(B)/tsan/%)

# ---- fuzzing ----------------------------------------------------------------------------------
# test/fuzz/fuzz_ops.c drives the core with op sequences decoded from libFuzzer's input. libFuzzer
# allocates with the C library, so goalloc is linked in under its own names only, as for the
# ThreadSanitizer build. libFuzzer needs clang whatever CC is (Debian: libclang-rt-14-dev).
# UBSan checks goalloc's code too; ASan cannot (it would own the malloc family goalloc defines).
# FUZZ_SRC: the allocator's sources the harness links (the exported functions included).
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_SRC     := $(CORE_SRC) preload/malloc.c preload/foreign.c
FUZZ_CFLAGS  := $(CSTD) -O2 -g $(WARN) -pthread -fsanitize=fuzzer,undefined \
	-fno-sanitize-recover=undefined -DGOALLOC_DIRECT -DGOALLOC_NO_LIBC_NAMES \
	-Itest -Ipreload -iquote core -I$(B)/gen $(FLAVOUR_CFLAGS)
$(B)/fuzz/fuzz_ops: test/fuzz/fuzz_ops.c $(FUZZ_SRC) $(HDRS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ test/fuzz/fuzz_ops.c $(FUZZ_SRC)
# `make fuzz FUZZ_SECONDS=N`: fuzz for N seconds, one process, seeded from the corpus and the
# regression inputs in the repository; new inputs go to $(B)/fuzz/corpus, a crashing input to
# $(B)/fuzz/crash-*. (`make test` replays test/fuzz/corpus and test/fuzz/regress.)
fuzz: $(B)/fuzz/fuzz_ops
	@mkdir -p $(B)/fuzz/corpus
	$(B)/fuzz/fuzz_ops -max_total_time=$(FUZZ_SECONDS) -timeout=60 -print_final_stats=1 \
	  -artifact_prefix=$(B)/fuzz/ $(B)/fuzz/corpus test/fuzz/corpus test/fuzz/regress
.PHONY: fuzz

# Long multi-threaded storms under the preload (not part of `make test`): the churn of blocks
# with hand-offs, forks and short-lived threads, and the thread/process life-cycle storms (late
# key and thread_local destructors that allocate beside forks, exit() beside allocating threads,
# vfork/posix_spawn, blocks of exited threads) — test/stress/stress.c. STRESS_SECONDS is shared
# among the scenarios run; STRESS_SCENARIOS picks some (default all):
#   make stress STRESS_THREADS=8 STRESS_SECONDS=60 STRESS_SCENARIOS="tsd exit"
STRESS_THREADS ?= 8
STRESS_SECONDS ?= 60
STRESS_SCENARIOS ?=
$(B)/test/stress/stress: test/stress/stress.c test/stress/tls.cc test/tap.h
	@mkdir -p $(@D)
	$(CC) $(TESTCFLAGS) -c -o $(B)/test/stress/stress.o test/stress/stress.c
	$(CXX) -std=c++17 -O1 -g $(WARN) -pthread -c -o $(B)/test/stress/tls.o test/stress/tls.cc
	$(CXX) -pthread -o $@ $(B)/test/stress/stress.o $(B)/test/stress/tls.o
stress: lib $(B)/test/stress/stress
	LD_PRELOAD=$(CURDIR)/$(B)/libgoalloc.so $(B)/test/stress/stress $(STRESS_THREADS) $(STRESS_SECONDS) $(STRESS_SCENARIOS)
.PHONY: stress

# What stopping the world costs per mechanism (1, 4, 16 idle and busy threads) and which
# blocking calls return EINTR under each (core/stw.c linked in; not part of `make test`):
#   make stw-measure
$(B)/test/bench/stw_measure: test/bench/stw_measure.c $(CORE_SRC) $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(TESTCFLAGS) -O2 -o $@ $< $(CORE_SRC)
stw-measure: $(B)/test/bench/stw_measure
	$(B)/test/bench/stw_measure
.PHONY: stw-measure

# ---- install ----------------------------------------------------------------------------------
# The launcher goes to bin/goalloc, naming the installed library; its RSS sampler and plot script
# to lib/goalloc/.
install: lib launcher
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig \
	  $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/goalloc
	install -m 755 $(B)/libgoalloc.so $(DESTDIR)$(PREFIX)/lib/libgoalloc.so
	install -m 644 preload/goalloc.h $(DESTDIR)$(PREFIX)/include/goalloc.h
	sed -e 's|@PREFIX@|$(PREFIX)|g' preload/goalloc.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/goalloc.pc
	install -m 755 $(B)/rss-sample $(DESTDIR)$(PREFIX)/lib/goalloc/rss-sample
	install -m 755 scripts/rss-plot.sh $(DESTDIR)$(PREFIX)/lib/goalloc/rss-plot.sh
	$(call launcher_sed,$(PREFIX)/lib/libgoalloc.so,$(PREFIX)/lib/goalloc/rss-sample,$(PREFIX)/lib/goalloc/rss-plot.sh) \
	  > $(DESTDIR)$(PREFIX)/bin/goalloc
	chmod 755 $(DESTDIR)$(PREFIX)/bin/goalloc

clean:
	rm -rf $(B) $(DEBUG_B)

# goalloc at work on a real program (README's first command).
demo: lib launcher
	scripts/demo.sh
.PHONY: demo

# Benchmarks (`make bench`): the Google Benchmark harness and the workloads, see test/bench/.
-include test/bench/bench.mk

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
# -DGA_SIGNALS_WRAPPED: the library installs the program's signal handlers behind its trampoline
# (preload/signal.c), so its fast paths store nothing for the re-entry guard (core/mcache.h).
LIBCFLAGS := $(CSTD) -O2 -gdwarf-4 -fPIC $(WARN) -fvisibility=hidden -ftls-model=initial-exec \
	-DGA_SIGNALS_WRAPPED \
	-fno-semantic-interposition -fno-builtin-malloc -fno-builtin-free -fno-builtin-calloc \
	-fno-builtin-realloc -fexceptions -I$(B)/gen -Icore -Ipreload $(EXTRA_CFLAGS)
# -Bsymbolic-functions: goalloc's own calls between its exported functions (operator new →
# goalloc_malloc, ...) bind directly, not through the PLT.
LIBLDFLAGS := -shared -Wl,-z,initfirst -Wl,-soname,libgoalloc.so -Wl,-z,now -Wl,--no-undefined \
	-Wl,--gc-sections -Wl,-Bsymbolic-functions
TESTCFLAGS := $(CSTD) -O1 -gdwarf-4 $(WARN) -pthread -Itest -Ipreload -Icore -I$(B)/gen

CORE_SRC    := $(wildcard core/*.c)
PRELOAD_SRC := $(wildcard preload/*.c)
LIB_SRC     := $(CORE_SRC) $(PRELOAD_SRC)
HDRS        := $(wildcard core/*.h preload/*.h) $(B)/gen/sizeclasses.h

UNIT_SRC  := $(wildcard test/unit/t_*.c)
UNIT_BIN  := $(UNIT_SRC:test/unit/%.c=$(B)/test/unit/%)
API_SRC   := $(wildcard test/api/t_*.c)
API_BIN   := $(API_SRC:test/api/%.c=$(B)/test/api/%)
TESTS_SH  := $(wildcard test/unit/*.sh test/preload/*.sh test/api/*.sh test/programs/*.sh test/fuzz/*.sh)

.PHONY: all lib valgrind-lib tests test test-valgrind test-tsan check-exports install clean
all: lib
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

# ---- tests ------------------------------------------------------------------------------------
# Unit tests link the core directly (no exported malloc names); API tests are plain programs run
# with the library preloaded.
$(B)/test/unit/%: test/unit/%.c $(CORE_SRC) $(HDRS) test/tap.h
	@mkdir -p $(@D)
	$(CC) $(TESTCFLAGS) -o $@ $< $(CORE_SRC)
$(B)/test/api/%: test/api/%.c $(HDRS) test/tap.h $(wildcard test/api/*.h)
	@mkdir -p $(@D)
	$(CC) $(TESTCFLAGS) -o $@ $< -lm
tests: lib valgrind-lib $(UNIT_BIN) $(API_BIN) $(B)/fuzz/fuzz_ops

PROVE ?= prove
# `make test` = the suite natively, then the unit and API tests again under memcheck, then the
# threaded tests under ThreadSanitizer.
test: tests
	GOALLOC_LIB=$(CURDIR)/$(B)/libgoalloc.so GOALLOC_VALGRIND_LIB=$(CURDIR)/$(B)/valgrind/libgoalloc.so \
	GOALLOC_BUILD=$(B) $(PROVE) -j2 --exec test/run-one.sh $(UNIT_BIN) $(API_BIN) $(TESTS_SH)
	$(MAKE) --no-print-directory test-valgrind
	$(MAKE) --no-print-directory test-tsan

# Unit and API tests under memcheck, goalloc's own blocks checked through client requests (the
# heavy tests scale themselves down under valgrind; t_uaf_valgrind is driven by its .sh).
VALGRIND_SKIP := $(B)/test/api/t_uaf_valgrind
test-valgrind: tests
	GOALLOC_LIB=$(CURDIR)/$(B)/valgrind/libgoalloc.so GOALLOC_UNDER_VALGRIND=1 GOALLOC_BUILD=$(B) \
	$(PROVE) -j2 --exec test/run-one.sh $(UNIT_BIN) $(filter-out $(VALGRIND_SKIP),$(API_BIN))

# Threaded tests with ThreadSanitizer: goalloc's entry points linked in directly (TSan owns the
# libc names), built with -fsanitize=thread.
TSAN_TESTS := $(filter $(B)/test/api/t_threads%,$(API_BIN))
test-tsan: $(B)/gen/sizeclasses.h
	@mkdir -p $(B)/tsan
	for t in $(TSAN_TESTS:$(B)/test/api/%=%); do \
	  $(CC) $(CSTD) -O1 -g -fsanitize=thread -pthread -DGOALLOC_DIRECT -DGOALLOC_NO_LIBC_NAMES \
	    -Itest -Ipreload -Icore -I$(B)/gen -o $(B)/tsan/$$t test/api/$$t.c $(CORE_SRC) \
	    preload/malloc.c || exit 1; \
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
FUZZ_SRC     := $(CORE_SRC) preload/malloc.c
FUZZ_CFLAGS  := $(CSTD) -O2 -g $(WARN) -pthread -fsanitize=fuzzer,undefined \
	-fno-sanitize-recover=undefined -DGOALLOC_DIRECT -DGOALLOC_NO_LIBC_NAMES \
	-Itest -Ipreload -Icore -I$(B)/gen
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

# Long multi-threaded churn with hand-offs, forks and short-lived threads, under the preload
# (not part of `make test`): make stress STRESS_THREADS=8 STRESS_SECONDS=60
STRESS_THREADS ?= 8
STRESS_SECONDS ?= 60
$(B)/test/stress/stress: test/stress/stress.c test/tap.h
	@mkdir -p $(@D)
	$(CC) $(TESTCFLAGS) -o $@ $<
stress: lib $(B)/test/stress/stress
	LD_PRELOAD=$(CURDIR)/$(B)/libgoalloc.so $(B)/test/stress/stress $(STRESS_THREADS) $(STRESS_SECONDS)
.PHONY: stress

# ---- install ----------------------------------------------------------------------------------
install: lib
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 755 $(B)/libgoalloc.so $(DESTDIR)$(PREFIX)/lib/libgoalloc.so
	install -m 644 preload/goalloc.h $(DESTDIR)$(PREFIX)/include/goalloc.h
	sed -e 's|@PREFIX@|$(PREFIX)|g' preload/goalloc.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/goalloc.pc

clean:
	rm -rf $(B)

# goalloc at work on a real program (README's first command).
demo: lib
	scripts/demo.sh
.PHONY: demo

# Benchmarks (`make bench`): the Google Benchmark harness and the workloads, see test/bench/.
-include test/bench/bench.mk

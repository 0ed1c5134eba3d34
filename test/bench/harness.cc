// goalloc benchmark harness: microbenchmarks of the malloc family, written against the C
// library's names only. The binary links no allocator; run it with LD_PRELOAD to pick one:
//
//   LD_PRELOAD=build/libgoalloc.so build/bench/harness --benchmark_format=json
//
// Calls go through volatile function pointers so the compiler cannot pair up and delete a
// malloc+free it can see (it is allowed to), and every block is written to, so it is real.
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <thread>
#include <vector>

#include <malloc.h>
#include <stdlib.h>

namespace {

void *(*volatile v_malloc)(size_t) = malloc;
void (*volatile v_free)(void *) = free;
void *(*volatile v_calloc)(size_t, size_t) = calloc;
void *(*volatile v_realloc)(void *, size_t) = realloc;
int (*volatile v_posix_memalign)(void **, size_t, size_t) = posix_memalign;

// Small deterministic generator (xorshift64*), so every allocator sees the same sizes.
struct Rng {
	uint64_t s;
	explicit Rng(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 1) {}
	uint64_t next() {
		s ^= s >> 12;
		s ^= s << 25;
		s ^= s >> 27;
		return s * 0x2545F4914F6CDD1Dull;
	}
	size_t range(size_t lo, size_t hi) { return lo + (size_t)(next() % (hi - lo + 1)); }
};

void touch(void *p, size_t n) {
	// First and last byte: enough to make the block real without measuring memset.
	static_cast<volatile char *>(p)[0] = 1;
	static_cast<volatile char *>(p)[n - 1] = 2;
}

// ---- malloc + free of one size ------------------------------------------------------------
void BM_MallocFree(benchmark::State &state) {
	const size_t n = (size_t)state.range(0);
	for (auto _ : state) {
		void *p = v_malloc(n);
		benchmark::DoNotOptimize(p);
		touch(p, n);
		benchmark::ClobberMemory();
		v_free(p);
	}
	state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MallocFree)
	->Arg(8)->Arg(16)->Arg(32)->Arg(64)->Arg(128)->Arg(256)->Arg(512)->Arg(1 << 10)
	->Arg(4 << 10)->Arg(16 << 10)->Arg(32 << 10)->Arg(64 << 10)->Arg(256 << 10)
	->Arg(1 << 20)->Arg(4 << 20);

// ---- batches: allocate N, then free N (LIFO or random order) -------------------------------
// Sizes are drawn from 16..512 bytes; the order of frees is fixed before timing.
template <bool Random>
void BM_Batch(benchmark::State &state) {
	const size_t n = (size_t)state.range(0);
	std::vector<size_t> sizes(n);
	std::vector<size_t> order(n);
	std::vector<void *> ptrs(n);
	Rng rng(n);
	for (size_t i = 0; i < n; i++) {
		sizes[i] = rng.range(16, 512);
		order[i] = n - 1 - i;
	}
	if (Random)
		for (size_t i = n - 1; i > 0; i--) std::swap(order[i], order[rng.next() % (i + 1)]);
	for (auto _ : state) {
		for (size_t i = 0; i < n; i++) {
			void *p = v_malloc(sizes[i]);
			touch(p, sizes[i]);
			ptrs[i] = p;
		}
		benchmark::ClobberMemory();
		for (size_t i = 0; i < n; i++) v_free(ptrs[order[i]]);
		benchmark::ClobberMemory();
	}
	state.SetItemsProcessed(state.iterations() * (int64_t)n);
}
BENCHMARK_TEMPLATE(BM_Batch, false)->Name("BM_BatchLIFO")->Arg(100)->Arg(10000);
BENCHMARK_TEMPLATE(BM_Batch, true)->Name("BM_BatchRandom")->Arg(100)->Arg(10000);

// ---- realloc growth chain 16 B -> 1 MiB ------------------------------------------------------
// range(0) is the growth step in 1/8ths: 16 = doubling, 9 = +12.5% per call.
void BM_ReallocChain(benchmark::State &state) {
	const size_t step = (size_t)state.range(0);
	int64_t calls = 0;
	for (auto _ : state) {
		size_t n = 16;
		char *p = static_cast<char *>(v_malloc(n));
		touch(p, n);
		while (n < (1u << 20)) {
			size_t m = n * step / 8;
			if (m > (1u << 20)) m = 1u << 20;
			p = static_cast<char *>(v_realloc(p, m));
			touch(p, m);
			n = m;
			calls++;
		}
		benchmark::DoNotOptimize(p);
		v_free(p);
	}
	state.SetItemsProcessed(calls);
	state.counters["reallocs_per_chain"] = (double)calls / (double)state.iterations();
}
BENCHMARK(BM_ReallocChain)->Arg(16)->Arg(9);

// ---- calloc + free ------------------------------------------------------------------------
void BM_Calloc(benchmark::State &state) {
	const size_t n = (size_t)state.range(0);
	for (auto _ : state) {
		void *p = v_calloc(1, n);
		benchmark::DoNotOptimize(p);
		touch(p, n);
		benchmark::ClobberMemory();
		v_free(p);
	}
	state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Calloc)->Arg(32)->Arg(512)->Arg(4 << 10)->Arg(64 << 10)->Arg(1 << 20);

// ---- posix_memalign + free: args are (alignment, size) ----------------------------------------
void BM_PosixMemalign(benchmark::State &state) {
	const size_t align = (size_t)state.range(0), n = (size_t)state.range(1);
	for (auto _ : state) {
		void *p = nullptr;
		if (v_posix_memalign(&p, align, n) != 0 || ((uintptr_t)p & (align - 1)) != 0) {
			state.SkipWithError("posix_memalign failed or misaligned");
			break;
		}
		touch(p, n);
		benchmark::ClobberMemory();
		v_free(p);
	}
	state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PosixMemalign)->Args({64, 64})->Args({64, 1000})->Args({4096, 4096})->Args({4096, 100});

// ---- C++ new/delete of small objects --------------------------------------------------------
template <size_t N>
struct Obj {
	char bytes[N];
};
template <size_t N>
void BM_NewDelete(benchmark::State &state) {
	for (auto _ : state) {
		Obj<N> *o = new Obj<N>;
		benchmark::DoNotOptimize(o);
		o->bytes[0] = 1;
		benchmark::ClobberMemory();
		delete o;
	}
	state.SetItemsProcessed(state.iterations());
}
BENCHMARK_TEMPLATE(BM_NewDelete, 16);
BENCHMARK_TEMPLATE(BM_NewDelete, 48);
BENCHMARK_TEMPLATE(BM_NewDelete, 128);

// Over-aligned new (C++17 aligned operator new). A misaligned result is reported as an error of
// this case, not a crash of the run (Debian's mimalloc 2.0.9 gets 256-byte alignment wrong).
template <size_t A>
struct alignas(A) AObj {
	char bytes[A];
};
template <size_t A>
void BM_NewDeleteAligned(benchmark::State &state) {
	for (auto _ : state) {
		AObj<A> *o = new AObj<A>;
		benchmark::DoNotOptimize(o);
		if (((uintptr_t)o & (A - 1)) != 0) {
			::operator delete(static_cast<void *>(o), std::align_val_t(A));
			state.SkipWithError("operator new returned a misaligned pointer");
			break;
		}
		o->bytes[0] = 1;
		benchmark::ClobberMemory();
		delete o;
	}
	state.SetItemsProcessed(state.iterations());
}
BENCHMARK_TEMPLATE(BM_NewDeleteAligned, 64);
BENCHMARK_TEMPLATE(BM_NewDeleteAligned, 256);

// ---- cross-thread free ----------------------------------------------------------------------
// The benchmark thread allocates, a second thread frees what it receives through a
// single-producer/single-consumer ring. One iteration hands over a batch of 1024 blocks
// (16..256 bytes) and waits until all are freed, so the time covers both halves.
struct Ring {
	static constexpr size_t kCap = 4096;
	void *slot[kCap];
	alignas(64) std::atomic<size_t> head{0};  // written by the producer
	alignas(64) std::atomic<size_t> tail{0};  // written by the consumer
	alignas(64) std::atomic<bool> stop{false};
};

void BM_CrossThreadFree(benchmark::State &state) {
	constexpr size_t kBatch = 1024;
	Ring *ring = new Ring;
	std::thread consumer([ring] {
		size_t t = 0;
		for (;;) {
			size_t h = ring->head.load(std::memory_order_acquire);
			if (h == t) {
				if (ring->stop.load(std::memory_order_acquire) &&
				    ring->head.load(std::memory_order_acquire) == t)
					break;
				std::this_thread::yield();
				continue;
			}
			for (; t != h; t++) v_free(ring->slot[t % Ring::kCap]);
			ring->tail.store(t, std::memory_order_release);
		}
	});
	Rng rng(42);
	size_t sizes[kBatch];
	for (size_t i = 0; i < kBatch; i++) sizes[i] = rng.range(16, 256);
	size_t h = 0;
	for (auto _ : state) {
		for (size_t i = 0; i < kBatch; i++) {
			void *p = v_malloc(sizes[i]);
			touch(p, sizes[i]);
			while (h - ring->tail.load(std::memory_order_acquire) >= Ring::kCap)
				std::this_thread::yield();
			ring->slot[h % Ring::kCap] = p;
			h++;
			if ((h & 63) == 0) ring->head.store(h, std::memory_order_release);
		}
		ring->head.store(h, std::memory_order_release);
		while (ring->tail.load(std::memory_order_acquire) != h) std::this_thread::yield();
	}
	ring->stop.store(true, std::memory_order_release);
	consumer.join();
	delete ring;
	state.SetItemsProcessed(state.iterations() * (int64_t)kBatch);
}
BENCHMARK(BM_CrossThreadFree)->UseRealTime();

// ---- multi-threaded churn -------------------------------------------------------------------
// Each thread keeps 512 live blocks of 16..1024 bytes and replaces a random one per iteration:
// one free and one malloc of another size, from every thread at once.
void BM_Churn(benchmark::State &state) {
	constexpr size_t kLive = 512;
	void *live[kLive];
	size_t lsz[kLive];
	Rng rng(1000 + (uint64_t)state.thread_index());
	for (size_t i = 0; i < kLive; i++) {
		lsz[i] = rng.range(16, 1024);
		live[i] = v_malloc(lsz[i]);
		touch(live[i], lsz[i]);
	}
	for (auto _ : state) {
		uint64_t r = rng.next();
		size_t i = r % kLive, n = 16 + (size_t)((r >> 32) % 1009);
		v_free(live[i]);
		void *p = v_malloc(n);
		touch(p, n);
		live[i] = p;
		lsz[i] = n;
	}
	benchmark::DoNotOptimize(lsz);
	for (size_t i = 0; i < kLive; i++) v_free(live[i]);
	state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Churn)->Threads(1)->Threads(2)->Threads(4)->Threads(8)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();

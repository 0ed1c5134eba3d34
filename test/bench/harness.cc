// goalloc benchmark harness: microbenchmarks of the malloc family, written against the C
// library's names only. The binary links no allocator; run it with LD_PRELOAD to pick one:
//
//   LD_PRELOAD=build/libgoalloc.so build/bench/harness --benchmark_format=json
//
// Calls go through volatile function pointers so the compiler cannot pair up and delete a
// malloc+free it can see (it is allowed to), and every block is written to, so it is real.
#include <benchmark/benchmark.h>

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
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

// ---- patterns of the public allocator benchmarks ----------------------------------------------
// Written from the programs' published descriptions, not from their code. Sizes and slots come
// from seeded generators, so every allocator gets the same sequence of requests (the threads'
// interleaving and, where the harness runs longer, the length of the sequence differ).

// A barrier for the threads of one multi-threaded case (Google Benchmark's own barriers around
// the timed loop are an implementation detail; the hand-off cases must not depend on them).
struct Barrier {
	std::atomic<int> waiting{0};
	std::atomic<unsigned> generation{0};
	void wait(int n) {
		unsigned g = generation.load(std::memory_order_acquire);
		if (waiting.fetch_add(1, std::memory_order_acq_rel) + 1 == n) {
			waiting.store(0, std::memory_order_relaxed);
			generation.fetch_add(1, std::memory_order_acq_rel);
			return;
		}
		while (generation.load(std::memory_order_acquire) == g) std::this_thread::yield();
	}
};

// Uniform double in [0, 1).
double unit(Rng &rng) { return (double)(rng.next() >> 11) * (1.0 / 9007199254740992.0); }

// -- random replacement in a per-thread working set (glibc benchtests' bench-malloc-thread) --
// Each thread keeps 1,024 slots; an iteration frees a random slot and mallocs a new block into
// it. Sizes come from one table of 8,000 drawn between 4 and 32,768 bytes with the inverse-square
// density size = 1 / ((1/max - 1/min) r + 1/min), r uniform in [0, 1], truncated: 54 % of the
// requests are of 8 bytes or less, one in ten above 40 bytes, one in 65 above 256. As in the
// original the blocks are not written. The working set is filled before the timed loop and
// freed after it.
constexpr size_t kWsSlots = 1024, kWsSizes = 8000;
const std::vector<uint32_t> &ws_sizes() {
	static const std::vector<uint32_t> table = [] {
		std::vector<uint32_t> t(kWsSizes);
		Rng rng(88172645463325252ull);
		const double lo = 4, hi = 32768;
		for (auto &x : t) {
			double v = 1.0 / ((1.0 / hi - 1.0 / lo) * unit(rng) + 1.0 / lo);
			x = v < lo ? (uint32_t)lo : v > hi ? (uint32_t)hi : (uint32_t)v;
		}
		return t;
	}();
	return table;
}

void BM_WorkingSet(benchmark::State &state) {
	const std::vector<uint32_t> &sizes = ws_sizes();
	void *slot[kWsSlots];
	Rng rng(7000 + (uint64_t)state.thread_index());
	for (size_t i = 0; i < kWsSlots; i++) slot[i] = v_malloc(sizes[rng.next() % kWsSizes]);
	for (auto _ : state) {
		uint64_t r = rng.next();
		size_t i = r % kWsSlots;
		v_free(slot[i]);
		slot[i] = v_malloc(sizes[(r >> 32) % kWsSizes]);
	}
	benchmark::DoNotOptimize(slot);
	for (size_t i = 0; i < kWsSlots; i++) v_free(slot[i]);
	state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_WorkingSet)->Threads(1)->Threads(2)->Threads(4)->UseRealTime();

// -- batch hand-off between threads (xmalloc-test, Lever & Boreham, USENIX 2000) ---------------
// T threads in a ring: each allocates blocks of a few small sizes (8..512 B) into batches of
// 1,024, hands every full batch to the next thread, and frees the blocks of the batches its
// predecessor handed to it. An iteration is one malloc and one free (of a block another thread
// allocated, from 2 threads on); with one thread it frees its own batches. Before the timed
// loop every thread hands one full batch ahead, so no thread waits for a batch that its
// predecessor is still filling; what is in flight at the end is freed after the timed loop.
constexpr size_t kHandoffBatch = 1024, kHandoffMaxThreads = 8;
const uint32_t kHandoffSizes[] = {8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512};

struct HandoffBatch {
	HandoffBatch *next;
	void *blk[kHandoffBatch];
};
// A thread that finds its inbox empty spins briefly, then sleeps on a condition variable: with
// more runnable threads than cores, spinning with sched_yield can keep the CPU from the very
// thread it waits for.
struct alignas(64) HandoffInbox {
	std::mutex mu;
	std::condition_variable cv;
	HandoffBatch *head = nullptr, *tail = nullptr;
	std::atomic<size_t> count{0};
	void push(HandoffBatch *b) {
		b->next = nullptr;
		{
			std::lock_guard<std::mutex> g(mu);
			if (tail) tail->next = b;
			else head = b;
			tail = b;
			count.fetch_add(1, std::memory_order_release);
		}
		cv.notify_one();
	}
	HandoffBatch *pop() {  // waits for a batch
		for (int spin = 0; spin < 100 && count.load(std::memory_order_acquire) == 0; spin++)
			std::this_thread::yield();
		std::unique_lock<std::mutex> g(mu);
		cv.wait(g, [this] { return head != nullptr; });
		HandoffBatch *b = head;
		head = b->next;
		if (!head) tail = nullptr;
		count.fetch_sub(1, std::memory_order_relaxed);
		return b;
	}
};
HandoffInbox handoff_inbox[kHandoffMaxThreads];
Barrier handoff_barrier;

void BM_BatchHandoff(benchmark::State &state) {
	const int nt = state.threads(), me = state.thread_index();
	HandoffInbox &in = handoff_inbox[me], &out = handoff_inbox[(me + 1) % nt];
	Rng rng(9000 + (uint64_t)me);
	const size_t nsizes = sizeof kHandoffSizes / sizeof kHandoffSizes[0];
	auto fill = [&](HandoffBatch *b, size_t i) {
		size_t n = kHandoffSizes[rng.next() % nsizes];
		b->blk[i] = v_malloc(n);
		static_cast<volatile char *>(b->blk[i])[0] = 1;
	};
	HandoffBatch *first = static_cast<HandoffBatch *>(v_malloc(sizeof(HandoffBatch)));
	for (size_t i = 0; i < kHandoffBatch; i++) fill(first, i);
	out.push(first);
	HandoffBatch *filling = static_cast<HandoffBatch *>(v_malloc(sizeof(HandoffBatch)));
	size_t nfill = 0;
	HandoffBatch *draining = nullptr;
	size_t ndrain = kHandoffBatch;
	handoff_barrier.wait(nt);  // every thread's first batch is in flight
	for (auto _ : state) {
		fill(filling, nfill);
		if (++nfill == kHandoffBatch) {
			out.push(filling);
			filling = static_cast<HandoffBatch *>(v_malloc(sizeof(HandoffBatch)));
			nfill = 0;
		}
		if (ndrain == kHandoffBatch) {
			if (draining) v_free(draining);
			draining = in.pop();
			ndrain = 0;
		}
		v_free(draining->blk[ndrain++]);
	}
	handoff_barrier.wait(nt);  // every push is done
	for (size_t i = 0; i < nfill; i++) v_free(filling->blk[i]);
	v_free(filling);
	if (draining) {
		for (; ndrain < kHandoffBatch; ndrain++) v_free(draining->blk[ndrain]);
		v_free(draining);
	}
	while (in.count.load(std::memory_order_acquire) != 0) {
		HandoffBatch *b = in.pop();
		for (size_t i = 0; i < kHandoffBatch; i++) v_free(b->blk[i]);
		v_free(b);
	}
	handoff_barrier.wait(nt);  // no thread still reads an inbox when the next run starts
	state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_BatchHandoff)->Threads(1)->Threads(2)->Threads(4)->UseRealTime();

// -- larson's server simulation ---------------------------------------------------------------------
// Each benchmark thread owns 1,000 slots of blocks of 8..1,000 bytes. An iteration is a round:
// a newly created thread takes over the slots, replaces 40,000 random slots (free, then malloc
// of a random size) and exits; the next round's thread frees what this one allocated. So every
// block is freed by a thread other than its allocator, and threads come and go as in the
// original, which hands its array to a new thread at the end of each thread's run. The first
// byte of each block is written. Time per round; ops/s = 40,000 / that (items_per_second).
constexpr size_t kLarsonSlots = 1000, kLarsonOps = 40000, kLarsonMin = 8, kLarsonMax = 1000;

void larson_round(void **slot, uint64_t seed) {
	Rng rng(seed);
	for (size_t k = 0; k < kLarsonOps; k++) {
		uint64_t r = rng.next();
		size_t i = r % kLarsonSlots, n = kLarsonMin + (size_t)((r >> 32) % (kLarsonMax - kLarsonMin + 1));
		v_free(slot[i]);
		void *p = v_malloc(n);
		static_cast<volatile char *>(p)[0] = 1;
		slot[i] = p;
	}
}

void BM_Larson(benchmark::State &state) {
	std::vector<void *> slot(kLarsonSlots);
	const uint64_t me = (uint64_t)state.thread_index();
	Rng rng(11000 + me);
	for (auto &p : slot) p = v_malloc(rng.range(kLarsonMin, kLarsonMax));
	uint64_t round = 0;
	for (auto _ : state) {
		std::thread t(larson_round, slot.data(), (me << 32) + ++round);
		t.join();
	}
	for (auto p : slot) v_free(p);
	state.SetItemsProcessed(state.iterations() * (int64_t)kLarsonOps);
}
BENCHMARK(BM_Larson)->Threads(1)->Threads(2)->Threads(4)->UseRealTime();

// -- many threads, random lifetimes (mstress-like) ------------------------------------------------
// An iteration is a round: N threads are created, each makes 10,000 steps over 500 local slots,
// and all are joined. A step allocates a block of a random size (95 % of 8..256 B, 4.5 % up
// to 4 KiB, 0.5 % up to 64 KiB) into a random slot, freeing what was there (60 %), frees
// a random slot (25 %), or swaps a new block into a random cell of an array of 1,024 shared by
// all threads and rounds, freeing the block that comes out, which another thread, possibly of
// an earlier round, allocated (15 %). At its end a thread frees its slots but moves every eighth
// live block into the shared array, so some blocks outlive their thread. Blocks get their first
// byte written. Time per round of N threads.
constexpr size_t kMsLocal = 500, kMsSteps = 10000, kMsShared = 1024;
std::atomic<void *> ms_shared[kMsShared];

size_t ms_size(Rng &rng) {
	uint64_t u = rng.next() % 1000;
	if (u < 5) return rng.range(4097, 65536);
	if (u < 50) return rng.range(257, 4096);
	return rng.range(8, 256);
}

void ms_worker(uint64_t seed) {
	Rng rng(seed);
	void *local[kMsLocal] = {};
	for (size_t k = 0; k < kMsSteps; k++) {
		uint64_t r = rng.next();
		size_t what = r % 100, i = (r >> 8) % kMsLocal;
		if (what < 60) {
			v_free(local[i]);
			void *p = v_malloc(ms_size(rng));
			static_cast<volatile char *>(p)[0] = 1;
			local[i] = p;
		} else if (what < 85) {
			v_free(local[i]);
			local[i] = nullptr;
		} else {
			void *p = v_malloc(ms_size(rng));
			static_cast<volatile char *>(p)[0] = 1;
			v_free(ms_shared[(r >> 32) % kMsShared].exchange(p, std::memory_order_acq_rel));
		}
	}
	size_t live = 0;
	for (size_t i = 0; i < kMsLocal; i++) {
		if (!local[i]) continue;
		if (live++ % 8 == 0)
			v_free(ms_shared[rng.next() % kMsShared].exchange(local[i], std::memory_order_acq_rel));
		else
			v_free(local[i]);
	}
}

void BM_Mstress(benchmark::State &state) {
	const int n = (int)state.range(0);
	std::vector<std::thread> t;
	t.reserve((size_t)n);
	uint64_t round = 0;
	for (auto _ : state) {
		round++;
		for (int w = 0; w < n; w++) t.emplace_back(ms_worker, (round << 8) + (uint64_t)w);
		for (auto &x : t) x.join();
		t.clear();
	}
	state.SetItemsProcessed(state.iterations() * n * (int64_t)kMsSteps);
}
BENCHMARK(BM_Mstress)->Arg(1)->Arg(2)->Arg(4)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();

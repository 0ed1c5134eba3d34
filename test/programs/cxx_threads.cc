// cxx_threads.cc — C++17 allocation patterns for the real-program tests (built by cxx.sh).
//
// Threads building maps of strings to vectors, string concatenation, shared_ptr, objects
// allocated on one thread and deleted on another through a mutex-protected queue, over-aligned
// types through the aligned operator new, and exceptions. Everything printed is independent of
// thread scheduling and of addresses.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr int kThreads = 6;

std::uint64_t fnv(std::uint64_t h, const void *data, std::size_t n)
{
	const unsigned char *p = static_cast<const unsigned char *>(data);
	for (std::size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

std::uint64_t fnv(std::uint64_t h, std::uint64_t v) { return fnv(h, &v, sizeof v); }

struct Lcg {
	std::uint64_t s;
	explicit Lcg(std::uint64_t seed) : s(seed * 6364136223846793005ull + 1442695040888963407ull) {}
	std::uint32_t next()
	{
		s = s * 6364136223846793005ull + 1442695040888963407ull;
		return static_cast<std::uint32_t>(s >> 33);
	}
};

// Alignment checks go through a volatile so that the compiler cannot fold them away on the
// strength of what it assumes about operator new.
std::atomic<long> g_checked{0}, g_misaligned{0};

void check_align(const void *p, std::size_t align, const char *what)
{
	volatile std::uintptr_t u = reinterpret_cast<std::uintptr_t>(p);
	g_checked.fetch_add(1, std::memory_order_relaxed);
	if (p == nullptr || u % align != 0) {
		if (g_misaligned.fetch_add(1, std::memory_order_relaxed) < 10)
			std::fprintf(stderr, "misaligned %s: want %zu, address %% %zu = %zu\n", what, align,
				     align, static_cast<std::size_t>(u % align));
	}
}

struct alignas(64) Line {
	std::uint64_t v[8];
};
struct alignas(256) Block {
	unsigned char b[700];
};
struct alignas(4096) Page {
	int x;
	char pad[100];
};

// Phase 1: each thread builds its own map<string, vector<int>>.
std::string phase_maps(int idx)
{
	Lcg rng(100 + idx);
	std::map<std::string, std::vector<int>> m;
	for (int i = 0; i < 30000; i++) {
		std::string key = "t" + std::to_string(idx) + "-" + std::to_string(rng.next() % 20000);
		std::vector<int> &v = m[key];
		int n = static_cast<int>(rng.next() % 24);
		for (int j = 0; j < n; j++)
			v.push_back(static_cast<int>(rng.next() % 1000));
		if (v.size() > 40)
			v.erase(v.begin(), v.begin() + 20);
	}
	std::uint64_t h = 14695981039346656037ull;
	std::size_t cells = 0;
	std::string longest;
	for (auto &kv : m) {
		h = fnv(h, kv.first.data(), kv.first.size());
		for (int x : kv.second)
			h = fnv(h, static_cast<std::uint64_t>(x));
		cells += kv.second.size();
		std::string joined = kv.first + ":" + std::to_string(kv.second.size());
		if (joined.size() > longest.size() || (joined.size() == longest.size() && joined < longest))
			longest = joined;
	}
	char buf[160];
	std::snprintf(buf, sizeof buf, "maps thread %d keys %zu cells %zu hash %016llx longest %s", idx,
		      m.size(), cells, static_cast<unsigned long long>(h), longest.c_str());
	return buf;
}

// Phase 2: producers allocate messages that consumers delete.
struct Msg {
	int producer;
	int seq;
	std::string text;
	std::vector<std::uint32_t> data;
	std::shared_ptr<const std::string> tag;
	Line *line;
};

class Queue {
	std::mutex mu_;
	std::condition_variable cv_;
	std::deque<Msg *> q_;
	int open_producers_;

public:
	explicit Queue(int producers) : open_producers_(producers) {}
	void push(Msg *m)
	{
		{
			std::lock_guard<std::mutex> lk(mu_);
			q_.push_back(m);
		}
		cv_.notify_one();
	}
	void producer_done()
	{
		{
			std::lock_guard<std::mutex> lk(mu_);
			open_producers_--;
		}
		cv_.notify_all();
	}
	Msg *pop()
	{
		std::unique_lock<std::mutex> lk(mu_);
		cv_.wait(lk, [&] { return !q_.empty() || open_producers_ == 0; });
		if (q_.empty())
			return nullptr;
		Msg *m = q_.front();
		q_.pop_front();
		return m;
	}
};

constexpr int kMessagesPerProducer = 20000;

void producer(Queue &q, int idx, std::shared_ptr<const std::string> tag)
{
	Lcg rng(700 + idx);
	for (int i = 0; i < kMessagesPerProducer; i++) {
		Msg *m = new Msg;
		m->producer = idx;
		m->seq = i;
		m->text = "p" + std::to_string(idx) + "/" + std::to_string(i);
		m->text += std::string(rng.next() % 200, static_cast<char>('a' + i % 26));
		m->data.resize(rng.next() % 64);
		for (auto &x : m->data)
			x = rng.next();
		m->tag = (i % 3 == 0) ? tag : std::make_shared<const std::string>(m->text + "#tag");
		m->line = (i % 5 == 0) ? new Line{} : nullptr;
		if (m->line) {
			check_align(m->line, alignof(Line), "new Line");
			m->line->v[0] = static_cast<std::uint64_t>(i);
		}
		q.push(m);
	}
	q.producer_done();
}

struct ConsumerResult {
	std::uint64_t count = 0, sum = 0, bytes = 0, lines = 0;
};

void consumer(Queue &q, ConsumerResult &r)
{
	while (Msg *m = q.pop()) {
		std::uint64_t h = fnv(14695981039346656037ull, m->text.data(), m->text.size());
		for (auto x : m->data)
			h = fnv(h, x);
		h = fnv(h, m->tag->data(), m->tag->size());
		if (m->line) {
			h = fnv(h, m->line->v[0]);
			r.lines++;
		}
		r.count++;
		r.sum += h;  // addition commutes, so the total is independent of who consumed what
		r.bytes += m->text.size() + m->data.size() * sizeof(std::uint32_t);
		delete m->line;
		delete m;
	}
}

// Phase 3: over-aligned objects and small blocks, some freed by another thread.
void phase_aligned(int idx, std::vector<Line *> &handoff)
{
	Lcg rng(900 + idx);
	for (int round = 0; round < 300; round++) {
		Line *l = new Line;
		check_align(l, alignof(Line), "new Line");
		Line *arr = new Line[1 + rng.next() % 40];
		check_align(arr, alignof(Line), "new Line[]");
		Block *b = new Block;
		check_align(b, alignof(Block), "new Block");
		Page *p = new Page;
		check_align(p, alignof(Page), "new Page");
		std::vector<Line> vl(1 + rng.next() % 30);
		check_align(vl.data(), alignof(Line), "vector<Line>");
		auto sp = std::make_shared<Block>();
		check_align(sp.get(), alignof(Block), "make_shared<Block>");
		auto up = std::make_unique<Page[]>(2 + rng.next() % 3);
		check_align(up.get(), alignof(Page), "make_unique<Page[]>");
		for (std::size_t n : {16u, 24u, 32u, 48u, 100u, 1000u, 5000u, 40000u}) {
			char *c = new char[n];
			check_align(c, 16, "new char[]");  // what clang's code assumes of operator new
			c[0] = c[n - 1] = 1;
			delete[] c;
		}
		for (std::size_t n : {1u, 2u, 7u, 8u, 12u}) {
			void *m = std::malloc(n);
			check_align(m, n >= 8 ? 8 : 1, "malloc");
			std::free(m);
		}
		handoff.push_back(l);
		delete[] arr;
		delete b;
		delete p;
	}
}

std::string phase_exceptions(int idx)
{
	long caught = 0;
	std::size_t msglen = 0;
	for (int i = 0; i < 2000; i++) {
		try {
			if (i % 2)
				throw std::runtime_error("error " + std::to_string(idx) + "/" + std::to_string(i) +
							 std::string(i % 50, 'x'));
			throw std::vector<int>(static_cast<std::size_t>(i % 100), i);
		} catch (const std::runtime_error &e) {
			caught++;
			msglen += std::string(e.what()).size();
		} catch (const std::vector<int> &v) {
			caught++;
			msglen += v.size();
		}
	}
	return "exceptions thread " + std::to_string(idx) + " caught " + std::to_string(caught) + " size " +
	       std::to_string(msglen);
}

}  // namespace

int main()
{
	std::vector<std::string> out(kThreads);
	{
		std::vector<std::thread> ts;
		for (int i = 0; i < kThreads; i++)
			ts.emplace_back([&out, i] { out[i] = phase_maps(i); });
		for (auto &t : ts)
			t.join();
	}
	for (auto &s : out)
		std::printf("%s\n", s.c_str());

	{
		constexpr int kProducers = 3, kConsumers = 3;
		Queue q(kProducers);
		auto tag = std::make_shared<const std::string>("shared tag");
		std::vector<ConsumerResult> res(kConsumers);
		std::vector<std::thread> ts;
		for (int i = 0; i < kConsumers; i++)
			ts.emplace_back(consumer, std::ref(q), std::ref(res[i]));
		for (int i = 0; i < kProducers; i++)
			ts.emplace_back(producer, std::ref(q), i, tag);
		for (auto &t : ts)
			t.join();
		ConsumerResult total;
		for (auto &r : res) {
			total.count += r.count;
			total.sum += r.sum;
			total.bytes += r.bytes;
			total.lines += r.lines;
		}
		std::printf("queue messages %llu sum %016llx bytes %llu lines %llu tag users %ld\n",
			    static_cast<unsigned long long>(total.count),
			    static_cast<unsigned long long>(total.sum),
			    static_cast<unsigned long long>(total.bytes),
			    static_cast<unsigned long long>(total.lines), tag.use_count());
	}

	{
		std::vector<std::vector<Line *>> handoff(kThreads);
		std::vector<std::thread> ts;
		for (int i = 0; i < kThreads; i++)
			ts.emplace_back(phase_aligned, i, std::ref(handoff[i]));
		for (auto &t : ts)
			t.join();
		// Free each thread's objects on a different thread than the one that made them.
		std::uint64_t freed = 0;
		std::mutex mu;
		ts.clear();
		for (int i = 0; i < kThreads; i++)
			ts.emplace_back([&, i] {
				auto &v = handoff[(i + 1) % kThreads];
				for (Line *l : v)
					delete l;
				std::lock_guard<std::mutex> lk(mu);
				freed += v.size();
			});
		for (auto &t : ts)
			t.join();
		std::printf("aligned checked %ld misaligned %ld freed-elsewhere %llu\n", g_checked.load(),
			    g_misaligned.load(), static_cast<unsigned long long>(freed));
	}

	{
		std::vector<std::string> ex(kThreads);
		std::vector<std::thread> ts;
		for (int i = 0; i < kThreads; i++)
			ts.emplace_back([&ex, i] { ex[i] = phase_exceptions(i); });
		for (auto &t : ts)
			t.join();
		for (auto &s : ex)
			std::printf("%s\n", s.c_str());
	}
	return g_misaligned.load() == 0 ? 0 : 1;
}

// tls.cc — the C++ part of stress.c's "tsd" scenario: a thread_local object whose destructor,
// run at thread exit (after goalloc's own exit destructor, in whatever order the C++ runtime
// chooses), allocates with new, malloc and realloc, checks what it wrote and frees it all.
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

static std::atomic<long> cxx_errors{0};

namespace {
struct Late {
	std::vector<std::string> strings;
	unsigned seed = 0;
	~Late()
	{
		// new/delete and the C allocator, after the thread's cache has been given back
		std::vector<std::string> more(strings);
		for (unsigned i = 0; i < 16; i++)
			more.push_back(std::string(20 + (seed + i) % 3000, char('a' + i % 26)));
		for (unsigned i = 0; i < 16; i++)
			if (more[strings.size() + i].size() != 20 + (seed + i) % 3000 ||
			    more[strings.size() + i][0] != char('a' + i % 26))
				cxx_errors++;
		size_t n = 100 + seed % 50000;
		unsigned char *p = static_cast<unsigned char *>(std::malloc(n));
		if (!p) {
			cxx_errors++;
			return;
		}
		std::memset(p, 0x5c, n);
		unsigned char *q = static_cast<unsigned char *>(std::realloc(p, n * 3));
		if (!q) {
			cxx_errors++;
			std::free(p);
			return;
		}
		for (size_t i = 0; i < n; i += 97)
			if (q[i] != 0x5c)
				cxx_errors++;
		std::free(q);
	}
};
thread_local Late late;
} // namespace

extern "C" void stress_cxx_thread_local(unsigned seed)
{
	late.seed = seed;
	for (unsigned i = 0; i < 4; i++)
		late.strings.push_back(std::string(10 + (seed >> i) % 500, 'x'));
}

extern "C" long stress_cxx_errors(void)
{
	return cxx_errors.load();
}

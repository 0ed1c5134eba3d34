/* fmt.c — a small printf for messages, warnings and statistics. goalloc cannot use stdio: it may
 * call malloc, and it takes locks a stopped or interrupted thread may hold. */
#include "fmt.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

static size_t put_uint(char *tmp, unsigned long long v, unsigned base)
{
	size_t n = 0;
	do {
		unsigned d = (unsigned)(v % base);
		tmp[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
		v /= base;
	} while (v);
	return n; /* digits in reverse order */
}

size_t ga_vfmt(char *buf, size_t size, const char *fmt, va_list ap)
{
	size_t o = 0;
#define EMIT(ch)                          \
	do {                              \
		if (o + 1 < size)         \
			buf[o] = (char)(ch); \
		o++;                      \
	} while (0)
	for (const char *f = fmt; *f; f++) {
		if (*f != '%') {
			EMIT(*f);
			continue;
		}
		f++;
		int left = 0, zero = 0, width = 0, lng = 0;
		for (;; f++) {
			if (*f == '-')
				left = 1;
			else if (*f == '0')
				zero = 1;
			else
				break;
		}
		while (*f >= '0' && *f <= '9')
			width = width * 10 + (*f++ - '0');
		while (*f == 'l' || *f == 'z') {
			lng++;
			f++;
		}
		char tmp[32];
		const char *s = tmp;
		size_t n = 0;
		int neg = 0, rev = 1;
		switch (*f) {
		case 's':
			s = va_arg(ap, const char *);
			if (!s)
				s = "(null)";
			for (n = 0; s[n]; n++)
				;
			rev = 0;
			break;
		case 'c':
			tmp[0] = (char)va_arg(ap, int);
			n = 1;
			break;
		case 'd':
		case 'i': {
			long long v = lng ? va_arg(ap, long long) : va_arg(ap, int);
			unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
			neg = v < 0;
			n = put_uint(tmp, u, 10);
			break;
		}
		case 'u':
		case 'x': {
			unsigned long long u = lng ? va_arg(ap, unsigned long long) : va_arg(ap, unsigned);
			n = put_uint(tmp, u, *f == 'x' ? 16 : 10);
			break;
		}
		case 'p': {
			unsigned long long u = (uintptr_t)va_arg(ap, void *);
			n = put_uint(tmp, u, 16);
			tmp[n++] = 'x';
			tmp[n++] = '0';
			break;
		}
		case '%':
			tmp[0] = '%';
			n = 1;
			break;
		default:
			return o < size ? (buf[o] = 0, o) : o; /* unknown conversion: stop */
		}
		int len = (int)n + neg;
		if (!left)
			for (int i = len; i < width; i++)
				EMIT(zero ? '0' : ' ');
		if (neg)
			EMIT('-');
		for (size_t i = 0; i < n; i++)
			EMIT(rev ? s[n - 1 - i] : s[i]);
		if (left)
			for (int i = len; i < width; i++)
				EMIT(' ');
	}
#undef EMIT
	if (size)
		buf[o < size ? o : size - 1] = 0;
	return o < size ? o : size - 1;
}

size_t ga_fmt(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	size_t n = ga_vfmt(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

void ga_write_all(int fd, const char *buf, size_t len)
{
	int saved = errno;
	while (len) {
		ssize_t w = write(fd, buf, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		buf += w;
		len -= (size_t)w;
	}
	errno = saved;
}

void ga_dprintf(int fd, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	size_t n = ga_vfmt(buf, sizeof buf, fmt, ap);
	va_end(ap);
	ga_write_all(fd, buf, n);
}

void ga_fatal(const char *fmt, ...)
{
	char buf[512];
	size_t n = ga_fmt(buf, sizeof buf, "goalloc: ");
	va_list ap;
	va_start(ap, fmt);
	n += ga_vfmt(buf + n, sizeof buf - n - 1, fmt, ap);
	va_end(ap);
	buf[n++] = '\n';
	ga_write_all(2, buf, n);
	abort();
}

void ga_double_free(void *p)
{
	ga_fatal("free(): double free detected %p", p);
}

void ga_warn(const char *fmt, ...)
{
	char buf[512];
	size_t n = ga_fmt(buf, sizeof buf, "goalloc: ");
	va_list ap;
	va_start(ap, fmt);
	n += ga_vfmt(buf + n, sizeof buf - n - 1, fmt, ap);
	va_end(ap);
	buf[n++] = '\n';
	ga_write_all(2, buf, n);
}

uint64_t ga_parse_hex(const char **sp)
{
	uint64_t v = 0;
	const char *s = *sp;
	for (;; s++) {
		unsigned d;
		if (*s >= '0' && *s <= '9')
			d = (unsigned)(*s - '0');
		else if (*s >= 'a' && *s <= 'f')
			d = (unsigned)(*s - 'a' + 10);
		else
			break;
		v = v << 4 | d;
	}
	*sp = s;
	return v;
}

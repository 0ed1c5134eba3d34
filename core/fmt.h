/* fmt.h — formatting and output that never allocate (no stdio inside goalloc). */
#ifndef GA_FMT_H
#define GA_FMT_H
#include <stdarg.h>
#include <stddef.h>
#include "ga.h"

/* A subset of printf: %s %c %d %i %u %x %p %% with the l/ll/z length modifiers, optional '-'
 * flag, '0' flag and field width. Always NUL-terminates; returns the length written. */
GA_HIDDEN size_t ga_vfmt(char *buf, size_t size, const char *fmt, va_list ap);
GA_HIDDEN __attribute__((format(printf, 3, 4))) size_t ga_fmt(char *buf, size_t size, const char *fmt, ...);
/* Format into a stack buffer and write(2) it whole to fd, retrying on EINTR; keeps errno. */
GA_HIDDEN __attribute__((format(printf, 2, 3))) void ga_dprintf(int fd, const char *fmt, ...);
GA_HIDDEN void ga_write_all(int fd, const char *buf, size_t len);
/* The lower-case hexadecimal digits at *sp as a number (0 if none); *sp advances past them. For
 * the /proc files the collector reads (maps, status). */
GA_HIDDEN uint64_t ga_parse_hex(const char **sp);
#endif

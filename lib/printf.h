/* printf-style formatting and the leveled console log.
 *
 * Formats: %d %i %u %x %X %o %p %s %c %% with flags '-', '0', '+', ' ', '#',
 * a width and precision (also '*'), and the length modifiers hh h l ll z t j.
 * Output goes to every registered console sink (serial, and a capture buffer
 * in host tests). */
#ifndef UMBRA_LIB_PRINTF_H
#define UMBRA_LIB_PRINTF_H

#include <stdarg.h>
#include "include/bits.h"
#include "include/types.h"

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

#ifdef UMBRA_HOSTED
/* Host tests compare these with the C library's, so they must not replace them. */
#define vsnprintf umbra_vsnprintf
#define snprintf umbra_snprintf
#endif

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) __printf(3, 4);

/* Console output: kprintf always prints; klog prints when level <= the
 * level chosen on the command line (log=error|warn|info|debug). */
typedef void (*console_sink_fn)(const char *s, size_t n);
void console_set_sink(console_sink_fn sink);
int kprintf(const char *fmt, ...) __printf(1, 2);
int vkprintf(const char *fmt, va_list ap);
void klog(enum log_level level, const char *fmt, ...) __printf(2, 3);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);

#define pr_err(...)	klog(LOG_ERROR, __VA_ARGS__)
#define pr_warn(...)	klog(LOG_WARN, __VA_ARGS__)
#define pr_info(...)	klog(LOG_INFO, __VA_ARGS__)
#define pr_debug(...)	klog(LOG_DEBUG, __VA_ARGS__)

#endif

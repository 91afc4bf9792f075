/* The tiny library shared by the test guests: COM1 output, printf, checks,
 * port I/O, CPUID/MSR helpers and exit through port 0xf4 (QEMU's
 * isa-debug-exit, Umbra's guest exit port). */
#ifndef UMBRA_TESTS_GUEST_GLIB_H
#define UMBRA_TESTS_GUEST_GLIB_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mb1_info {
	uint32_t flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length, mmap_addr;
	uint32_t drives_length, drives_addr, config_table, boot_loader_name;
} __attribute__((packed));

static inline void outb(uint16_t p, uint8_t v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(p)); }
static inline void outl(uint16_t p, uint32_t v) { __asm__ volatile("outl %0, %1" ::"a"(v), "Nd"(p)); }
static inline uint8_t inb(uint16_t p) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}
static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

void serial_init(void);
void serial_putc(char c);
int gprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void *gmemset(void *d, int c, size_t n);
int gstrcmp(const char *a, const char *b);
/* Print "guest: <name> ok" or "guest: <name> FAILED" and count it. */
bool report(const char *name, bool ok);
/* Print the summary line and return the exit code (0 when all passed). */
int report_done(void);
__attribute__((noreturn)) void guest_exit(int code);
/* True when CPUID says a hypervisor named "UmbraUmbraUm" runs us. */
bool under_umbra(void);
/* lib/lm.S: load a GDT whose CS is 0x08 and data 0x10; enter IA-32e mode
 * (compatibility mode) with CR3 = @cr3 and CR0.PG plus @cr0_set. */
void gdt_load(const void *gdtr);
void lm_enter(uint32_t cr3, uint32_t cr0_set);

#endif

/* Multiboot2 boot information (Multiboot2 specification, section 3.6). */
#include "boot/bootinfo.h"
#include "lib/printf.h"
#include "lib/string.h"

enum {
	TAG_END = 0,
	TAG_CMDLINE = 1,
	TAG_LOADER_NAME = 2,
	TAG_MODULE = 3,
	TAG_BASIC_MEMINFO = 4,
	TAG_MMAP = 6,
	TAG_EFI32 = 11,
	TAG_EFI64 = 12,
	TAG_ACPI_OLD = 14,
	TAG_ACPI_NEW = 15,
	TAG_EFI_MMAP = 17,
	TAG_EFI_BS = 18,
};

struct tag {
	uint32_t type, size;
};

struct mmap_entry {
	uint64_t base, len;
	uint32_t type, reserved;
};
_Static_assert(sizeof(struct tag) == 8, "tag header");
_Static_assert(sizeof(struct mmap_entry) == 24, "mmap entry");

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

/* Copy the NUL-terminated string of @len bytes at @s; false when it has no
 * terminator inside the tag. Overlong strings are refused, not cut. */
static bool copy_string(char *dst, size_t dstlen, const uint8_t *s, size_t len)
{
	size_t n = strnlen((const char *)s, len);
	if (n == len || n >= dstlen)
		return false;
	memcpy(dst, s, n + 1);
	return true;
}

const char *mem_type_name(uint32_t type)
{
	switch (type) {
	case MEM_USABLE: return "usable";
	case MEM_RESERVED: return "reserved";
	case MEM_ACPI_RECLAIM: return "ACPI reclaimable";
	case MEM_ACPI_NVS: return "ACPI NVS";
	case MEM_BAD: return "bad RAM";
	default: return "other (reserved)";
	}
}

#define FAIL(st, ...) do { snprintf(err, errlen, __VA_ARGS__); return (st); } while (0)

static enum bootinfo_status parse_mmap(const uint8_t *t, uint32_t size, struct boot_info *bi,
				       char *err, size_t errlen)
{
	if (size < 16)
		FAIL(BOOTINFO_MALFORMED, "memory-map tag too short (%u bytes)", size);
	uint32_t esize = rd32(t + 8);
	if (esize < sizeof(struct mmap_entry) || esize % 8)
		FAIL(BOOTINFO_MALFORMED, "memory-map entry size %u is invalid", esize);
	for (uint32_t off = 16; off + esize <= size; off += esize) {
		struct mem_range r = {
			.base = rd64(t + off), .len = rd64(t + off + 8), .type = rd32(t + off + 16),
		};
		if (r.len == 0)
			continue;
		if (r.base + r.len < r.base)
			FAIL(BOOTINFO_MALFORMED, "memory range %#llx+%#llx wraps around",
			     (unsigned long long)r.base, (unsigned long long)r.len);
		struct mem_range *last = bi->mmap_count ? &bi->mmap[bi->mmap_count - 1] : NULL;
		if (last && last->type == r.type && last->base + last->len == r.base) {
			last->len += r.len;	/* coalesce adjacent ranges of one type */
			continue;
		}
		if (bi->mmap_count == BOOT_MAX_MMAP)
			FAIL(BOOTINFO_TOO_MANY, "memory map has more than %d ranges", BOOT_MAX_MMAP);
		bi->mmap[bi->mmap_count++] = r;
	}
	return BOOTINFO_OK;
}

enum bootinfo_status bootinfo_parse(uint32_t magic, const void *mbi, size_t avail,
				    hpa_t mbi_hpa, struct boot_info *bi, char *err,
				    size_t errlen)
{
	const uint8_t *base = mbi;
	bool have_mmap = false, have_end = false;

	memset(bi, 0, sizeof(*bi));
	if (errlen)
		err[0] = '\0';
	if (magic != MB2_BOOTLOADER_MAGIC)
		FAIL(BOOTINFO_BAD_MAGIC, "boot loader magic %#x is not Multiboot2 (%#x)", magic,
		     MB2_BOOTLOADER_MAGIC);
	if (!mbi || (mbi_hpa & 7))
		FAIL(BOOTINFO_MALFORMED, "Multiboot2 info at %#llx is not 8-byte aligned",
		     (unsigned long long)mbi_hpa);
	if (avail < 8)
		FAIL(BOOTINFO_MALFORMED, "Multiboot2 info truncated (%zu bytes)", avail);
	uint32_t total = rd32(base);
	if (total < 16 || total > avail || total > MB2_INFO_MAX)
		FAIL(BOOTINFO_MALFORMED, "Multiboot2 info size %u is invalid (readable: %zu)",
		     total, avail);
	bi->mbi_start = mbi_hpa;
	bi->mbi_end = mbi_hpa + total;

	for (uint32_t off = 8; !have_end;) {
		if (off + 8 > total)
			FAIL(BOOTINFO_MALFORMED, "Multiboot2 info ends without an end tag");
		const uint8_t *t = base + off;
		uint32_t type = rd32(t), size = rd32(t + 4);
		if (size < 8 || size > total - off)
			FAIL(BOOTINFO_MALFORMED, "tag %u at offset %u has bad size %u", type, off,
			     size);
		const uint8_t *body = t + 8;
		uint32_t blen = size - 8;

		switch (type) {
		case TAG_END:
			if (size != 8)
				FAIL(BOOTINFO_MALFORMED, "end tag has size %u", size);
			have_end = true;
			break;
		case TAG_CMDLINE:
			if (!copy_string(bi->cmdline, sizeof(bi->cmdline), body, blen))
				FAIL(BOOTINFO_MALFORMED, "command line is unterminated or longer than %zu bytes",
				     sizeof(bi->cmdline) - 1);
			break;
		case TAG_LOADER_NAME:
			if (!copy_string(bi->loader_name, sizeof(bi->loader_name), body, blen))
				snprintf(bi->loader_name, sizeof(bi->loader_name), "(unreadable)");
			break;
		case TAG_MODULE: {
			if (blen < 9)
				FAIL(BOOTINFO_MALFORMED, "module tag too short (%u bytes)", size);
			if (bi->module_count == BOOT_MAX_MODULES)
				FAIL(BOOTINFO_TOO_MANY, "more than %d modules", BOOT_MAX_MODULES);
			struct boot_module *m = &bi->modules[bi->module_count];
			m->start = rd32(body);
			m->end = rd32(body + 4);
			if (m->end < m->start)
				FAIL(BOOTINFO_MALFORMED, "module %u ends (%#llx) before it starts (%#llx)",
				     bi->module_count, (unsigned long long)m->end,
				     (unsigned long long)m->start);
			if (!copy_string(m->cmdline, sizeof(m->cmdline), body + 8, blen - 8))
				FAIL(BOOTINFO_MALFORMED, "module %u command line is unterminated or too long",
				     bi->module_count);
			bi->module_count++;
			break;
		}
		case TAG_BASIC_MEMINFO:
			if (blen < 8)
				FAIL(BOOTINFO_MALFORMED, "basic meminfo tag too short");
			bi->basic_mem_lower_kib = rd32(body);
			bi->basic_mem_upper_kib = rd32(body + 4);
			break;
		case TAG_MMAP: {
			enum bootinfo_status st = parse_mmap(t, size, bi, err, errlen);
			if (st != BOOTINFO_OK)
				return st;
			have_mmap = true;
			break;
		}
		case TAG_EFI32:
			if (blen >= 4)
				bi->efi32_system_table = rd32(body);
			break;
		case TAG_EFI64:
			if (blen >= 8)
				bi->efi64_system_table = rd64(body);
			break;
		case TAG_ACPI_OLD:
			if (blen >= 20)	/* ACPI 1.0 RSDP is 20 bytes */
				bi->rsdp_v1 = mbi_hpa + off + 8;
			break;
		case TAG_ACPI_NEW:
			if (blen >= 36)	/* ACPI 2.0+ RSDP is 36 bytes */
				bi->rsdp_v2 = mbi_hpa + off + 8;
			break;
		case TAG_EFI_MMAP:
			bi->efi_mmap_present = true;
			break;
		case TAG_EFI_BS:
			bi->efi_boot_services_not_exited = true;
			break;
		default:
			break;	/* tags we do not use */
		}
		off += ALIGN_UP(size, 8);
	}
	if (!have_mmap)
		FAIL(BOOTINFO_NO_MMAP, "the boot loader passed no memory map (tag 6)");
	return BOOTINFO_OK;
}

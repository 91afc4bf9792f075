/* Multiboot v1 guest loader (pure logic). The format is the one GRUB's
 * `multiboot` command and QEMU's -kernel accept: the header (magic, flags,
 * checksum, optional a.out-kludge addresses) sits 4-byte aligned in the first
 * 8 KiB; without the kludge the image must be an ELF executable whose PT_LOAD
 * segments are loaded at their physical addresses. */
#include "vmm/loader.h"
#include "lib/printf.h"
#include "lib/string.h"

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t get32(const uint8_t *p) { return (uint32_t)get16(p) | (uint32_t)get16(p + 2) << 16; }
static uint64_t get64(const uint8_t *p) { return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32; }
static void put32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static void put64(uint8_t *p, uint64_t v) { put32(p, (uint32_t)v); put32(p + 4, (uint32_t)(v >> 32)); }

/* [lo, hi) must lie inside guest RAM and stay clear of the loader area. */
static bool range_ok(uint64_t lo, uint64_t hi, uint64_t gmem_size)
{
	if (hi < lo || hi > gmem_size)
		return false;
	return hi <= LOADER_LOW_BASE || lo >= LOADER_LOW_END;
}

#define ELF_PT_LOAD	1
#define ELF_ET_EXEC	2
#define ELF_EM_386	3
#define ELF_EM_X86_64	62

struct phdr {
	uint32_t type;
	uint64_t offset, vaddr, paddr, filesz, memsz;
};

static struct phdr read_phdr(const uint8_t *p, bool elf64)
{
	struct phdr ph;

	ph.type = get32(p);
	if (elf64) {
		ph.offset = get64(p + 8);
		ph.vaddr = get64(p + 16);
		ph.paddr = get64(p + 24);
		ph.filesz = get64(p + 32);
		ph.memsz = get64(p + 40);
	} else {
		ph.offset = get32(p + 4);
		ph.vaddr = get32(p + 8);
		ph.paddr = get32(p + 12);
		ph.filesz = get32(p + 16);
		ph.memsz = get32(p + 20);
	}
	return ph;
}

static enum load_status load_elf(const uint8_t *img, size_t len, uint8_t *gmem,
				 uint64_t gmem_size, struct load_result *res, char *err,
				 size_t errlen)
{
	if (len < 52 || memcmp(img, "\x7f" "ELF", 4) != 0) {
		snprintf(err, errlen, "no a.out kludge and not an ELF file");
		return LOAD_BAD_ELF;
	}
	bool elf64 = img[4] == 2;
	if ((img[4] != 1 && img[4] != 2) || img[5] != 1) {
		snprintf(err, errlen, "ELF class %u / data encoding %u: want 32/64-bit little-endian",
			 img[4], img[5]);
		return LOAD_BAD_ELF;
	}
	if (elf64 && len < 64) {
		snprintf(err, errlen, "truncated ELF64 header");
		return LOAD_BAD_ELF;
	}
	uint16_t type = get16(img + 16), machine = get16(img + 18);
	if (type != ELF_ET_EXEC || (machine != ELF_EM_386 && machine != ELF_EM_X86_64)) {
		snprintf(err, errlen, "ELF type %u machine %u: want an x86 executable", type, machine);
		return LOAD_BAD_ELF;
	}
	uint64_t entry = elf64 ? get64(img + 24) : get32(img + 24);
	uint64_t phoff = elf64 ? get64(img + 32) : get32(img + 28);
	uint16_t phentsize = get16(img + (elf64 ? 54 : 42));
	uint16_t phnum = get16(img + (elf64 ? 56 : 44));
	if (phentsize < (elf64 ? 56 : 32) || phoff > len || (uint64_t)phnum * phentsize > len - phoff) {
		snprintf(err, errlen, "program headers outside the file");
		return LOAD_BAD_ELF;
	}

	bool entry_found = false;
	unsigned loaded = 0;
	res->image_lo = ~0ull;
	res->image_hi = 0;
	for (unsigned i = 0; i < phnum; i++) {
		struct phdr ph = read_phdr(img + phoff + (uint64_t)i * phentsize, elf64);

		if (ph.type != ELF_PT_LOAD || ph.memsz == 0)
			continue;
		if (ph.filesz > ph.memsz || ph.offset > len || ph.filesz > len - ph.offset) {
			snprintf(err, errlen, "segment %u: file range outside the image", i);
			return LOAD_BAD_ELF;
		}
		if (ph.paddr + ph.memsz < ph.paddr || !range_ok(ph.paddr, ph.paddr + ph.memsz, gmem_size)) {
			snprintf(err, errlen,
				 "segment %u at 0x%llx+0x%llx does not fit guest RAM of 0x%llx bytes "
				 "(or overlaps the loader area 0x%x-0x%x)", i,
				 (unsigned long long)ph.paddr, (unsigned long long)ph.memsz,
				 (unsigned long long)gmem_size, LOADER_LOW_BASE, LOADER_LOW_END);
			return LOAD_TOO_BIG;
		}
		memcpy(gmem + ph.paddr, img + ph.offset, ph.filesz);
		memset(gmem + ph.paddr + ph.filesz, 0, ph.memsz - ph.filesz);
		res->image_lo = MIN(res->image_lo, ph.paddr);
		res->image_hi = MAX(res->image_hi, ph.paddr + ph.memsz);
		/* GRUB and QEMU enter at e_entry; when the segment holding it is
		 * linked at a virtual address other than its load address, the
		 * physical entry is the translated one. */
		if (!entry_found && entry >= ph.vaddr && entry < ph.vaddr + ph.memsz) {
			entry = entry - ph.vaddr + ph.paddr;
			entry_found = true;
		}
		loaded++;
	}
	if (!loaded) {
		snprintf(err, errlen, "no PT_LOAD segment");
		return LOAD_BAD_ELF;
	}
	if (!entry_found || entry >= BIT(32)) {
		snprintf(err, errlen, "entry point 0x%llx is not inside a loaded segment",
			 (unsigned long long)entry);
		return LOAD_BAD_ENTRY;
	}
	res->entry = (uint32_t)entry;
	res->elf64 = elf64;
	return LOAD_OK;
}

/* a.out kludge (Multiboot 0.6.96 section 3.1.3): the file from the header
 * back by (header_addr - load_addr) is loaded at load_addr up to
 * load_end_addr (0: end of file), and zeroed up to bss_end_addr (0: none). */
static enum load_status load_aout(const uint8_t *img, size_t len, size_t hdr_off,
				  uint8_t *gmem, uint64_t gmem_size, struct load_result *res,
				  char *err, size_t errlen)
{
	if (hdr_off + 32 > len) {
		snprintf(err, errlen, "truncated a.out-kludge header");
		return LOAD_BAD_HEADER;
	}
	const uint8_t *h = img + hdr_off;
	uint32_t header_addr = get32(h + 12), load_addr = get32(h + 16);
	uint32_t load_end = get32(h + 20), bss_end = get32(h + 24), entry = get32(h + 28);

	if (header_addr < load_addr || header_addr - load_addr > hdr_off) {
		snprintf(err, errlen, "a.out kludge: header_addr 0x%x below load_addr 0x%x or before file start",
			 header_addr, load_addr);
		return LOAD_BAD_HEADER;
	}
	uint64_t file_off = hdr_off - (header_addr - load_addr);
	uint64_t load_size = load_end ? (uint64_t)load_end - load_addr : len - file_off;
	if (load_end && load_end < load_addr) {
		snprintf(err, errlen, "a.out kludge: load_end_addr below load_addr");
		return LOAD_BAD_HEADER;
	}
	if (load_size > len - file_off) {
		snprintf(err, errlen, "a.out kludge: load range exceeds the file");
		return LOAD_BAD_HEADER;
	}
	uint64_t end = bss_end ? MAX((uint64_t)bss_end, load_addr + load_size) : load_addr + load_size;
	if (!range_ok(load_addr, end, gmem_size)) {
		snprintf(err, errlen, "a.out kludge: 0x%x-0x%llx does not fit guest RAM of 0x%llx bytes",
			 load_addr, (unsigned long long)end, (unsigned long long)gmem_size);
		return LOAD_TOO_BIG;
	}
	memcpy(gmem + load_addr, img + file_off, load_size);
	memset(gmem + load_addr + load_size, 0, end - (load_addr + load_size));
	if (entry < load_addr || entry >= end) {
		snprintf(err, errlen, "a.out kludge: entry 0x%x outside 0x%x-0x%llx", entry, load_addr,
			 (unsigned long long)end);
		return LOAD_BAD_ENTRY;
	}
	res->entry = entry;
	res->image_lo = load_addr;
	res->image_hi = end;
	res->aout_kludge = true;
	return LOAD_OK;
}

enum load_status loader_load(const uint8_t *img, size_t len, uint8_t *gmem, uint64_t gmem_size,
			     struct load_result *res, char *err, size_t errlen)
{
	size_t limit = MIN(len, (size_t)MB1_SEARCH_LEN);
	size_t off;

	*res = (struct load_result){ 0 };
	for (off = 0; off + 12 <= limit; off += 4)
		if (get32(img + off) == MB1_HEADER_MAGIC)
			break;
	if (off + 12 > limit) {
		snprintf(err, errlen, "no Multiboot header (magic 0x1badb002) in the first %u bytes",
			 MB1_SEARCH_LEN);
		return LOAD_NO_HEADER;
	}
	uint32_t flags = get32(img + off + 4), sum = get32(img + off + 8);
	if ((uint32_t)(MB1_HEADER_MAGIC + flags + sum) != 0) {
		snprintf(err, errlen, "Multiboot header at offset 0x%zx: bad checksum", off);
		return LOAD_BAD_HEADER;
	}
	/* Bits 0-15 are requirements: refuse any we do not know. Video mode
	 * (bit 2) is satisfied by text mode: no framebuffer information. */
	if (flags & GENMASK(15, 3)) {
		snprintf(err, errlen, "Multiboot header requires unsupported features (flags 0x%x)", flags);
		return LOAD_BAD_HEADER;
	}
	res->mb_flags = flags;
	enum load_status st;
	if (flags & MB1_FLAG_AOUT_KLUDGE)
		st = load_aout(img, len, off, gmem, gmem_size, res, err, errlen);
	else
		st = load_elf(img, len, gmem, gmem_size, res, err, errlen);
	res->mb_flags = flags;
	return st;
}

uint32_t loader_write_mbi(uint8_t *gmem, uint64_t gmem_size, const char *cmdline)
{
	static const uint64_t gdt[3] = {
		0,
		0x00cf9b000000ffffull,	/* 0x08: flat 32-bit code, accessed */
		0x00cf93000000ffffull,	/* 0x10: flat data, accessed */
	};
	uint8_t *mbi = gmem + LOADER_MBI, *mm = gmem + LOADER_MMAP;
	uint64_t upper_kib = gmem_size > 0x100000 ? (gmem_size - 0x100000) >> 10 : 0;
	const struct { uint64_t base, len; uint32_t type; } map[] = {
		{ 0, (uint64_t)LOADER_MEM_LOWER_KIB << 10, 1 },
		{ (uint64_t)LOADER_MEM_LOWER_KIB << 10, 0x100000 - ((uint64_t)LOADER_MEM_LOWER_KIB << 10), 2 },
		{ 0x100000, gmem_size - 0x100000, 1 },
	};
	size_t n;

	memset(gmem + LOADER_LOW_BASE, 0, LOADER_LOW_END - LOADER_LOW_BASE);
	memcpy(gmem + LOADER_GDT, gdt, sizeof(gdt));
	for (unsigned i = 0; i < ARRAY_SIZE(map); i++) {
		put32(mm + 24 * i, 20);
		put64(mm + 24 * i + 4, map[i].base);
		put64(mm + 24 * i + 12, map[i].len);
		put32(mm + 24 * i + 20, map[i].type);
	}
	memcpy(gmem + LOADER_NAME, "Umbra", 6);
	n = strnlen(cmdline, LOADER_CMDLINE_MAX - 1);
	memcpy(gmem + LOADER_CMDLINE, cmdline, n);
	gmem[LOADER_CMDLINE + n] = 0;

	put32(mbi + 0, MB1_INFO_MEM | MB1_INFO_CMDLINE | MB1_INFO_MMAP | MB1_INFO_LOADER_NAME);
	put32(mbi + 4, LOADER_MEM_LOWER_KIB);
	put32(mbi + 8, (uint32_t)MIN(upper_kib, 0xffffffffull));
	put32(mbi + 16, LOADER_CMDLINE);
	put32(mbi + 44, 24 * ARRAY_SIZE(map));
	put32(mbi + 48, LOADER_MMAP);
	put32(mbi + 64, LOADER_NAME);
	return LOADER_MBI;
}

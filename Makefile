# Umbra: one non-recursive Makefile. Output goes to build/.
#   make            build/umbra.elf and build/umbra.iso
#   make run        boot the ISO headless (EMU=bochs|qemu|qemu-uefi|qemu-kvm)
#   make test       host unit tests, fuzz pass and emulator tests
#   make fuzz       long fuzzing run of the MMU core
#   make bench      benchmarks

BUILD   ?= build
.SECONDEXPANSION:
CC      := gcc
LD      := ld
NASM    := nasm
HOSTCC  ?= gcc
CLANG   ?= clang

WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wpointer-arith -Wundef -Wvla -Werror
GCC_INC := $(shell $(CC) -print-file-name=include)

# Freestanding kernel flags (see ../shared/STYLE.md). The kernel runs
# identity-mapped at 1 MiB, so the small code model fits.
KCFLAGS := -std=gnu11 -O2 -g $(WARN) -ffreestanding -fno-pic -fno-pie \
           -mno-red-zone -mno-sse -mno-sse2 -mno-mmx -mno-80387 -mgeneral-regs-only \
           -fno-stack-protector -fno-omit-frame-pointer -fno-strict-aliasing \
           -fno-tree-loop-distribute-patterns \
           -mcmodel=small -nostdinc -isystem $(GCC_INC) -I. -MMD -MP
KLDFLAGS := -nostdlib -static -no-pie -z max-page-size=0x1000 -z noexecstack -T linker.ld
NASMFLAGS := -f elf64 -g -F dwarf

# Host builds (tests, fuzzing): the same sources, hosted, with sanitizers.
HOSTCFLAGS := -std=gnu11 -O1 -g $(WARN) -Wno-missing-prototypes -fno-omit-frame-pointer \
              -fsanitize=address,undefined -fno-sanitize-recover=all -DUMBRA_HOSTED -I. -MMD -MP

# ---- sources, per folder -------------------------------------------------
BOOT_ASM    := boot/entry.asm
BOOT_SRCS   := boot/bootinfo.c
ARCH_ASM    := arch/x86/isr.asm
ARCH_SRCS   := arch/x86/cpu.c arch/x86/trap.c arch/x86/paging.c arch/x86/vmx.c arch/x86/vmx_caps.c
DRIVER_SRCS := drivers/serial.c drivers/power.c
LIB_SRCS    := lib/string.c lib/printf.c lib/panic.c lib/frame.c lib/cmdline.c
MMU_SRCS    := mmu/walk.c mmu/rsvd.c mmu/perm.c mmu/ept.c mmu/shadow.c
VMM_SRCS    := vmm/main.c vmm/options.c vmm/vmm.c vmm/vmx_enable.c vmm/vmcs.c vmm/vmcs_check.c vmm/exit.c \
               vmm/loader.c vmm/uart.c vmm/shadow_mmu.c

# Sources that also build hosted (pure logic, no hardware access).
HOSTED_SRCS := lib/printf.c lib/frame.c lib/cmdline.c boot/bootinfo.c $(MMU_SRCS) \
               arch/x86/vmx_caps.c vmm/loader.c vmm/uart.c
HOST_TESTS  := printf bootinfo frame cmdline vmxcaps loader uart
MMU_HOST_TESTS := walk rsvd ept shadow

KSRCS := $(BOOT_SRCS) $(ARCH_SRCS) $(DRIVER_SRCS) $(LIB_SRCS) $(MMU_SRCS) $(VMM_SRCS)
KOBJS := $(BOOT_ASM:%.asm=$(BUILD)/k/%.o) $(ARCH_ASM:%.asm=$(BUILD)/k/%.o) \
         $(KSRCS:%.c=$(BUILD)/k/%.o)

# The ISO that `make` builds and `make run` boots: Umbra's command line and
# its guest modules, as pairs of file and the guest's command line.
CMDLINE ?= log=info
MODULES ?= $(BUILD)/guests/basic.elf "started by make run" \
           $(BUILD)/guests/wild.elf paging32 $(BUILD)/guests/wild.elf pae
MODULE_FILES = $(filter $(BUILD)/guests/%,$(MODULES))

all: $(BUILD)/umbra.iso

$(BUILD)/k/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(KCFLAGS) -c $< -o $@

$(BUILD)/k/%.o: %.asm
	@mkdir -p $(dir $@)
	$(NASM) $(NASMFLAGS) -MD $(@:.o=.d) -MP $< -o $@

# mmu/ may include only include/ and mmu/: compile it against a root that
# holds nothing else, so any other include fails the build.
$(BUILD)/mmu-root/.stamp:
	@mkdir -p $(BUILD)/mmu-root
	ln -sfn $(CURDIR)/include $(BUILD)/mmu-root/include
	ln -sfn $(CURDIR)/mmu $(BUILD)/mmu-root/mmu
	@touch $@

$(BUILD)/k/mmu/%.o: mmu/%.c $(BUILD)/mmu-root/.stamp
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -I.,$(KCFLAGS)) -I$(BUILD)/mmu-root -c $< -o $@

$(BUILD)/umbra.elf: $(KOBJS) linker.ld
	$(LD) $(KLDFLAGS) -o $@ $(KOBJS)
	objdump -d -S $@ > $(BUILD)/umbra.lst 2>/dev/null || true

# The ISO is rebuilt when its command line or module list changes.
$(BUILD)/iso.cfg: FORCE
	@mkdir -p $(BUILD)
	@echo '$(CMDLINE) | $(MODULES)' | cmp -s - $@ || echo '$(CMDLINE) | $(MODULES)' > $@
$(BUILD)/umbra.iso: $(BUILD)/umbra.elf iso/grub.cfg scripts/mkiso.sh scripts/deps.sh $(BUILD)/iso.cfg \
		$(MODULE_FILES)
	bash scripts/deps.sh build
	bash scripts/mkiso.sh $@ $(BUILD)/umbra.elf "$(CMDLINE)" $(MODULES)

# ---- host tests ---------------------------------------------------------------
HOST_OBJS := $(HOSTED_SRCS:%.c=$(BUILD)/host/%.o) $(BUILD)/host/tests/host/host_lib.o \
             $(BUILD)/host/tests/host/host_env.o

$(BUILD)/host/%.o: %.c
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOSTCFLAGS) -c $< -o $@

$(BUILD)/host/test_%: $(BUILD)/host/tests/host/test_%.o $(HOST_OBJS)
	$(HOSTCC) $(HOSTCFLAGS) -o $@ $^

HOST_TEST_BINS := $(addprefix $(BUILD)/host/test_,$(HOST_TESTS) $(MMU_HOST_TESTS))
host-tests: $(HOST_TEST_BINS)

# ---- MMU core: test support, fuzzing, host benchmarks ---------------------------
# Host tests link their reference models and fake memory (added to $^).
MMU_TEST_LIB := $(BUILD)/host/tests/host/fake_mem.o
$(BUILD)/host/test_walk: $(BUILD)/host/tests/host/ref_walk.o
$(BUILD)/host/test_ept: $(MMU_TEST_LIB) $(BUILD)/host/tests/host/ept_ref.o
$(BUILD)/host/test_shadow: $(MMU_TEST_LIB) $(BUILD)/host/tests/host/shadow_ref.o

# libFuzzer targets (clang 14, libclang-rt-14-dev): each checks the MMU core
# against an independent reference. `make test` runs each for FUZZ_SECONDS
# (scripts/test.sh, default 20); `make fuzz` runs them for FUZZ_TIME each.
FUZZCFLAGS := -std=gnu11 -O1 -g $(WARN) -Wno-missing-prototypes -fno-omit-frame-pointer \
              -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -DUMBRA_HOSTED -I.
FUZZ_SRCS_walk := tests/fuzz/fuzz_walk.c tests/host/ref_walk.c tests/host/host_env.c $(MMU_SRCS)
FUZZ_SRCS_shadow := tests/fuzz/fuzz_shadow.c mmu/shadow.c tests/host/fake_mem.c \
                    tests/host/shadow_ref.c tests/host/host_env.c
FUZZ_TARGETS := $(BUILD)/fuzz/fuzz_walk $(BUILD)/fuzz/fuzz_shadow
FUZZ_TIME ?= 600
$(BUILD)/fuzz/fuzz_%: $$(FUZZ_SRCS_%) $(wildcard mmu/*.h tests/host/*.h)
	@mkdir -p $(dir $@)
	$(CLANG) $(FUZZCFLAGS) -o $@ $(FUZZ_SRCS_$*)
fuzz: $(FUZZ_TARGETS)
	for f in $(FUZZ_TARGETS); do mkdir -p $$f.corpus && \
		$$f -max_total_time=$(FUZZ_TIME) -print_final_stats=1 $$f.corpus || exit 1; done

# Host micro-benchmarks: optimised, no sanitizers.
BENCHCFLAGS := -std=gnu11 -O2 -g $(WARN) -Wno-missing-prototypes -DUMBRA_HOSTED -I.
BENCH_SRCS_walk := tests/host/bench_walk.c tests/host/host_env.c $(MMU_SRCS)
BENCH_SRCS_shadow := tests/host/bench_shadow.c mmu/shadow.c tests/host/fake_mem.c \
                     tests/host/shadow_ref.c tests/host/host_env.c
HOST_BENCHES := $(BUILD)/bench/bench_walk $(BUILD)/bench/bench_shadow
$(BUILD)/bench/bench_%: $$(BENCH_SRCS_%) $(wildcard mmu/*.h tests/host/*.h)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(BENCHCFLAGS) -o $@ $(BENCH_SRCS_$*)
bench-host: $(HOST_BENCHES)
	for b in $(HOST_BENCHES); do $$b || exit 1; done
.PHONY: fuzz bench-host

# ---- test guests (tests/guest) ------------------------------------------------
# 32-bit freestanding Multiboot v1 ELF kernels; each boots natively (QEMU
# -kernel, GRUB `multiboot`) and as an Umbra guest (a GRUB module).
GUESTS      := basic wild pool
GUEST_CC    := $(CC) -m32
GUEST_CFLAGS := -std=gnu11 -O2 $(WARN) -ffreestanding -fno-pic -fno-pie -fno-stack-protector \
               -mno-sse -mno-mmx -mno-80387 -fno-asynchronous-unwind-tables \
               -nostdinc -isystem $(GCC_INC) -Itests/guest -MMD -MP
GUEST_LIB   := tests/guest/lib/entry.S tests/guest/lib/glib.c tests/guest/lib/lm.S
GUEST_SRCS_basic := tests/guest/basic.c tests/guest/basic_lm.S
GUEST_SRCS_wild := tests/guest/wild.c
GUEST_SRCS_pool := tests/guest/pool.c
GUEST_ELFS  := $(GUESTS:%=$(BUILD)/guests/%.elf)

$(BUILD)/g/%.o: %.c
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) -Wno-missing-prototypes -c $< -o $@

$(BUILD)/g/%.o: %.S
	@mkdir -p $(dir $@)
	$(GUEST_CC) -c $< -o $@

guest_objs = $(patsubst %,$(BUILD)/g/%.o,$(basename $(GUEST_LIB) $(GUEST_SRCS_$(1))))
$(BUILD)/guests/%.elf: tests/guest/lib/guest.ld $$(call guest_objs,%)
	@mkdir -p $(dir $@)
	$(LD) -m elf_i386 -nostdlib --no-warn-rwx-segments -T tests/guest/lib/guest.ld -o $@ \
		$(call guest_objs,$*)

# The basic guest as an ELF64 file (same 32-bit code and Multiboot header):
# the loader's ELF64 path. GRUB's multiboot accepts it; QEMU's -kernel does not.
$(BUILD)/guests/basic64.elf: $(BUILD)/guests/basic.elf
	objcopy -O elf64-x86-64 $< $@

# The basic guest as a flat binary with the a.out-kludge address fields.
$(BUILD)/g/tests/guest/lib/entry_aout.o: tests/guest/lib/entry.S
	@mkdir -p $(dir $@)
	$(GUEST_CC) -DAOUT_KLUDGE -c $< -o $@

BASIC_AOUT_OBJS := $(BUILD)/g/tests/guest/lib/entry_aout.o \
	$(patsubst %,$(BUILD)/g/%.o,$(basename $(filter-out %/entry.S,$(GUEST_LIB)) $(GUEST_SRCS_basic)))
$(BUILD)/guests/basic-aout.bin: tests/guest/lib/guest.ld $(BASIC_AOUT_OBJS)
	@mkdir -p $(dir $@)
	$(LD) -m elf_i386 -nostdlib --no-warn-rwx-segments -T tests/guest/lib/guest.ld -o $@.elf \
		$(BASIC_AOUT_OBJS)
	objcopy -O binary $@.elf $@

# A module that is not a kernel, for the loader's error path.
$(BUILD)/guests/garbage.bin:
	@mkdir -p $(dir $@)
	printf 'This is not a Multiboot kernel.\n%.0s' $$(seq 1 64) > $@

# ---- paging test guests ----
# One kernel, many paging modes and suites (tests/guest/paging/pg.h);
# scripts/conformance.sh compares its runs on the bare CPU and under Umbra.
GUESTS      += paging
GUEST_ELFS  += $(BUILD)/guests/paging.elf
GUEST_SRCS_paging := tests/guest/paging/pg.c tests/guest/paging/cpu.S \
                     tests/guest/paging/access.c tests/guest/paging/random.c \
                     tests/guest/paging/scenarios.c
CONFORMANCE_ARGS ?= --full
# make conformance: the large sweep (40 cases x 3 CPU models: 8 random seeds
# per paging mode; native vs EPT and shadow paging, 360 emulator runs), about
# 15 minutes on 2 cores; the per-run timeout is generous.
conformance: guests $(BUILD)/umbra.elf
	TIMEOUT=$${TIMEOUT:-2400} bash scripts/conformance.sh $(CONFORMANCE_ARGS)
.PHONY: conformance

.PRECIOUS: $(BUILD)/g/%.o
guests: $(GUEST_ELFS) $(BUILD)/guests/basic64.elf $(BUILD)/guests/basic-aout.bin \
	$(BUILD)/guests/garbage.bin
all: guests
.PHONY: guests

# ---- top-level commands ---------------------------------------------------------
EMU ?= auto
run: $(BUILD)/umbra.iso
	bash scripts/deps.sh run
	bash scripts/run.sh $(EMU) $(BUILD)/umbra.iso

test:
	bash scripts/deps.sh test
	$(MAKE) all host-tests fuzz-targets
	bash scripts/test.sh

clean:
	rm -rf $(BUILD)

.PHONY: all run test clean host-tests FORCE
-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
.SECONDARY:


# ---- aggregate targets (after every section has added to the lists) ----------
fuzz-targets: $(FUZZ_TARGETS)
.PHONY: fuzz-targets

# ---- benchmarks ----------------------------------------------------------------
# `make bench [CPU=model]`: the benchmark guest (tests/guest/bench) natively,
# under Umbra with EPT and with shadow paging, for 2-level, PAE and 4-level
# guest paging, in Bochs on one CPU model; plus the host MMU benchmarks and
# their callgrind counts. Report: build/bench/ (scripts/bench.sh,
# docs/performance.md). Timings are reported, never asserted.
# BENCH_ARGS: more scripts/bench.sh options (--update-docs, --no-profile).
CPU ?= corei7_skylake_x
BENCH_ARGS ?=
GUEST_SRCS_bench := tests/guest/bench/bench.c tests/guest/bench/bench_asm.S
BENCH_GUEST := $(BUILD)/guests/bench.elf
guests: $(BENCH_GUEST)
bench: $(BUILD)/umbra.elf $(BENCH_GUEST) $(HOST_BENCHES)
	bash scripts/deps.sh bench
	@mkdir -p $(BUILD)/bench
	$(MAKE) --no-print-directory bench-host >$(BUILD)/bench/host.txt 2>&1 || \
		{ cat $(BUILD)/bench/host.txt; exit 1; }
	cat $(BUILD)/bench/host.txt
	bash scripts/bench.sh --cpu $(CPU) $(BENCH_ARGS)
.PHONY: bench

/*
 * The few pieces of the Xen public interface (x86_64 PV guest ABI) that the sample
 * unikernel uses. Values and layouts are those of Xen's public headers (xen.h,
 * arch-x86/xen-x86_64.h, sched.h, event_channel.h, io/console.h, elfnote.h); they are
 * restated here so the kernel builds freestanding, without userspace headers.
 * This file is included from both C and assembly.
 */
#ifndef SAMPLE_XEN_H
#define SAMPLE_XEN_H

#define PAGE_SHIFT 12
#define PAGE_SIZE (1UL << PAGE_SHIFT)

/* ELF note types read by the domain builder and by PV-GRUB. */
#define XEN_ELFNOTE_ENTRY 1
#define XEN_ELFNOTE_HYPERCALL_PAGE 2
#define XEN_ELFNOTE_VIRT_BASE 3
#define XEN_ELFNOTE_PADDR_OFFSET 4
#define XEN_ELFNOTE_XEN_VERSION 5
#define XEN_ELFNOTE_GUEST_OS 6
#define XEN_ELFNOTE_LOADER 8

/* Hypercall numbers: hypercall N is at hypercall_page + N * 32. */
#define __HYPERVISOR_update_va_mapping 14
#define __HYPERVISOR_sched_op 29
#define __HYPERVISOR_event_channel_op 32

#define UVMF_INVLPG 2

#define SCHEDOP_yield 0
#define SCHEDOP_shutdown 2
#define SCHEDOP_poll 3
#define SHUTDOWN_crash 3

#define EVTCHNOP_send 4

/* Read-only machine-to-physical table mapped into every x86_64 PV guest. */
#define MACH2PHYS_VIRT_START 0xFFFF800000000000UL

/* Page table entry bits for HYPERVISOR_update_va_mapping. */
#define PTE_PRESENT_RW_USER 7UL

#ifndef __ASSEMBLER__

typedef unsigned char uint8_t;
typedef signed char int8_t;
typedef unsigned int uint32_t;
typedef unsigned long uint64_t;

#define XEN_LEGACY_MAX_VCPUS 32

struct vcpu_time_info {
	uint32_t version;
	uint32_t pad0;
	uint64_t tsc_timestamp;
	uint64_t system_time;
	uint32_t tsc_to_system_mul;
	int8_t tsc_shift;
	uint8_t flags;
	uint8_t pad1[2];
};

struct vcpu_info {
	uint8_t evtchn_upcall_pending;
	uint8_t evtchn_upcall_mask;
	uint64_t evtchn_pending_sel;
	uint64_t arch_cr2;
	uint64_t arch_pad;
	struct vcpu_time_info time;
};

struct shared_info {
	struct vcpu_info vcpu_info[XEN_LEGACY_MAX_VCPUS];
	/* Event channel bitmaps, wallclock and arch fields follow; unused here. */
};

struct start_info {
	char magic[32];
	unsigned long nr_pages;
	unsigned long shared_info;
	uint32_t flags;
	unsigned long store_mfn;
	uint32_t store_evtchn;
	struct {
		unsigned long mfn;
		uint32_t evtchn;
	} console_domU;
	unsigned long pt_base;
	unsigned long nr_pt_frames;
	unsigned long mfn_list;
	unsigned long mod_start;
	unsigned long mod_len;
	char cmd_line[1024];
	unsigned long first_p2m_pfn;
	unsigned long nr_p2m_frames;
};

struct xencons_interface {
	char in[1024];
	char out[2048];
	uint32_t in_cons, in_prod;
	uint32_t out_cons, out_prod;
};

struct sched_poll {
	uint32_t *ports;
	unsigned int nr_ports;
	uint64_t timeout;
};

struct sched_shutdown {
	unsigned int reason;
};

struct evtchn_send {
	uint32_t port;
};

_Static_assert(sizeof(struct vcpu_info) == 64, "vcpu_info is 64 bytes on x86_64");
_Static_assert(__builtin_offsetof(struct vcpu_info, time) == 32,
	       "vcpu_info layout matches the x86_64 ABI");
_Static_assert(__builtin_offsetof(struct start_info, console_domU) == 72,
	       "start_info layout matches the x86_64 ABI");
_Static_assert(__builtin_offsetof(struct start_info, cmd_line) == 128,
	       "start_info layout matches the x86_64 ABI");
_Static_assert(__builtin_offsetof(struct xencons_interface, out_prod) == 3084,
	       "console ring layout matches io/console.h");

/*
 * Calls hypercall op with up to three arguments (unused ones are ignored by Xen) and
 * returns Xen's result: 0 or a positive value on success, -errno on failure.
 */
long xen_hypercall(unsigned long op, unsigned long arg1, unsigned long arg2,
		   unsigned long arg3);

#endif /* __ASSEMBLER__ */
#endif /* SAMPLE_XEN_H */

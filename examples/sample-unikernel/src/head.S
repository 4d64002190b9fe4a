/*
 * Entry point, Xen ELF notes, hypercall page and boot stack of the sample unikernel.
 *
 * The kernel is linked at virtual address 0, like Mini-OS and rumprun kernels, so
 * VIRT_BASE and PADDR_OFFSET are 0. Xen's domain builder (or PV-GRUB) jumps to _start
 * in 64-bit mode with %rsi pointing at start_info and the whole image mapped.
 */
#include "xen.h"

#define XEN_NOTE(type, desc)				\
	.pushsection .note.Xen, "a", @note;		\
	.balign 4;					\
	.long 2f - 1f;		/* namesz */		\
	.long 4f - 3f;		/* descsz */		\
	.long type;					\
1:	.asciz "Xen";					\
2:	.balign 4;					\
3:	desc;						\
4:	.balign 4;					\
	.popsection

XEN_NOTE(XEN_ELFNOTE_GUEST_OS, .asciz "xenbox-sample")
XEN_NOTE(XEN_ELFNOTE_XEN_VERSION, .asciz "xen-3.0")
XEN_NOTE(XEN_ELFNOTE_LOADER, .asciz "generic")
XEN_NOTE(XEN_ELFNOTE_VIRT_BASE, .quad 0)
XEN_NOTE(XEN_ELFNOTE_PADDR_OFFSET, .quad 0)
XEN_NOTE(XEN_ELFNOTE_ENTRY, .quad _start)
XEN_NOTE(XEN_ELFNOTE_HYPERCALL_PAGE, .quad hypercall_page)

#define BOOT_STACK_SIZE (16 * 1024)

	.section .text.head, "ax", @progbits
	.code64
	.globl _start
	.type _start, @function
_start:
	cld
	movq %rsi, %rbx			/* start_info, kept across the .bss clear */

	leaq __bss_start(%rip), %rdi
	leaq __bss_end(%rip), %rcx
	subq %rdi, %rcx
	xorl %eax, %eax
	rep stosb

	leaq boot_stack_top(%rip), %rsp
	xorl %ebp, %ebp			/* ends gdb backtraces here */
	movq %rbx, %rdi
	call sample_main

	/* sample_main never returns; stop here rather than run into the next page. */
	ud2
	.size _start, . - _start

/*
 * long xen_hypercall(unsigned long op, unsigned long arg1, unsigned long arg2,
 *                    unsigned long arg3)
 * Moves the C arguments into the hypercall registers (rdi, rsi, rdx) and calls
 * the stub Xen wrote at hypercall_page + op * 32. The stub clobbers rcx and r11.
 */
	.text
	.globl xen_hypercall
	.type xen_hypercall, @function
xen_hypercall:
	shlq $5, %rdi
	leaq hypercall_page(%rip), %rax
	addq %rdi, %rax
	movq %rsi, %rdi
	movq %rdx, %rsi
	movq %rcx, %rdx
	call *%rax
	ret
	.size xen_hypercall, . - xen_hypercall

/* Filled by Xen at domain build time: one 32-byte stub per hypercall. */
	.section .text.hypercall_page, "ax", @progbits
	.balign PAGE_SIZE
	.globl hypercall_page
	.type hypercall_page, @object
hypercall_page:
	.fill PAGE_SIZE, 1, 0xcc	/* int3 until Xen fills it */
	.size hypercall_page, PAGE_SIZE

	.section .bss
	.balign 16
boot_stack:
	.skip BOOT_STACK_SIZE
boot_stack_top:

	.section .note.GNU-stack, "", @progbits

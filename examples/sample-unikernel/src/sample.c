/*
 * The sample unikernel xenbox tests with: a Xen PV kernel that prints its command line
 * on the console, then calls tick() once a second, so a debugger attached through gdbsx
 * has a named function to break on and a counter to read.
 */
#include "clock.h"
#include "console.h"
#include "sched.h"
#include "xen.h"

/* Prints "tick N". Kept out of line so gdb can break on it and read counter. */
__attribute__((noinline)) void tick(unsigned long counter)
{
	console_print("tick ");
	console_print_unsigned(counter);
	console_print("\n");
}

/* Prints the command line exactly as received, between <<< and >>> on one line. */
static void print_command_line(const struct start_info *start_info)
{
	unsigned long len = 0;

	while (len < sizeof(start_info->cmd_line) && start_info->cmd_line[len] != '\0')
		len++;

	console_print("xenbox-sample: cmdline=<<<");
	console_write_raw(start_info->cmd_line, len);
	console_print(">>>\n");
}

/* Called by _start on the boot stack with the start_info Xen (or PV-GRUB) passed. */
__attribute__((noreturn)) void sample_main(const struct start_info *start_info)
{
	unsigned long counter = 0;

	console_init(start_info);
	clock_init(start_info);

	console_print("xenbox-sample: booted, a Xen PV sample kernel for xenbox\n");
	print_command_line(start_info);

	for (;;) {
		counter++;
		tick(counter);
		clock_sleep_ns(NS_PER_SECOND);
	}
}

/*
 * Output on the guest's PV console. The console page is a ring shared with
 * xenconsoled in dom0: the guest writes at out_prod, xenconsoled reads at out_cons,
 * and an event on the console channel tells it there is something to read.
 */
#include "console.h"
#include "sched.h"

static volatile struct xencons_interface *console_ring;
static uint32_t console_port;

/* Stores to the ring must be visible before the index that publishes them. */
static void write_barrier(void)
{
	__asm__ __volatile__("" ::: "memory");
}

static unsigned long machine_to_pseudo_physical(unsigned long mfn)
{
	const unsigned long *machine_to_phys = (const unsigned long *)MACH2PHYS_VIRT_START;

	return machine_to_phys[mfn];
}

static void notify_console_daemon(void)
{
	struct evtchn_send send = { .port = console_port };

	xen_hypercall(__HYPERVISOR_event_channel_op, EVTCHNOP_send, (unsigned long)&send, 0);
}

static void put_byte(char byte)
{
	uint32_t producer = console_ring->out_prod;

	while (producer - console_ring->out_cons >= sizeof(console_ring->out)) {
		notify_console_daemon();
		sched_yield();
	}

	console_ring->out[producer & (sizeof(console_ring->out) - 1)] = byte;
	write_barrier();
	console_ring->out_prod = producer + 1;
}

void console_init(const struct start_info *start_info)
{
	unsigned long pfn = machine_to_pseudo_physical(start_info->console_domU.mfn);

	console_ring = (volatile struct xencons_interface *)(pfn << PAGE_SHIFT);
	console_port = start_info->console_domU.evtchn;
}

void console_write(const char *bytes, unsigned long len)
{
	unsigned long i;

	for (i = 0; i < len; i++) {
		if (bytes[i] == '\n')
			put_byte('\r');
		put_byte(bytes[i]);
	}

	notify_console_daemon();
}

void console_write_raw(const char *bytes, unsigned long len)
{
	unsigned long i;

	for (i = 0; i < len; i++)
		put_byte(bytes[i]);

	notify_console_daemon();
}

void console_print(const char *text)
{
	unsigned long len = 0;

	while (text[len] != '\0')
		len++;
	console_write(text, len);
}

void console_print_unsigned(unsigned long value)
{
	char digits[20];
	unsigned long start = sizeof(digits);

	do {
		digits[--start] = (char)('0' + value % 10);
		value /= 10;
	} while (value != 0);

	console_write(&digits[start], sizeof(digits) - start);
}

void console_print_decimal(long value)
{
	if (value < 0) {
		console_write("-", 1);
		console_print_unsigned(-(unsigned long)value);
		return;
	}
	console_print_unsigned((unsigned long)value);
}

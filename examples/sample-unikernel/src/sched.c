/* Giving the CPU back to Xen: yielding, sleeping until a deadline, and crashing. */
#include "sched.h"
#include "console.h"

void sched_yield(void)
{
	xen_hypercall(__HYPERVISOR_sched_op, SCHEDOP_yield, 0, 0);
}

long sched_poll_until(uint64_t deadline_ns)
{
	/* No ports: only the timeout (or any event, since upcalls are masked) wakes us. */
	struct sched_poll poll = { .ports = 0, .nr_ports = 0, .timeout = deadline_ns };

	return xen_hypercall(__HYPERVISOR_sched_op, SCHEDOP_poll, (unsigned long)&poll, 0);
}

void fatal(const char *what, long code)
{
	struct sched_shutdown shutdown = { .reason = SHUTDOWN_crash };

	console_print("xenbox-sample: fatal: ");
	console_print(what);
	console_print(" (");
	console_print_decimal(code);
	console_print(")\n");

	/* SHUTDOWN_crash does not return; loop in case the toolstack ignores it. */
	for (;;)
		xen_hypercall(__HYPERVISOR_sched_op, SCHEDOP_shutdown,
			      (unsigned long)&shutdown, 0);
}

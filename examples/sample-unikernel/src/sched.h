/* Giving the CPU back to Xen: yielding, sleeping until a deadline, and crashing. */
#ifndef SAMPLE_SCHED_H
#define SAMPLE_SCHED_H

#include "xen.h"

/* Lets Xen run another vCPU; returns at once when nothing else is runnable. */
void sched_yield(void);

/*
 * Blocks the vCPU until Xen's system time reaches deadline_ns or an event arrives;
 * returns Xen's result (0 on success).
 */
long sched_poll_until(uint64_t deadline_ns);

/* Prints "xenbox-sample: fatal: <what> (<code>)" and crashes the domain. */
__attribute__((noreturn)) void fatal(const char *what, long code);

#endif /* SAMPLE_SCHED_H */

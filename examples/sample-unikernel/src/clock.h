/* Xen system time (nanoseconds since the host booted) and sleeping on it. */
#ifndef SAMPLE_CLOCK_H
#define SAMPLE_CLOCK_H

#include "xen.h"

#define NS_PER_SECOND 1000000000UL

/*
 * Maps the shared_info page, where Xen publishes the time, and masks event upcalls
 * (this kernel has no event handler). Crashes the domain if the mapping fails.
 */
void clock_init(const struct start_info *start_info);

/* Returns Xen's system time in nanoseconds. */
uint64_t clock_now_ns(void);

/* Sleeps for duration_ns with the vCPU blocked in Xen, not spinning. */
void clock_sleep_ns(uint64_t duration_ns);

#endif /* SAMPLE_CLOCK_H */

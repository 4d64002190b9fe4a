/*
 * Xen system time and sleeping on it. Xen keeps vcpu_info[0].time in the shared_info
 * page up to date; between updates the guest extrapolates with the TSC.
 */
#include "clock.h"
#include "sched.h"

/* A page of the image that the shared_info frame is mapped over. */
static char shared_info_page[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));

static volatile struct shared_info *shared_info;

static void read_barrier(void)
{
	__asm__ __volatile__("" ::: "memory");
}

static uint64_t read_tsc(void)
{
	uint32_t low, high;

	__asm__ __volatile__("rdtsc" : "=a"(low), "=d"(high));
	return ((uint64_t)high << 32) | low;
}

static uint64_t tsc_delta_to_ns(uint64_t delta, int8_t shift, uint32_t mul)
{
	if (shift >= 0)
		delta <<= shift;
	else
		delta >>= -shift;
	return (uint64_t)(((unsigned __int128)delta * mul) >> 32);
}

void clock_init(const struct start_info *start_info)
{
	unsigned long va = (unsigned long)shared_info_page;
	long rc;

	rc = xen_hypercall(__HYPERVISOR_update_va_mapping, va,
			   start_info->shared_info | PTE_PRESENT_RW_USER, UVMF_INVLPG);
	if (rc != 0)
		fatal("map shared_info with update_va_mapping", rc);
	shared_info = (volatile struct shared_info *)va;

	/* Events must never be delivered as upcalls: no callback is registered. */
	shared_info->vcpu_info[0].evtchn_upcall_mask = 1;
}

uint64_t clock_now_ns(void)
{
	volatile struct vcpu_time_info *time = &shared_info->vcpu_info[0].time;
	uint32_t version;
	uint64_t now;

	/* Xen makes version odd while it updates the fields: retry until stable. */
	do {
		version = time->version;
		read_barrier();
		now = time->system_time +
		      tsc_delta_to_ns(read_tsc() - time->tsc_timestamp, time->tsc_shift,
				      time->tsc_to_system_mul);
		read_barrier();
	} while ((version & 1) != 0 || version != time->version);

	return now;
}

void clock_sleep_ns(uint64_t duration_ns)
{
	uint64_t deadline = clock_now_ns() + duration_ns;
	long rc;

	/* An event (say, xenconsoled reading output) can end a poll early: poll again. */
	while (clock_now_ns() < deadline) {
		rc = sched_poll_until(deadline);
		if (rc != 0)
			fatal("sleep with SCHEDOP_poll", rc);
	}
}

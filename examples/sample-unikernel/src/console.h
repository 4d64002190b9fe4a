/* Output on the guest's PV console, the ring xenconsoled shows with `xl console`. */
#ifndef SAMPLE_CONSOLE_H
#define SAMPLE_CONSOLE_H

#include "xen.h"

/* Finds the console ring and event channel of this domain. Call before any output. */
void console_init(const struct start_info *start_info);

/* Writes len bytes as they are, except that '\n' becomes "\r\n". */
void console_write(const char *bytes, unsigned long len);

/* Writes len bytes exactly as they are, newlines included. */
void console_write_raw(const char *bytes, unsigned long len);

/* Writes a NUL-terminated string. */
void console_print(const char *text);

/* Writes value in decimal, with a leading '-' when negative. */
void console_print_decimal(long value);

/* Writes value in decimal. */
void console_print_unsigned(unsigned long value);

#endif /* SAMPLE_CONSOLE_H */

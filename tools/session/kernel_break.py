# xenbox: breakpoints that wait for the unikernel under PV-GRUB.
#
# PV-GRUB runs at the same low virtual addresses as the unikernel it loads, and loads it over
# its own memory after gdb attaches. A software breakpoint written then is overwritten, so a
# hardware one is used; it matches the address in PV-GRUB's code too, so it only stops once
# the guest's code at the address is program.bin's (gdb reads program.bin's code while
# trust-readonly-sections is on, and the guest's with it off).
import gdb


class KernelBreakpoint(gdb.Breakpoint):
    """A hardware breakpoint that stops only in the loaded kernel."""

    def stop(self):
        pc = int(gdb.parse_and_eval("$pc"))
        inferior = gdb.selected_inferior()
        in_program_bin = bytes(inferior.read_memory(pc, 8))
        gdb.execute("set trust-readonly-sections off", to_string=True)
        try:
            in_guest = bytes(inferior.read_memory(pc, 8))
        finally:
            gdb.execute("set trust-readonly-sections on", to_string=True)
        return in_guest == in_program_bin


def xenbox_break(location):
    KernelBreakpoint(location, type=gdb.BP_HARDWARE_BREAKPOINT)

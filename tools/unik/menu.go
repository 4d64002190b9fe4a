package unik

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// MenuEntry is one boot entry of a GRUB legacy menu.lst.
type MenuEntry struct {
	// Title is the text after `title`.
	Title string
	// Root is the device of the `root` line, e.g. "(hd0)"; "" when the entry has none.
	Root string
	// Kernel is the kernel path of the `kernel` line, e.g. "/boot/program.bin".
	Kernel string
	// CommandLine is exactly the bytes after the kernel path on the `kernel` line, without
	// the whitespace that separates it from the path and without the line ending. For rump
	// kernels it is rumprun JSON and must reach the kernel byte for byte.
	CommandLine string
}

// Menu is a parsed GRUB legacy menu.lst, as PV-GRUB reads it.
type Menu struct {
	// Default is the index of the entry booted by default (0 when not set).
	Default int
	// Fallback is the entry booted when the default fails; -1 when not set.
	Fallback int
	// Timeout is the seconds the menu waits; -1 when not set (wait for a choice).
	Timeout int
	// Hidden is set by `hiddenmenu`.
	Hidden bool
	// Entries are the boot entries in file order.
	Entries []MenuEntry
}

// ParseMenu parses the text of a GRUB legacy menu.lst. Commands it does not need (color,
// serial, initrd...) are skipped; a malformed number is an error naming the line.
func ParseMenu(text []byte) (Menu, error) {
	menu := Menu{Default: 0, Fallback: -1, Timeout: -1}
	var entry *MenuEntry

	for number, line := range splitLines(text) {
		command, argument := splitCommand(line)
		if command == "" || strings.HasPrefix(command, "#") {
			continue
		}

		var err error
		switch {
		case command == "title":
			menu.Entries = append(menu.Entries, MenuEntry{
				Title: strings.TrimRight(argument, " \t"),
			})
			entry = &menu.Entries[len(menu.Entries)-1]
		case entry != nil:
			err = parseEntryCommand(entry, command, argument)
		default:
			err = parseGlobalCommand(&menu, command, argument)
		}
		if err != nil {
			return Menu{}, fmt.Errorf("parse menu.lst line %d: %w", number+1, err)
		}
	}
	return menu, nil
}

// DefaultEntry returns the entry PV-GRUB boots without a user choosing one.
func (m Menu) DefaultEntry() (MenuEntry, error) {
	if len(m.Entries) == 0 {
		return MenuEntry{}, errors.New("menu has no boot entries")
	}
	if m.Default < 0 || m.Default >= len(m.Entries) {
		return MenuEntry{}, fmt.Errorf("menu's default entry %d does not exist; it has %d",
			m.Default, len(m.Entries))
	}

	entry := m.Entries[m.Default]
	if entry.Kernel == "" {
		return MenuEntry{}, fmt.Errorf("menu entry %q has no kernel line", entry.Title)
	}
	return entry, nil
}

// splitLines splits text into lines without their "\n" or "\r\n" endings.
func splitLines(text []byte) []string {
	text = bytes.TrimSuffix(text, []byte("\n"))
	if len(text) == 0 {
		return nil
	}
	lines := strings.Split(string(text), "\n")
	for i, line := range lines {
		lines[i] = strings.TrimSuffix(line, "\r")
	}
	return lines
}

// splitCommand splits a line the way GRUB legacy does: the command runs to the first space,
// tab or '=', and the argument starts after all the spaces, tabs and '=' that follow it.
func splitCommand(line string) (command, argument string) {
	line = strings.TrimLeft(line, " \t")
	end := strings.IndexAny(line, " \t=")
	if end < 0 {
		return line, ""
	}
	return line[:end], strings.TrimLeft(line[end:], " \t=")
}

func parseGlobalCommand(menu *Menu, command, argument string) error {
	var err error
	switch command {
	case "default":
		menu.Default, err = parseMenuNumber(command, argument)
	case "fallback":
		menu.Fallback, err = parseMenuNumber(command, argument)
	case "timeout":
		menu.Timeout, err = parseMenuNumber(command, argument)
	case "hiddenmenu":
		menu.Hidden = true
	}
	return err
}

// parseMenuNumber reads the first number of an argument; GRUB allows `fallback 1 2`.
func parseMenuNumber(command, argument string) (int, error) {
	first, _, _ := strings.Cut(strings.TrimSpace(argument), " ")
	value, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil || value < 0 {
		// Limitation: `default saved` needs GRUB's saved-entry file, which PV-GRUB on AWS
		// does not keep; it is reported rather than guessed.
		return 0, fmt.Errorf("%s %q is not an entry number", command, argument)
	}
	return value, nil
}

func parseEntryCommand(entry *MenuEntry, command, argument string) error {
	switch command {
	case "root", "rootnoverify":
		entry.Root = strings.TrimRight(argument, " \t")
	case "kernel":
		path, commandLine, err := splitKernelLine(argument)
		if err != nil {
			return err
		}
		entry.Kernel, entry.CommandLine = path, commandLine
	}
	return nil
}

// splitKernelLine splits the argument of `kernel` into the kernel path and the command line,
// skipping GRUB's own `--type=...` style options before the path.
func splitKernelLine(argument string) (path, commandLine string, err error) {
	rest := argument
	for strings.HasPrefix(rest, "--") {
		end := strings.IndexAny(rest, " \t")
		if end < 0 {
			rest = ""
			break
		}
		rest = strings.TrimLeft(rest[end:], " \t")
	}
	if rest == "" {
		return "", "", errors.New("kernel line names no kernel")
	}

	end := strings.IndexAny(rest, " \t")
	if end < 0 {
		return rest, "", nil
	}
	return rest[:end], strings.TrimLeft(rest[end:], " \t"), nil
}

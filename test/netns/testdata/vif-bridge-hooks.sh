#!/usr/bin/env bash
#
# vif-bridge-hooks.sh: run one vif-post.d hook the way Xen's vif-bridge does, for the tests.
#
# vif-bridge is not `set -e`; it sources each executable hook with call_hooks, with Xen's log
# function and the vif's variables in scope, and afterwards reports the vif connected. This
# prints "connected" (and the shell options) after the hook, so a test sees that the hook let
# vif-bridge go on unchanged.
#
# Usage: vif-bridge-hooks.sh HOOK
#
# Environment: command, vif, type_if, bridge, XENBUS_PATH as vif-bridge has them.
#
# Changes: whatever HOOK changes.

# log LEVEL MESSAGE: xen-hotplug-common.sh's logger, to standard output here.
log() {
	local level="$1"
	shift
	printf 'log %s: %s\n' "$level" "$*"
}

# call_hooks HOOK: vif-bridge's call_hooks for one file.
call_hooks() {
	local f="$1"
	# shellcheck source=/dev/null # the hook under test
	if [ -x "$f" ]; then . "$f"; fi
}

call_hooks "$1"
printf 'connected options=%s\n' "$-"

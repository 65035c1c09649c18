#!/bin/sh
# cardtill preremove (deb prerm, rpm %preun): on removal (not on upgrade)
# stop and disable the services so nothing runs a deleted binary.
set -e

case "$1" in
remove | 0) ;;
*) exit 0 ;; # upgrade: the new postinstall restarts what was running
esac

if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
	for unit in $(systemctl list-units --all --no-legend --plain 'cardtill-hub.service' 'cardtill-till@*.service' 2>/dev/null | awk '{print $1}'); do
		systemctl stop "$unit" || true
	done
	systemctl disable cardtill-hub.service >/dev/null 2>&1 || true
	for unit in $(systemctl list-unit-files --no-legend --plain 'cardtill-till@*.service' 2>/dev/null | awk '{print $1}'); do
		systemctl disable "$unit" >/dev/null 2>&1 || true
	done
fi
exit 0

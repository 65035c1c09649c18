#!/bin/sh
# cardtill postremove (deb postrm, rpm %postun).
#
# remove (deb "remove", rpm 0): the journal, config and user stay, so a
#   reinstall carries on where the till left off.
# purge (deb "purge" only): the journal, hub file, logs, /etc/cardtill
#   (including secret files) and the cardtill user and group are deleted.
#   rpm has no purge; packaging/README.md gives the commands.
set -e

case "$1" in
purge)
	rm -rf /var/lib/cardtill /etc/cardtill
	if getent passwd cardtill >/dev/null 2>&1; then
		userdel cardtill
	fi
	if getent group cardtill >/dev/null 2>&1; then
		groupdel cardtill
	fi
	;;
esac

case "$1" in
remove | purge | 0)
	if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
		systemctl daemon-reload || true
	fi
	;;
esac
exit 0

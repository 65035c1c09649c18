#!/bin/sh
# cardtill preinstall (deb preinst, rpm %pre): create the cardtill system
# user and group before the files are unpacked, so /etc/cardtill can belong
# to group cardtill. Idempotent: an upgrade finds them already there.
set -e

if ! getent group cardtill >/dev/null 2>&1; then
	groupadd --system cardtill
fi
if ! getent passwd cardtill >/dev/null 2>&1; then
	nologin=/usr/sbin/nologin
	[ -x "$nologin" ] || nologin=/sbin/nologin
	useradd --system --gid cardtill --home-dir /var/lib/cardtill --no-create-home \
		--shell "$nologin" --comment "cardtill till agent" cardtill
fi
exit 0

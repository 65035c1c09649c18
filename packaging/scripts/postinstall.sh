#!/bin/sh
# cardtill postinstall (deb postinst, rpm %post): the state directory, the
# serial-port group, and systemd's view of the units. An upgrade restarts
# only the units that were running; nothing is enabled or started on a fresh
# install (store IT decides whether this PC is a till or a hub).
set -e

# Serial scanners are group dialout (Debian, RHEL); a missing group (a
# minimal container) is not an error.
if getent group dialout >/dev/null 2>&1; then
	usermod -a -G dialout cardtill
fi

# The journal, hub file and logs. 0750: only cardtill (and root) read them.
install -d -o cardtill -g cardtill -m 0750 /var/lib/cardtill

# The config may hold secrets (hub token, static token): root writes it,
# the cardtill group reads it. Re-applied on upgrade in case it was loosened.
if [ -f /etc/cardtill/config.toml ]; then
	chown root:cardtill /etc/cardtill/config.toml
	chmod 0640 /etc/cardtill/config.toml
fi

if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
	systemctl daemon-reload || true
	upgrade=
	case "$1" in
	configure) [ -n "$2" ] && upgrade=1 ;; # deb: $2 is the old version
	2) upgrade=1 ;;                         # rpm: 2 = upgrade
	esac
	if [ -n "$upgrade" ]; then
		for unit in $(systemctl list-units --no-legend --plain --state=active 'cardtill-hub.service' 'cardtill-till@*.service' 2>/dev/null | awk '{print $1}'); do
			systemctl try-restart "$unit" || true
		done
	fi
fi
exit 0

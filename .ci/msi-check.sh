#!/usr/bin/env bash
# Inspect a cardtill MSI with msiinfo/msiextract (msitools) and fail when a
# table is missing or says something other than packaging/windows/cardtill.wxs
# means: files (and their bytes), components, features, shortcuts, the hub
# service, upgrade code, version, the custom actions that set the rights.
#
#   .ci/msi-check.sh MSI ARCH VERSION EXE
#     ARCH amd64 | 386, VERSION as make dist had it, EXE the cardtill.exe
#     that went in.
#   .ci/msi-check.sh --self-test MSI ARCH VERSION EXE
#     also breaks copies of MSI (a table dropped, a row changed) and requires
#     each to fail the check: the check itself is tested.
# Called by .ci/packages.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

self_test=
if [ "${1:-}" = --self-test ]; then
	self_test=1
	shift
fi
msi=${1:?usage: msi-check.sh [--self-test] MSI ARCH VERSION EXE}
arch=${2:?arch}
version=${3:?version}
exe=${4:?exe}

upgrade_code='{8559BAA4-486C-47BB-AC23-2C0B68660B4B}'

check() { # check MSI: all the assertions; exits non-zero on the first failure
	local m=$1 tmp
	tmp=$(mktemp -d /tmp/msi-check.XXXXXX)
	trap 'rm -rf "$tmp"' RETURN
	read -r want_version want_code < <(go run ./tools/mkmsi -print -version "$version" -arch "$arch")

	local tables
	tables=$(msiinfo tables "$m") || fail "msiinfo cannot read $m"
	for t in Property File Component Feature FeatureComponents Directory Shortcut ServiceInstall ServiceControl \
		Upgrade CustomAction InstallExecuteSequence Registry AppSearch RegLocator Media; do
		grep -qx "$t" <<<"$tables" || fail "$(basename "$m"): no $t table"
	done
	# row TABLE: the table's rows, tab-separated, without msiinfo's 3 header lines
	row() { msiinfo export "$m" "$1" | tail -n +4 | tr -d '\r'; }
	has() { # has TABLE ROW-REGEX WHAT
		row "$1" | grep -qE "$2" || { row "$1" >&2; fail "$(basename "$m"): $1: $3"; }
	}
	T=$'\t'

	# Identity: version, product code, upgrade code, per-machine.
	has Property "^ProductVersion${T}${want_version//./\\.}\$" "ProductVersion is not $want_version"
	has Property "^ProductCode${T}${want_code}\$" "ProductCode is not $want_code"
	has Property "^UpgradeCode${T}${upgrade_code}\$" "UpgradeCode is not $upgrade_code"
	has Property "^ALLUSERS${T}1\$" "not a per-machine install (ALLUSERS=1)"
	has Property "^SecureCustomProperties${T}.*CASHIER.*REMOVEDATA" "CASHIER and REMOVEDATA are not secure properties"
	has Upgrade "^${upgrade_code}${T}${T}${want_version//./\\.}${T}${T}1${T}${T}WIX_UPGRADE_DETECTED\$" "no MajorUpgrade row for older versions"
	has Upgrade "^${upgrade_code}${T}${want_version//./\\.}${T}${T}${T}2${T}${T}WIX_DOWNGRADE_DETECTED\$" "no downgrade detection"
	has InstallExecuteSequence "^RemoveExistingProducts${T}${T}1401\$" "RemoveExistingProducts is not right after InstallValidate"

	local pf=ProgramFiles64Folder template='x64;1033' c64=256
	if [ "$arch" = 386 ]; then pf=ProgramFilesFolder template='Intel;1033' c64=0; fi
	msiinfo suminfo "$m" | grep -qx "Template: $template" || fail "$(basename "$m"): summary Template is not $template"
	has Directory "^INSTALLDIR${T}${pf}${T}cardtill\$" "INSTALLDIR is not %ProgramFiles%\\cardtill ($pf)"
	has Directory "^ProgramMenuDir${T}ProgramMenuFolder${T}cardtill\$" "no Start-menu folder cardtill"

	# Files, their components, and their bytes.
	has File "^CardtillExe${T}Program${T}cardtill\\.exe${T}" "cardtill.exe is not in component Program"
	has File "^ConfigExample${T}Program${T}config\\.example\\.toml${T}" "config.example.toml is not in component Program"
	has File "^SetupCmd${T}Program${T}setup\\.cmd${T}" "setup.cmd is not in component Program"
	has File "^ReadmeTxt${T}Program${T}README\\.txt${T}" "README.txt is not in component Program"
	has File "^CardtillHubExe${T}HubService${T}cardtill-hub\\.exe${T}" "cardtill-hub.exe is not in component HubService"
	[ "$(row File | wc -l)" = 5 ] || fail "$(basename "$m"): File has $(row File | wc -l) rows, want 5"
	has Component "^Program${T}\\{[0-9A-F-]{36}\\}${T}INSTALLDIR${T}${c64}${T}${T}CardtillExe\$" "component Program"
	has Component "^HubService${T}\\{[0-9A-F-]{36}\\}${T}INSTALLDIR${T}${c64}${T}${T}CardtillHubExe\$" "component HubService"
	has Component "^StartMenu${T}\\{[0-9A-F-]{36}\\}${T}ProgramMenuDir${T}" "component StartMenu"
	has Component "^Autostart${T}\\{[0-9A-F-]{36}\\}${T}StartupFolder${T}" "component Autostart"
	mkdir -p "$tmp/x"
	(cd "$tmp/x" && msiextract "$m" >/dev/null) || fail "$(basename "$m"): msiextract failed"
	local got
	got=$(find "$tmp/x" -type f -name cardtill.exe | head -1)
	[ -n "$got" ] && cmp -s "$got" "$exe" || fail "$(basename "$m"): cardtill.exe is not the one built"
	got=$(find "$tmp/x" -type f -name cardtill-hub.exe | head -1)
	[ -n "$got" ] && cmp -s "$got" "$exe" || fail "$(basename "$m"): cardtill-hub.exe is not cardtill.exe"
	got=$(find "$tmp/x" -type f -name config.example.toml | head -1)
	[ -n "$got" ] && cmp -s "$got" internal/config/config.example.toml || fail "$(basename "$m"): config.example.toml differs"
	got=$(find "$tmp/x" -type f -name setup.cmd | head -1)
	[ -n "$got" ] && cmp -s "$got" packaging/windows/setup.cmd || fail "$(basename "$m"): setup.cmd differs"

	# Features: the till (with autostart) by default, the hub only when asked.
	has Feature "^Till${T}${T}[^${T}]*${T}[^${T}]*${T}[0-9]+${T}1${T}" "feature Till is not installed by default (Level 1)"
	has Feature "^Autostart${T}Till${T}[^${T}]*${T}[^${T}]*${T}[0-9]+${T}1${T}" "feature Autostart (under Till, Level 1)"
	has Feature "^Hub${T}Till${T}[^${T}]*${T}[^${T}]*${T}[0-9]+${T}1000${T}" "feature Hub is not optional (Level 1000)"
	has FeatureComponents "^Till${T}Program\$" "Till lacks Program"
	has FeatureComponents "^Till${T}StartMenu\$" "Till lacks StartMenu"
	has FeatureComponents "^Autostart${T}Autostart\$" "Autostart lacks its component"
	has FeatureComponents "^Hub${T}HubService\$" "Hub lacks HubService"

	# Shortcuts: till and doctor in the Start menu, the till at logon.
	has Shortcut "^TillShortcut${T}ProgramMenuDir${T}cardtill till${T}StartMenu${T}\\[#CardtillExe\\]${T}run${T}" "Start-menu till shortcut"
	has Shortcut "^DoctorShortcut${T}ProgramMenuDir${T}cardtill doctor${T}StartMenu${T}\\[SystemFolder\\]cmd\\.exe${T}/k \"\"\\[#CardtillExe\\]\" doctor\"${T}" "Start-menu doctor shortcut"
	has Shortcut "^TillAutostart${T}StartupFolder${T}cardtill till${T}Autostart${T}\\[#CardtillExe\\]${T}run${T}" "Startup-folder till shortcut"

	# The hub service: own process (16), automatic (2), normal errors (1),
	# LocalSystem, the hub's own config; stopped on install and uninstall,
	# removed on uninstall (2+32+128 = 162), never started by the MSI.
	has ServiceInstall "^HubServiceInstall${T}cardtill-hub${T}cardtill hub${T}16${T}2${T}1${T}${T}${T}${T}${T}service run --config \"\\[CommonAppDataFolder\\]cardtill\\\\hub\\\\config\\.toml\"${T}HubService${T}" "ServiceInstall cardtill-hub"
	has ServiceControl "^HubServiceControl${T}cardtill-hub${T}162${T}${T}1${T}HubService\$" "ServiceControl cardtill-hub (stop both, remove on uninstall)"

	# Rights, config and recovery: deferred (1024), as LocalSystem (2048),
	# inside the install script; data deleted only on REMOVEDATA=1.
	has CustomAction "^SetupTill${T}3122${T}CMDEXE${T}/c \"\"\\[INSTALLDIR\\]setup\\.cmd\" till \"\\[CASHIER\\]\"\"${T}" "SetupTill (setup.cmd till CASHIER, deferred, no impersonation)"
	has CustomAction "^SetupHub${T}3122${T}CMDEXE${T}/c \"\"\\[INSTALLDIR\\]setup\\.cmd\" hub \"\\[CommonAppDataFolder\\]cardtill\\\\hub\"\"${T}" "SetupHub"
	has CustomAction "^HubRecovery${T}3122${T}CMDEXE${T}.*sc\\.exe failure cardtill-hub reset= 86400 actions= restart/5000/restart/30000/restart/60000 .*failureflag cardtill-hub 1.*start= delayed-auto" "HubRecovery"
	has CustomAction "^RemoveData${T}3186${T}CMDEXE${T}/c rmdir /s /q \"\\[CommonAppDataFolder\\]cardtill\"${T}" "RemoveData"
	has CustomAction "^CashierDefault${T}[0-9]+${T}CASHIER${T}\\*S-1-5-32-545${T}" "CASHIER default (BUILTIN\\Users)"
	has InstallExecuteSequence "^SetupTill${T}NOT REMOVE~=\"ALL\"${T}4001\$" "SetupTill is not right after InstallFiles"
	has InstallExecuteSequence "^SetupHub${T}&Hub=3${T}4002\$" "SetupHub"
	has InstallExecuteSequence "^HubRecovery${T}&Hub=3${T}5801\$" "HubRecovery is not right after InstallServices"
	has InstallExecuteSequence "^RemoveData${T}REMOVE~=\"ALL\" AND NOT UPGRADINGPRODUCTCODE AND REMOVEDATA=\"1\"${T}3501\$" "RemoveData condition"
	has InstallExecuteSequence "^CashierDefault${T}NOT CASHIER${T}52\$" "CashierDefault after AppSearch"
	has RegLocator "^SavedCashier${T}2${T}Software\\\\cardtill${T}Cashier${T}" "the saved CASHIER is not read back"
	# Every deferred action sits between InstallInitialize and InstallFinalize.
	local ii if_
	ii=$(row InstallExecuteSequence | awk -F'\t' '$1=="InstallInitialize"{print $3}')
	if_=$(row InstallExecuteSequence | awk -F'\t' '$1=="InstallFinalize"{print $3}')
	for a in $(row CustomAction | awk -F'\t' 'int($2/1024)%2==1{print $1}'); do
		local s
		s=$(row InstallExecuteSequence | awk -F'\t' -v a="$a" '$1==a{print $3}')
		[ -n "$s" ] && [ "$s" -gt "$ii" ] && [ "$s" -lt "$if_" ] || fail "$(basename "$m"): deferred $a at '$s', outside InstallInitialize..InstallFinalize ($ii..$if_)"
	done
}

check "$msi"
echo "$(basename "$msi") ok: version $(go run ./tools/mkmsi -print -version "$version" -arch "$arch")"

if [ -n "$self_test" ]; then
	# Each broken copy must fail: the check is not a rubber stamp.
	st=$(mktemp -d /tmp/msi-selftest.XXXXXX)
	trap 'rm -rf "$st"' EXIT
	n=0
	for q in \
		"DROP TABLE \`Shortcut\`" \
		"DROP TABLE \`ServiceInstall\`" \
		"DELETE FROM \`File\` WHERE \`File\` = 'SetupCmd'" \
		"UPDATE \`Property\` SET \`Value\` = '{00000000-0000-0000-0000-000000000000}' WHERE \`Property\` = 'UpgradeCode'" \
		"UPDATE \`Property\` SET \`Value\` = '9.9.9' WHERE \`Property\` = 'ProductVersion'" \
		"UPDATE \`Feature\` SET \`Level\` = 1 WHERE \`Feature\` = 'Hub'" \
		"UPDATE \`Component\` SET \`Directory_\` = 'ProgramMenuDir' WHERE \`Component\` = 'Program'" \
		"UPDATE \`InstallExecuteSequence\` SET \`Sequence\` = 6700 WHERE \`Action\` = 'SetupTill'"; do
		n=$((n + 1))
		cp "$msi" "$st/broken.msi"
		msibuild "$st/broken.msi" -q "$q" || fail "self-test: msibuild could not apply: $q"
		if why=$( (check "$st/broken.msi") 2>&1 >/dev/null); then
			fail "self-test: the check passed an MSI broken by: $q"
		fi
		echo "  $q -> $(grep '^FAIL' <<<"$why")"
	done
	echo "self-test: $n broken copies of $(basename "$msi"), each refused"
fi

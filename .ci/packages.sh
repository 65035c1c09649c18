#!/usr/bin/env bash
# Packages check for CI (called by .ci/run; runs as root on a fresh Debian
# machine, with or without systemd as PID 1). It:
#   1. installs what it needs (rpm, systemd's tools, the pinned nfpm);
#   2. builds every artifact of HEAD with `make dist`, twice from two
#      exports, and requires identical SHA256SUMS; rebuilds linux/amd64 from
#      an empty Go build cache and requires the same binary (reproducibility);
#   3. installs the amd64 .deb, runs `cardtill version` and `cardtill doctor`
#      from it, checks the user, groups, modes and units
#      (`systemd-analyze verify`, `systemd-analyze security --offline`);
#   4. edits the config, upgrades to a second build with another version,
#      and checks the edit survived;
#   5. removes (data and user kept), then purges (user and data gone);
#   6. inspects the .rpm with `rpm -qlp`, the Windows zips, and the MSIs
#      with msiinfo (.ci/msi-check.sh, which also proves it refuses broken
#      copies); the two builds of step 2 already gave the MSIs the same
#      checksums.
# Set CARDTILL_PKG_QUICK=1 to skip the cold-cache rebuild (step 2).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$(go env GOPATH)/bin:$PATH"
export DEBIAN_FRONTEND=noninteractive

say() { printf -- '-- %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "run as root: it installs, upgrades and purges the .deb on this machine"

work=$(mktemp -d /tmp/cardtill-pkg.XXXXXX)
cleanup() {
	if dpkg-query -W -f='${Status}' cardtill 2>/dev/null | grep -q 'install ok'; then
		dpkg -P cardtill >/dev/null 2>&1 || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

say "tools"
need=()
command -v make >/dev/null 2>&1 || need+=(make)
command -v rpm >/dev/null 2>&1 || need+=(rpm)
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
command -v unzip >/dev/null 2>&1 || need+=(unzip)
command -v osslsigncode >/dev/null 2>&1 || need+=(osslsigncode)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v wixl >/dev/null 2>&1 || need+=(wixl)
command -v msiinfo >/dev/null 2>&1 || need+=(msitools)
command -v faketime >/dev/null 2>&1 || need+=(faketime)
if [ ${#need[@]} -gt 0 ]; then
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
nfpm_version=$(sed -n 's/^NFPM_VERSION := //p' Makefile)
if ! nfpm --version 2>/dev/null | grep -q "${nfpm_version#v}"; then
	GOFLAGS= go install "github.com/goreleaser/nfpm/v2/cmd/nfpm@${nfpm_version}"
fi

# A stale install from an earlier run would hide what a fresh one does.
if dpkg-query -W -f='${Status}' cardtill 2>/dev/null | grep -q 'install ok'; then
	dpkg -P cardtill >/dev/null
fi

# Build the commit, not the working tree: two exports of HEAD in different
# folders, so a stray edit cannot make the builds differ and the source path
# cannot leak into them.
version=$(make -s --no-print-directory -f Makefile -f - print-version <<<'print-version: ; @echo $(VERSION)')
epoch=$(git log -1 --format=%ct)
for d in src-a src-b; do
	mkdir -p "$work/$d" && git archive --format=tar HEAD | tar -x -C "$work/$d"
done
build() { # build SRCDIR LOG make-args...
	local src=$1 log=$2
	shift 2
	(cd "$src" && make --no-print-directory SOURCE_DATE_EPOCH="$epoch" "$@") >"$log" 2>&1 || { cat "$log"; fail "make $*"; }
}

say "build everything (make dist, version $version)"
build "$work/src-a" "$work/build-a.log" dist VERSION="$version" DIST="$work/a"
cat "$work/a/SHA256SUMS"
for f in \
	"cardtill_${version}-1_amd64.deb" "cardtill_${version}-1_arm64.deb" \
	"cardtill-${version}-1.x86_64.rpm" "cardtill-${version}-1.aarch64.rpm" \
	"cardtill-${version}-windows-amd64.zip" "cardtill-${version}-windows-386.zip" \
	"cardtill-${version}-windows-amd64.msi" "cardtill-${version}-windows-386.msi"; do
	grep -q " $f\$" "$work/a/SHA256SUMS" || fail "SHA256SUMS does not list $f"
done
(cd "$work/a" && sha256sum --quiet -c SHA256SUMS) || fail "SHA256SUMS does not match the files"

say "reproducible: a second make dist, from another folder, must match"
build "$work/src-b" "$work/build-b.log" dist VERSION="$version" DIST="$work/b"
diff -u "$work/a/SHA256SUMS" "$work/b/SHA256SUMS" || fail "two builds of the same commit differ"
# The Go build cache would hand the second build the first one's objects:
# build one binary again from an empty cache and compare it too.
if [ "${CARDTILL_PKG_QUICK:-}" != 1 ]; then
	say "reproducible: linux/amd64 again from an empty Go build cache"
	(export GOCACHE="$work/gocache" && build "$work/src-b" "$work/build-c.log" linux-binaries LINUX_ARCHES=amd64 VERSION="$version" DIST="$work/c")
	cmp "$work/a/.work/linux-amd64/cardtill" "$work/c/.work/linux-amd64/cardtill" || fail "a cold build of linux/amd64 differs"
	rm -rf "$work/gocache"
fi

say "a second version, for the upgrade"
version2="${version}+ci2"
build "$work/src-a" "$work/build-v2.log" deb LINUX_ARCHES=amd64 VERSION="$version2" DIST="$work/v2"

say "install the .deb"
dpkg -i "$work/a/cardtill_${version}-1_amd64.deb" </dev/null
test -x /usr/bin/cardtill || fail "/usr/bin/cardtill missing"
out=$(cardtill version)
echo "$out"
grep -qF "cardtill $version " <<<"$out" || fail "cardtill version does not say $version"
getent passwd cardtill >/dev/null || fail "no cardtill user"
[ "$(getent passwd cardtill | cut -d: -f7)" != /bin/bash ] || fail "cardtill user has a login shell"
if getent group dialout >/dev/null; then
	id -nG cardtill | tr ' ' '\n' | grep -qx dialout || fail "cardtill is not in dialout"
fi
[ "$(stat -c '%U:%G %a' /var/lib/cardtill)" = "cardtill:cardtill 750" ] || fail "/var/lib/cardtill: $(stat -c '%U:%G %a' /var/lib/cardtill)"
[ "$(stat -c '%U:%G %a' /etc/cardtill/config.toml)" = "root:cardtill 640" ] || fail "config.toml: $(stat -c '%U:%G %a' /etc/cardtill/config.toml)"
cmp -s /etc/cardtill/config.toml internal/config/config.example.toml || fail "the installed config is not config.example.toml"

say "cardtill doctor, as the cardtill user, on the unconfigured machine"
rc=0
doctor=$(setpriv --reuid=cardtill --regid=cardtill --init-groups cardtill doctor 2>&1) || rc=$?
echo "$doctor"
case $rc in 0 | 1) ;; *) fail "cardtill doctor exited $rc" ;; esac
grep -q 'config' <<<"$doctor" || fail "doctor printed no config finding"
rc=0
json=$(setpriv --reuid=cardtill --regid=cardtill --init-groups cardtill doctor --json 2>/dev/null) || rc=$?
case $rc in 0 | 1) ;; *) fail "cardtill doctor --json exited $rc" ;; esac
grep -q '"findings"' <<<"$json" || fail "doctor --json printed no findings: $json"
touch /var/lib/cardtill/journal.db && chown cardtill:cardtill /var/lib/cardtill/journal.db

say "systemd units"
verify=$(cd / && systemd-analyze verify /usr/lib/systemd/system/cardtill-hub.service 2>&1) || { echo "$verify"; fail "systemd-analyze verify cardtill-hub.service"; }
# A template is verified through an instance: link one under a temp name.
mkdir -p "$work/units"
ln -s /usr/lib/systemd/system/cardtill-till@.service "$work/units/cardtill-till@tty1.service"
verify+=$(cd / && SYSTEMD_UNIT_PATH="$work/units:" systemd-analyze verify "$work/units/cardtill-till@tty1.service" 2>&1) || { echo "$verify"; fail "systemd-analyze verify cardtill-till@tty1.service"; }
# verify only warns about unknown keys and the like: any output is a failure.
[ -z "$verify" ] || { echo "$verify"; fail "systemd-analyze verify printed warnings"; }
exposure=$(systemd-analyze security --offline=yes --threshold=25 /usr/lib/systemd/system/cardtill-hub.service 2>&1 | tail -1) || { echo "$exposure"; fail "cardtill-hub.service is less hardened than expected"; }
echo "cardtill-hub.service: $exposure"

say "upgrade to $version2 keeps an edited config"
sed -i 's/^store_name = .*/store_name = "CI edited store"/' /etc/cardtill/config.toml
dpkg -i "$work/v2/cardtill_${version2}-1_amd64.deb" </dev/null
cardtill version | grep -qF "cardtill $version2 " || fail "upgrade did not install $version2"
grep -q '^store_name = "CI edited store"' /etc/cardtill/config.toml || fail "the edited config did not survive the upgrade"
test -f /var/lib/cardtill/journal.db || fail "the upgrade lost the journal"

say "remove keeps data and user; purge deletes them"
dpkg -r cardtill </dev/null
test ! -e /usr/bin/cardtill || fail "/usr/bin/cardtill left after remove"
test -f /var/lib/cardtill/journal.db || fail "remove deleted the journal"
getent passwd cardtill >/dev/null || fail "remove deleted the user"
grep -q '^store_name = "CI edited store"' /etc/cardtill/config.toml || fail "remove deleted the config"
dpkg -P cardtill </dev/null
! getent passwd cardtill >/dev/null || fail "purge left the cardtill user"
! getent group cardtill >/dev/null || fail "purge left the cardtill group"
test ! -e /var/lib/cardtill || fail "purge left /var/lib/cardtill"
test ! -e /etc/cardtill || fail "purge left /etc/cardtill"

say "the .rpm"
for rpmfile in "$work/a/cardtill-${version}-1.x86_64.rpm" "$work/a/cardtill-${version}-1.aarch64.rpm"; do
	rpm -qlp "$rpmfile" 2>/dev/null >"$work/rpm-files"
	for f in /usr/bin/cardtill /etc/cardtill/config.toml /usr/lib/systemd/system/cardtill-hub.service \
		/usr/lib/systemd/system/cardtill-till@.service /var/lib/cardtill; do
		grep -qx "$f" "$work/rpm-files" || fail "$(basename "$rpmfile") lacks $f"
	done
	rpm -qp --qf '[%{FILEFLAGS:fflags} %{FILENAMES}\n]' "$rpmfile" 2>/dev/null | grep -qx 'cn /etc/cardtill/config.toml' ||
		fail "$(basename "$rpmfile"): config.toml is not %config(noreplace)"
	rpm -qp --scripts "$rpmfile" 2>/dev/null | grep -q 'useradd --system' || fail "$(basename "$rpmfile"): no user creation in %pre"
done
rpm -qp --qf '%{ARCH}\n' "$work/a/cardtill-${version}-1.aarch64.rpm" 2>/dev/null | grep -qx aarch64 || fail "aarch64 rpm has the wrong arch"
echo "rpm contents ok: $(tr '\n' ' ' <"$work/rpm-files")"

say "Windows zips"
for arch in amd64 386; do
	z="$work/a/cardtill-${version}-windows-${arch}.zip"
	top="cardtill-${version}-windows-${arch}"
	listing=$(unzip -Z1 "$z")
	for f in "$top/cardtill.exe" "$top/config.example.toml" "$top/README.txt" "$top/setup.cmd"; do
		grep -qx "$f" <<<"$listing" || fail "$(basename "$z") lacks $f"
	done
	mkdir -p "$work/unzip"
	unzip -p "$z" "$top/cardtill.exe" >"$work/unzip/cardtill.exe"
	unzip -p "$z" "$top/config.example.toml" | cmp -s - internal/config/config.example.toml || fail "$(basename "$z"): config.example.toml differs"
	# cmd.exe needs CRLF line ends in a batch file (labels and goto misbehave without).
	unzip -p "$z" "$top/setup.cmd" >"$work/unzip/setup.cmd"
	[ "$(grep -c $'\r$' "$work/unzip/setup.cmd")" = "$(wc -l <"$work/unzip/setup.cmd")" ] || fail "$(basename "$z"): setup.cmd has a line without CRLF"
	go version -m "$work/unzip/cardtill.exe" | grep -q "GOARCH=${arch}" || fail "$(basename "$z"): cardtill.exe is not windows/${arch}"
	echo "$(basename "$z") ok"
done

say "Windows MSIs (msiinfo: tables, files, components, shortcuts, service, upgrade code, version)"
bash .ci/msi-check.sh --self-test "$work/a/cardtill-${version}-windows-amd64.msi" amd64 "$version" "$work/a/.work/windows-amd64/cardtill.exe"
bash .ci/msi-check.sh "$work/a/cardtill-${version}-windows-386.msi" 386 "$version" "$work/a/.work/windows-386/cardtill.exe"

say "Authenticode signing (throwaway self-signed certificate)"
sign="$work/sign"
mkdir -p "$sign"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$sign/key.pem" -out "$sign/cert.pem" -days 2 -subj "/CN=cardtill CI" 2>/dev/null
echo ci-pass >"$sign/pass"
openssl pkcs12 -export -inkey "$sign/key.pem" -in "$sign/cert.pem" -out "$sign/cert.pfx" -passout "file:$sign/pass"
cp "$work/a/.work/windows-amd64/cardtill.exe" "$sign/one.exe"
cp "$work/a/.work/windows-amd64/cardtill.exe" "$sign/two.exe"
for exe in one two; do
	CARDTILL_SIGN_PKCS12="$sign/cert.pfx" CARDTILL_SIGN_PASS_FILE="$sign/pass" SOURCE_DATE_EPOCH="$epoch" \
		packaging/windows/sign.sh "$sign/$exe.exe" >/dev/null
done
osslsigncode verify -CAfile "$sign/cert.pem" -in "$sign/one.exe" >/dev/null 2>&1 || fail "the signed cardtill.exe does not verify"
cmp -s "$sign/one.exe" "$sign/two.exe" || fail "two signings of one file differ (signing time not fixed)"
echo "signed and verified; signing is reproducible"

say "packages ok"

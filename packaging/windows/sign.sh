#!/usr/bin/env bash
# Authenticode-sign a Windows executable in place with osslsigncode, when a
# certificate is configured; otherwise do nothing (an unsigned build).
#
#   CARDTILL_SIGN_PKCS12     PKCS#12 (.pfx/.p12) file with the code-signing
#                            certificate and key. Unset: no signing.
#   CARDTILL_SIGN_PASS_FILE  file holding its password (optional)
#   CARDTILL_SIGN_TIMESTAMP  RFC 3161 timestamp server URL (optional). Without
#                            it the signing time is SOURCE_DATE_EPOCH, so the
#                            signed file stays reproducible; with it the
#                            signature outlives the certificate but every
#                            signing differs.
set -euo pipefail

exe=${1:?usage: sign.sh FILE.exe}
if [ -z "${CARDTILL_SIGN_PKCS12:-}" ]; then
	exit 0
fi
if ! command -v osslsigncode >/dev/null 2>&1; then
	echo "sign.sh: CARDTILL_SIGN_PKCS12 is set but osslsigncode is not installed (apt-get install osslsigncode)" >&2
	exit 1
fi
args=(sign -pkcs12 "$CARDTILL_SIGN_PKCS12" -h sha256 -n cardtill)
if [ -n "${CARDTILL_SIGN_PASS_FILE:-}" ]; then
	args+=(-readpass "$CARDTILL_SIGN_PASS_FILE")
fi
if [ -n "${CARDTILL_SIGN_TIMESTAMP:-}" ]; then
	args+=(-ts "$CARDTILL_SIGN_TIMESTAMP")
else
	args+=(-time "${SOURCE_DATE_EPOCH:-315532800}")
fi
osslsigncode "${args[@]}" -in "$exe" -out "$exe.signed" >/dev/null
mv "$exe.signed" "$exe"
echo "signed $exe"

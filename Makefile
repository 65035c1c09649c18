# Build every cardtill artifact: `make dist`.
#
#   dist/cardtill_<ver>-1_{amd64,arm64}.deb   Debian, Ubuntu
#   dist/cardtill-<ver>-1.{x86_64,aarch64}.rpm   RHEL, Rocky, Alma, Fedora
#   dist/cardtill-<ver>-windows-{amd64,386}.zip   cardtill.exe + sample config + guide
#   dist/cardtill-<ver>-windows-{amd64,386}.msi   the same as a Windows Installer package (wixl)
#   dist/SHA256SUMS
#
# Reproducible: the same commit (and VERSION) gives the same bytes. Every
# timestamp comes from SOURCE_DATE_EPOCH (default: the last commit's time),
# binaries are built -trimpath with no VCS stamp and an empty build id.
#
# Variables: VERSION (default from `git describe`, else 0.1.0~dev.N.gSHA),
# DIST (output folder), NFPM (nfpm binary; `make tools` installs the pinned
# one), WIXL (wixl, from Debian's wixl package; `make tools` installs it with
# msitools and faketime). Optional Authenticode signing of the .exe files happens when
# CARDTILL_SIGN_PKCS12 names a PKCS#12 certificate file; see
# packaging/README.md ("Signing the Windows build").

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := dist

GO ?= go
NFPM_VERSION := v2.45.2
NFPM ?= $(shell command -v nfpm 2>/dev/null || echo $$($(GO) env GOPATH)/bin/nfpm)
# The Debian packages the MSI needs: wixl builds it, msitools' msibuild fixes
# its package code, faketime fixes its timestamps (tools/mkmsi).
MSI_TOOLS := wixl msitools faketime
DIST ?= dist

VERSION ?= $(shell v=$$(git describe --tags --match 'v[0-9]*' 2>/dev/null) && echo "$${v#v}" || \
	echo "0.1.0~dev.$$(git rev-list --count HEAD 2>/dev/null || echo 0).g$$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)")
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 315532800)
export SOURCE_DATE_EPOCH

LINUX_ARCHES := amd64 arm64
WINDOWS_ARCHES := amd64 386
LDFLAGS := -s -w -buildid= -X main.version=$(VERSION)
BUILD := CGO_ENABLED=0 $(GO) build -trimpath -buildvcs=false -ldflags "$(LDFLAGS)"

# Where the intermediate files go (binaries, the sample config).
WORK := $(DIST)/.work

.PHONY: dist linux-binaries windows packages deb rpm checksums tools clean

dist: clean
	$(MAKE) --no-print-directory packages windows
	$(MAKE) --no-print-directory checksums
	@echo "version $(VERSION):"; cat $(DIST)/SHA256SUMS

tools:
	$(GO) install github.com/goreleaser/nfpm/v2/cmd/nfpm@$(NFPM_VERSION)
	@if command -v wixl >/dev/null && command -v msibuild >/dev/null && command -v faketime >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(MSI_TOOLS) >/dev/null; \
	else echo "the MSI needs $(MSI_TOOLS): sudo apt-get install $(MSI_TOOLS)"; exit 1; fi

# The sample config the packages install is the one embedded in the binary:
# copied, never written twice by hand.
$(WORK)/config.toml: internal/config/config.example.toml
	@mkdir -p $(@D)
	cp $< $@

linux-binaries:
	@mkdir -p $(WORK)
	$(foreach a,$(LINUX_ARCHES),GOOS=linux GOARCH=$(a) $(BUILD) -o $(WORK)/linux-$(a)/cardtill ./cmd/cardtill;)

packages: deb rpm

deb rpm: linux-binaries $(WORK)/config.toml
	@test -x "$(NFPM)" || { echo "nfpm not found: run 'make tools' (installs nfpm $(NFPM_VERSION))"; exit 1; }
	$(foreach a,$(LINUX_ARCHES),VERSION='$(VERSION)' ARCH=$(a) BINARY=$(WORK)/linux-$(a)/cardtill CONFIG=$(WORK)/config.toml \
		$(NFPM) package --config packaging/nfpm.yaml --packager $@ --target $(DIST)/ >/dev/null;)
	@ls $(DIST)/*.$@

windows: $(WORK)/config.toml
	@mkdir -p $(WORK)
	$(foreach a,$(WINDOWS_ARCHES),GOOS=windows GOARCH=$(a) $(BUILD) -o $(WORK)/windows-$(a)/cardtill.exe ./cmd/cardtill;)
	$(foreach a,$(WINDOWS_ARCHES),packaging/windows/sign.sh $(WORK)/windows-$(a)/cardtill.exe;)
	$(foreach a,$(WINDOWS_ARCHES),$(GO) run ./tools/mkzip -o $(DIST)/cardtill-$(VERSION)-windows-$(a).zip \
		-dir cardtill-$(VERSION)-windows-$(a) \
		cardtill.exe=$(WORK)/windows-$(a)/cardtill.exe \
		config.example.toml=$(WORK)/config.toml \
		README.txt=packaging/windows/README-windows.txt \
		setup.cmd=packaging/windows/setup.cmd;)
	@command -v wixl >/dev/null || { echo "wixl not found: run 'make tools' (apt-get install $(MSI_TOOLS))"; exit 1; }
	$(foreach a,$(WINDOWS_ARCHES),$(GO) run ./tools/mkmsi -o $(DIST)/cardtill-$(VERSION)-windows-$(a).msi \
		-arch $(a) -version '$(VERSION)' -wxs packaging/windows/cardtill.wxs \
		cardtill.exe=$(WORK)/windows-$(a)/cardtill.exe \
		config.example.toml=$(WORK)/config.toml \
		README.txt=packaging/windows/README-windows.txt \
		setup.cmd=packaging/windows/setup.cmd;)

checksums:
	cd $(DIST) && find . -maxdepth 1 -type f \( -name '*.deb' -o -name '*.rpm' -o -name '*.zip' -o -name '*.msi' \) -printf '%f\n' \
		| LC_ALL=C sort | xargs sha256sum > SHA256SUMS

clean:
	rm -rf $(DIST)

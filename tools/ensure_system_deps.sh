#!/usr/bin/env bash
# Make sure the system libraries that PySide6 (Qt 6.11: QtCore, QtGui, QtWidgets and the
# offscreen and xcb platform plugins) loads are installed, plus one font for Qt to draw text.
#
# Quick when everything is there (one `ldconfig -p`, no apt). When something is missing:
#   - as root with apt-get: apt-get update && apt-get install the Debian packages;
#   - otherwise: print the missing Debian packages and the command to install them, exit 1.
#
# Environment:
#   NNCANVAS_SKIP_SYSTEM_DEPS=1   skip the check (e.g. a non-Debian system set up by hand)
#   NNCANVAS_PRETEND_MISSING="libxcb-cursor.so.0 font ..."
#                                 treat these library file names (or "font") as missing;
#                                 for testing this script on a machine that has them all.
set -euo pipefail

if [[ "${NNCANVAS_SKIP_SYSTEM_DEPS:-}" == 1 ]]; then
    exit 0
fi
# PySide6's wheels bundle Qt itself; only on Linux does it rely on the system for these.
if [[ "$(uname -s)" != Linux ]]; then
    exit 0
fi

# Library file name -> Debian 12 package that ships it (found with ldd on PySide6 6.11's
# libraries and plugins, packages checked with dpkg -S / apt-cache policy).
LIBRARIES=(
    "libEGL.so.1             libegl1"
    "libGL.so.1              libgl1"
    "libGLX.so.0             libglx0"
    "libX11.so.6             libx11-6"
    "libX11-xcb.so.1         libx11-xcb1"
    "libdbus-1.so.3          libdbus-1-3"
    "libfontconfig.so.1      libfontconfig1"
    "libfreetype.so.6        libfreetype6"
    "libglib-2.0.so.0        libglib2.0-0"
    "libgthread-2.0.so.0     libglib2.0-0"
    "libxkbcommon.so.0       libxkbcommon0"
    "libxkbcommon-x11.so.0   libxkbcommon-x11-0"
    "libxcb.so.1             libxcb1"
    "libxcb-cursor.so.0      libxcb-cursor0"
    "libxcb-icccm.so.4       libxcb-icccm4"
    "libxcb-image.so.0       libxcb-image0"
    "libxcb-keysyms.so.1     libxcb-keysyms1"
    "libxcb-randr.so.0       libxcb-randr0"
    "libxcb-render-util.so.0 libxcb-render-util0"
    "libxcb-render.so.0      libxcb-render0"
    "libxcb-shape.so.0       libxcb-shape0"
    "libxcb-shm.so.0         libxcb-shm0"
    "libxcb-sync.so.1        libxcb-sync1"
    "libxcb-util.so.1        libxcb-util1"
    "libxcb-xfixes.so.0      libxcb-xfixes0"
    "libxcb-xkb.so.1         libxcb-xkb1"
    "libwayland-client.so.0  libwayland-client0"
    "libwayland-cursor.so.0  libwayland-cursor0"
)
FONT_PACKAGE=fonts-dejavu-core

# ldconfig -p tags each entry with its ABI, e.g. "(libc6,x86-64)"; only count this machine's.
case "$(uname -m)" in
    x86_64) ABI=x86-64 ;;
    aarch64) ABI=AArch64 ;;
    *) ABI= ;;
esac

pretend_missing() { [[ " ${NNCANVAS_PRETEND_MISSING:-} " == *" $1 "* ]]; }

# Prints the Debian packages of whatever is missing, one per line, without duplicates.
missing_packages() {
    local ldconfig cache entry lib pkg
    ldconfig=$(PATH="$PATH:/sbin:/usr/sbin" command -v ldconfig) || {
        echo "ensure_system_deps: ldconfig not found, cannot check system libraries" >&2
        return 1
    }
    cache=$("$ldconfig" -p | awk -v abi="$ABI" 'index($0, abi) {print $1}')
    for entry in "${LIBRARIES[@]}"; do
        read -r lib pkg <<<"$entry"
        if pretend_missing "$lib" || ! grep -qxF "$lib" <<<"$cache"; then
            echo "$pkg"
        fi
    done
    # Any TrueType/OpenType/Type 1 font will do for Qt's fontconfig database.
    if pretend_missing font || [[ -z "$(find /usr/share/fonts /usr/local/share/fonts \
            -type f \( -name '*.ttf' -o -name '*.otf' -o -name '*.ttc' -o -name '*.pfb' \) \
            -print -quit 2>/dev/null)" ]]; then
        echo "$FONT_PACKAGE"
    fi
}

missing=$(missing_packages | sort -u | tr '\n' ' ')
missing=${missing% }
if [[ -z "$missing" ]]; then
    exit 0
fi

if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
    echo "ensure_system_deps: installing Debian packages Qt needs: $missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    # shellcheck disable=SC2086  # word splitting of the package list is intended
    apt-get install -y -q --no-install-recommends $missing
    # Check again (without the pretend list): the install must have provided everything.
    still=$(NNCANVAS_PRETEND_MISSING= missing_packages | sort -u | tr '\n' ' ')
    if [[ -n "$still" ]]; then
        echo "ensure_system_deps: still missing after apt-get install: $still" >&2
        exit 1
    fi
    exit 0
fi

cat >&2 <<EOF
NN Canvas needs system libraries that Qt (PySide6) loads, and they are missing.
Missing Debian packages: $missing
Install them with:

    sudo apt-get update && sudo apt-get install -y --no-install-recommends $missing

(On another Linux distribution install the equivalents of these packages, then run
again with NNCANVAS_SKIP_SYSTEM_DEPS=1 if this check still cannot see them.)
EOF
exit 1

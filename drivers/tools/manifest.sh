#!/bin/sh
# manifest.sh DIST NAME:VERSION... : prints DIST/manifest.json for the built artifacts.
# The build id names the sources, not the moment: the git commit (with -dirty when the
# drivers tree has local changes) and a hash of every source file, so two builds of the
# same sources carry the same id and the harness can key results by it.
# Linux modules (*.ko) also carry their vermagic, and KRELEASE (when set) names the kernel
# the build is for; TOOLCHAIN overrides the compiler named.
set -eu
dist=$1; shift
here=$(cd "$(dirname "$0")/.." && pwd)
src_hash=$(cd "$here" && find include hsprobe hsprobectl host linux tools Makefile -type f \
    \( -name '*.[ch]' -o -name '*.def' -o -name '*.sh' -o -name Makefile -o -name Kbuild \
       -o -name kernel-release \) | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-12)
commit=$(git -C "$here" rev-parse --short=12 HEAD 2>/dev/null || echo nogit)
if [ "$commit" != nogit ] && [ -n "$(git -C "$here" status --porcelain -- . 2>/dev/null)" ]; then
    commit="$commit-dirty"
fi
toolchain=${TOOLCHAIN:-"mingw-w64 gcc $(${CROSS:-x86_64-w64-mingw32-}gcc -dumpversion 2>/dev/null || echo unknown)"}
printf '{\n  "format": 1,\n  "build_id": "%s-%s",\n  "toolchain": "%s",\n' \
    "$commit" "$src_hash" "$toolchain"
if [ -n "${KRELEASE:-}" ]; then
    printf '  "kernel": "%s",\n' "$KRELEASE"
fi
printf '  "artifacts": [\n'
sep=""
for item in "$@"; do
    name=${item%%:*}
    version=${item#*:}
    sum=$(sha256sum "$dist/$name" | cut -d' ' -f1)
    size=$(wc -c < "$dist/$name" | tr -d ' ')
    extra=""
    case "$name" in
        *.ko) extra=$(printf ', "vermagic": "%s"' "$(modinfo -F vermagic "$dist/$name" | sed 's/ *$//')") ;;
    esac
    printf '%s    {"name": "%s", "version": %s, "sha256": "%s", "size": %s%s}' \
        "$sep" "$name" "$version" "$sum" "$size" "$extra"
    sep=",
"
done
printf '\n  ]\n}\n'

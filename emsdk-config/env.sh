# Source this file (`. emsdk-config/env.sh`) to use Debian's emscripten by hand, e.g. to
# run emcc or `cmake --build build/wasm` outside the `wasm` preset, which sets the same
# variables itself.
_sling_emsdk_dir="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")" && pwd)"
export EM_CONFIG="${_sling_emsdk_dir}/emscripten.config"
# Debian's prebuilt system libraries (read-only). To use a writable cache instead, export
# EM_CACHE=<repo>/build/emscripten-cache before sourcing; the first link then builds them.
export EM_CACHE="${EM_CACHE:-/usr/share/emscripten/cache}"
# emcc's JS optimizer (tools/acorn-optimizer.js) needs Debian's node-acorn, which lives
# here; NodeSource's node 20 does not search this directory by default.
export NODE_PATH="/usr/share/nodejs${NODE_PATH:+:${NODE_PATH}}"
unset _sling_emsdk_dir

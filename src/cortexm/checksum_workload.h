// The small computation whose checksum the Cortex-M firmware and the native host
// both print; tests/cortexm/run_checksum.sh compares the two.
#pragma once

#include <cstdint>

namespace slingshot {

// Seeded conv2d (odd shape, stride 2, SAME) followed by dense, using the portable
// reference kernels. Returns FNV-1a over the bit patterns of both layers' outputs.
// No heap: all buffers are static, so it is not reentrant.
uint32_t portable_checksum();

}  // namespace slingshot

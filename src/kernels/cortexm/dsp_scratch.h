// Scratch sizes of the Cortex-M DSP kernels (conv2d_s8__dsp, dense_s8__dsp) as plain
// arithmetic on a layer's dimensions. Portable (no DSP intrinsics): the kernels' own
// *_scratch_bytes() call these, and the C model exporter (export/c_model.cpp) and the
// device runtime's table check use them on any host to plan and verify the scratch region.
// 64-bit results, so a broken layer table cannot overflow them.
#pragma once

#include <cstdint>

namespace slingshot {

// conv2d_s8__dsp: the int32 accumulators of two output pixels (2 x out_c), two int16
// im2col columns of K = kernel_h * kernel_w * in_c elements and, when in_c is not a
// multiple of 4, K staging bytes.
constexpr int64_t conv2d_s8__dsp_scratch_size(int32_t kernel_h, int32_t kernel_w, int32_t in_c, int32_t out_c) {
  const int64_t k = static_cast<int64_t>(kernel_h) * kernel_w * in_c;
  const int64_t staging = in_c % 4 == 0 ? 0 : k;
  return 2 * static_cast<int64_t>(out_c) * 4 + 2 * k * 2 + staging;
}

// dense_s8__dsp: the int32 accumulators of two rows (2 x out_dim) and two widened int16
// input rows of in_dim.
constexpr int64_t dense_s8__dsp_scratch_size(int32_t in_dim, int32_t out_dim) {
  return 2 * static_cast<int64_t>(out_dim) * 4 + 2 * static_cast<int64_t>(in_dim) * 2;
}

}  // namespace slingshot

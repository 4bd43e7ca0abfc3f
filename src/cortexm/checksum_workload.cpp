// Shared workload of the cross-platform checksum test. This one file is compiled into
// the firmware (arm-none-eabi-gcc) and into portable_checksum_host (native), so any
// difference in the printed hashes comes from the compilers or the kernels, not the test.
#include "cortexm/checksum_workload.h"

#include <cstring>

#include "core/rng.h"
#include "kernels/kernel_params.h"
#include "kernels/ref/conv2d__ref.h"
#include "kernels/ref/dense__ref.h"

namespace slingshot {
namespace {

// Odd sizes so SAME padding is asymmetric and stride 2 leaves a ragged edge.
constexpr int32_t kInH = 9, kInW = 11, kInC = 3;
constexpr int32_t kKernel = 3, kStride = 2, kOutC = 5;
constexpr int32_t kOutH = (kInH + kStride - 1) / kStride;  // SAME: ceil(in / stride)
constexpr int32_t kOutW = (kInW + kStride - 1) / kStride;
constexpr int32_t kConvOut = kOutH * kOutW * kOutC;
constexpr int32_t kDenseOut = 7;

float g_input[kInH * kInW * kInC];
float g_filter[kOutC * kKernel * kKernel * kInC];
float g_conv_bias[kOutC];
float g_conv_out[kConvOut];
float g_weights[kDenseOut * kConvOut];
float g_dense_bias[kDenseOut];
float g_dense_out[kDenseOut];

void fill(Rng& rng, float* data, int32_t n) {
  for (int32_t i = 0; i < n; ++i) data[i] = rng.uniform(-1.0f, 1.0f);
}

// FNV-1a, 32-bit, over each float's bit pattern (little-endian byte order on every target).
uint32_t fnv1a(uint32_t hash, const float* data, int32_t n) {
  for (int32_t i = 0; i < n; ++i) {
    uint32_t bits;
    std::memcpy(&bits, &data[i], sizeof bits);
    for (int b = 0; b < 4; ++b) {
      hash ^= (bits >> (8 * b)) & 0xFFu;
      hash *= 16777619u;
    }
  }
  return hash;
}

}  // namespace

uint32_t portable_checksum() {
  Rng rng(20240229);
  fill(rng, g_input, kInH * kInW * kInC);
  fill(rng, g_filter, kOutC * kKernel * kKernel * kInC);
  fill(rng, g_conv_bias, kOutC);
  fill(rng, g_weights, kDenseOut * kConvOut);
  fill(rng, g_dense_bias, kDenseOut);

  const WindowShape conv =
      make_window_shape(Dims4{1, kInH, kInW, kInC}, kKernel, kKernel, kStride, kStride, Padding::kSame, kOutC);
  conv2d_forward__ref<float>(conv, g_input, g_filter, g_conv_bias, g_conv_out);

  const DenseShape dense{1, kConvOut, kDenseOut};
  dense_forward__ref<float>(dense, g_conv_out, g_weights, g_dense_bias, g_dense_out);

  uint32_t hash = 2166136261u;
  hash = fnv1a(hash, g_conv_out, kConvOut);
  hash = fnv1a(hash, g_dense_out, kDenseOut);
  return hash;
}

}  // namespace slingshot

// Shared workload of the cross-platform checksum test. This one file is compiled into
// the firmware (arm-none-eabi-gcc) and into portable_checksum_host (native), so any
// difference in the printed hashes comes from the compilers or the kernels, not the test.
#include "cortexm/checksum_workload.h"

#include <cstring>

#include "core/rng.h"
#include "kernels/kernel_params.h"
#include "kernels/ref/conv2d__ref.h"
#include "kernels/ref/add_s8__ref.h"
#include "kernels/ref/avg_pool2d_s8__ref.h"
#include "kernels/ref/conv2d_s8__ref.h"
#include "kernels/ref/dense__ref.h"
#include "kernels/ref/dense_s8__ref.h"
#include "kernels/ref/depthwise_conv2d_s8__ref.h"
#include "kernels/ref/global_avg_pool_s8__ref.h"

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

// The int8 half: the integer kernels of the int8-ref engine on the same geometry.
int8_t g_q_input[kInH * kInW * kInC];
int8_t g_q_filter[kOutC * kKernel * kKernel * kInC];
int32_t g_q_bias[kOutC];
int32_t g_q_mult[kOutC];
int32_t g_q_shift[kOutC];
int8_t g_q_conv_out[kConvOut];
int8_t g_q_dw_filter[kKernel * kKernel * kOutC];
int8_t g_q_dw_out[kConvOut];
int8_t g_q_sum[kConvOut];
int8_t g_q_pool[kConvOut];
int8_t g_q_mean[kOutC];
int8_t g_q_weights[kDenseOut * kOutC];
int8_t g_q_dense_out[kDenseOut];
int32_t g_q_dense_bias[kDenseOut];

void fill_s8(Rng& rng, int8_t* data, int32_t n, int32_t lo) {
  for (int32_t i = 0; i < n; ++i) data[i] = static_cast<int8_t>(lo + static_cast<int32_t>(rng.below(128 - lo)));
}

uint32_t fnv1a_bytes(uint32_t hash, const void* data, int32_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (int32_t i = 0; i < n; ++i) {
    hash ^= p[i];
    hash *= 16777619u;
  }
  return hash;
}

// conv (per-channel, SAME, stride 2, double rounding) -> depthwise (single rounding,
// ReLU clamp) -> add -> average pool -> global average pool -> dense.
uint32_t int8_checksum(Rng& rng, uint32_t hash) {
  fill_s8(rng, g_q_input, kInH * kInW * kInC, -128);
  fill_s8(rng, g_q_filter, kOutC * kKernel * kKernel * kInC, -127);
  fill_s8(rng, g_q_dw_filter, kKernel * kKernel * kOutC, -127);
  fill_s8(rng, g_q_weights, kDenseOut * kOutC, -127);
  for (int32_t c = 0; c < kOutC; ++c) {
    g_q_bias[c] = static_cast<int32_t>(rng.below(20001)) - 10000;
    g_q_mult[c] = (1 << 30) + static_cast<int32_t>(rng.below(1u << 30));
    g_q_shift[c] = -8 - static_cast<int32_t>(rng.below(4));
  }
  for (int32_t o = 0; o < kDenseOut; ++o) g_q_dense_bias[o] = static_cast<int32_t>(rng.below(2001)) - 1000;
  const WindowShape conv =
      make_window_shape(Dims4{1, kInH, kInW, kInC}, kKernel, kKernel, kStride, kStride, Padding::kSame, kOutC);
  const ConvQuantParams q1{128, -5, g_q_mult, g_q_shift, true, -128, 127, RoundingMode::kDouble};
  conv2d_s8__ref(conv, q1, g_q_input, g_q_filter, g_q_bias, g_q_conv_out);
  const WindowShape dw =
      make_window_shape(conv.output, kKernel, kKernel, 1, 1, Padding::kSame, kOutC);
  const ConvQuantParams q2{5, -20, g_q_mult, g_q_shift, true, -20, 127, RoundingMode::kSingle};
  depthwise_conv2d_s8__ref(dw, q2, g_q_conv_out, g_q_dw_filter, g_q_bias, g_q_dw_out);
  const AddQuantParams qa{20, 5, 1 << 30, -1, 20, 1518500250, -1, 3, 1 << 30, -19, -128, 127, RoundingMode::kDouble};
  add_s8__ref(kConvOut, qa, g_q_conv_out, g_q_dw_out, g_q_sum);
  const WindowShape pool = make_window_shape(conv.output, 2, 2, 1, 1, Padding::kSame, kOutC);
  avg_pool2d_s8__ref(pool, PoolQuantParams{-128, 127}, g_q_sum, g_q_pool);
  const MeanQuantParams qm{-3, 7, 1395864371, 0, -128, 127, RoundingMode::kDouble};
  global_avg_pool_s8__ref(conv.output, qm, g_q_pool, g_q_mean);
  const ConvQuantParams qd{-7, 1, g_q_mult, g_q_shift, false, -128, 127, RoundingMode::kDouble};
  dense_s8__ref(DenseShape{1, kOutC, kDenseOut}, qd, g_q_mean, g_q_weights, g_q_dense_bias, g_q_dense_out);
  hash = fnv1a_bytes(hash, g_q_conv_out, kConvOut);
  hash = fnv1a_bytes(hash, g_q_dw_out, kConvOut);
  hash = fnv1a_bytes(hash, g_q_sum, kConvOut);
  hash = fnv1a_bytes(hash, g_q_pool, kConvOut);
  hash = fnv1a_bytes(hash, g_q_mean, kOutC);
  return fnv1a_bytes(hash, g_q_dense_out, kDenseOut);
}

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
  return int8_checksum(rng, hash);
}

}  // namespace slingshot

// Cortex-M DSP int8 fully connected layer: widen two input rows, then the 2x2 SMLAD block
// of int8_dsp-inl.h over output pairs.
#include "kernels/cortexm/dense_s8__dsp.h"

#include "kernels/cortexm/dsp_scratch.h"
#include "kernels/cortexm/int8_dsp-inl.h"
#include "kernels/ref/dense_s8__ref.h"

namespace slingshot {
namespace {

// Widens input row x into column j of a block of `cols` columns (int8_dsp-inl.h's layout).
void widen_row(const int8_t* x, int32_t in_dim, int32_t input_offset, int32_t j, int32_t cols, int16_t* block) {
  const int32_t groups_end = in_dim & ~3;
  dsp_s8::widen_groups_strided(x, groups_end, dsp_s8::pair_of(input_offset), cols, block + j * 4);
  dsp_s8::widen_scattered(x + groups_end, in_dim - groups_end, groups_end, j, cols, in_dim, input_offset, block);
}

template <RoundingMode kMode>
void dense_rows(const DenseShape& s, const DenseQuantParams& q, const int8_t* input, const int8_t* weights,
                const int32_t* bias, int8_t* output, int32_t* scratch) {
  // Scratch: 2 * out_dim accumulators, then the widened two-row block.
  int32_t* const acc = scratch;
  int16_t* const block = reinterpret_cast<int16_t*>(scratch + 2 * s.out_dim);
  const dsp_s8::Requantizer<kMode> rq(q);
  for (int32_t b = 0; b < s.batch; b += 2) {
    const int32_t cols = s.batch - b >= 2 ? 2 : 1;
    for (int32_t j = 0; j < cols; ++j)
      widen_row(input + (b + j) * s.in_dim, s.in_dim, q.input_offset, j, cols, block);
    dsp_s8::gemm_columns<kMode>(rq, weights, s.in_dim, s.out_dim, bias, block, cols, output + b * s.out_dim,
                                output + (b + 1) * s.out_dim, acc);
  }
}

}  // namespace

int32_t dense_s8__dsp_scratch_bytes(const DenseShape& s) {
  return static_cast<int32_t>(dense_s8__dsp_scratch_size(s.in_dim, s.out_dim));
}

void dense_s8__dsp(const DenseShape& s, const DenseQuantParams& q, const int8_t* input, const int8_t* weights,
                   const int32_t* bias, int8_t* output, int32_t* scratch) {
  if (!dsp_s8::offset_fits_int16(q.input_offset)) {
    dense_s8__ref(s, q, input, weights, bias, output);
    return;
  }
  dsp_s8::with_rounding(q.rounding, [&]<RoundingMode kMode>() {
    dense_rows<kMode>(s, q, input, weights, bias, output, scratch);
  });
}

}  // namespace slingshot

// Cortex-M DSP int8 fully connected layer: widen two input rows, then the 2x2 SMLAD block
// of int8_dsp-inl.h over output pairs.
#include "kernels/cortexm/dense_s8__dsp.h"

#include "kernels/cortexm/int8_dsp-inl.h"
#include "kernels/ref/dense_s8__ref.h"

namespace slingshot {
namespace {

// Row stride in int16: even, so the second row starts 4-byte aligned.
int32_t row_stride(const DenseShape& s) { return (s.in_dim + 1) & ~1; }

// Widens one input row in the group order of int8_dsp-inl.h (tail in natural order).
void widen_row(const int8_t* x, int32_t in_dim, int32_t input_offset, int16_t* row) {
  const int32_t groups_end = in_dim & ~3;
  dsp_s8::widen_groups(x, groups_end, dsp_s8::pair_of(input_offset), row);
  for (int32_t i = groups_end; i < in_dim; ++i) row[i] = static_cast<int16_t>(x[i] + input_offset);
}

template <RoundingMode kMode>
void dense_rows(const DenseShape& s, const DenseQuantParams& q, const int8_t* input, const int8_t* weights,
                const int32_t* bias, int8_t* output, int16_t* scratch) {
  const int32_t stride = row_stride(s);
  int16_t* const rows[2] = {scratch, scratch + stride};
  for (int32_t b = 0; b < s.batch; b += 2) {
    const int32_t cols = s.batch - b >= 2 ? 2 : 1;
    for (int32_t c = 0; c < cols; ++c) widen_row(input + (b + c) * s.in_dim, s.in_dim, q.input_offset, rows[c]);
    int8_t* out[2] = {output + b * s.out_dim, output + (b + 1) * s.out_dim};
    const int16_t* const columns[2] = {rows[0], rows[1]};
    dsp_s8::gemm_columns<kMode>(q, weights, s.in_dim, s.out_dim, bias, columns, cols, out);
  }
}

}  // namespace

int32_t dense_s8__dsp_scratch_bytes(const DenseShape& s) {
  return 2 * row_stride(s) * static_cast<int32_t>(sizeof(int16_t));
}

void dense_s8__dsp(const DenseShape& s, const DenseQuantParams& q, const int8_t* input, const int8_t* weights,
                   const int32_t* bias, int8_t* output, int32_t* scratch) {
  if (!dsp_s8::offset_fits_int16(q.input_offset)) {
    dense_s8__ref(s, q, input, weights, bias, output);
    return;
  }
  auto* rows = reinterpret_cast<int16_t*>(scratch);
  dsp_s8::with_rounding(q.rounding, [&]<RoundingMode kMode>() {
    dense_rows<kMode>(s, q, input, weights, bias, output, rows);
  });
}

}  // namespace slingshot

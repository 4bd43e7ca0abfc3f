// Highway float32 fully connected layer, lowered onto the GEMMs of gemm_f32__simd:
//   forward          out[B][O] = x[B][I] . weights[O][I] (dot products, + bias)
//   backward-input   gx[B][I]  = gy[B][O] x weights[O][I]
//   backward-weights gw[O][I]  = gy^T[O][B] x x[B][I], bias = column sums of gy
// Weights are used in place, so no pass needs scratch. Large products run on the thread
// pool in row blocks (batch rows, or output rows for the weights), which leaves every
// output element's sum unchanged: results are identical for any thread count.
#include "kernels/simd/dense_f32__simd.h"

#include "kernels/simd/gemm_f32__simd.h"

namespace slingshot {

using simd_internal::GemmArgs;
using simd_internal::GemmInit;

size_t dense_f32__simd_scratch_size(const DenseShape&) { return 0; }

void dense_forward_f32__simd(const DenseShape& s, const float* input, const float* weights, const float* bias,
                             float* output, float*) {
  GemmArgs a{};
  a.m = s.batch, a.n = s.out_dim, a.k = s.in_dim;
  a.a = input, a.a_row_stride = s.in_dim, a.a_col_stride = 1;
  a.b = weights, a.ldb = s.in_dim;
  a.c = output, a.ldc = s.out_dim;
  a.init = bias ? GemmInit::kRowVector : GemmInit::kZero;
  a.row = bias;
  simd_internal::gemm_f32_nt_parallel(a);
}

void dense_backward_input_f32__simd(const DenseShape& s, const float* grad_output, const float* weights,
                                    float* grad_input, float*) {
  GemmArgs a{};
  a.m = s.batch, a.n = s.in_dim, a.k = s.out_dim;
  a.a = grad_output, a.a_row_stride = s.out_dim, a.a_col_stride = 1;
  a.b = weights, a.ldb = s.in_dim;
  a.c = grad_input, a.ldc = s.in_dim;
  a.init = GemmInit::kZero;
  simd_internal::gemm_f32_nn_parallel(a);
}

void dense_backward_weights_f32__simd(const DenseShape& s, const float* input, const float* grad_output,
                                      float* grad_weights, float* grad_bias, float*) {
  GemmArgs a{};
  a.m = s.out_dim, a.n = s.in_dim, a.k = s.batch;  // k == 0 zeroes grad_weights
  a.a = grad_output, a.a_row_stride = 1, a.a_col_stride = s.out_dim;
  a.b = input, a.ldb = s.in_dim;
  a.c = grad_weights, a.ldc = s.in_dim;
  a.init = GemmInit::kZero;
  simd_internal::gemm_f32_nn_parallel(a);
  if (grad_bias) simd_internal::column_sums_f32(grad_output, s.batch, s.out_dim, s.out_dim, grad_bias, false);
}

}  // namespace slingshot

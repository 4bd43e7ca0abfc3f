// Internal float32 GEMM and vector helpers behind the Highway conv and dense kernels.
// Not a public API: layers call conv2d_f32__simd / dense_f32__simd, which lower their
// passes onto these. Natively each call dispatches to the best target the CPU has
// (AVX-512, AVX2, SSE4); in wasm it is compiled for SIMD128 only (static dispatch).
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/kernel_params.h"

namespace slingshot::simd_internal {

// How a GEMM initializes C before adding the products.
enum class GemmInit : uint8_t {
  kZero,        // C = A*B
  kAccumulate,  // C += A*B
  kRowVector,   // C = row + A*B, with C(i, j) starting at row[j] (a bias)
};

// C[m x n] (op)= A[m x k] * B[k x n]. Strides are in floats; every extent may be any size >= 0.
// The optional row tables let a convolution use its (padded) input as A or B in place,
// without copying windows into an im2col matrix ("implicit GEMM").
struct GemmArgs {
  int64_t m;                  // rows of A and C
  int64_t n;                  // columns of B and C
  int64_t k;                  // the reduced dimension
  const float* a;             // A(i, p) = a[i * a_row_stride + p * a_col_stride]
  int64_t a_row_stride;       // one of the two A strides must be 1 (see gemm_f32_nn)
  int64_t a_col_stride;       // 1 for row-major A, or the row length of a stored A^T
  const float* b;             // B(p, j) = b[p * ldb + j]: rows of B are contiguous
  int64_t ldb;                // floats between rows of B
  float* c;                   // C(i, j) = c[i * ldc + j]
  int64_t ldc;                // floats between rows of C
  GemmInit init;              // how C starts
  const float* row = nullptr;  // the kRowVector row, n floats
  // Row-major A given by row pointers: A(i, s * k_segment + q) = a_rows[i][s * a_segment_stride + q].
  const float* const* a_rows = nullptr;  // m pointers, or null to use a and a_row_stride
  int64_t k_segment = 0;                 // > 0: K is k / k_segment segments of this length
  int64_t a_segment_stride = 0;          // floats between consecutive segments of an A row
  // Stored-transposed A (a_row_stride == 1) with B given by row pointers: B(p, j) = b_rows[p][b_offset + j].
  const float* const* b_rows = nullptr;  // k pointers, or null to use b and ldb
  int64_t b_offset = 0;                  // added to every b_rows pointer
  // A given by column pointers: A(i, p) = a_cols[p][a_offset + i] (a and its strides unused).
  const float* const* a_cols = nullptr;  // k pointers, or null
  int64_t a_offset = 0;                  // added to every a_cols pointer
  FusedRelu relu;                        // applied to C as it is stored (gemm_f32_nn only)
  // If set, C(i, j) also gains addend[i * ldc + j] after init and before relu: a residual
  // add folded into the GEMM (gemm_f32_nn only).
  const float* addend = nullptr;
};

// Register-blocked broadcast-A x vector-B GEMM. A must be row-major (a_col_stride == 1,
// or a_rows), stored transposed (a_row_stride == 1, required with b_rows), or given by
// column pointers (a_cols). Reads B rows only up to column n (tails are
// masked), so B and C may end exactly at their last element.
void gemm_f32_nn(const GemmArgs& g);

// C(i, j) (op)= sum_p A(i, p) * Bt(j, p), with Bt = b[j * ldb + p] (B stored transposed,
// as dense weights [out][in] are). A must be row-major. Dot products along p.
void gemm_f32_nt(const GemmArgs& g);

// The rows [i0, i0 + m) of g as a GEMM of their own (A and C shifted, B shared). Every
// element of C is computed by the same operations in the same order whatever tile or
// row block it falls in, so a GEMM split into row blocks gives bit-identical results:
// this is what makes the threaded kernels independent of the thread count.
GemmArgs gemm_rows(const GemmArgs& g, int64_t i0, int64_t m);

// Multiply-adds below which a kernel call stays on the calling thread: waking the pool
// costs a few microseconds, which small products would not win back (measured with
// bench_conv_kernels --threads, see bench/README.md).
constexpr int64_t kMinParallelMacs = int64_t{1} << 18;

// Parallel tasks worth running for `macs` multiply-adds split into at most `max_tasks`
// independent parts: 1 (the calling thread) for small work or a 1-thread setting.
int64_t parallel_tasks(int64_t macs, int64_t max_tasks);

// gemm_f32_nn / gemm_f32_nt on up to num_threads() threads, split into row blocks
// (results identical to the single call, see gemm_rows).
void gemm_f32_nn_parallel(const GemmArgs& g);
void gemm_f32_nt_parallel(const GemmArgs& g);

// out[j] (= or +=) sum over r < rows of x[r * ld + j], for j < cols.
void column_sums_f32(const float* x, int64_t rows, int64_t cols, int64_t ld, float* out, bool accumulate);

// dst[i] += src[i] for i < n.
void add_to_f32(float* dst, const float* src, int64_t n);

// Name of the Highway target the kernels above run on (e.g. "AVX3", "AVX2", "WASM").
const char* simd_f32_target_name();

}  // namespace slingshot::simd_internal

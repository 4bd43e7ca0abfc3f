// TEMPORARY: forwards to the reference kernel until the Highway implementation lands.
#include "kernels/simd/conv2d_f32__simd.h"

#include "kernels/ref/conv2d__ref.h"

namespace slingshot {
size_t conv2d_f32__simd_scratch_size(const WindowShape&) { return 0; }
void conv2d_forward_f32__simd(const WindowShape& s, const float* in, const float* f, const float* b, float* out,
                              float*) {
  conv2d_forward__ref<float>(s, in, f, b, out);
}
void conv2d_backward_input_f32__simd(const WindowShape& s, const float* go, const float* f, float* gi, float*) {
  conv2d_backward_input__ref<float>(s, go, f, gi);
}
void conv2d_backward_filter_f32__simd(const WindowShape& s, const float* in, const float* go, float* gf, float* gb,
                                      float*) {
  conv2d_backward_filter__ref<float>(s, in, go, gf, gb);
}
}  // namespace slingshot

// TEMPORARY: forwards to the reference kernel until the Highway implementation lands.
#include "kernels/simd/dense_f32__simd.h"

#include "kernels/ref/dense__ref.h"

namespace slingshot {
size_t dense_f32__simd_scratch_size(const DenseShape&) { return 0; }
void dense_forward_f32__simd(const DenseShape& s, const float* in, const float* w, const float* b, float* out,
                             float*) {
  dense_forward__ref<float>(s, in, w, b, out);
}
void dense_backward_input_f32__simd(const DenseShape& s, const float* go, const float* w, float* gi, float*) {
  dense_backward_input__ref<float>(s, go, w, gi);
}
void dense_backward_weights_f32__simd(const DenseShape& s, const float* in, const float* go, float* gw, float* gb,
                                      float*) {
  dense_backward_weights__ref<float>(s, in, go, gw, gb);
}
}  // namespace slingshot

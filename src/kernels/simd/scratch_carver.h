// Carves one float scratch buffer into cache-line-aligned regions for the SIMD conv
// kernels. Counting and carving run the same code, so a kernel's scratch size and the
// regions it uses cannot disagree.
#pragma once

#include <cstdint>

namespace slingshot::simd_internal {

// Floats per pointer in a row table carved out of float scratch (2 natively, 1 in wasm32).
constexpr int64_t kPointerFloats = (sizeof(const float*) + sizeof(float) - 1) / sizeof(float);

// Hands out consecutive regions of scratch, each starting on a 64-byte cache line (so
// padded images and row tables never split a vector access across lines). With a null
// base it only counts, assuming the worst alignment slack, which makes the count a
// guaranteed upper bound for any scratch address.
class Carver {
 public:
  explicit Carver(float* base) : base_(base), next_(base) {}
  float* take(int64_t floats) {
    if (!base_) {
      counted_ += 15 + floats;
      return nullptr;
    }
    const uintptr_t a = reinterpret_cast<uintptr_t>(next_);
    float* p = reinterpret_cast<float*>((a + 63) & ~uintptr_t{63});
    next_ = p + floats;
    return p;
  }
  const float** take_rows(int64_t count) { return reinterpret_cast<const float**>(take(count * kPointerFloats)); }
  int64_t counted() const { return counted_; }

 private:
  float* base_;
  float* next_;
  int64_t counted_ = 0;
};

}  // namespace slingshot::simd_internal

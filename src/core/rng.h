// Seeded pseudo-random numbers that are identical on x86, wasm and Cortex-M.
// Header-only, no heap and no libm in the integer and uniform paths, so the
// portable kernels' tests and the firmware can share it.
#pragma once

#include <cstdint>

namespace slingshot {

// SplitMix64 (Steele, Lea & Flood 2014): tiny state, good equidistribution, and
// every seed (including 0) is a valid stream.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}

  uint64_t next_u64() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  uint32_t next_u32() { return static_cast<uint32_t>(next_u64() >> 32); }

  // Uniform in [0, 1) with 24 random bits: exact in float on every platform.
  float uniform() { return static_cast<float>(next_u32() >> 8) * (1.0f / 16777216.0f); }
  // Uniform in [lo, hi).
  float uniform(float lo, float hi) { return lo + (hi - lo) * uniform(); }
  // Uniform integer in [0, n); n > 0. Lemire's multiply-shift, bias < 2^-32 for our n.
  uint32_t below(uint32_t n) { return static_cast<uint32_t>((static_cast<uint64_t>(next_u32()) * n) >> 32); }

  // Standard normal by Box-Muller. Uses libm, so bitwise reproducible per platform only.
  float normal();

 private:
  uint64_t state_;
};

}  // namespace slingshot

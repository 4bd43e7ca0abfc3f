// A float's IEEE-754 bits and back, for branch-free tests that vectorize (std::bit_cast is
// missing from the libc++ that Emscripten ships).
#pragma once

#include <cstdint>
#include <cstring>

namespace slingshot {

inline uint32_t float_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

inline float float_from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

// All exponent bits set: infinity or NaN.
inline bool non_finite_bits(uint32_t u) { return (u & 0x7f800000u) == 0x7f800000u; }

}  // namespace slingshot

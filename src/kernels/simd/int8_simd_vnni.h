// Whether the Highway int8 kernels use AVX512-VNNI (conv2d_s8__simd: vpdpbusd on bytes;
// dense_s8__simd: vpdpwssd on int16 pairs). Highway 1.0.3 only offers VNNI through its
// AVX3_DL target, whose compiler flags also enable the VEX AVX-VNNI extension, which
// Zen 4 lacks: the compiler then emits VEX vpdpwssd in ordinary loops and the program
// dies with SIGILL. So the kernels stay on the AVX3 (AVX-512) target and issue the EVEX
// instructions themselves (inline assembly) when this says so.
#pragma once

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace slingshot {

namespace int8_simd_detail {
inline bool& vnni_allowed() {
  static bool allowed = true;
  return allowed;
}
}  // namespace int8_simd_detail

// Allows (the default) or forbids the VNNI path, so tests and benchmarks can run the
// plain AVX-512 path on a VNNI CPU. Not thread-safe: set it before running kernels.
inline void set_int8_simd_vnni(bool allowed) { int8_simd_detail::vnni_allowed() = allowed; }

// True if the VNNI path is allowed and the CPU has AVX512-VNNI (CPUID.7.0:ECX bit 11).
inline bool int8_simd_vnni_active() {
#if defined(__x86_64__) || defined(__i386__)
  static const bool has = [] {
    unsigned a = 0, b = 0, c = 0, d = 0;
    return __get_cpuid_count(7, 0, &a, &b, &c, &d) && ((c >> 11) & 1u) != 0;
  }();
  return has && int8_simd_detail::vnni_allowed();
#else
  return false;
#endif
}

}  // namespace slingshot

// Clocks and statistics shared by the benchmarks. This thread's CPU time: On a machine shared with other jobs
// wall time includes time we were descheduled; CPU time does not. wasm has no per-thread
// clock, so there it is the monotonic wall clock.
#pragma once

#include <algorithm>
#include <chrono>
#include <ctime>
#include <string>
#include <vector>

#include "core/thread_pool.h"

namespace slingshot::bench {

inline double thread_cpu_ms() {
#ifdef __EMSCRIPTEN__
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
#else
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
#endif
}

// CPU time of this thread, or of the whole process once the kernels use helper threads.
inline double cpu_ms() {
#ifndef __EMSCRIPTEN__
  if (num_threads() > 1) {
    timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
  }
#endif
  return thread_cpu_ms();
}

// The median of v (the mean of the middle two for an even count; 0 when empty).
inline double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// The compiler that built the benchmark, for the JSON reports.
inline std::string compiler() {
#if defined(__clang__)
  return std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
  return "g++ " + std::to_string(__GNUC__) + "." + std::to_string(__GNUC_MINOR__) + "." +
         std::to_string(__GNUC_PATCHLEVEL__);
#else
  return "unknown";
#endif
}

}  // namespace slingshot::bench

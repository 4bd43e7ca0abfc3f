// This thread's CPU time, shared by the benchmarks. On a machine shared with other jobs
// wall time includes time we were descheduled; CPU time does not. wasm has no per-thread
// clock, so there it is the monotonic wall clock.
#pragma once

#include <chrono>
#include <ctime>

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

}  // namespace slingshot::bench

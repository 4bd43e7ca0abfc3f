// Process-wide intra-op parallelism for the float kernels: a small persistent thread pool
// and a parallel_for over task indices.
//
// Default is 1 thread, so nothing runs in parallel until a front end (trainer, CLI, bench)
// calls set_num_threads(). Workers are created on first need and then kept: they spin
// briefly after a region and then sleep on a condition variable, so the thousands of
// kernel calls of a training step do not each spawn threads.
//
// Determinism: the pool decides only which thread runs which task. Kernels make results
// independent of the thread count by giving every task its own outputs, each computed
// in the same order whatever the partition (see conv2d_f32__simd.cpp).
//
// Concurrency: one parallel region runs at a time. A parallel_for called while another
// region is running (from a second caller thread, or nested inside a task) runs its tasks
// inline on the calling thread instead of waiting, so it can neither deadlock nor mix its
// tasks with the other region's. In wasm (no pthreads here) every region runs inline.
#pragma once

#include <algorithm>
#include <cstdint>
#include <type_traits>

namespace slingshot {

// Upper bound of set_num_threads(); kernels size per-worker scratch for this many workers.
#ifdef __EMSCRIPTEN__
inline constexpr int kMaxThreads = 1;
#else
inline constexpr int kMaxThreads = 8;
#endif

// Sets the number of threads parallel regions may use (the caller's thread included),
// clamped to [1, kMaxThreads]. Takes effect at the next region; safe from any thread.
void set_num_threads(int n);
// The current setting (1 unless set_num_threads was called).
int num_threads();

namespace thread_pool_internal {
// A type-erased task body: fn(ctx, task, worker).
using TaskFn = void (*)(void* ctx, int64_t task, int worker);
void run(int64_t num_tasks, TaskFn fn, void* ctx);
}  // namespace thread_pool_internal

// Calls fn(task, worker) once for every task in [0, num_tasks), on up to num_threads()
// threads, and returns when all have finished. `worker` is in [0, min(num_threads(),
// num_tasks)) and no two tasks running at the same time share it, so it indexes
// per-worker scratch. Tasks are handed out in increasing order to whichever worker is
// free; fn must not assume which worker gets which task. fn must not throw.
template <class Fn>
void parallel_for(int64_t num_tasks, Fn&& fn) {
  using F = std::remove_cv_t<std::remove_reference_t<Fn>>;
  auto call = [](void* ctx, int64_t task, int worker) { (*static_cast<F*>(ctx))(task, worker); };
  thread_pool_internal::run(num_tasks, call, const_cast<F*>(&fn));
}

// Splits [0, count) into `tasks` contiguous ranges of near-equal size (tasks clamped to
// [1, count]) and calls fn(begin, end, worker) for each through parallel_for. A single
// range runs inline on the calling thread with worker 0.
template <class Fn>
void parallel_ranges(int64_t count, int64_t tasks, Fn&& fn) {
  if (count <= 0) return;
  tasks = std::clamp<int64_t>(tasks, 1, count);
  if (tasks == 1) return static_cast<void>(fn(int64_t{0}, count, 0));
  parallel_for(tasks, [&](int64_t t, int worker) { fn(t * count / tasks, (t + 1) * count / tasks, worker); });
}

// Elements below which cheap elementwise work (a pass over an attack batch) runs inline:
// waking the workers costs more than a pass over fewer floats.
inline constexpr int64_t kMinParallelElements = int64_t{1} << 16;

// parallel_ranges over `count` items of `item_size` elements each, one range per thread
// when the items hold at least kMinParallelElements elements in all, else inline.
template <class Fn>
void parallel_item_ranges(int64_t count, int64_t item_size, Fn&& fn) {
  parallel_ranges(count, count * item_size >= kMinParallelElements ? num_threads() : 1, fn);
}

}  // namespace slingshot

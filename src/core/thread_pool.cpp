// The persistent thread pool behind parallel_for (see thread_pool.h).
//
// A region publishes its task body, then one atomic word holding (generation, workers).
// Workers spin on that word for a short while after each region, since kernel calls come
// in quick succession during training, and then sleep on a condition variable. Tasks are
// claimed from an atomic counter; the caller works as worker 0 and then waits until every
// helper it enlisted has reported back, so a region never outlives its caller's frame.
#include "core/thread_pool.h"

#include <algorithm>
#include <atomic>

#ifndef __EMSCRIPTEN__
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>
#endif

namespace slingshot {
namespace {

std::atomic<int> g_threads{1};

void run_inline(int64_t num_tasks, thread_pool_internal::TaskFn fn, void* ctx) {
  for (int64_t t = 0; t < num_tasks; ++t) fn(ctx, t, 0);
}

#ifndef __EMSCRIPTEN__

// How long idle threads poll before sleeping. Between two kernels of a training step
// there is usually less than this (batch norm, ReLU), so workers are awake when the next
// region starts; a longer spin would only burn a core other jobs could use.
constexpr auto kSpin = std::chrono::microseconds(200);

// True on a thread while it runs tasks of a region: a nested parallel_for runs inline.
thread_local bool t_in_region = false;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

class Pool {
 public:
  void run(int64_t num_tasks, thread_pool_internal::TaskFn fn, void* ctx, int threads) {
    // Nested (this thread is inside a region) or concurrent (another caller holds the
    // pool): run inline rather than wait, which could deadlock or serialize callers.
    if (t_in_region || !region_.try_lock()) return run_inline(num_tasks, fn, ctx);
    std::lock_guard<std::mutex> region(region_, std::adopt_lock);
    threads = std::min(threads, spawn(threads - 1) + 1);
    if (threads <= 1) return run_inline(num_tasks, fn, ctx);

    fn_ = fn, ctx_ = ctx, num_tasks_ = num_tasks;
    next_.store(0, std::memory_order_relaxed);
    pending_.store(threads - 1, std::memory_order_relaxed);
    generation_ += 1;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      state_.store(generation_ << 8 | static_cast<uint64_t>(threads), std::memory_order_release);
    }
    wake_.notify_all();

    t_in_region = true;
    work(0);
    t_in_region = false;

    // Wait for the helpers: they are normally finishing their last task right now.
    const auto until = std::chrono::steady_clock::now() + kSpin;
    while (pending_.load(std::memory_order_acquire) != 0 && std::chrono::steady_clock::now() < until) cpu_relax();
    if (pending_.load(std::memory_order_acquire) != 0) {
      std::unique_lock<std::mutex> lock(mutex_);
      done_.wait(lock, [&] { return pending_.load(std::memory_order_acquire) == 0; });
    }
  }

 private:
  // Makes sure `helpers` helper threads exist; returns how many do (fewer only if the
  // system refused to create a thread, in which case the region uses what it has).
  int spawn(int helpers) {
    while (static_cast<int>(threads_.size()) < helpers) {
      const int id = static_cast<int>(threads_.size()) + 1;
      std::thread t;
      try {  // std::thread reports failure only by throwing; the core itself never throws
        t = std::thread([this, id] { loop(id); });
      } catch (const std::system_error&) {
        break;
      }
      threads_.push_back(std::move(t));
    }
    return static_cast<int>(threads_.size());
  }

  // Claims tasks until none are left.
  void work(int worker) {
    for (;;) {
      const int64_t t = next_.fetch_add(1, std::memory_order_relaxed);
      if (t >= num_tasks_) return;
      fn_(ctx_, t, worker);
    }
  }

  // Helper thread `id` (1-based): joins every region that enlists at least id + 1 threads.
  // Generation and thread count share one word, so a late reader never pairs one
  // region's generation with another region's count.
  void loop(int id) {
    t_in_region = true;  // a task's nested parallel_for runs inline
    uint64_t seen = 0;
    for (;;) {
      uint64_t state = state_.load(std::memory_order_acquire);
      const auto until = std::chrono::steady_clock::now() + kSpin;
      while (state >> 8 == seen && std::chrono::steady_clock::now() < until) {
        cpu_relax();
        state = state_.load(std::memory_order_acquire);
      }
      if (state >> 8 == seen) {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return state_.load(std::memory_order_acquire) >> 8 != seen; });
        state = state_.load(std::memory_order_acquire);
      }
      seen = state >> 8;
      if (id >= static_cast<int>(state & 0xff)) continue;  // not enlisted in this region
      work(id);
      if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        std::lock_guard<std::mutex> lock(mutex_);
        done_.notify_one();
      }
    }
  }

  std::mutex region_;                   // held by the caller for the whole region
  std::mutex mutex_;                    // guards sleeping on wake_ and done_
  std::condition_variable wake_;        // a new region started
  std::condition_variable done_;        // the last helper finished
  std::vector<std::thread> threads_;    // helpers, ids 1..size(); never joined (see pool())
  uint64_t generation_ = 0;             // regions started so far (caller side)
  std::atomic<uint64_t> state_{0};      // generation << 8 | threads of the current region
  std::atomic<int64_t> next_{0};        // next unclaimed task
  std::atomic<int> pending_{0};         // helpers of this region still working
  thread_pool_internal::TaskFn fn_ = nullptr;  // the region's task body
  void* ctx_ = nullptr;                 // its context
  int64_t num_tasks_ = 0;               // its task count
};

// Deliberately leaked: helpers sleep forever between regions, and joining them from a
// static destructor at exit would race with other static destructors.
Pool& pool() {
  static Pool* p = new Pool;
  return *p;
}

#endif  // __EMSCRIPTEN__

}  // namespace

void set_num_threads(int n) { g_threads.store(std::clamp(n, 1, kMaxThreads), std::memory_order_relaxed); }

int num_threads() { return g_threads.load(std::memory_order_relaxed); }

namespace thread_pool_internal {

void run(int64_t num_tasks, TaskFn fn, void* ctx) {
  if (num_tasks <= 0) return;
#ifndef __EMSCRIPTEN__
  const int threads = static_cast<int>(std::min<int64_t>(num_threads(), num_tasks));
  if (threads > 1) return pool().run(num_tasks, fn, ctx, threads);
#endif
  run_inline(num_tasks, fn, ctx);
}

}  // namespace thread_pool_internal
}  // namespace slingshot

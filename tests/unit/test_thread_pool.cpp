// The thread pool behind the float kernels: every task runs exactly once on a valid worker
// index, nested and concurrent regions run inline instead of deadlocking, the setting is
// clamped, and a reduction split into fixed shards gives the same bits on any number of
// threads. Runs natively and in wasm (where every region is inline).
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <vector>

#ifndef __EMSCRIPTEN__
#include <chrono>
#include <functional>
#include <thread>
#endif

#include "core/rng.h"
#include "core/thread_pool.h"

using namespace slingshot;

namespace {

using Counters = std::vector<std::atomic<int>>;

// How many counters are not exactly 1 (0 when every task or index ran once).
int not_once(const Counters& c) {
  int wrong = 0;
  for (const auto& v : c) wrong += v.load() != 1;
  return wrong;
}

// Restores the process-wide setting when a test ends, whatever it set.
struct ThreadsGuard {
  ~ThreadsGuard() { set_num_threads(1); }
};

}  // namespace

TEST_CASE("thread pool: the setting defaults to 1 and is clamped") {
  ThreadsGuard guard;
  CHECK(num_threads() == 1);
  set_num_threads(0);
  CHECK(num_threads() == 1);
  set_num_threads(-5);
  CHECK(num_threads() == 1);
  set_num_threads(1000);
  CHECK(num_threads() == kMaxThreads);
  set_num_threads(2);
  CHECK(num_threads() == (kMaxThreads >= 2 ? 2 : 1));
}

TEST_CASE("thread pool: every task runs exactly once on a valid worker") {
  ThreadsGuard guard;
  for (int threads : {1, 2, 3, 8}) {
    set_num_threads(threads);
    for (int64_t tasks : {0, 1, 2, 3, 7, 64, 1000}) {
      INFO("threads " << threads << " tasks " << tasks);
      Counters runs(static_cast<size_t>(tasks));
      std::atomic<int> bad_worker{0};
      const int64_t limit = std::min<int64_t>(num_threads(), std::max<int64_t>(tasks, 1));
      parallel_for(tasks, [&](int64_t t, int worker) {
        runs[static_cast<size_t>(t)].fetch_add(1);
        if (worker < 0 || worker >= limit) bad_worker.fetch_add(1);
      });
      CHECK(not_once(runs) == 0);
      CHECK(bad_worker.load() == 0);
    }
  }
}

TEST_CASE("thread pool: no two running tasks share a worker index") {
  ThreadsGuard guard;
  set_num_threads(3);
  Counters busy(kMaxThreads);
  std::atomic<int> clashes{0};
  parallel_for(300, [&](int64_t, int worker) {
    if (busy[worker].fetch_add(1) != 0) clashes.fetch_add(1);
    volatile int spin = 0;
    for (int i = 0; i < 2000; ++i) spin = spin + i;
    busy[worker].fetch_sub(1);
  });
  CHECK(clashes.load() == 0);
}

TEST_CASE("thread pool: parallel_ranges covers [0, count) once in contiguous ranges") {
  ThreadsGuard guard;
  set_num_threads(2);
  for (int64_t count : {0, 1, 5, 17, 100}) {
    for (int64_t tasks : {-1, 1, 2, 3, 200}) {
      Counters hits(static_cast<size_t>(count));
      std::atomic<int> empty{0};
      parallel_ranges(count, tasks, [&](int64_t begin, int64_t end, int) {
        if (begin >= end) empty.fetch_add(1);
        for (int64_t i = begin; i < end; ++i) hits[static_cast<size_t>(i)].fetch_add(1);
      });
      CHECK(not_once(hits) == 0);
      CHECK(empty.load() == 0);
    }
  }
}

TEST_CASE("thread pool: a nested parallel_for runs inline and completes") {
  ThreadsGuard guard;
  set_num_threads(2);
  Counters runs(8 * 16);
  parallel_for(8, [&](int64_t outer, int) {
    parallel_for(16, [&](int64_t inner, int worker) {
      CHECK(worker == 0);  // inline: the nested region gets no helpers
      runs[static_cast<size_t>(outer * 16 + inner)].fetch_add(1);
    });
  });
  CHECK(not_once(runs) == 0);
}

#ifndef __EMSCRIPTEN__
TEST_CASE("thread pool: regions from two caller threads at once neither deadlock nor mix") {
  ThreadsGuard guard;
  set_num_threads(2);
  constexpr int kRegions = 200, kTasks = 50;
  Counters a(kRegions * kTasks), b(kRegions * kTasks);
  auto caller = [](Counters& hits) {
    for (int r = 0; r < kRegions; ++r)
      parallel_for(kTasks, [&](int64_t t, int) { hits[static_cast<size_t>(r * kTasks + t)].fetch_add(1); });
  };
  std::thread other(caller, std::ref(b));
  caller(a);
  other.join();
  CHECK(not_once(a) == 0);
  CHECK(not_once(b) == 0);
}

TEST_CASE("thread pool: two threads really run tasks at the same time") {
  ThreadsGuard guard;
  set_num_threads(2);
  // Each task waits (up to 5 s) for the other to start: only a second thread lets both
  // meet, since the caller is stuck in its own task.
  std::atomic<int> arrived{0}, met{0};
  parallel_for(2, [&](int64_t, int) {
    arrived.fetch_add(1);
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (arrived.load() < 2 && std::chrono::steady_clock::now() < until) std::this_thread::yield();
    if (arrived.load() == 2) met.fetch_add(1);
  });
  CHECK(met.load() == 2);
}
#endif

TEST_CASE("thread pool: a sharded float reduction is bit-identical on any thread count") {
  ThreadsGuard guard;
  // Fixed shards with partial sums added in shard order: the partition, not the thread
  // count, fixes the rounding, so the bits cannot depend on threads.
  Rng rng(5);
  std::vector<float> x(100003);
  for (float& v : x) v = rng.uniform(-1.0f, 1.0f);
  constexpr int64_t kShards = 16;
  auto sum = [&] {
    const int64_t n = static_cast<int64_t>(x.size());
    float partial[kShards] = {};
    parallel_for(kShards, [&](int64_t shard, int) {
      float s = 0;
      for (int64_t i = shard * n / kShards; i < (shard + 1) * n / kShards; ++i) s += x[static_cast<size_t>(i)] * 1.5f;
      partial[shard] = s;
    });
    float total = 0;
    for (float p : partial) total += p;
    return total;
  };
  set_num_threads(1);
  const float one = sum();
  for (int threads : {2, 3, 8}) {
    set_num_threads(threads);
    const float many = sum();
    CHECK(std::memcmp(&one, &many, sizeof one) == 0);
  }
}

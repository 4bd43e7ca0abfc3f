// CIFAR-10 binary batches (data_batch_*.bin, test_batch.bin) as a Dataset of
// [N, 32, 32, 3] NHWC floats in [0, 1].
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "data/dataset.h"

namespace slingshot {

// Bytes per CIFAR-10 record: one label byte, then 1024 R, 1024 G, 1024 B bytes (row-major 32x32).
constexpr int64_t kCifar10RecordBytes = 1 + 3 * 32 * 32;

// Reads the given batch files in order. `max_samples` >= 0 keeps only the first that many
// records (across files); -1 keeps all. Pixel byte k becomes k / 255. Class names are
// airplane, automobile, bird, cat, deer, dog, frog, horse, ship, truck.
Result<Dataset> load_cifar10_binary(const std::vector<std::string>& batch_files, int64_t max_samples = -1);

}  // namespace slingshot

// CIFAR-10 binary loader: validates every file's size and every label before converting
// the planar RGB records to NHWC floats.
#include "data/cifar10_binary.h"

#include <algorithm>

#include "core/file_io.h"

namespace slingshot {
namespace {

// One batch file of 10000 records is 30,730,000 bytes; leave room for larger custom files.
constexpr int64_t kMaxBatchFileBytes = int64_t{256} << 20;
constexpr int kSide = 32;
constexpr int kPlane = kSide * kSide;

}  // namespace

Result<Dataset> load_cifar10_binary(const std::vector<std::string>& batch_files, int64_t max_samples) {
  if (batch_files.empty()) return invalid_argument("CIFAR-10: no batch files given");
  if (max_samples < -1) return invalid_argument("CIFAR-10: max_samples must be -1 or >= 0, got " + std::to_string(max_samples));
  Dataset ds;
  ds.class_names = {"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"};
  std::vector<float> pixels;
  for (const std::string& path : batch_files) {
    if (max_samples >= 0 && ds.size() >= max_samples) break;
    SLING_ASSIGN_OR_RETURN(std::string bytes, read_file(path, kMaxBatchFileBytes));
    const int64_t size = static_cast<int64_t>(bytes.size());
    if (size == 0) return invalid_argument("CIFAR-10 file '" + path + "' is empty");
    if (size % kCifar10RecordBytes != 0)
      return data_loss("CIFAR-10 file '" + path + "' has a truncated record: " + std::to_string(size) +
                       " bytes is not a multiple of the " + std::to_string(kCifar10RecordBytes) + "-byte record size");
    int64_t records = size / kCifar10RecordBytes;
    if (max_samples >= 0) records = std::min(records, max_samples - ds.size());
    for (int64_t r = 0; r < records; ++r) {
      const auto* rec = reinterpret_cast<const unsigned char*>(bytes.data()) + r * kCifar10RecordBytes;
      if (rec[0] > 9)
        return data_loss("CIFAR-10 file '" + path + "': record " + std::to_string(r) + " has label " +
                         std::to_string(rec[0]) + ", expected 0..9");
      ds.labels.push_back(rec[0]);
      const size_t base = pixels.size();
      pixels.resize(base + 3 * kPlane);
      for (int p = 0; p < kPlane; ++p)
        for (int c = 0; c < 3; ++c) pixels[base + 3 * p + c] = static_cast<float>(rec[1 + c * kPlane + p]) / 255.0f;
    }
  }
  ds.inputs = Tensor({ds.size(), kSide, kSide, 3}, std::move(pixels));
  return ds;
}

}  // namespace slingshot

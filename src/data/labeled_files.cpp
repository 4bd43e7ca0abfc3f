// Labels-CSV file sets.
#include "data/labeled_files.h"

#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "core/file_io.h"
#include "data/image_folder.h"
#include "data/image_io.h"
#include "data/wav.h"

namespace slingshot {
namespace {

constexpr int64_t kMaxCsvBytes = int64_t{16} << 20;
constexpr int kMaxClasses = 100000;

bool parse_int(const std::string& s, int& out) {
  if (s.empty()) return false;
  char* end = nullptr;
  const long v = std::strtol(s.c_str(), &end, 10);
  if (end != s.c_str() + s.size() || v < INT32_MIN || v > INT32_MAX) return false;
  out = static_cast<int>(v);
  return true;
}

std::string trim(const std::string& s) {
  const size_t a = s.find_first_not_of(" \t\r");
  const size_t b = s.find_last_not_of(" \t\r");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

std::string folder_of(const std::string& csv_path) { return std::filesystem::path(csv_path).parent_path().string(); }

std::string join(const std::string& dir, const std::string& file) {
  return dir.empty() ? file : (std::filesystem::path(dir) / file).string();
}

}  // namespace

Result<std::vector<LabeledFile>> read_labels_csv(const std::string& csv_path) {
  SLING_ASSIGN_OR_RETURN(std::string text, read_file(csv_path, kMaxCsvBytes));
  std::vector<LabeledFile> out;
  std::istringstream in(text);
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (trim(line).empty()) continue;
    const std::string where = csv_path + " line " + std::to_string(line_no) + ": ";
    std::vector<std::string> fields;
    std::stringstream ls(line);
    for (std::string f; std::getline(ls, f, ',');) fields.push_back(trim(f));
    if (fields.size() != 3) return invalid_argument(where + "expected 'file,num_classes,label', got " + std::to_string(fields.size()) + " field(s)");
    LabeledFile e;
    e.file = fields[0];
    const std::filesystem::path p(e.file);
    if (e.file.empty() || p.is_absolute() || e.file.find("..") != std::string::npos)
      return invalid_argument(where + "file name '" + e.file + "' must be a plain name inside the CSV's folder");
    if (!parse_int(fields[1], e.num_classes) || e.num_classes < 1 || e.num_classes > kMaxClasses)
      return invalid_argument(where + "num_classes '" + fields[1] + "' is not an integer in [1, " + std::to_string(kMaxClasses) + "]");
    if (!parse_int(fields[2], e.label) || e.label < 0 || e.label >= e.num_classes)
      return invalid_argument(where + "label '" + fields[2] + "' is not an integer in [0, " + std::to_string(e.num_classes) + ")");
    if (!out.empty() && out.front().num_classes != e.num_classes)
      return invalid_argument(where + "num_classes " + std::to_string(e.num_classes) + " differs from line 1's " +
                              std::to_string(out.front().num_classes));
    out.push_back(std::move(e));
  }
  if (out.empty()) return invalid_argument(csv_path + " lists no files");
  return out;
}

Status write_labels_csv(const std::string& csv_path, const std::vector<LabeledFile>& entries) {
  std::string text;
  for (const LabeledFile& e : entries)
    text += e.file + "," + std::to_string(e.num_classes) + "," + std::to_string(e.label) + "\n";
  return write_file_atomic(csv_path, text);
}

namespace {

// Labels and class names of a CSV set; `append(path)` loads each file into the caller's buffer.
template <class AppendFn>
Result<Dataset> load_labeled(const std::string& csv_path, AppendFn append) {
  SLING_ASSIGN_OR_RETURN(std::vector<LabeledFile> entries, read_labels_csv(csv_path));
  const std::string dir = folder_of(csv_path);
  Dataset ds;
  for (int k = 0; k < entries.front().num_classes; ++k) ds.class_names.push_back(std::to_string(k));
  for (const LabeledFile& e : entries) {
    SLING_RETURN_IF_ERROR(append(join(dir, e.file)));
    ds.labels.push_back(e.label);
  }
  return ds;
}

}  // namespace

Result<Dataset> load_labeled_images(const std::string& csv_path, int height, int width, int channels) {
  if (channels != 1 && channels != 3) return invalid_argument("labelled images: channels must be 1 or 3");
  if (height <= 0 || width <= 0 || height > kMaxImageSide || width > kMaxImageSide)
    return invalid_argument("labelled images: height and width must be in 1.." + std::to_string(kMaxImageSide));
  std::vector<float> pixels;
  SLING_ASSIGN_OR_RETURN(Dataset ds, load_labeled(csv_path, [&](const std::string& path) {
                           return append_image_file(path, height, width, channels, pixels);
                         }));
  ds.inputs = Tensor({ds.size(), height, width, channels}, std::move(pixels));
  return ds;
}

Result<Dataset> load_labeled_wavs(const std::string& csv_path, int sample_rate, int samples_per_clip) {
  if (sample_rate <= 0) return invalid_argument("labelled WAVs: sample_rate must be positive");
  if (samples_per_clip <= 0 || samples_per_clip > kMaxSamplesPerClip)
    return invalid_argument("labelled WAVs: samples_per_clip must be in 1.." + std::to_string(kMaxSamplesPerClip));
  std::vector<float> samples;
  SLING_ASSIGN_OR_RETURN(Dataset ds, load_labeled(csv_path, [&](const std::string& path) {
                           return append_wav_clip(path, sample_rate, samples_per_clip, samples);
                         }));
  ds.inputs = Tensor({ds.size(), samples_per_clip}, std::move(samples));
  return ds;
}

}  // namespace slingshot

// Image-folder loader: walks the class folders with std::filesystem (error codes, no
// exceptions) and decodes each file with the capped stb decoder.
#include "data/image_folder.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <system_error>

#include "core/file_io.h"
#include "data/image_io.h"

namespace slingshot {
namespace {

namespace fs = std::filesystem;

// A 8192x8192 RGB PNG compresses far below this; larger files are not images we want.
constexpr int64_t kMaxImageFileBytes = int64_t{64} << 20;

bool has_extension(const std::string& name, const std::vector<std::string>& extensions) {
  const size_t dot = name.rfind('.');
  if (dot == std::string::npos) return false;
  std::string ext = name.substr(dot + 1);
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return std::find(extensions.begin(), extensions.end(), ext) != extensions.end();
}

// Sorted names of the non-hidden entries of `dir` that are directories (want_dirs) or
// regular files (!want_dirs).
Result<std::vector<std::string>> list_entries(const std::string& dir, bool want_dirs) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec), end;
  if (ec) return io_error("cannot list '" + dir + "': " + ec.message());
  std::vector<std::string> names;
  for (; it != end; it.increment(ec)) {
    if (ec) return io_error("cannot list '" + dir + "': " + ec.message());
    const std::string name = it->path().filename().string();
    if (name.empty() || name[0] == '.') continue;
    std::error_code type_ec;
    const bool match = want_dirs ? it->is_directory(type_ec) : it->is_regular_file(type_ec);
    if (match) names.push_back(name);
  }
  if (ec) return io_error("cannot list '" + dir + "': " + ec.message());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

Result<ClassFolderListing> list_class_folders(const std::string& root, const std::vector<std::string>& extensions,
                                              const std::string& kind) {
  std::error_code ec;
  if (!fs::exists(root, ec)) return not_found("dataset folder '" + root + "' does not exist");
  if (!fs::is_directory(root, ec)) return invalid_argument("dataset folder '" + root + "' is not a directory");
  ClassFolderListing listing;
  SLING_ASSIGN_OR_RETURN(listing.class_names, list_entries(root, /*want_dirs=*/true));
  if (listing.class_names.empty()) return invalid_argument("dataset folder '" + root + "' has no class subfolders");
  for (const std::string& cls : listing.class_names) {
    const std::string class_dir = root + "/" + cls;
    SLING_ASSIGN_OR_RETURN(std::vector<std::string> names, list_entries(class_dir, /*want_dirs=*/false));
    std::vector<std::string> paths;
    for (const std::string& n : names)
      if (has_extension(n, extensions)) paths.push_back(class_dir + "/" + n);
    if (paths.empty()) return invalid_argument("class folder '" + class_dir + "' has no " + kind);
    listing.files.push_back(std::move(paths));
  }
  return listing;
}

Status append_image_file(const std::string& path, int height, int width, int channels, std::vector<float>& pixels) {
  SLING_ASSIGN_OR_RETURN(std::string bytes, read_file(path, kMaxImageFileBytes));
  Result<Tensor> image = decode_image(bytes, channels);
  if (!image.ok()) return image.status().with_context("image '" + path + "'");
  const Tensor& img = image.value();
  if (img.rank() != 4 || img.dim(1) != height || img.dim(2) != width || img.dim(3) != channels)
    return invalid_argument("image '" + path + "' is " + std::to_string(img.dim(2)) + "x" + std::to_string(img.dim(1)) +
                            " (width x height), expected " + std::to_string(width) + "x" + std::to_string(height) +
                            "; images are not resized");
  pixels.insert(pixels.end(), img.data(), img.data() + img.numel());
  return Status::Ok();
}

Result<Dataset> load_image_folder(const std::string& root, int height, int width, int channels) {
  if (channels != 1 && channels != 3)
    return invalid_argument("image folder: channels must be 1 or 3, got " + std::to_string(channels));
  if (height <= 0 || width <= 0 || height > kMaxImageSide || width > kMaxImageSide)
    return invalid_argument("image folder: height and width must be in 1.." + std::to_string(kMaxImageSide) +
                            ", got " + std::to_string(height) + "x" + std::to_string(width));
  SLING_ASSIGN_OR_RETURN(ClassFolderListing listing, list_class_folders(root, {"png", "jpg", "jpeg"}, "PNG or JPEG images"));
  Dataset ds;
  ds.class_names = listing.class_names;
  std::vector<float> pixels;
  for (size_t label = 0; label < listing.files.size(); ++label) {
    for (const std::string& path : listing.files[label]) {
      SLING_RETURN_IF_ERROR(append_image_file(path, height, width, channels, pixels));
      ds.labels.push_back(static_cast<int>(label));
    }
  }
  ds.inputs = Tensor({ds.size(), height, width, channels}, std::move(pixels));
  return ds;
}

}  // namespace slingshot

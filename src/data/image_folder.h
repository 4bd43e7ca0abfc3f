// Image-folder datasets: root/<class>/<image>.png|jpg|jpeg, one subfolder per class.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "data/dataset.h"

namespace slingshot {

// A class-per-subfolder tree: root/<class>/<file>, as used by image and WAV folders.
struct ClassFolderListing {
  std::vector<std::string> class_names;          // subfolder names, sorted bytewise
  std::vector<std::vector<std::string>> files;   // per class, full paths of matching files, sorted
};

// Lists root/<class>/<file> for files whose extension (case-insensitive, without the dot)
// is one of `extensions`. Hidden entries (names starting with '.') and other files are
// ignored. Fails if root is missing or not a directory, has no class subfolders, or a
// class folder has no matching file; `kind` ("PNG or JPEG images") names them in errors.
Result<ClassFolderListing> list_class_folders(const std::string& root, const std::vector<std::string>& extensions,
                                              const std::string& kind);

// Loads every PNG/JPEG under root/<class>/ as [N, height, width, channels] floats in [0, 1].
// Class names are the subfolder names sorted bytewise; files are taken in sorted order, so
// the result is deterministic. Hidden entries (names starting with '.') and files with
// other extensions are ignored. Every image must already be height x width: nothing is
// resized. `channels` must be 1 or 3 (the file's channels are converted).
Result<Dataset> load_image_folder(const std::string& root, int height, int width, int channels);

// Decodes one PNG/JPEG file that must be height x width and appends its pixels
// (channels converted to `channels`) to `pixels`.
Status append_image_file(const std::string& path, int height, int width, int channels, std::vector<float>& pixels);

}  // namespace slingshot

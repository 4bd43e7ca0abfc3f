// Whole-file reads with a size cap, and atomic writes (temp file + rename) so an
// interrupted run never leaves a half-written model, report or checkpoint.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace slingshot {

// Reads a file; refuses files larger than `max_bytes`.
Result<std::string> read_file(const std::string& path, int64_t max_bytes);
// Writes `<path>.tmp-<pid>` then renames it over `path`.
Status write_file_atomic(const std::string& path, std::string_view bytes);

}  // namespace slingshot

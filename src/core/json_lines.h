// JSON Lines files that survive being killed: every record is one line written with a
// single write() on an O_APPEND descriptor and synced, so an interrupted writer leaves at
// most a torn last line, which readers detect and writers cut off before appending.
// Used by `slingshot attack`'s records and by sweep shards (docs/sweeps.md).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace slingshot {

struct JsonLines {
  std::vector<nlohmann::json> lines;  // the complete lines, in order
  int64_t good_bytes = 0;             // bytes up to and including the last complete line's newline
  bool torn = false;                  // a last line was cut short (no newline, or not JSON)
};

// Reads `path`. A missing file has no lines when `missing_ok`, else is an error. Only the
// last line may be torn; a malformed line before it is an error naming its number.
Result<JsonLines> read_json_lines(const std::string& path, bool missing_ok);

// Cuts a torn last line off `path` (to `lines.good_bytes`); nothing if none.
Status drop_torn_line(const std::string& path, const JsonLines& lines);

// An open JSON Lines file for appending. open() takes an exclusive advisory lock, so a
// second process writing the same file (a requeued task racing its predecessor) fails
// at once instead of interleaving lines.
class JsonLinesAppender {
 public:
  JsonLinesAppender() = default;
  JsonLinesAppender(const JsonLinesAppender&) = delete;
  JsonLinesAppender& operator=(const JsonLinesAppender&) = delete;
  ~JsonLinesAppender();

  Status open(const std::string& path);
  // Writes `j` and a newline with one write() and syncs it to disk.
  Status append(const nlohmann::json& j);

 private:
  std::string path_;
  int fd_ = -1;
};

}  // namespace slingshot

// JSON Lines reading with torn-line recovery, and durable appends (see json_lines.h).
#include "core/json_lines.h"

#include <fcntl.h>
#include <unistd.h>
#ifndef __EMSCRIPTEN__
#include <sys/file.h>
#endif

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace slingshot {

Result<JsonLines> read_json_lines(const std::string& path, bool missing_ok) {
  JsonLines out;
  std::error_code ec;
  if (missing_ok && !std::filesystem::exists(path, ec)) return out;
  std::ifstream in(path, std::ios::binary);
  if (!in) return not_found("cannot open '" + path + "': " + std::strerror(errno));
  std::string line;
  int64_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    const bool complete = !in.eof();  // a final line without its newline was cut short
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (!complete || j.is_discarded()) {
      if (complete && in.peek() != EOF)
        return data_loss("'" + path + "' line " + std::to_string(line_no) + " is not valid JSON");
      out.torn = true;
      break;
    }
    out.lines.push_back(std::move(j));
    out.good_bytes += static_cast<int64_t>(line.size()) + 1;
  }
  return out;
}

Status drop_torn_line(const std::string& path, const JsonLines& lines) {
  if (!lines.torn) return Status::Ok();
  std::error_code ec;
  std::filesystem::resize_file(path, static_cast<uintmax_t>(lines.good_bytes), ec);
  if (ec) return io_error("cannot truncate the torn last line of '" + path + "': " + ec.message());
  return Status::Ok();
}

JsonLinesAppender::~JsonLinesAppender() {
  if (fd_ >= 0) ::close(fd_);
}

Status JsonLinesAppender::open(const std::string& path) {
  if (fd_ >= 0) ::close(fd_);
  path_ = path;
  fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) return io_error("cannot open '" + path + "' for appending: " + std::strerror(errno));
#ifndef __EMSCRIPTEN__
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd_);
    fd_ = -1;
    if (err == EWOULDBLOCK) return invalid_argument("'" + path + "' is being written by another process");
    return io_error("cannot lock '" + path + "': " + std::strerror(err));
  }
#endif
  return Status::Ok();
}

Status JsonLinesAppender::append(const nlohmann::json& j) {
  if (fd_ < 0) return internal_error("JsonLinesAppender::append before open");
  const std::string text = j.dump() + "\n";
  // One write() puts the whole line at the end of the file; the loop only finishes a
  // short write (a full disk), whose partial line readers then see as torn.
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd_, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return io_error("cannot write '" + path_ + "': " + std::strerror(errno));
    done += static_cast<size_t>(n);
  }
#ifndef __EMSCRIPTEN__
  if (::fsync(fd_) != 0) return io_error("cannot sync '" + path_ + "': " + std::strerror(errno));
#endif
  return Status::Ok();
}

}  // namespace slingshot

// File reading and atomic writing on POSIX (native and emscripten's NODERAWFS).
#include "core/file_io.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

namespace slingshot {

Result<std::string> read_file(const std::string& path, int64_t max_bytes) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) return not_found("cannot open '" + path + "': " + std::strerror(errno));
  const std::streamoff size = f.tellg();
  if (size < 0) return io_error("cannot read the size of '" + path + "'");
  if (size > max_bytes)
    return invalid_argument("'" + path + "' is " + std::to_string(size) + " bytes; the limit is " +
                            std::to_string(max_bytes));
  std::string bytes(static_cast<size_t>(size), '\0');
  f.seekg(0);
  if (!f.read(bytes.data(), size)) return io_error("cannot read '" + path + "'");
  return bytes;
}

Status write_file_atomic(const std::string& path, std::string_view bytes) {
  const std::string tmp = path + ".tmp-" + std::to_string(static_cast<long>(getpid()));
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return io_error("cannot create '" + tmp + "': " + std::strerror(errno));
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      std::remove(tmp.c_str());
      return io_error("cannot write '" + tmp + "': " + why);
    }
    done += static_cast<size_t>(n);
  }
#ifndef __EMSCRIPTEN__
  // The data must be on disk before the rename makes it the file, or a power loss
  // could leave an empty model where a good one was.
  if (::fsync(fd) != 0) {
    const std::string why = std::strerror(errno);
    ::close(fd);
    std::remove(tmp.c_str());
    return io_error("cannot sync '" + tmp + "': " + why);
  }
#endif
  if (::close(fd) != 0) {
    std::remove(tmp.c_str());
    return io_error("cannot close '" + tmp + "'");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    std::remove(tmp.c_str());
    return io_error("cannot rename '" + tmp + "' to '" + path + "': " + why);
  }
  return Status::Ok();
}

}  // namespace slingshot

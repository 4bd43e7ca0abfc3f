// File reading and atomic writing on POSIX (native and emscripten's NODERAWFS).
#include "core/file_io.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include <unistd.h>

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
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) return io_error("cannot create '" + tmp + "': " + std::strerror(errno));
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    f.flush();
    if (!f) {
      std::remove(tmp.c_str());
      return io_error("cannot write '" + tmp + "' (disk full?)");
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    std::remove(tmp.c_str());
    return io_error("cannot rename '" + tmp + "' to '" + path + "': " + why);
  }
  return Status::Ok();
}

}  // namespace slingshot

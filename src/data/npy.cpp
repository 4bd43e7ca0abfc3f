// .npy reading and writing. The header is a Python dict literal; we parse exactly the
// three keys NumPy writes and reject anything else.
#include "data/npy.h"

#include <cstring>

#include "core/file_io.h"

namespace slingshot {
namespace {

// Finds `'key':` in the header dict and returns the text after it, trimmed of spaces.
Result<std::string_view> dict_value(std::string_view header, std::string_view key) {
  const std::string quoted = "'" + std::string(key) + "'";
  const size_t k = header.find(quoted);
  if (k == std::string_view::npos) return invalid_argument("npy header has no '" + std::string(key) + "' entry");
  size_t p = header.find(':', k + quoted.size());
  if (p == std::string_view::npos) return invalid_argument("npy header entry '" + std::string(key) + "' is malformed");
  ++p;
  while (p < header.size() && header[p] == ' ') ++p;
  return header.substr(p);
}

}  // namespace

Result<Tensor> parse_npy(std::string_view bytes) {
  if (bytes.size() < 10 || std::memcmp(bytes.data(), "\x93NUMPY", 6) != 0)
    return invalid_argument("not a .npy file (missing the \\x93NUMPY magic)");
  const int major = static_cast<unsigned char>(bytes[6]);
  size_t header_len = 0, offset = 0;
  if (major == 1) {
    header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
    offset = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) return invalid_argument(".npy file is truncated in its header");
    header_len = 0;
    for (int i = 0; i < 4; ++i) header_len |= static_cast<size_t>(static_cast<unsigned char>(bytes[8 + i])) << (8 * i);
    offset = 12;
  } else {
    return invalid_argument(".npy format version " + std::to_string(major) + " is not supported");
  }
  if (header_len > bytes.size() - offset) return invalid_argument(".npy header runs past the end of the file");
  const std::string_view header = bytes.substr(offset, header_len);
  SLING_ASSIGN_OR_RETURN(std::string_view descr, dict_value(header, "descr"));
  if (descr.substr(0, 6) != "'<f4'," && descr.substr(0, 5) != "'<f4'")
    return invalid_argument(".npy dtype must be little-endian float32 ('<f4'), got " +
                            std::string(descr.substr(0, descr.find(','))));
  SLING_ASSIGN_OR_RETURN(std::string_view order, dict_value(header, "fortran_order"));
  if (order.substr(0, 5) != "False") return invalid_argument(".npy arrays in Fortran order are not supported");
  SLING_ASSIGN_OR_RETURN(std::string_view shape_text, dict_value(header, "shape"));
  if (shape_text.empty() || shape_text[0] != '(') return invalid_argument(".npy shape is malformed");
  const size_t close = shape_text.find(')');
  if (close == std::string_view::npos) return invalid_argument(".npy shape is malformed");
  Shape shape;
  int64_t cur = -1;
  for (size_t i = 1; i < close; ++i) {
    const char ch = shape_text[i];
    if (ch >= '0' && ch <= '9') {
      cur = (cur < 0 ? 0 : cur) * 10 + (ch - '0');
      if (cur > (int64_t{1} << 31)) return invalid_argument(".npy dimension is too large");
    } else if (ch == ',' || ch == ' ' || ch == 'L') {
      if (ch == ',' && cur >= 0) shape.push_back(cur), cur = -1;
    } else {
      return invalid_argument(".npy shape contains '" + std::string(1, ch) + "'");
    }
  }
  if (cur >= 0) shape.push_back(cur);
  if (shape.size() > 8) return invalid_argument(".npy arrays of rank > 8 are not supported");
  int64_t numel = 1;
  for (int64_t d : shape) {
    if (d != 0 && numel > (int64_t{1} << 32) / d) return invalid_argument(".npy array is too large");
    numel *= d;
  }
  const std::string_view payload = bytes.substr(offset + header_len);
  if (payload.size() != static_cast<size_t>(numel) * 4)
    return invalid_argument(".npy data holds " + std::to_string(payload.size()) + " bytes but shape " +
                            shape_to_string(shape) + " needs " + std::to_string(numel * 4));
  Tensor t(shape);
  std::memcpy(t.data(), payload.data(), payload.size());  // little-endian hosts only (x86, wasm, ARM)
  return t;
}

Result<Tensor> load_npy(const std::string& path) {
  SLING_ASSIGN_OR_RETURN(std::string bytes, read_file(path, int64_t{1} << 32));
  auto t = parse_npy(bytes);
  if (!t.ok()) return t.status().with_context(path);
  return t;
}

std::string serialize_npy(const Tensor& t) {
  std::string shape = "(";
  for (size_t i = 0; i < t.shape().size(); ++i) shape += std::to_string(t.shape()[i]) + (t.rank() == 1 || i + 1 < t.shape().size() ? "," : "");
  shape += ")";
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
  // Pad so the data starts on a 64-byte boundary, ending the header with '\n'.
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string out = "\x93NUMPY";
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>(header.size() >> 8);
  out += header;
  out.append(reinterpret_cast<const char*>(t.data()), t.numel() * 4);
  return out;
}

Status save_npy(const Tensor& t, const std::string& path) { return write_file_atomic(path, serialize_npy(t)); }

}  // namespace slingshot

// Helpers shared by subcommands.
#include <cstdlib>

#include "cli/commands.h"
#include "model/model_file.h"

namespace slingshot::cli {

Result<Graph> load_model_arg(const std::string& path) {
  auto g = load_model(path);
  if (!g.ok()) return g.status().with_context("model '" + path + "'");
  return g;
}

Result<Shape> parse_shape_arg(const std::string& text) {
  Shape s;
  size_t pos = 0;
  while (pos <= text.size()) {
    const size_t x = text.find('x', pos);
    const std::string part = text.substr(pos, x == std::string::npos ? std::string::npos : x - pos);
    char* end = nullptr;
    const long v = std::strtol(part.c_str(), &end, 10);
    if (part.empty() || *end != '\0' || v < 1 || v > 4096)
      return invalid_argument("shape '" + text + "' must look like 32x32x3 with sides in [1, 4096]");
    s.push_back(v);
    if (x == std::string::npos) break;
    pos = x + 1;
  }
  return s;
}

}  // namespace slingshot::cli

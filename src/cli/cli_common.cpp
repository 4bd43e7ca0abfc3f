// Helpers shared by subcommands.
#include <cstdlib>

#include "cli/commands.h"
#include "data/synthetic_shapes.h"
#include "model/model_file.h"

namespace slingshot::cli {

Result<Graph> load_model_arg(const std::string& path) {
  auto g = load_model(path);
  if (!g.ok()) return g.status().with_context("model '" + path + "'");
  return g;
}

Result<QuantizedModel> load_any_model_arg(const std::string& path, nlohmann::json* extra) {
  auto m = load_quantized_model(path, extra, /*allow_float=*/true);
  if (!m.ok()) return m.status().with_context("model '" + path + "'");
  return m;
}

Result<Dataset> load_data_arg(const std::string& spec, const std::string& split, int count, const Shape& shape) {
  if (count < 1) return invalid_argument("--count must be >= 1");
  if (split != "train" && split != "test") return invalid_argument("split must be train or test, got '" + split + "'");
  if (spec == "shapes") {
    if (shape.size() != 3 || shape[0] != shape[1] || shape[2] != 3 || shape[0] < 8 || shape[0] > 256)
      return invalid_argument("dataset 'shapes' makes square RGB images (8..256 px), but the model expects " +
                              shape_to_string(shape));
    // The seeds of `slingshot train`: training stream seed 1, held-out stream seed 1 + 1000003.
    const uint64_t seed = split == "train" ? 1 : 1 + 1000003;
    return make_shapes_dataset(count, static_cast<int>(shape[0]), seed);
  }
  return invalid_argument("unknown dataset '" + spec + "' (available now: shapes)");
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

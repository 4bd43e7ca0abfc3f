// Layer helpers shared by every layer type.
#include "model/layer.h"

namespace slingshot {

Param* Layer::find_param(const std::string& name) {
  for (auto& p : params_)
    if (p.name == name) return &p;
  return nullptr;
}

const Param* Layer::find_param(const std::string& name) const {
  for (const auto& p : params_)
    if (p.name == name) return &p;
  return nullptr;
}

Status require_rank(const Shape& s, int rank, const char* what) {
  if (static_cast<int>(s.size()) != rank)
    return invalid_argument(std::string(what) + " expects a rank-" + std::to_string(rank) + " input, got " +
                            shape_to_string(s));
  for (int64_t d : s)
    if (d <= 0 || d > (int64_t{1} << 30))
      return invalid_argument(std::string(what) + " got an input with a bad dimension: " + shape_to_string(s));
  return Status::Ok();
}

}  // namespace slingshot

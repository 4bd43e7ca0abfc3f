// Checked JSON field reads.
#include "model/json_fields.h"

#include <cmath>

namespace slingshot {
namespace {

Result<const nlohmann::json*> field(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) return invalid_argument("hyper-parameters must be a JSON object");
  auto it = j.find(key);
  if (it == j.end()) return invalid_argument(std::string("missing field '") + key + "'");
  return &*it;
}

Result<int> as_int(const nlohmann::json& v, const std::string& what, int lo, int hi) {
  if (!v.is_number_integer())
    return invalid_argument(what + " must be an integer, got " + std::string(v.type_name()));
  const auto x = v.get<int64_t>();
  if (x < lo || x > hi)
    return invalid_argument(what + " = " + std::to_string(x) + " is outside [" + std::to_string(lo) + ", " +
                            std::to_string(hi) + "]");
  return static_cast<int>(x);
}

}  // namespace

Result<int> json_int(const nlohmann::json& j, const char* key, int lo, int hi) {
  SLING_ASSIGN_OR_RETURN(const nlohmann::json* v, field(j, key));
  return as_int(*v, std::string("field '") + key + "'", lo, hi);
}

Result<bool> json_bool(const nlohmann::json& j, const char* key) {
  SLING_ASSIGN_OR_RETURN(const nlohmann::json* v, field(j, key));
  if (!v->is_boolean()) return invalid_argument(std::string("field '") + key + "' must be true or false");
  return v->get<bool>();
}

Result<double> json_number(const nlohmann::json& j, const char* key, double lo, double hi) {
  SLING_ASSIGN_OR_RETURN(const nlohmann::json* v, field(j, key));
  if (!v->is_number()) return invalid_argument(std::string("field '") + key + "' must be a number");
  const double x = v->get<double>();
  if (!std::isfinite(x) || x < lo || x > hi)
    return invalid_argument(std::string("field '") + key + "' = " + std::to_string(x) + " is outside [" +
                            std::to_string(lo) + ", " + std::to_string(hi) + "]");
  return x;
}

Result<std::array<int, 2>> json_int_pair(const nlohmann::json& j, const char* key, int lo, int hi) {
  SLING_ASSIGN_OR_RETURN(const nlohmann::json* v, field(j, key));
  if (!v->is_array() || v->size() != 2)
    return invalid_argument(std::string("field '") + key + "' must be an array of two integers");
  std::array<int, 2> out{};
  for (int i = 0; i < 2; ++i) {
    SLING_ASSIGN_OR_RETURN(out[i], as_int((*v)[i], std::string("field '") + key + "[" + std::to_string(i) + "]'",
                                          lo, hi));
  }
  return out;
}

Result<Padding> json_padding(const nlohmann::json& j, const char* key) {
  SLING_ASSIGN_OR_RETURN(const nlohmann::json* v, field(j, key));
  if (v->is_string()) {
    if (*v == "same") return Padding::kSame;
    if (*v == "valid") return Padding::kValid;
  }
  return invalid_argument(std::string("field '") + key + "' must be \"same\" or \"valid\"");
}

const char* padding_name(Padding p) { return p == Padding::kSame ? "same" : "valid"; }

}  // namespace slingshot

// Strict JSON recipe parsing.
#include "train/recipe.h"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <set>

#include "core/file_io.h"

namespace slingshot {
namespace {

// Reads the keys of one JSON object, rejecting keys nobody asked for.
class Fields {
 public:
  Fields(const nlohmann::json& j, std::string where) : j_(j), where_(std::move(where)) {}
  Status check_object() const {
    if (!j_.is_object()) return invalid_argument(where_ + " must be a JSON object");
    return Status::Ok();
  }
  const nlohmann::json* get(const std::string& key) {
    seen_.insert(key);
    auto it = j_.find(key);
    return it == j_.end() ? nullptr : &*it;
  }
  std::string name(const std::string& key) const { return where_.empty() ? key : where_ + "." + key; }
  Status str(const std::string& key, std::string& out) {
    if (const auto* v = get(key)) {
      if (!v->is_string()) return invalid_argument("recipe key '" + name(key) + "' must be a string");
      out = v->get<std::string>();
    }
    return Status::Ok();
  }
  template <class I>
  Status integer(const std::string& key, I& out, int64_t lo, int64_t hi) {
    if (const auto* v = get(key)) {
      if (!v->is_number_integer()) return invalid_argument("recipe key '" + name(key) + "' must be an integer");
      const int64_t x = v->get<int64_t>();
      if (x < lo || x > hi)
        return invalid_argument("recipe key '" + name(key) + "' is " + std::to_string(x) + ", outside [" +
                                std::to_string(lo) + ", " + std::to_string(hi) + "]");
      out = static_cast<I>(x);
    }
    return Status::Ok();
  }
  Status number(const std::string& key, float& out) {
    if (const auto* v = get(key)) {
      SLING_ASSIGN_OR_RETURN(out, parse_fraction(*v, name(key)));
    }
    return Status::Ok();
  }
  Status boolean(const std::string& key, bool& out) {
    if (const auto* v = get(key)) {
      if (!v->is_boolean()) return invalid_argument("recipe key '" + name(key) + "' must be true or false");
      out = v->get<bool>();
    }
    return Status::Ok();
  }
  Status finish() const {
    for (auto it = j_.begin(); it != j_.end(); ++it)
      if (!seen_.count(it.key())) return invalid_argument("unknown recipe key '" + name(it.key()) + "'");
    return Status::Ok();
  }

 private:
  const nlohmann::json& j_;
  std::string where_;
  std::set<std::string> seen_;
};

std::string resolve(const std::string& path, const std::string& base_dir) {
  if (path.empty()) return path;
  std::filesystem::path p(path);
  if (p.is_relative() && !base_dir.empty()) p = std::filesystem::path(base_dir) / p;
  return p.lexically_normal().string();
}

}  // namespace

Result<float> parse_fraction(const nlohmann::json& v, const std::string& key) {
  double x = 0;
  if (v.is_number()) {
    x = v.get<double>();
  } else if (v.is_string()) {
    const std::string s = v.get<std::string>();
    // strtod, not stod: the core does not use exceptions (the wasm build has none).
    auto whole_number = [](const std::string& t, double& out) {
      if (t.empty()) return false;
      char* end = nullptr;
      out = std::strtod(t.c_str(), &end);
      return end == t.c_str() + t.size();
    };
    const size_t slash = s.find('/');
    double a = 0, b = 1;
    const bool ok = slash == std::string::npos
                        ? whole_number(s, a)
                        : whole_number(s.substr(0, slash), a) && whole_number(s.substr(slash + 1), b) && b != 0;
    if (!ok)
      return invalid_argument("recipe key '" + key + "' must be a number or a fraction such as \"8/255\", got \"" + s +
                              "\"");
    x = a / b;
  } else {
    return invalid_argument("recipe key '" + key + "' must be a number or a fraction such as \"8/255\"");
  }
  if (!std::isfinite(x)) return invalid_argument("recipe key '" + key + "' is not finite");
  return static_cast<float>(x);
}

Result<Recipe> parse_recipe(const nlohmann::json& j, const std::string& base_dir) {
  Recipe r;
  r.source = j;
  Fields top(j, "");
  SLING_RETURN_IF_ERROR(top.check_object());
  SLING_RETURN_IF_ERROR(top.str("name", r.name));
  SLING_RETURN_IF_ERROR(top.str("description", r.description));
  SLING_RETURN_IF_ERROR(top.str("arch", r.arch));
  SLING_RETURN_IF_ERROR(top.str("init_from", r.init_from));
  SLING_RETURN_IF_ERROR(top.str("output", r.output));
  SLING_RETURN_IF_ERROR(top.integer("threads", r.threads, 0, 64));
  TrainConfig& t = r.train;
  SLING_RETURN_IF_ERROR(top.integer("epochs", t.epochs, 1, 10000));
  SLING_RETURN_IF_ERROR(top.integer("batch_size", t.batch_size, 2, 4096));
  SLING_RETURN_IF_ERROR(top.integer("seed", t.seed, 0, INT64_MAX));
  SLING_RETURN_IF_ERROR(top.number("learning_rate", t.learning_rate));
  SLING_RETURN_IF_ERROR(top.number("warmup_epochs", t.warmup_epochs));
  SLING_RETURN_IF_ERROR(top.number("bn_momentum", t.bn_momentum));
  if (r.name.empty()) return invalid_argument("recipe needs a 'name'");
  if (r.arch.empty() == r.init_from.empty())
    return invalid_argument("recipe needs exactly one of 'arch' (train from scratch) or 'init_from' (fine-tune)");

  if (const auto* d = top.get("data")) {
    Fields f(*d, "data");
    SLING_RETURN_IF_ERROR(f.check_object());
    SLING_RETURN_IF_ERROR(f.str("name", r.data.name));
    SLING_RETURN_IF_ERROR(f.integer("train", r.data.train, 2, 10'000'000));
    SLING_RETURN_IF_ERROR(f.integer("validation", r.data.validation, 0, 10'000'000));
    SLING_RETURN_IF_ERROR(f.integer("test", r.data.test, 1, 10'000'000));
    SLING_RETURN_IF_ERROR(f.integer("seed", r.data.seed, 0, INT64_MAX));
    SLING_RETURN_IF_ERROR(f.integer("image_size", r.data.image_size, 8, 256));
    SLING_RETURN_IF_ERROR(f.finish());
    if (r.data.validation >= r.data.train)
      return invalid_argument("recipe key 'data.validation' must be smaller than 'data.train'");
  } else {
    return invalid_argument("recipe needs a 'data' object");
  }
  if (const auto* o = top.get("optimizer")) {
    Fields f(*o, "optimizer");
    SLING_RETURN_IF_ERROR(f.check_object());
    std::string kind = optimizer_kind_name(t.optimizer.kind);
    SLING_RETURN_IF_ERROR(f.str("type", kind));
    SLING_ASSIGN_OR_RETURN(t.optimizer.kind, parse_optimizer_kind(kind));
    SLING_RETURN_IF_ERROR(f.number("momentum", t.optimizer.momentum));
    SLING_RETURN_IF_ERROR(f.number("beta1", t.optimizer.beta1));
    SLING_RETURN_IF_ERROR(f.number("beta2", t.optimizer.beta2));
    SLING_RETURN_IF_ERROR(f.number("epsilon", t.optimizer.epsilon));
    SLING_RETURN_IF_ERROR(f.number("weight_decay", t.optimizer.weight_decay));
    SLING_RETURN_IF_ERROR(f.finish());
  }
  if (const auto* a = top.get("augment")) {
    Fields f(*a, "augment");
    SLING_RETURN_IF_ERROR(f.check_object());
    SLING_RETURN_IF_ERROR(f.integer("max_shift_y", t.augment.max_shift_y, 0, 64));
    SLING_RETURN_IF_ERROR(f.integer("max_shift_x", t.augment.max_shift_x, 0, 64));
    SLING_RETURN_IF_ERROR(f.boolean("horizontal_flip", t.augment.horizontal_flip));
    SLING_RETURN_IF_ERROR(f.number("brightness", t.augment.brightness));
    SLING_RETURN_IF_ERROR(f.number("contrast", t.augment.contrast));
    SLING_RETURN_IF_ERROR(f.number("noise", t.augment.noise));
    SLING_RETURN_IF_ERROR(f.boolean("clip_to_unit", t.augment.clip_to_unit));
    SLING_RETURN_IF_ERROR(f.finish());
  }
  if (const auto* q = top.get("qat")) {
    Fields f(*q, "qat");
    SLING_RETURN_IF_ERROR(f.check_object());
    std::string weights;
    SLING_RETURN_IF_ERROR(f.str("weights", weights));
    if (!weights.empty()) {
      SLING_ASSIGN_OR_RETURN(WeightScheme scheme, parse_weight_scheme(weights));
      t.qat_weights = scheme;
    }
    SLING_RETURN_IF_ERROR(f.integer("activations", t.qat_activation_bits, 1, 8));
    SLING_RETURN_IF_ERROR(f.finish());
  }
  if (const auto* a = top.get("adversarial")) {
    Fields f(*a, "adversarial");
    SLING_RETURN_IF_ERROR(f.check_object());
    std::string method = "none";
    SLING_RETURN_IF_ERROR(f.str("method", method));
    SLING_ASSIGN_OR_RETURN(t.adversarial.method, parse_adversarial_method(method));
    SLING_RETURN_IF_ERROR(f.number("eps", t.adversarial.eps));
    SLING_RETURN_IF_ERROR(f.number("eps_step", t.adversarial.eps_step));
    SLING_RETURN_IF_ERROR(f.integer("max_iter", t.adversarial.max_iter, 1, 1000));
    SLING_RETURN_IF_ERROR(f.number("beta", t.adversarial.trades_beta));
    SLING_RETURN_IF_ERROR(f.number("input_min", t.adversarial.input_min));
    SLING_RETURN_IF_ERROR(f.number("input_max", t.adversarial.input_max));
    SLING_RETURN_IF_ERROR(f.finish());
  }
  if (const auto* a = top.get("jacobian")) {
    Fields f(*a, "jacobian");
    SLING_RETURN_IF_ERROR(f.check_object());
    std::string mode = jacobian_mode_name(t.jacobian.mode);
    SLING_RETURN_IF_ERROR(f.str("mode", mode));
    SLING_ASSIGN_OR_RETURN(t.jacobian.mode, parse_jacobian_mode(mode));
    SLING_RETURN_IF_ERROR(f.number("lambda", t.jacobian.lambda));
    SLING_RETURN_IF_ERROR(f.integer("projections", t.jacobian.projections, 1, 64));
    SLING_RETURN_IF_ERROR(f.number("step", t.jacobian.step));
    SLING_RETURN_IF_ERROR(f.finish());
  }
  if (const auto* a = top.get("distillation")) {
    Fields f(*a, "distillation");
    SLING_RETURN_IF_ERROR(f.check_object());
    SLING_RETURN_IF_ERROR(f.str("teacher", r.teacher));
    SLING_RETURN_IF_ERROR(f.number("temperature", t.distillation.temperature));
    SLING_RETURN_IF_ERROR(f.finish());
    if (r.teacher.empty()) return invalid_argument("recipe key 'distillation.teacher' is required");
  }
  SLING_RETURN_IF_ERROR(top.finish());
  r.init_from = resolve(r.init_from, base_dir);
  r.teacher = resolve(r.teacher, base_dir);
  r.output = resolve(r.output, base_dir);
  SLING_RETURN_IF_ERROR(validate_train_config(t));
  return r;
}

Result<Recipe> load_recipe(const std::string& path) {
  SLING_ASSIGN_OR_RETURN(std::string text, read_file(path, 1 << 20));
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded()) return invalid_argument("recipe " + path + " is not valid JSON");
  const std::string base = std::filesystem::path(path).parent_path().string();
  auto r = parse_recipe(j, base);
  if (!r.ok()) return Status(r.status()).with_context("recipe " + path);
  return r;
}

}  // namespace slingshot

// Ensemble target and ensemble files (see ensemble.h).
#include "defenses/ensemble.h"

#include <cmath>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "core/file_io.h"
#include "core/rng.h"

namespace slingshot {
namespace {

class EnsembleTarget final : public Target {
 public:
  EnsembleTarget(std::vector<std::unique_ptr<Target>> members, EnsembleCombine combine, int eot_samples)
      : members_(std::move(members)), combine_(combine), eot_samples_(eot_samples) {}

  Shape input_shape() const override { return members_[0]->input_shape(); }
  int num_classes() const override { return members_[0]->num_classes(); }
  InputDomain domain() const override { return members_[0]->domain(); }
  std::string engine_name() const override {
    std::string s = std::string(ensemble_combine_name(combine_)) + " ensemble of";
    for (const auto& m : members_) s += " " + m->engine_name();
    return s;
  }
  GradientSource gradient_source() const override {
    if (randomized() && eot_samples_ > 1) return GradientSource::kEot;
    for (const auto& m : members_)
      if (m->gradient_source() == GradientSource::kBpda || m->gradient_source() == GradientSource::kEot)
        return GradientSource::kBpda;
    return members_[0]->gradient_source();
  }
  bool randomized() const override {
    for (const auto& m : members_)
      if (m->randomized()) return true;
    return false;
  }
  // Each member draws from its own stream, so identically defended members do not
  // share their noise.
  void reseed(uint64_t seed) override {
    Rng mix(seed);
    for (auto& m : members_) m->reseed(mix.next_u64());
  }
  GradientSource inner_gradient_source() const override { return members_[0]->inner_gradient_source(); }

  Status differentiable_logits(const Tensor& x, Tensor& logits) override {
    member_logits_.resize(members_.size());
    for (size_t m = 0; m < members_.size(); ++m)
      SLING_RETURN_IF_ERROR(members_[m]->differentiable_logits(x, member_logits_[m]));
    combine(member_logits_, logits, &member_probs_, &mean_probs_);
    return Status::Ok();
  }

  Status backward_logits(const Tensor& dlogits, Tensor& dx) override {
    const int64_t n = dlogits.dim(0), k = dlogits.dim(1);
    const float count = static_cast<float>(members_.size());
    Tensor dz({n, k}), dxm;
    for (size_t m = 0; m < members_.size(); ++m) {
      if (combine_ == EnsembleCombine::kMeanLogits) {
        for (int64_t i = 0; i < dz.numel(); ++i) dz[i] = dlogits[i] / count;
      } else {
        // c = log(P), P = mean_m p_m, p_m = softmax(z_m):
        // dc_j/dz_m,i = p_m,j (delta_ij - p_m,i) / (M P_j), so with a = g_j / (M P_j):
        // dz_m,i = p_m,i * (a_i - sum_j a_j p_m,j).
        const Tensor& p = member_probs_[m];
        for (int64_t r = 0; r < n; ++r) {
          double dot = 0;
          for (int64_t j = 0; j < k; ++j)
            dot += static_cast<double>(dlogits[r * k + j]) / (count * mean_probs_[r * k + j]) * p[r * k + j];
          for (int64_t i = 0; i < k; ++i) {
            const double a = static_cast<double>(dlogits[r * k + i]) / (count * mean_probs_[r * k + i]);
            dz[r * k + i] = static_cast<float>(p[r * k + i] * (a - dot));
          }
        }
      }
      SLING_RETURN_IF_ERROR(members_[m]->backward_logits(dz, dxm));
      if (m == 0) {
        dx = dxm;
      } else {
        for (int64_t i = 0; i < dx.numel(); ++i) dx[i] += dxm[i];
      }
    }
    return Status::Ok();
  }

 protected:
  Status predict_uncounted(const Tensor& x, Tensor& logits) override {
    std::vector<Tensor> outs(members_.size());
    for (size_t m = 0; m < members_.size(); ++m) SLING_RETURN_IF_ERROR(members_[m]->predict(x, outs[m]));
    combine(outs, logits, nullptr, nullptr);
    return Status::Ok();
  }

  Status loss_grad_uncounted(const Tensor& x, const Objective& objective, Tensor& value, Tensor& grad) override {
    // Randomized members draw once per chained pass; EOT averages whole-ensemble draws.
    const int draws = randomized() ? eot_samples_ : 1;
    Tensor logits, dlogits, v, g;
    for (int k = 0; k < draws; ++k) {
      SLING_RETURN_IF_ERROR(differentiable_logits(x, logits));
      SLING_RETURN_IF_ERROR(attack_objective(logits, objective, k ? v : value, &dlogits));
      SLING_RETURN_IF_ERROR(backward_logits(dlogits, k ? g : grad));
      if (k == 0) continue;
      for (int64_t i = 0; i < value.numel(); ++i) value[i] += v[i];
      for (int64_t i = 0; i < grad.numel(); ++i) grad[i] += g[i];
    }
    if (draws > 1) {
      for (int64_t i = 0; i < value.numel(); ++i) value[i] /= static_cast<float>(draws);
      for (int64_t i = 0; i < grad.numel(); ++i) grad[i] /= static_cast<float>(draws);
      counts_.gradients += static_cast<int64_t>(draws - 1) * x.dim(0);  // Target::loss_grad counts the first
    }
    return Status::Ok();
  }

 private:
  // Combines member logits; keeps member probabilities and their mean for backward.
  void combine(const std::vector<Tensor>& z, Tensor& out, std::vector<Tensor>* probs, Tensor* mean) const {
    const int64_t n = z[0].dim(0), k = z[0].dim(1);
    const float count = static_cast<float>(z.size());
    out = Tensor({n, k}, 0.0f);
    if (combine_ == EnsembleCombine::kMeanLogits) {
      for (const Tensor& zm : z)
        for (int64_t i = 0; i < out.numel(); ++i) out[i] += zm[i] / count;
      return;
    }
    std::vector<Tensor> local;
    std::vector<Tensor>& p = probs ? *probs : local;
    p.assign(z.size(), Tensor({n, k}));
    Tensor avg({n, k}, 0.0f);
    for (size_t m = 0; m < z.size(); ++m) {
      for (int64_t r = 0; r < n; ++r) {
        const float* zr = z[m].data() + r * k;
        float top = zr[0];
        for (int64_t j = 1; j < k; ++j) top = std::max(top, zr[j]);
        double sum = 0;
        for (int64_t j = 0; j < k; ++j) sum += std::exp(static_cast<double>(zr[j] - top));
        for (int64_t j = 0; j < k; ++j) {
          p[m][r * k + j] = static_cast<float>(std::exp(static_cast<double>(zr[j] - top)) / sum);
          avg[r * k + j] += p[m][r * k + j] / count;
        }
      }
    }
    // log of the mean probability; a floor keeps it finite when every member is certain.
    for (int64_t i = 0; i < out.numel(); ++i) out[i] = std::log(std::max(avg[i], 1e-30f));
    if (mean) *mean = avg;
  }

  std::vector<std::unique_ptr<Target>> members_;
  EnsembleCombine combine_;
  int eot_samples_;  // draws per loss_grad when a member is randomized
  std::vector<Tensor> member_logits_, member_probs_;
  Tensor mean_probs_;
};

}  // namespace

const char* ensemble_combine_name(EnsembleCombine c) {
  return c == EnsembleCombine::kMeanProbability ? "mean_probability" : "mean_logits";
}

Result<std::unique_ptr<Target>> make_ensemble_target(std::vector<std::unique_ptr<Target>> members,
                                                     EnsembleCombine combine, int eot_samples) {
  if (eot_samples < 1) return invalid_argument("eot_samples must be >= 1, got " + std::to_string(eot_samples));
  if (members.size() < 2) return invalid_argument("an ensemble needs at least 2 members, got " + std::to_string(members.size()));
  for (size_t m = 1; m < members.size(); ++m) {
    if (members[m]->input_shape() != members[0]->input_shape())
      return invalid_argument("ensemble member " + std::to_string(m) + " takes " +
                              shape_to_string(members[m]->input_shape()) + " but member 0 takes " +
                              shape_to_string(members[0]->input_shape()));
    if (members[m]->num_classes() != members[0]->num_classes())
      return invalid_argument("ensemble member " + std::to_string(m) + " scores " +
                              std::to_string(members[m]->num_classes()) + " classes but member 0 scores " +
                              std::to_string(members[0]->num_classes()));
    const InputDomain a = members[m]->domain(), b = members[0]->domain();
    if (a.lo != b.lo || a.hi != b.hi || a.levels != b.levels)
      return invalid_argument("ensemble member " + std::to_string(m) + " reads a different input domain");
  }
  return std::unique_ptr<Target>(new EnsembleTarget(std::move(members), combine, eot_samples));
}

namespace {

// A member entry: a path, or (version 2) {"model", "defenses", "engine"}.
Result<EnsembleMember> parse_member(const nlohmann::json& j, int version, const std::string& where) {
  EnsembleMember m;
  if (j.is_string()) {
    m.model = j.get<std::string>();
  } else if (j.is_object() && version >= 2) {
    for (const auto& [key, value] : j.items()) {
      (void)value;
      if (key != "model" && key != "defenses" && key != "engine")
        return invalid_argument(where + ": unknown key '" + key + "' (members take model, defenses, engine)");
    }
    if (!j.contains("model") || !j["model"].is_string()) return invalid_argument(where + ": 'model' must be a model file path");
    m.model = j["model"].get<std::string>();
    if (j.contains("defenses")) {
      if (!j["defenses"].is_array()) return invalid_argument(where + ": 'defenses' must be an array of defense specs");
      for (const auto& d : j["defenses"]) {
        if (!d.is_string() || d.get<std::string>().empty())
          return invalid_argument(where + ": every defense must be a spec string such as \"bit_depth:bits=5\"");
        m.defenses.push_back(d.get<std::string>());
      }
    }
    if (j.contains("engine")) {
      if (!j["engine"].is_string() || j["engine"].get<std::string>().empty())
        return invalid_argument(where + ": 'engine' must be an engine name such as \"int8-ref\"");
      m.engine = j["engine"].get<std::string>();
    }
  } else {
    return invalid_argument(where + (version >= 2 ? " must be a model file path or an object with 'model'"
                                                  : " must be a model file path (objects with defenses need version 2)"));
  }
  if (m.model.empty()) return invalid_argument(where + ": the model file path is empty");
  return m;
}

}  // namespace

bool is_ensemble_path(const std::string& path) { return std::filesystem::path(path).extension() == ".json"; }

Result<EnsembleSpec> load_ensemble_spec(const std::string& path) {
  SLING_ASSIGN_OR_RETURN(std::string text, read_file(path, 1 << 20));
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  const std::string where = "ensemble file '" + path + "'";
  if (j.is_discarded() || !j.is_object()) return invalid_argument(where + " is not a JSON object");
  for (const auto& [key, value] : j.items()) {
    (void)value;
    if (key != "format" && key != "version" && key != "description" && key != "combine" && key != "members")
      return invalid_argument(where + ": unknown key '" + key + "'");
  }
  if (j.value("format", "") != "slingshot-ensemble")
    return invalid_argument(where + ": 'format' must be \"slingshot-ensemble\"");
  if (!j.contains("version") || !j["version"].is_number_integer() || j["version"].get<int>() < 1 ||
      j["version"].get<int>() > 2)
    return invalid_argument(where + ": 'version' must be 1 or 2 (2: members may carry defenses and an engine)");
  const int version = j["version"].get<int>();
  EnsembleSpec s;
  if (j.contains("description")) {
    if (!j["description"].is_string()) return invalid_argument(where + ": 'description' must be a string");
    s.description = j["description"].get<std::string>();
  }
  if (j.contains("combine")) {
    const std::string c = j["combine"].is_string() ? j["combine"].get<std::string>() : "";
    if (c == "mean_probability") {
      s.combine = EnsembleCombine::kMeanProbability;
    } else if (c == "mean_logits") {
      s.combine = EnsembleCombine::kMeanLogits;
    } else {
      return invalid_argument(where + ": 'combine' must be \"mean_probability\" or \"mean_logits\"");
    }
  }
  if (!j.contains("members") || !j["members"].is_array() || j["members"].size() < 2)
    return invalid_argument(where + ": 'members' must list at least 2 model files");
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  for (size_t i = 0; i < j["members"].size(); ++i) {
    SLING_ASSIGN_OR_RETURN(EnsembleMember m, parse_member(j["members"][i], version, where + ": member " + std::to_string(i)));
    m.model = (dir / m.model).lexically_normal().string();
    s.members.push_back(std::move(m));
  }
  return s;
}

}  // namespace slingshot

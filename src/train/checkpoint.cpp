// Checkpoint files on top of the model container.
#include "train/checkpoint.h"

#include "model/layer_registry.h"
#include "model/model_file.h"

namespace slingshot {

nlohmann::json epoch_reports_to_json(const std::vector<EpochReport>& reports) {
  nlohmann::json a = nlohmann::json::array();
  for (const EpochReport& r : reports)
    a.push_back({{"epoch", r.epoch}, {"train_loss", r.train_loss}, {"train_accuracy", r.train_accuracy},
                 {"val_accuracy", r.val_accuracy}, {"seconds", r.seconds}});
  return a;
}

Status save_checkpoint(const std::string& path, const Graph& graph, const Optimizer& optimizer,
                       const TrainProgress& progress, const nlohmann::json& fingerprint) {
  ModelContents c;
  SLING_ASSIGN_OR_RETURN(c.graph, clone_graph(graph));
  for (auto& [name, t] : optimizer.state(graph)) {
    AuxTensor a;
    a.dtype = TensorDType::kF32;
    a.shape = t.shape();
    a.f32.assign(t.data(), t.data() + t.numel());
    c.aux_tensors.emplace(name, std::move(a));
  }
  c.extra = {{"checkpoint",
              {{"epochs_done", progress.epochs_done},
               {"optimizer_steps", optimizer.steps_taken()},
               {"history", epoch_reports_to_json(progress.history)},
               {"fingerprint", fingerprint}}}};
  return save_model_contents(c, path);
}

Result<Checkpoint> load_checkpoint(const std::string& path) {
  SLING_ASSIGN_OR_RETURN(ModelContents c, load_model_contents(path));
  const nlohmann::json* ck = nullptr;
  if (c.extra.is_object()) {
    auto it = c.extra.find("checkpoint");
    if (it != c.extra.end() && it->is_object()) ck = &*it;
  }
  if (!ck) return invalid_argument(path + " is not a training checkpoint (no 'checkpoint' metadata)");
  auto bad = [&](const std::string& what) { return invalid_argument("checkpoint " + path + ": " + what); };
  Checkpoint out;
  const auto epochs = ck->find("epochs_done");
  const auto steps = ck->find("optimizer_steps");
  const auto history = ck->find("history");
  if (epochs == ck->end() || !epochs->is_number_integer() || epochs->get<int64_t>() < 0)
    return bad("'epochs_done' is missing or not a non-negative integer");
  if (steps == ck->end() || !steps->is_number_integer() || steps->get<int64_t>() < 0)
    return bad("'optimizer_steps' is missing or not a non-negative integer");
  if (history == ck->end() || !history->is_array() || history->size() != epochs->get<size_t>())
    return bad("'history' must list one report per finished epoch");
  out.progress.epochs_done = epochs->get<int>();
  out.optimizer_steps = steps->get<int64_t>();
  for (const auto& h : *history) {
    if (!h.is_object()) return bad("a history entry is not an object");
    EpochReport r;
    auto num = [&](const char* key, double& v) {
      auto it = h.find(key);
      if (it == h.end() || !it->is_number()) return false;
      v = it->get<double>();
      return true;
    };
    double epoch = 0;
    if (!num("epoch", epoch) || !num("train_loss", r.train_loss) || !num("train_accuracy", r.train_accuracy) ||
        !num("val_accuracy", r.val_accuracy) || !num("seconds", r.seconds))
      return bad("a history entry lacks a numeric field");
    r.epoch = static_cast<int>(epoch);
    out.progress.history.push_back(r);
  }
  if (auto fp = ck->find("fingerprint"); fp != ck->end()) out.fingerprint = *fp;
  for (auto& [name, a] : c.aux_tensors) {
    if (a.dtype != TensorDType::kF32) return bad("optimizer tensor '" + name + "' is not F32");
    Tensor t(a.shape, 0.0f);
    std::copy(a.f32.begin(), a.f32.end(), t.data());
    out.optimizer_state.emplace(name, std::move(t));
  }
  out.graph = std::move(c.graph);
  return out;
}

}  // namespace slingshot

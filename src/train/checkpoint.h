// End-of-epoch training checkpoints: the float master graph, the optimizer's state and
// the run's progress, in one model file (format version 2: the optimizer buffers are
// auxiliary F32 tensors "<node>.<slot>_<param>", the progress sits in the metadata).
// Written atomically, so an interrupted run keeps its last finished epoch, and `train
// --resume` continues exactly where it stopped.
#pragma once

#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "model/graph.h"
#include "train/optimizer.h"
#include "train/trainer.h"

namespace slingshot {

struct Checkpoint {
  Graph graph{Shape{1}};                          // master weights after `progress.epochs_done` epochs
  std::map<std::string, Tensor> optimizer_state;  // Optimizer::state() buffers
  int64_t optimizer_steps = 0;                    // updates taken so far
  TrainProgress progress;                         // epochs done and their reports
  nlohmann::json fingerprint;                     // the settings the run was started with
};

Status save_checkpoint(const std::string& path, const Graph& graph, const Optimizer& optimizer,
                       const TrainProgress& progress, const nlohmann::json& fingerprint);
Result<Checkpoint> load_checkpoint(const std::string& path);

// Reports as JSON and back (model metadata and checkpoints share this form).
nlohmann::json epoch_reports_to_json(const std::vector<EpochReport>& reports);

}  // namespace slingshot

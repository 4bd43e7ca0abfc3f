// The reproducible QNN robustness study (`slingshot study [--quick] -o DIR`): the seed
// papers' claims about quantized networks, each measured on the shipped models and judged
// against our numbers. One file per finding (finding_<name>.cpp); this runner gives them
// the models and the evaluation set, caches each finished finding in DIR/findings/ (so an
// interrupted study resumes where it stopped) and writes DIR/report.md, DIR/report.json
// and the findings' PNG plots.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "attacks/attack.h"
#include "attacks/evaluate.h"
#include "attacks/target.h"
#include "core/status.h"
#include "data/dataset.h"
#include "metrics/boundary_distance.h"
#include "quant/quantized_model.h"

namespace slingshot {

struct StudyOptions {
  std::string models_dir = "models";  // the shipped zoo (models/housenum, models/keywords)
  std::string out_dir;                // report, plots and the per-finding cache
  bool quick = false;                 // CI smoke run: few samples and iterations (structure, not values)
  std::vector<std::string> only;      // finding ids to run (empty: all)
};

// Progress inside a finding, for a progress bar: the attack run under way and how far
// through its samples it is.
struct StudyStep {
  std::string attack;  // the attack's name, e.g. "apgd-ce"
  int run = 0;         // attack runs the finding has started, from 1
  int64_t done = 0;    // samples of this run finished
  int64_t total = 0;   // samples of this run
};
using StudyStepListener = std::function<void(const StudyStep&)>;

// What a finding measures with: the shipped models and the evaluation images, and the
// budgets of this run (quick or full).
class StudyContext {
 public:
  StudyContext(StudyOptions options, Dataset images) : options_(std::move(options)), images_(std::move(images)) {}

  const StudyOptions& options() const { return options_; }
  // Hears every attack batch of attack_records; the run count restarts with each finding.
  void set_step_listener(StudyStepListener listener) { step_listener_ = std::move(listener); }
  void begin_finding() { attack_runs_ = 0; }
  bool quick() const { return options_.quick; }
  // The first n evaluation images (n clipped to the set) and their labels.
  Tensor images(int64_t n) const;
  std::vector<int> labels(int64_t n) const;
  // Samples and iterations for this run: quick runs use the first, full runs the second.
  int64_t pick(int64_t quick, int64_t full) const { return options_.quick ? quick : full; }

  // A shipped model by file stem (e.g. "resnet8_int8"), loaded once.
  Result<const QuantizedModel*> model(const std::string& stem);
  // A target on a shipped model: `engine` judges, `source` gives gradients.
  Result<std::unique_ptr<Target>> target(const std::string& stem, EngineKind engine, GradientSource source);
  // The bitwidth ladder of ResNet-8: the int8 model's float master (float engine and
  // gradients), then int8, int4, ternary and binary on int8-ref with STE gradients.
  struct NamedTarget {
    std::string name;
    std::unique_ptr<Target> target;
  };
  Result<std::vector<NamedTarget>> bitwidth_targets();
  // Minimal L2 distances to the boundary: DeepFool (50 iterations, continuous iterates)
  // bisected on the target's deployed engine, the study's one way of measuring them.
  Result<BoundaryDistances> boundary_distances(Target& target, const Tensor& x, const std::vector<int>& y);
  // The records of `attack_name` with `p` over x/y in batches of p.batch_size.
  Result<std::vector<ExampleRecord>> attack_records(const std::string& attack_name, Target& target, const Tensor& x,
                                                    const std::vector<int>& y, const AttackParams& p,
                                                    Tensor* adversarial = nullptr);

 private:
  StudyOptions options_;
  Dataset images_;
  std::map<std::string, std::unique_ptr<QuantizedModel>> models_;
  StudyStepListener step_listener_;
  int attack_runs_ = 0;
};

// One measured finding.
struct Finding {
  std::string id;        // stable, a file name: "input_quantization"
  std::string title;
  std::string claim;     // the seed's claim, with its source
  std::string verdict;   // "agrees", "disagrees" or "mixed"
  std::string summary;   // markdown: what we measured, with the numbers
  nlohmann::json data;   // every number behind the summary
  std::vector<std::pair<std::string, std::string>> plots;  // file name (.png), PNG bytes
};

struct FindingSpec {
  std::string id;
  std::string title;
  std::function<Result<Finding>(StudyContext&)> run;
};

// Every finding of the study, in report order.
std::vector<FindingSpec> study_findings();

// Runs the study; `progress` hears each finding's id as it starts ("cached" when it is
// read back from a previous run), `step` every attack batch inside a finding.
Status run_study(const StudyOptions& options, const std::function<void(const std::string& id, bool cached)>& progress,
                 const StudyStepListener& step = nullptr);

// The findings (one file each).
Result<Finding> finding_input_quantization(StudyContext& ctx);
Result<Finding> finding_gradient_masking(StudyContext& ctx);
Result<Finding> finding_transfer(StudyContext& ctx);
Result<Finding> finding_preprocessing(StudyContext& ctx);
Result<Finding> finding_train_defenses(StudyContext& ctx);
Result<Finding> finding_patch(StudyContext& ctx);
Result<Finding> finding_jr_ternary(StudyContext& ctx);

}  // namespace slingshot

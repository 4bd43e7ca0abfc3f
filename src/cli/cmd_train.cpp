// `slingshot train [RECIPE]`: trains a model from a recipe file (models/recipes/*.json)
// or from flags. Every finished epoch is checkpointed atomically next to the output
// (OUT.ckpt: weights, optimizer state, history); `--resume` continues from it exactly.
#include <chrono>
#include <cstdio>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/progress.h"
#include "cli/train_run.h"
#include "model/builders.h"
#include "core/thread_pool.h"
#include "model/model_file.h"
#include "quant/activation_qat.h"
#include "train/checkpoint.h"
#include "train/trainer.h"

namespace slingshot::cli {
namespace {

// The flags of `train` (and `demo`) as a recipe, so both paths run the same code.
Result<Recipe> recipe_from_flags(const TrainRunOptions& o) {
  nlohmann::json j = {{"name", o.dataset + "_" + (o.model.empty() ? o.arch : std::string("finetune"))},
                      {"data",
                       {{"name", o.dataset}, {"train", o.train_size}, {"test", o.test_size},
                        {"seed", o.seed}, {"image_size", o.image_size}}},
                      {"epochs", o.epochs},
                      {"batch_size", o.batch_size},
                      {"learning_rate", o.learning_rate},
                      {"seed", o.seed}};
  if (o.model.empty()) {
    j["arch"] = o.arch;
  } else {
    j["init_from"] = o.model;
  }
  if (!o.qat.empty() || o.qat_activation_bits != 0) {
    j["qat"] = nlohmann::json::object();
    if (!o.qat.empty()) j["qat"]["weights"] = o.qat;
    if (o.qat_activation_bits != 0) j["qat"]["activations"] = o.qat_activation_bits;
  }
  return parse_recipe(j, "");
}

std::string format_duration(double seconds) {
  const long s = static_cast<long>(seconds + 0.5);
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", s / 3600, (s / 60) % 60);
  } else if (s >= 60) {
    std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%lds", s);
  }
  return buf;
}

}  // namespace

Status run_training(const TrainRunOptions& o) {
  Recipe recipe;
  if (!o.recipe.empty()) {
    SLING_ASSIGN_OR_RETURN(recipe, load_recipe(o.recipe));
  } else {
    SLING_ASSIGN_OR_RETURN(recipe, recipe_from_flags(o));
  }
  const std::string output = o.output.empty() ? recipe.output : o.output;
  if (o.resume && output.empty()) return invalid_argument("--resume needs an output file (-o or the recipe's 'output')");
  if (const auto dir = std::filesystem::path(output).parent_path(); !dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return io_error("cannot create the output folder '" + dir.string() + "': " + ec.message());
  }
  const std::string checkpoint_path = output.empty() ? "" : output + ".ckpt";
  // Results do not depend on the thread count (the kernels split work deterministically).
  use_threads(o.threads > 0 ? o.threads : recipe.threads);

  SLING_ASSIGN_OR_RETURN(TrainingData data, make_training_data(recipe.data));
  const int classes = static_cast<int>(data.train.class_names.size());
  Graph g({1});
  if (!recipe.init_from.empty()) {
    SLING_ASSIGN_OR_RETURN(g, load_model_arg(recipe.init_from));
  } else {
    SLING_ASSIGN_OR_RETURN(g, build_architecture(recipe.arch, classes, data.train.sample_shape()));
    init_params(g, recipe.train.seed);
  }
  // Activation QAT trains through activation_quant nodes; a model that has them already
  // (a QAT model fine-tuned further) keeps its own.
  if (recipe.train.qat_activation_bits != 0) {
    SLING_ASSIGN_OR_RETURN(const int existing, activation_quant_bits(g));
    if (existing == 0) {
      SLING_ASSIGN_OR_RETURN(g, insert_activation_quant(g, recipe.train.qat_activation_bits));
    }
  }
  Graph teacher({1});
  TrainConfig cfg = recipe.train;
  if (!recipe.teacher.empty()) {
    SLING_ASSIGN_OR_RETURN(teacher, load_model_arg(recipe.teacher));
    cfg.distillation.teacher = &teacher;
  }
  Optimizer optimizer(g, cfg.optimizer);
  TrainProgress progress;
  if (o.resume) {
    if (!std::filesystem::exists(checkpoint_path))
      return invalid_argument("--resume: no checkpoint at " + checkpoint_path);
    SLING_ASSIGN_OR_RETURN(Checkpoint ck, load_checkpoint(checkpoint_path));
    if (ck.fingerprint != recipe.source)
      return invalid_argument("--resume: " + checkpoint_path +
                              " was written by a different recipe or different flags; delete it to start over");
    if (ck.graph.input_shape() != g.input_shape() || ck.graph.num_nodes() != g.num_nodes())
      return invalid_argument("--resume: the checkpointed model does not match the recipe's architecture");
    g = std::move(ck.graph);
    optimizer = Optimizer(g, cfg.optimizer);
    SLING_RETURN_IF_ERROR(optimizer.load_state(g, ck.optimizer_state, ck.optimizer_steps));
    progress = ck.progress;
    std::printf("resuming %s after epoch %d of %d\n", checkpoint_path.c_str(), progress.epochs_done, cfg.epochs);
  } else if (!checkpoint_path.empty() && std::filesystem::exists(checkpoint_path)) {
    std::printf("note: %s exists and is replaced (pass --resume to continue it instead)\n", checkpoint_path.c_str());
  }
  std::printf("training %s '%s' on %s; %d epochs, batch %d, %s lr %g%s%s%s%s, seed %llu, %d thread(s)\n",
              recipe.init_from.empty() ? recipe.arch.c_str() : "model", recipe.name.c_str(), data.about.c_str(),
              cfg.epochs, cfg.batch_size, optimizer_kind_name(cfg.optimizer.kind), cfg.learning_rate,
              cfg.qat_weights ? (std::string(", QAT ") + weight_scheme_name(*cfg.qat_weights)).c_str() : "",
              cfg.qat_activation_bits ? (", " + std::to_string(cfg.qat_activation_bits) + "-bit activation QAT").c_str() : "",
              cfg.adversarial.enabled() ? (std::string(", adversarial ") + adversarial_method_name(cfg.adversarial.method)).c_str() : "",
              cfg.jacobian.enabled() ? (std::string(", Jacobian ") + jacobian_mode_name(cfg.jacobian.mode)).c_str() : "",
              static_cast<unsigned long long>(cfg.seed), num_threads());
  std::fflush(stdout);

  ProgressBar bar("train");
  const auto start = std::chrono::steady_clock::now();
  const int first_epoch = progress.epochs_done;
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  auto on_step = [&](int epoch, int step, int steps, double loss, double accuracy) {
    const double done = static_cast<double>(epoch - 1 - first_epoch) * steps + step;
    const double total = static_cast<double>(cfg.epochs - first_epoch) * steps;
    const double eta = elapsed() / done * (total - done);
    char detail[128];
    std::snprintf(detail, sizeof detail, "epoch %d/%d loss %.4f acc %.3f ETA %s", epoch, cfg.epochs, loss, accuracy,
                  format_duration(eta).c_str());
    bar.update((static_cast<double>(epoch - 1) * steps + step) / (static_cast<double>(cfg.epochs) * steps), detail);
    return true;
  };
  auto on_epoch = [&](const std::vector<EpochReport>& reports, const Optimizer& opt) -> Status {
    bar.finish();
    const EpochReport& r = reports.back();
    const double eta = elapsed() / (r.epoch - first_epoch) * (cfg.epochs - r.epoch);
    std::printf("epoch %2d/%d  loss %.4f  train acc %.3f  val acc %s  %s  ETA %s\n", r.epoch, cfg.epochs,
                r.train_loss, r.train_accuracy,
                r.val_accuracy < 0 ? "-" : std::to_string(r.val_accuracy).substr(0, 5).c_str(),
                format_duration(r.seconds).c_str(), format_duration(eta).c_str());
    std::fflush(stdout);
    if (checkpoint_path.empty()) return Status::Ok();
    return save_checkpoint(checkpoint_path, g, opt, TrainProgress{r.epoch, reports}, recipe.source);
  };
  const Dataset* val = data.validation.size() > 0 ? &data.validation : nullptr;
  SLING_ASSIGN_OR_RETURN(auto reports, train(g, optimizer, data.train, val, cfg, progress, on_step, on_epoch));
  bar.finish();
  // A QAT model keeps its quantized weights: `slingshot quantize --scheme` recovers their codes.
  if (cfg.qat_weights) quantize_weights_in_place(g, *cfg.qat_weights);
  SLING_ASSIGN_OR_RETURN(double test_acc, evaluate_accuracy(g, data.test));
  double train_seconds = 0;
  for (const EpochReport& r : reports) train_seconds += r.seconds;
  std::printf("float test accuracy %.4f on %lld held-out samples (training time %s)\n", test_acc,
              static_cast<long long>(data.test.size()), format_duration(train_seconds).c_str());
  if (!output.empty()) {
    nlohmann::json meta = {{"dataset", recipe.data.name},
                           {"classes", data.train.class_names},
                           {"test_accuracy", test_acc},
                           {"test_samples", data.test.size()},
                           {"train_seconds", train_seconds},
                           {"recipe", recipe.source},
                           {"history", epoch_reports_to_json(reports)}};
    if (cfg.qat_weights) meta["qat_weights"] = weight_scheme_name(*cfg.qat_weights);
    if (cfg.qat_activation_bits) meta["qat_activation_bits"] = cfg.qat_activation_bits;
    SLING_RETURN_IF_ERROR(save_model(g, output, meta));
    std::printf("model written to %s\n", output.c_str());
    // The finished model supersedes the checkpoint.
    std::error_code ec;
    if (!checkpoint_path.empty()) std::filesystem::remove(checkpoint_path, ec);
  }
  if (o.json) {
    nlohmann::json j = {{"dataset", recipe.data.name}, {"test_accuracy", test_acc},
                        {"train_seconds", train_seconds}, {"history", epoch_reports_to_json(reports)}};
    std::printf("%s\n", j.dump().c_str());
  }
  return Status::Ok();
}

void register_train(CLI::App& app, CommandList& out) {
  auto o = std::make_shared<TrainRunOptions>();
  CLI::App* sub = app.add_subcommand(
      "train", "Train a model from a recipe (models/recipes/*.json) or from the flags below");
  sub->add_option("recipe", o->recipe, "Recipe file; the flags other than -o, --resume and --json then do not apply");
  sub->add_option("--arch", o->arch, "resnet8, dscnn, mobilenet_v1 or tiny_cnn")->capture_default_str();
  sub->add_option("--model", o->model, "Continue training this model file instead");
  sub->add_option("--dataset", o->dataset, "Generated dataset: shapes or housenum")->capture_default_str();
  sub->add_option("--train-size", o->train_size, "Training samples")->capture_default_str();
  sub->add_option("--test-size", o->test_size, "Held-out samples")->capture_default_str();
  sub->add_option("--image-size", o->image_size, "Image side for 'shapes'")->capture_default_str();
  sub->add_option("--epochs", o->epochs, "Epochs")->capture_default_str()->check(CLI::Range(1, 10000));
  sub->add_option("--batch-size", o->batch_size, "Batch size")->capture_default_str()->check(CLI::Range(2, 4096));
  sub->add_option("--lr", o->learning_rate, "Peak learning rate")->capture_default_str();
  sub->add_option("--seed", o->seed, "Seed for data, initialization and shuffling")->capture_default_str();
  sub->add_option("--qat", o->qat,
                  "Quantization-aware training of the weights (int8, int4, ternary = stochastic STQ, binary); "
                  "then quantize with the same --scheme");
  sub->add_option("--qat-act-bits", o->qat_activation_bits,
                  "Quantization-aware training of the hidden activations at this many bits (moving-average ranges); "
                  "then quantize with the same --act-bits")
      ->check(CLI::Range(1, 8));
  sub->add_option("-o,--output", o->output, "Model file to write (overrides the recipe's 'output')");
  sub->add_option("--threads", o->threads, "Kernel threads (default: the recipe's, else every core); results do not depend on it")
      ->check(CLI::Range(1, 64));
  sub->add_flag("--resume", o->resume, "Continue from the checkpoint OUTPUT.ckpt of an interrupted run");
  sub->add_flag("--json", o->json, "Print a JSON report at the end");
  out.push_back({sub, [o] { return run_training(*o); }});
}

}  // namespace slingshot::cli

// `slingshot train`: trains a model on a generated dataset, saving it after every epoch
// (atomically), so an interrupted run keeps its last finished epoch.
#include <cstdio>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/progress.h"
#include "cli/train_run.h"
#include "data/synthetic_shapes.h"
#include "model/builders.h"
#include "model/model_file.h"
#include "train/trainer.h"

namespace slingshot::cli {

Status run_training(const TrainRunOptions& o) {
  if (o.dataset != "shapes")
    return invalid_argument("unknown dataset '" + o.dataset + "' (available now: shapes)");
  if (o.train_size < 2 || o.test_size < 1) return invalid_argument("train size must be >= 2 and test size >= 1");
  SLING_ASSIGN_OR_RETURN(Dataset train_set, make_shapes_dataset(o.train_size, o.image_size, o.seed));
  SLING_ASSIGN_OR_RETURN(Dataset test_set, make_shapes_dataset(o.test_size, o.image_size, o.seed + 1000003));
  const int classes = static_cast<int>(train_set.class_names.size());
  Graph g({1});
  if (!o.model.empty()) {
    SLING_ASSIGN_OR_RETURN(g, load_model_arg(o.model));
  } else {
    SLING_ASSIGN_OR_RETURN(g, build_architecture(o.arch, classes, train_set.sample_shape()));
    init_params(g, o.seed);
  }
  std::printf("training %s on '%s' (%d train / %d test images of %dx%dx3, %d classes: horizontal, vertical, "
              "diagonal, ring), %d epochs, batch %d, seed %llu\n",
              o.model.empty() ? o.arch.c_str() : o.model.c_str(), o.dataset.c_str(), o.train_size, o.test_size,
              o.image_size, o.image_size, classes, o.epochs, o.batch_size, static_cast<unsigned long long>(o.seed));
  std::fflush(stdout);

  TrainConfig cfg;
  cfg.epochs = o.epochs;
  cfg.batch_size = o.batch_size;
  cfg.learning_rate = o.learning_rate;
  cfg.seed = o.seed;
  if (!o.qat.empty()) {
    SLING_ASSIGN_OR_RETURN(WeightScheme scheme, parse_weight_scheme(o.qat));
    cfg.qat_weights = scheme;
  }
  ProgressBar bar("train");
  nlohmann::json history = nlohmann::json::array();
  // The model is checkpointed at the end of every epoch, so an interrupted run keeps it.
  Status checkpoint_status;
  auto on_step = [&](int epoch, int step, int steps, double loss) {
    bar.update((static_cast<double>(epoch - 1) * steps + step) / (static_cast<double>(o.epochs) * steps),
               "epoch " + std::to_string(epoch) + "/" + std::to_string(o.epochs) + " loss " +
                   std::to_string(loss).substr(0, 6));
    if (step == steps && !o.output.empty()) {
      const nlohmann::json meta = {{"dataset", o.dataset}, {"classes", train_set.class_names},
                                   {"seed", o.seed}, {"epochs_done", epoch}};
      checkpoint_status = save_model(g, o.output, meta);
      return checkpoint_status.ok();
    }
    return true;
  };
  SLING_ASSIGN_OR_RETURN(auto reports, train(g, train_set, &test_set, cfg, on_step));
  bar.finish();
  for (const EpochReport& r : reports) {
    std::printf("epoch %2d  loss %.4f  train acc %.3f  test acc %.3f\n", r.epoch, r.train_loss, r.train_accuracy,
                r.val_accuracy);
    history.push_back({{"epoch", r.epoch}, {"train_loss", r.train_loss}, {"train_accuracy", r.train_accuracy},
                       {"test_accuracy", r.val_accuracy}});
  }
  SLING_RETURN_IF_ERROR(checkpoint_status);
  // A QAT model keeps its quantized weights: `slingshot quantize --scheme` recovers their codes.
  if (cfg.qat_weights) quantize_weights_in_place(g, *cfg.qat_weights);
  SLING_ASSIGN_OR_RETURN(double test_acc, evaluate_accuracy(g, test_set));
  std::printf("float test accuracy %.3f on %d held-out images\n", test_acc, o.test_size);
  if (!o.output.empty()) {
    nlohmann::json meta = {{"dataset", o.dataset}, {"classes", train_set.class_names}, {"test_accuracy", test_acc},
                           {"seed", o.seed},       {"epochs", o.epochs}};
    if (cfg.qat_weights) meta["qat_weights"] = o.qat;
    SLING_RETURN_IF_ERROR(save_model(g, o.output, meta));
    std::printf("model written to %s\n", o.output.c_str());
  }
  if (o.json) {
    nlohmann::json j = {{"dataset", o.dataset}, {"test_accuracy", test_acc}, {"history", history}};
    std::printf("%s\n", j.dump().c_str());
  }
  return Status::Ok();
}

void register_train(CLI::App& app, CommandList& out) {
  auto o = std::make_shared<TrainRunOptions>();
  CLI::App* sub = app.add_subcommand("train", "Train a model on a generated dataset");
  sub->add_option("--arch", o->arch, "resnet8, dscnn, mobilenet_v1 or tiny_cnn")->capture_default_str();
  sub->add_option("--model", o->model, "Continue training this model file instead");
  sub->add_option("--dataset", o->dataset, "Generated dataset")->capture_default_str();
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
  sub->add_option("-o,--output", o->output, "Model file to write");
  sub->add_flag("--json", o->json, "Print a JSON report at the end");
  out.push_back({sub, [o] { return run_training(*o); }});
}

}  // namespace slingshot::cli

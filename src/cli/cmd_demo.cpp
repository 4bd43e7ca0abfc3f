// `slingshot demo`: the headless part of the main job. It trains a tiny CNN on the
// generated 'shapes' set in seconds and reports its accuracy; the model is written to
// out/demo/ for `slingshot info` and `grad`. scripts/run.sh then evaluates the zoo models.
#include "cli/commands.h"
#include "cli/train_run.h"

namespace slingshot::cli {

void register_demo(CLI::App& app, CommandList& out) {
  auto o = std::make_shared<TrainRunOptions>();
  o->output = "out/demo/shapes_tiny_cnn.safetensors";
  CLI::App* sub = app.add_subcommand("demo", "Headless demo: train a tiny CNN on generated shapes, report accuracy");
  sub->add_option("--epochs", o->epochs, "Epochs")->capture_default_str()->check(CLI::Range(1, 1000));
  sub->add_option("--seed", o->seed, "Seed")->capture_default_str();
  sub->add_option("-o,--output", o->output, "Where to write the trained model")->capture_default_str();
  // run_training creates the output folder.
  out.push_back({sub, [o] { return run_training(*o); }});
}

}  // namespace slingshot::cli

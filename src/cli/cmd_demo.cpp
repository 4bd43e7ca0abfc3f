// `slingshot demo`: the headless part of the main job. Until the model zoo ships a
// default model, it trains a tiny CNN on the generated 'shapes' set and reports its
// accuracy; the model is written to out/demo/ for `slingshot info` and `grad`.
#include <filesystem>

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
  out.push_back({sub, [o] {
                   std::error_code ec;
                   const auto dir = std::filesystem::path(o->output).parent_path();
                   if (!dir.empty()) std::filesystem::create_directories(dir, ec);
                   if (ec) return io_error("cannot create '" + dir.string() + "': " + ec.message());
                   return run_training(*o);
                 }});
}

}  // namespace slingshot::cli

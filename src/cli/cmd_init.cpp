// `slingshot init --arch A -o MODEL`: writes an untrained model of a reference architecture.
#include <cstdio>

#include "cli/commands.h"
#include "model/builders.h"
#include "model/model_file.h"

namespace slingshot::cli {
namespace {

struct InitOptions {
  std::string arch = "resnet8", input, output;
  int classes = 0;
  uint64_t seed = 0;
};

Status run_init(const InitOptions& o) {
  Shape input;
  if (!o.input.empty()) {
    SLING_ASSIGN_OR_RETURN(input, parse_shape_arg(o.input));
  } else {
    input = o.arch == "dscnn" ? Shape{49, 10, 1} : o.arch == "mobilenet_v1" ? Shape{96, 96, 3} : Shape{32, 32, 3};
  }
  const int classes = o.classes > 0 ? o.classes : o.arch == "dscnn" ? 12 : o.arch == "mobilenet_v1" ? 2 : 10;
  SLING_ASSIGN_OR_RETURN(Graph g, build_architecture(o.arch, classes, input));
  init_params(g, o.seed);
  SLING_RETURN_IF_ERROR(save_model(g, o.output));
  std::printf("wrote %s: %s, input %s, %d classes, %lld parameters, seed %llu\n", o.output.c_str(), o.arch.c_str(),
              shape_to_string(input).c_str(), classes, static_cast<long long>(g.num_params()),
              static_cast<unsigned long long>(o.seed));
  return Status::Ok();
}

}  // namespace

void register_init(CLI::App& app, CommandList& out) {
  auto opts = std::make_shared<InitOptions>();
  CLI::App* sub = app.add_subcommand("init", "Write an untrained model of a reference architecture");
  sub->add_option("--arch", opts->arch, "resnet8, dscnn, mobilenet_v1 or tiny_cnn; thermometerL_NAME puts an L-level thermometer encoding in front")->capture_default_str();
  sub->add_option("--classes", opts->classes, "Number of classes (default: the architecture's)");
  sub->add_option("--input", opts->input, "Input shape HxWxC (default: the architecture's)");
  sub->add_option("--seed", opts->seed, "Initialization seed")->capture_default_str();
  sub->add_option("-o,--output", opts->output, "Model file to write")->required();
  out.push_back({sub, [opts] { return run_init(*opts); }});
}

}  // namespace slingshot::cli

// `slingshot info MODEL [--json]`: layers, parameter count, MACs, input/output shapes.
#include <cstdio>

#include <nlohmann/json.hpp>

#include "cli/commands.h"

namespace slingshot::cli {
namespace {

struct InfoOptions {
  std::string model;
  bool json = false;
};

Status run_info(const InfoOptions& o) {
  SLING_ASSIGN_OR_RETURN(QuantizedModel qm, load_any_model_arg(o.model));
  const Graph& g = qm.graph;
  nlohmann::json layers = nlohmann::json::array();
  for (int i = 1; i < g.num_nodes(); ++i) {
    const Node& n = g.node(i);
    std::vector<Shape> in;
    nlohmann::json inputs = nlohmann::json::array();
    for (int j : n.inputs) {
      in.push_back(g.node(j).output_shape);
      inputs.push_back(g.node(j).name);
    }
    int64_t params = 0;
    for (const Param& p : n.layer->params()) params += p.value.numel();
    const Shape out(n.output_shape.begin() + 1, n.output_shape.end());
    layers.push_back({{"name", n.name}, {"type", n.layer->type()}, {"inputs", inputs}, {"output_shape", out},
                      {"params", params}, {"macs", n.layer->macs(in, n.output_shape)}});
  }
  nlohmann::json j = {{"model", o.model},
                      {"input_shape", g.input_shape()},
                      {"output_shape", g.output_shape()},
                      {"output_node", g.node(g.output_node()).name},
                      {"trainable_params", g.num_params(true)},
                      {"total_params", g.num_params(false)},
                      {"macs", g.macs()},
                      {"layers", layers}};
  if (!qm.nodes.empty()) {
    const Footprint f = footprint(qm);
    j["quantization"] = {{"weights", weight_scheme_name(qm.weights)},
                         {"activation_bits", qm.activation_bits},
                         {"rounding", qm.rounding == RoundingMode::kDouble ? "double" : "single"},
                         {"input_grid", {{"scale", qm.nodes[0].output.scale}, {"zero_point", qm.nodes[0].output.zero_point}}},
                         {"calibration", qm.calibration},
                         {"footprint_bytes", f.total_bytes()},
                         {"float_bytes", f.float_bytes}};
  }
  if (o.json) {
    std::printf("%s\n", j.dump(2).c_str());
    return Status::Ok();
  }
  std::printf("model   %s\ninput   %s   output %s (node '%s')\n", o.model.c_str(),
              shape_to_string(g.input_shape()).c_str(), shape_to_string(g.output_shape()).c_str(),
              g.node(g.output_node()).name.c_str());
  std::printf("\n  %-22s %-17s %-18s %10s %12s\n", "layer", "type", "output", "params", "MACs");
  for (const auto& l : layers) {
    std::printf("  %-22s %-17s %-18s %10lld %12lld\n", l["name"].get<std::string>().c_str(),
                l["type"].get<std::string>().c_str(), shape_to_string(l["output_shape"].get<Shape>()).c_str(),
                static_cast<long long>(l["params"].get<int64_t>()), static_cast<long long>(l["macs"].get<int64_t>()));
  }
  std::printf("\n  trainable parameters %lld (all, with batch-norm statistics: %lld)\n  MACs per inference   %lld\n",
              static_cast<long long>(g.num_params(true)), static_cast<long long>(g.num_params(false)),
              static_cast<long long>(g.macs()));
  if (!qm.nodes.empty())
    std::printf("  quantized            %s weights (per channel), %d-bit activations, %s rounding; %lld bytes deployed "
                "(float32: %lld)\n",
                weight_scheme_name(qm.weights), qm.activation_bits,
                qm.rounding == RoundingMode::kDouble ? "double" : "single",
                static_cast<long long>(footprint(qm).total_bytes()), static_cast<long long>(footprint(qm).float_bytes));
  return Status::Ok();
}

}  // namespace

void register_info(CLI::App& app, CommandList& out) {
  auto opts = std::make_shared<InfoOptions>();
  CLI::App* sub = app.add_subcommand("info", "Print a model's layers, parameter count, MACs and shapes");
  sub->add_option("model", opts->model, "Model file (.safetensors)")->required();
  sub->add_flag("--json", opts->json, "Print JSON instead of a table");
  out.push_back({sub, [opts] { return run_info(*opts); }});
}

}  // namespace slingshot::cli

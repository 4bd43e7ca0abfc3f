// Builds the fake-quant mirror of a quantized model (see fake_quant_graph.h).
#include "quant/fake_quant_graph.h"

#include <nlohmann/json.hpp>

#include "model/layer_registry.h"
#include "model/layers/fake_quant.h"
#include "quant/weight_quantizers.h"

namespace slingshot {
namespace {

std::unique_ptr<Layer> fake_quant_layer(const ActivationGrid& g, bool clip_gradient = true) {
  return std::make_unique<FakeQuant>(FakeQuantConfig{g.scale, g.zero_point, g.qmin, g.qmax, clip_gradient});
}

// Whether node i's integer output is what the next node reads. A producer fused with
// its activation is not: the activation's fake-quant stands for the fused kernel. A max
// pool or flatten of on-grid values stays on the grid, so it needs none; nor do a
// thermometer's bits, which are codes exactly (a clipped STE would also zero their
// gradient at the grid's edges, where every bit lies).
bool needs_fake_quant(const Graph& g, int i) {
  const std::string_view t = g.node(i).layer->type();
  if (t == "max_pool2d" || t == "flatten") return false;
  if (t == "thermometer") return false;  // its bits are exact codes already
  for (int j = i + 1; j < g.num_nodes(); ++j)
    if (g.node(j).inputs[0] == i && is_fused_activation(g, j)) return false;
  return true;
}

}  // namespace

Result<Graph> build_fake_quant_graph(const QuantizedModel& m) {
  const Graph& g = m.graph;
  if (static_cast<int>(m.nodes.size()) != g.num_nodes())
    return invalid_argument("the model has no quantization parameters; the fake-quant engine needs a quantized model");
  Graph out(g.input_shape());
  std::vector<std::string> name_of(g.num_nodes());
  SLING_ASSIGN_OR_RETURN(int in_fq, out.add("input/fq", fake_quant_layer(m.nodes[0].output), {"input"}));
  name_of[0] = out.node(in_fq).name;
  for (int i = 1; i < g.num_nodes(); ++i) {
    const Node& node = g.node(i);
    const NodeQuantization& q = m.nodes[i];
    std::vector<std::string> inputs;
    for (int j : node.inputs) inputs.push_back(name_of[j]);
    const bool weighted = is_weighted_type(node.layer->type());
    SLING_ASSIGN_OR_RETURN(auto layer,
                           clone_layer(*node.layer, weighted ? nlohmann::json{{"use_bias", true}} : nlohmann::json()));
    if (weighted) {
      const int axis = weight_channel_axis(*node.layer);
      QuantizedWeights codes{q.weight_scale, q.weight};
      layer->find_param("weight")->value = dequantize_weights(codes, axis);
      Tensor& bias = layer->find_param("bias")->value;
      const float s_in = m.nodes[node.inputs[0]].output.scale;
      for (int64_t c = 0; c < bias.numel(); ++c)
        bias[c] = static_cast<float>(static_cast<double>(q.bias[c]) * s_in * q.weight_scale[c]);
    }
    SLING_ASSIGN_OR_RETURN(int added, out.add(node.name, std::move(layer), inputs));
    name_of[i] = out.node(added).name;
    if (needs_fake_quant(g, i)) {
      // The logits' gradient passes their clamp (fake_quant.h says why).
      SLING_ASSIGN_OR_RETURN(int fq, out.add(node.name + "/fq", fake_quant_layer(q.output, i != g.output_node()),
                                             {node.name}));
      name_of[i] = out.node(fq).name;
    }
  }
  SLING_RETURN_IF_ERROR(out.set_output(name_of[g.output_node()]));
  return out;
}

}  // namespace slingshot

// Placement and removal of activation_quant nodes (see activation_qat.h).
#include "quant/activation_qat.h"

#include <string>

#include "model/layer_registry.h"
#include "model/layers/activation_quant.h"
#include "quant/quantized_model.h"

namespace slingshot {
namespace {

bool is_type(const Graph& g, int i, std::string_view t) { return i > 0 && g.node(i).layer->type() == t; }
bool is_relu(const Graph& g, int i) { return is_type(g, i, "relu") || is_type(g, i, "relu6"); }

std::vector<std::vector<int>> consumers_of(const Graph& g) {
  std::vector<std::vector<int>> c(g.num_nodes());
  for (int i = 1; i < g.num_nodes(); ++i)
    for (int j : g.node(i).inputs) c[j].push_back(i);
  return c;
}

// Whether ReLU node r fuses into its producer once batch norm is folded (the rule of
// is_fused_activation, seen through an unfolded batch norm).
bool relu_fuses(const Graph& g, const std::vector<std::vector<int>>& consumers, int r) {
  const int p = g.node(r).inputs[0];
  if (p == 0 || p == g.output_node() || consumers[p].size() != 1) return false;
  if (is_type(g, p, "batch_norm")) {
    const int q = g.node(p).inputs[0];
    return q > 0 && is_weighted_type(g.node(q).layer->type()) && consumers[q].size() == 1;
  }
  return is_weighted_type(g.node(p).layer->type()) || is_type(g, p, "add");
}

bool wants_activation_quant(const Graph& g, const std::vector<std::vector<int>>& consumers, int i) {
  if (i == 0 || i == g.output_node()) return false;
  if (is_relu(g, i)) return relu_fuses(g, consumers, i);
  const std::string_view t = g.node(i).layer->type();
  const bool weighted = is_weighted_type(t);
  if (!weighted && t != "add" && t != "global_avg_pool" && t != "batch_norm") return false;
  if (consumers[i].size() == 1) {
    const int j = consumers[i][0];
    if (weighted && is_type(g, j, "batch_norm")) return false;  // folds into j, whose node stands for it
    if (is_relu(g, j) && relu_fuses(g, consumers, j)) return false;  // the fused ReLU's node stands for it
  }
  return true;
}

}  // namespace

Result<Graph> insert_activation_quant(const Graph& g, int bits) {
  if (bits < 1 || bits > 8) return invalid_argument("activation bits must be in [1, 8], got " + std::to_string(bits));
  SLING_ASSIGN_OR_RETURN(int existing, activation_quant_bits(g));
  if (existing != 0)
    return invalid_argument("the model already has " + std::to_string(existing) + "-bit activation_quant nodes");
  const auto consumers = consumers_of(g);
  Graph out(g.input_shape());
  std::vector<std::string> name_of(g.num_nodes());
  name_of[0] = "input";
  for (int i = 1; i < g.num_nodes(); ++i) {
    const Node& node = g.node(i);
    std::vector<std::string> inputs;
    for (int j : node.inputs) inputs.push_back(name_of[j]);
    SLING_ASSIGN_OR_RETURN(auto layer, clone_layer(*node.layer));
    SLING_ASSIGN_OR_RETURN(int added, out.add(node.name, std::move(layer), inputs));
    name_of[i] = out.node(added).name;
    if (wants_activation_quant(g, consumers, i)) {
      SLING_ASSIGN_OR_RETURN(int aq, out.add(node.name + "/aq", std::make_unique<ActivationQuant>(bits), {node.name}));
      name_of[i] = out.node(aq).name;
    }
  }
  SLING_RETURN_IF_ERROR(out.set_output(name_of[g.output_node()]));
  return out;
}

Result<int> activation_quant_bits(const Graph& g) {
  int bits = 0;
  for (int i = 1; i < g.num_nodes(); ++i) {
    if (!is_type(g, i, "activation_quant")) continue;
    const int b = static_cast<const ActivationQuant&>(*g.node(i).layer).bits();
    if (bits != 0 && b != bits)
      return invalid_argument("activation_quant nodes disagree on bits (" + std::to_string(bits) + " and " +
                              std::to_string(b) + " at '" + g.node(i).name + "')");
    bits = b;
  }
  return bits;
}

Result<StrippedGraph> strip_activation_quant(const Graph& g) {
  StrippedGraph s;
  s.graph = Graph(g.input_shape());
  std::vector<int> index_of(g.num_nodes(), 0);  // node of g -> node of the result
  for (int i = 1; i < g.num_nodes(); ++i) {
    const Node& node = g.node(i);
    if (is_type(g, i, "activation_quant")) {
      const auto& aq = static_cast<const ActivationQuant&>(*node.layer);
      if (!aq.has_range())
        return invalid_argument("activation_quant '" + node.name +
                                "' has no trained range; train the model before quantizing it");
      const int v = index_of[node.inputs[0]];
      if (v == 0) return invalid_argument("activation_quant '" + node.name + "' follows the input, whose grid is fixed");
      if (s.qat_ranges[v])
        return invalid_argument("two activation_quant nodes follow '" + s.graph.node(v).name + "'");
      s.qat_ranges[v] = std::make_pair(aq.range_min(), aq.range_max());
      index_of[i] = v;
      continue;
    }
    std::vector<std::string> inputs;
    for (int j : node.inputs) inputs.push_back(s.graph.node(index_of[j]).name);
    SLING_ASSIGN_OR_RETURN(auto layer, clone_layer(*node.layer));
    SLING_ASSIGN_OR_RETURN(index_of[i], s.graph.add(node.name, std::move(layer), inputs));
    s.qat_ranges.resize(s.graph.num_nodes());
  }
  s.qat_ranges.resize(s.graph.num_nodes());
  SLING_RETURN_IF_ERROR(s.graph.set_output(s.graph.node(index_of[g.output_node()]).name));
  return s;
}

}  // namespace slingshot

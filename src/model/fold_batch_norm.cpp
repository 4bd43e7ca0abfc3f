// Batch-norm folding: w' = w * gamma / sqrt(var + eps) per output channel,
// b' = (b - mean) * gamma / sqrt(var + eps) + beta.
#include "model/fold_batch_norm.h"

#include <cmath>

#include <nlohmann/json.hpp>

#include "model/layer_registry.h"
#include "model/layers/batch_norm.h"

namespace slingshot {
namespace {

bool is_foldable_producer(const Layer& l) {
  const std::string t = l.type();
  return t == "conv2d" || t == "depthwise_conv2d" || t == "dense";
}

}  // namespace

Result<Graph> fold_batch_norm(const Graph& g, int* folded) {
  const int n = g.num_nodes();
  std::vector<int> consumers(n, 0);
  for (int i = 1; i < n; ++i)
    for (int j : g.node(i).inputs) consumers[j]++;
  consumers[g.output_node()]++;  // the output is consumed by the caller

  // fold_into[p] = the batch-norm node folded into producer p; folded_away[b] marks it.
  std::vector<int> fold_into(n, -1);
  std::vector<bool> folded_away(n, false);
  for (int i = 1; i < n; ++i) {
    const Node& node = g.node(i);
    if (std::string(node.layer->type()) != "batch_norm") continue;
    const int p = node.inputs[0];
    if (p == 0 || consumers[p] != 1 || !is_foldable_producer(*g.node(p).layer)) continue;
    fold_into[p] = i;
    folded_away[i] = true;
  }

  Graph out(g.input_shape());
  // A folded batch norm's name now refers to its producer's output.
  std::vector<std::string> name_of(n);
  name_of[0] = "input";
  int count = 0;
  for (int i = 1; i < n; ++i) {
    const Node& node = g.node(i);
    if (folded_away[i]) {
      name_of[i] = name_of[node.inputs[0]];
      continue;
    }
    std::vector<std::string> inputs;
    for (int j : node.inputs) inputs.push_back(name_of[j]);
    SLING_ASSIGN_OR_RETURN(auto layer, clone_layer(*node.layer, fold_into[i] >= 0 ? nlohmann::json{{"use_bias", true}} : nlohmann::json()));
    if (fold_into[i] >= 0) {
      const auto& bn = static_cast<const BatchNorm&>(*g.node(fold_into[i]).layer);
      const Tensor& gamma = bn.params()[0].value;
      const Tensor& beta = bn.params()[1].value;
      const Tensor& mean = bn.params()[2].value;
      const Tensor& var = bn.params()[3].value;
      Tensor& w = layer->find_param("weight")->value;
      Tensor& b = layer->find_param("bias")->value;
      const int64_t channels = gamma.numel();
      if (b.numel() != channels)
        return invalid_argument("batch norm '" + g.node(fold_into[i]).name + "' has " + std::to_string(channels) +
                                " channels but '" + node.name + "' produces " + std::to_string(b.numel()));
      // The output channel is the first axis for conv/dense and the last for depthwise.
      const bool channel_last = std::string(node.layer->type()) == "depthwise_conv2d";
      const int64_t per_channel = w.numel() / channels;
      for (int64_t c = 0; c < channels; ++c) {
        const double scale = gamma[c] / std::sqrt(static_cast<double>(var[c]) + bn.config().epsilon);
        for (int64_t k = 0; k < per_channel; ++k) {
          float& wv = channel_last ? w[k * channels + c] : w[c * per_channel + k];
          wv = static_cast<float>(wv * scale);
        }
        b[c] = static_cast<float>((static_cast<double>(b[c]) - mean[c]) * scale + beta[c]);
      }
      ++count;
    }
    auto added = out.add(node.name, std::move(layer), inputs);
    if (!added.ok()) return added.status();
    name_of[i] = node.name;
  }
  SLING_RETURN_IF_ERROR(out.set_output(name_of[g.output_node()]));
  if (folded) *folded = count;
  return out;
}

}  // namespace slingshot

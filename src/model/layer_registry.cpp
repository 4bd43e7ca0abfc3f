// The table of layer types known to the model file format.
#include "model/layer_registry.h"

#include <nlohmann/json.hpp>

#include "model/layers/activation.h"
#include "model/layers/activation_quant.h"
#include "model/layers/affine.h"
#include "model/layers/batch_norm.h"
#include "model/layers/conv2d.h"
#include "model/layers/dense.h"
#include "model/layers/fake_quant.h"
#include "model/layers/depthwise_conv2d.h"
#include "model/layers/pool2d.h"
#include "model/layers/shape_ops.h"
#include "model/layers/thermometer.h"

namespace slingshot {
namespace {

using Factory = Result<std::unique_ptr<Layer>> (*)(const nlohmann::json&);

template <class L>
Result<std::unique_ptr<Layer>> make_plain(const nlohmann::json&) {
  return std::unique_ptr<Layer>(new L());
}

struct Entry {
  const char* type;
  Factory make;
};

const Entry kLayers[] = {
    {"conv2d", &Conv2D::from_json},
    {"depthwise_conv2d", &DepthwiseConv2D::from_json},
    {"dense", &Dense::from_json},
    {"batch_norm", &BatchNorm::from_json},
    {"relu", [](const nlohmann::json&) -> Result<std::unique_ptr<Layer>> {
       return std::unique_ptr<Layer>(new Activation(ActivationKind::kRelu));
     }},
    {"relu6", [](const nlohmann::json&) -> Result<std::unique_ptr<Layer>> {
       return std::unique_ptr<Layer>(new Activation(ActivationKind::kRelu6));
     }},
    {"max_pool2d", [](const nlohmann::json& j) { return Pool2D::from_json(j, PoolKind::kMax); }},
    {"avg_pool2d", [](const nlohmann::json& j) { return Pool2D::from_json(j, PoolKind::kAverage); }},
    {"global_avg_pool", &make_plain<GlobalAvgPool>},
    {"add", &make_plain<Add>},
    {"flatten", &make_plain<Flatten>},
    {"softmax", &make_plain<Softmax>},
    {"fake_quant", &FakeQuant::from_json},
    {"activation_quant", &ActivationQuant::from_json},
    {"affine", &Affine::from_json},
    {"thermometer", &Thermometer::from_json},
};

}  // namespace

Result<std::unique_ptr<Layer>> make_layer(const std::string& type, const nlohmann::json& hyper) {
  for (const Entry& e : kLayers) {
    if (type == e.type) {
      auto layer = e.make(hyper);
      if (!layer.ok()) return layer.status().with_context("layer type '" + type + "'");
      return layer;
    }
  }
  std::string known;
  for (const Entry& e : kLayers) known += std::string(known.empty() ? "" : ", ") + e.type;
  return unimplemented("unknown layer type '" + type + "' (known: " + known + ")");
}

std::vector<std::string> layer_types() {
  std::vector<std::string> out;
  for (const Entry& e : kLayers) out.emplace_back(e.type);
  return out;
}

Result<std::unique_ptr<Layer>> clone_layer(const Layer& l, const nlohmann::json& overrides) {
  nlohmann::json hyper = nlohmann::json::object();
  l.to_json(hyper);
  if (overrides.is_object()) hyper.update(overrides);
  SLING_ASSIGN_OR_RETURN(auto copy, make_layer(l.type(), hyper));
  for (Param& p : copy->params()) {
    if (const Param* src = l.find_param(p.name)) p.value = src->value;
  }
  return copy;
}

Result<std::unique_ptr<Layer>> clone_layer(const Layer& l) { return clone_layer(l, nlohmann::json()); }

Result<Graph> clone_graph(const Graph& g) {
  Graph out(g.input_shape());
  for (int i = 1; i < g.num_nodes(); ++i) {
    const Node& node = g.node(i);
    std::vector<std::string> inputs;
    for (int j : node.inputs) inputs.push_back(g.node(j).name);
    SLING_ASSIGN_OR_RETURN(auto layer, clone_layer(*node.layer));
    auto added = out.add(node.name, std::move(layer), inputs);
    if (!added.ok()) return added.status();
  }
  SLING_RETURN_IF_ERROR(out.set_output(g.node(g.output_node()).name));
  return out;
}

}  // namespace slingshot

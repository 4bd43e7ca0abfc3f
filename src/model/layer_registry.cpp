// The table of layer types known to the model file format.
#include "model/layer_registry.h"

#include <nlohmann/json.hpp>

#include "model/layers/activation.h"
#include "model/layers/batch_norm.h"
#include "model/layers/conv2d.h"
#include "model/layers/dense.h"
#include "model/layers/depthwise_conv2d.h"
#include "model/layers/pool2d.h"
#include "model/layers/shape_ops.h"

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

}  // namespace slingshot

// Builds a layer from its type name and JSON hyper-parameters (the model file's view).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "model/graph.h"
#include "model/layer.h"

namespace slingshot {

// Unknown types and bad hyper-parameters get an error naming the type and field.
Result<std::unique_ptr<Layer>> make_layer(const std::string& type, const nlohmann::json& hyper);
// Every type name make_layer accepts.
std::vector<std::string> layer_types();

// Copies a layer through its JSON form, parameters included. `overrides` (null or an
// object) replaces hyper-parameters first, e.g. {"use_bias": true}; parameters the copy
// has and the original lacks keep the copy's initial value (zero for a forced bias).
Result<std::unique_ptr<Layer>> clone_layer(const Layer& layer, const nlohmann::json& overrides);
Result<std::unique_ptr<Layer>> clone_layer(const Layer& layer);
// Copies a whole graph: same nodes, names, inputs, output and parameter values.
Result<Graph> clone_graph(const Graph& graph);

}  // namespace slingshot

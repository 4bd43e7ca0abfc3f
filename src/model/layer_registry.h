// Builds a layer from its type name and JSON hyper-parameters (the model file's view).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "model/layer.h"

namespace slingshot {

// Unknown types and bad hyper-parameters get an error naming the type and field.
Result<std::unique_ptr<Layer>> make_layer(const std::string& type, const nlohmann::json& hyper);
// Every type name make_layer accepts.
std::vector<std::string> layer_types();

}  // namespace slingshot

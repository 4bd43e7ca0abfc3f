// Checked reads of layer hyper-parameters from JSON. Every failure names the field and
// what was expected, so a hand-edited or corrupt model file gets a clear error.
#pragma once

#include <array>
#include <string>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "kernels/kernel_params.h"

namespace slingshot {

// An integer field in [lo, hi].
Result<int> json_int(const nlohmann::json& j, const char* key, int lo, int hi);
// A boolean field.
Result<bool> json_bool(const nlohmann::json& j, const char* key);
// A finite number field in [lo, hi].
Result<double> json_number(const nlohmann::json& j, const char* key, double lo, double hi);
// A pair of integers in [lo, hi], e.g. "kernel": [3, 3].
Result<std::array<int, 2>> json_int_pair(const nlohmann::json& j, const char* key, int lo, int hi);
// "same" or "valid".
Result<Padding> json_padding(const nlohmann::json& j, const char* key);
const char* padding_name(Padding p);

}  // namespace slingshot

// The Slingshot model file: a safetensors container (docs/model-format.md). The weights
// are plain F32 safetensors tensors named "<node>.<param>", so any safetensors reader
// can read them; the graph (topology, layer hyper-parameters, output node) travels as a
// versioned JSON document in the string-valued __metadata__["slingshot"] entry.
//
// Loading treats the bytes as hostile: every field is checked, every failure is a Status
// naming the problem, and size limits bound what a file can make us allocate.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "model/graph.h"

namespace slingshot {

// The newest schema version this build reads and writes. It reads versions
// 1..kModelFormatVersion and rejects newer ones with an "unsupported version" error. The
// writer uses the oldest version that can express the model: 1 for float models, 2 once
// quantization parameters are present.
inline constexpr int kModelFormatVersion = 2;
// The "format" field of the metadata document.
inline constexpr const char* kModelFormatName = "slingshot-model";

// Upper bounds on what a model file may make the loader allocate or compute. Values
// larger than the defaults are clamped to the defaults: the defaults are what keeps
// Graph::macs() and the shape arithmetic of every layer free of int64 overflow.
struct ModelLimits {
  uint64_t max_header_bytes = 100'000'000;    // JSON header (the safetensors reference limit)
  uint64_t max_tensor_bytes = 256ull << 20;   // one tensor's data
  int64_t max_total_params = int64_t{64} << 20;  // all parameters together (elements)
  int64_t max_input_elements = int64_t{16} << 20;  // per-sample input elements
  int64_t max_activation_elements = int64_t{256} << 20;  // any node's output at batch 1
  int max_nodes = 4096;                      // layer nodes (the input node not counted)
};

// Element types of the non-float tensors a quantized model carries.
enum class TensorDType : uint8_t { kF32, kI32, kI8 };

// A tensor no layer owns (version 2): quantized weights, int32 biases, weight scales.
// Only the vector matching `dtype` holds data, row-major.
struct AuxTensor {
  TensorDType dtype = TensorDType::kF32;  // which of the vectors below holds the values
  Shape shape;                            // dimensions
  std::vector<float> f32;                 // values when dtype is kF32
  std::vector<int32_t> i32;               // values when dtype is kI32
  std::vector<int8_t> i8;                 // values when dtype is kI8
};

// Everything a model file holds. The container checks structure (types, shapes, names,
// coverage); the meaning of the quantization documents is checked by
// quant/quantized_model.h, which is the layer that understands them.
struct ModelContents {
  Graph graph{Shape{1}};                               // the float graph with its F32 parameters
  nlohmann::json extra;                                // "extra" object, or null
  nlohmann::json quantization;                         // top-level "quantization" object, or null (float model)
  std::map<std::string, nlohmann::json> node_quantization;  // per-node "quantization" objects, by node name
  std::map<std::string, AuxTensor> aux_tensors;        // "<node>.<name>" tensors no layer owns
  // Nodes whose F32 "weight" the file omits because it is exactly their dequantized
  // integer codes (version 2 only; the node must have a "<node>.weight_q" tensor). The
  // parser leaves those weights zero; quant/quantized_model.h rebuilds them.
  std::set<std::string> weights_from_codes;
};

// Serializes the graph to the bytes of a model file. `extra_metadata` (null or a JSON
// object) is stored verbatim under "extra" for model cards: training recipe, accuracy...
Result<std::string> serialize_model(const Graph& graph, const nlohmann::json& extra_metadata = nullptr);

// Parses and validates a model file held in memory. If `extra_metadata` is given, it
// receives the stored "extra" object (null if the file has none).
Result<Graph> parse_model(std::string_view bytes, nlohmann::json* extra_metadata = nullptr,
                          const ModelLimits& limits = {});

// The general forms: every part of a file, quantization included. A file with
// quantization documents or aux tensors is written as version 2; aux tensors and
// quantization objects are accepted only there, and every aux tensor must be named
// "<existing node>.<name>" with a name no parameter of that node uses.
Result<std::string> serialize_model_contents(const ModelContents& contents);
Result<ModelContents> parse_model_contents(std::string_view bytes, const ModelLimits& limits = {});
Status save_model_contents(const ModelContents& contents, const std::string& path);
Result<ModelContents> load_model_contents(const std::string& path, const ModelLimits& limits = {});

// Writes the model atomically (write_file_atomic: "<path>.tmp-<pid>", then a rename over
// `path`), so an interrupted save never destroys an existing model. Concurrent saves to
// one path from one process are not supported.
Status save_model(const Graph& graph, const std::string& path, const nlohmann::json& extra_metadata = nullptr);

// Reads and validates a model file (see parse_model). Format errors do not repeat the
// path; callers that report them add it (as the CLI does).
Result<Graph> load_model(const std::string& path, nlohmann::json* extra_metadata = nullptr,
                         const ModelLimits& limits = {});

}  // namespace slingshot

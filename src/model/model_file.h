// The Slingshot model file: a safetensors container (docs/model-format.md). The weights
// are plain F32 safetensors tensors named "<node>.<param>", so any safetensors reader
// can read them; the graph (topology, layer hyper-parameters, output node) travels as a
// versioned JSON document in the string-valued __metadata__["slingshot"] entry.
//
// Loading treats the bytes as hostile: every field is checked, every failure is a Status
// naming the problem, and size limits bound what a file can make us allocate.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "model/graph.h"

namespace slingshot {

// The schema version this build writes. It reads versions 1..kModelFormatVersion and
// rejects newer ones with an "unsupported version" error.
inline constexpr int kModelFormatVersion = 1;
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

// Serializes the graph to the bytes of a model file. `extra_metadata` (null or a JSON
// object) is stored verbatim under "extra" for model cards: training recipe, accuracy...
Result<std::string> serialize_model(const Graph& graph, const nlohmann::json& extra_metadata = nullptr);

// Parses and validates a model file held in memory. If `extra_metadata` is given, it
// receives the stored "extra" object (null if the file has none).
Result<Graph> parse_model(std::string_view bytes, nlohmann::json* extra_metadata = nullptr,
                          const ModelLimits& limits = {});

// Writes the model atomically (write_file_atomic: "<path>.tmp-<pid>", then a rename over
// `path`), so an interrupted save never destroys an existing model. Concurrent saves to
// one path from one process are not supported.
Status save_model(const Graph& graph, const std::string& path, const nlohmann::json& extra_metadata = nullptr);

// Reads and validates a model file (see parse_model). Format errors do not repeat the
// path; callers that report them add it (as the CLI does).
Result<Graph> load_model(const std::string& path, nlohmann::json* extra_metadata = nullptr,
                         const ModelLimits& limits = {});

}  // namespace slingshot

// A quantized model: the BN-folded float graph plus, for every node, the integer grid of
// its output and, for weighted nodes, the integer weights, per-channel weight scales and
// int32 bias that the integer engines run. The TFLite int8 spec fixes the conventions:
// per-channel symmetric weights (zero point 0), per-tensor asymmetric activations, bias
// scale = input scale x weight scale. Lower bitwidths keep the same layout in int8
// containers, so every integer engine runs them exactly.
//
// All engines (float, fakequant, int8-ref, int8-simd, xnnpack) read this one structure.
// It travels in model files of format version 2 (docs/model-format.md, section 6), and
// validate_quantized_model() is the gate both for files and for what PTQ produces.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "core/tensor.h"
#include "model/graph.h"
#include "model/model_file.h"
#include "quant/activation_grid.h"
#include "quant/fixed_point.h"

namespace slingshot {

// How weights are quantized. All are per output channel and symmetric.
enum class WeightScheme : uint8_t {
  kInt8,     // [-127, 127]
  kInt4,     // [-7, 7]
  kTernary,  // {-1, 0, 1} x scale (Stochastic Ternary Quantization when trained)
  kBinary,   // {-1, 1} x scale (sign x mean |w|)
};

const char* weight_scheme_name(WeightScheme s);
Result<WeightScheme> parse_weight_scheme(std::string_view name);
// Largest quantized weight magnitude of a scheme (127, 7, 1, 1).
int32_t weight_qmax(WeightScheme s);
// Bits one weight takes when packed (8, 4, 2, 1): what the footprint report counts.
int weight_packed_bits(WeightScheme s);

struct NodeQuantization {
  ActivationGrid output;            // grid of this node's output
  // Weighted nodes (conv2d, depthwise_conv2d, dense) only; empty otherwise.
  std::vector<float> weight_scale;  // per output channel, > 0
  TensorT<int8_t> weight;           // quantized weights, the float weight's shape and layout
  std::vector<int32_t> bias;        // per output channel, scale = input scale x weight_scale[c]
};

struct QuantizedModel {
  Graph graph{Shape{1}};                   // the BN-folded float master graph (float engine, STE)
  WeightScheme weights = WeightScheme::kInt8;  // weight scheme of every weighted node
  int activation_bits = 8;                 // bits of hidden activations; input and logits stay 8-bit
  RoundingMode rounding = RoundingMode::kDouble;  // requantization rounding of the integer engines
  std::vector<NodeQuantization> nodes;     // one per graph node; nodes[0] is the input grid
  nlohmann::json calibration;              // how the grids were chosen (method, samples...): for reports
  // The float weights of every weighted node are exactly its dequantized codes (a QAT
  // model), so files store them once, as codes: a third of the size.
  bool float_weights_from_codes = false;
};

// If every weighted node's float weight equals its dequantized codes to `rel_tolerance`
// of its largest magnitude (true of QAT-trained weights after BN folding), replaces the
// float weights by the dequantized codes exactly, sets float_weights_from_codes and
// returns true; otherwise changes nothing and returns false.
bool adopt_code_weights_if_exact(QuantizedModel& model, float rel_tolerance = 1e-5f);

// Whether a layer type carries quantized weights.
bool is_weighted_type(std::string_view type);
// Output channels of a weighted node (conv filters, depthwise channels, dense units).
int64_t weighted_out_channels(const Layer& layer);
// The index of the output-channel axis of a weighted layer's weight tensor (0 for conv
// OHWI and dense [out, in]; 3 for depthwise [1, kh, kw, C]).
int weight_channel_axis(const Layer& layer);

// For a relu/relu6 node: whether the integer engines fuse it into its producer (a conv,
// depthwise conv, dense or add whose only consumer it is), as TFLite fuses activations.
// Then the producer's output grid equals the activation's and the clamp happens in the
// producer's kernel.
bool is_fused_activation(const Graph& graph, int node);

// Checks everything an integer engine relies on; errors name the node and the problem:
// zero, negative or non-finite scales; zero points outside [qmin, qmax]; per-channel
// counts that differ from the layer's channels; weights outside the scheme's range;
// requantization scales whose fixed-point shift exceeds 30 (scales below 2^-32 become a
// zero multiplier, as in TFLite); pool, flatten
// and unfused activation nodes whose grid differs from their input's; layer types the
// integer engines do not run (an unfolded batch norm, softmax).
Status validate_quantized_model(const QuantizedModel& model);

// Model-file conversion: reads the version-2 quantization documents and tensors (and
// validates them), or writes them. `extra` is the free-form model card.
Result<QuantizedModel> quantized_model_from_contents(ModelContents&& contents);
Result<ModelContents> quantized_model_to_contents(const QuantizedModel& model, const nlohmann::json& extra = nullptr);
Status save_quantized_model(const QuantizedModel& model, const std::string& path,
                            const nlohmann::json& extra = nullptr);
// Loads a quantized model file. A float model file is an error naming the problem
// (run `slingshot quantize` first), unless `allow_float` wraps it as float-only: then
// `nodes` is empty and only the float engine can run it.
Result<QuantizedModel> load_quantized_model(const std::string& path, nlohmann::json* extra = nullptr,
                                            bool allow_float = false);
// The same for contents already parsed (a file's bytes from the browser).
Result<QuantizedModel> any_model_from_contents(ModelContents&& contents, bool allow_float);

// Bytes the deployed model needs, with low-bit weights packed: what `slingshot quantize`
// and `eval` report.
struct Footprint {
  int64_t weight_count = 0;   // quantized weights
  int64_t weight_bytes = 0;   // weight_count x packed bits / 8, rounded up per tensor
  int64_t bias_bytes = 0;     // int32 biases
  int64_t scale_bytes = 0;    // per-channel requantization multiplier + shift (int32 each)
  int64_t float_bytes = 0;    // the same weights and biases as float32, for comparison
  int64_t total_bytes() const { return weight_bytes + bias_bytes + scale_bytes; }
};
Footprint footprint(const QuantizedModel& model);
// The footprint `graph` would have with `scheme` weights (for comparing schemes).
Footprint footprint(const Graph& graph, WeightScheme scheme);
// Peak bytes of live activations when each element takes `bytes` (a tensor lives from
// its node until its last consumer): the arena an MCU runtime needs at least.
int64_t peak_activation_bytes(const Graph& graph, int bytes);

}  // namespace slingshot

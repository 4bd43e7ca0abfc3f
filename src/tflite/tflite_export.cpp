// The TFLite exporter (see tflite_export.h for the mapping): one tensor per value our
// int8 program keeps, one operator per kernel call, constants in their own buffers.
#include "tflite/tflite_export.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/file_io.h"
#include "core/version.h"
#include "model/layers/activation.h"
#include "model/layers/conv2d.h"
#include "model/layers/dense.h"
#include "model/layers/depthwise_conv2d.h"
#include "model/layers/pool2d.h"
#include "tflite/tflite_schema_generated.h"
#include "tflite/tflite_verify.h"

namespace slingshot {
namespace {

using flatbuffers::Offset;
using QuantOffset = Offset<tflite::QuantizationParameters>;

std::string node_what(const Node& node) { return "node '" + node.name + "' (" + node.layer->type() + ")"; }

std::vector<int32_t> dims_of(const Shape& s) { return std::vector<int32_t>(s.begin(), s.end()); }

tflite::Padding padding_of(Padding p) { return p == Padding::kSame ? tflite::Padding_SAME : tflite::Padding_VALID; }

class Exporter {
 public:
  Exporter(const QuantizedModel& m, std::string description)
      : m_(m), g_(m.graph), description_(std::move(description)) {}
  Result<TfliteExport> run();

 private:
  uint32_t add_buffer(const void* data, size_t bytes);
  int add_tensor(const Shape& shape, tflite::TensorType type, uint32_t buffer, const std::string& name,
                 QuantOffset quant);
  QuantOffset grid_quant(const ActivationGrid& g);
  QuantOffset channel_quant(const std::vector<float>& scales, int dimension);
  int int32_constant(const std::vector<int32_t>& values, const std::string& name);
  int value_tensor(int node, const Shape& shape, const std::string& name);
  void add_operator(tflite::BuiltinOperator code, int version, const std::vector<int32_t>& inputs,
                    const std::vector<int32_t>& outputs, tflite::BuiltinOptions options_type = tflite::BuiltinOptions_NONE,
                    Offset<void> options = 0);
  tflite::ActivationFunctionType fused_activation(int node) const;
  Status add_weighted(int i);
  Status add_node(int i);

  const QuantizedModel& m_;
  const Graph& g_;
  std::string description_;
  flatbuffers::FlatBufferBuilder fb_;
  std::vector<Offset<tflite::Buffer>> buffers_;
  std::vector<Offset<tflite::Tensor>> tensors_;
  std::vector<Offset<tflite::Operator>> operators_;
  std::vector<Offset<tflite::OperatorCode>> codes_;
  std::map<int, uint32_t> code_index_;  // builtin code -> index into codes_
  std::vector<int> tensor_of_;          // node -> tensor holding its value
  std::vector<int> fused_into_;         // producer node -> the relu/relu6 node it fuses, or -1
  TfliteExport out_;
};

uint32_t Exporter::add_buffer(const void* data, size_t bytes) {
  std::vector<uint8_t> v(bytes);
  if (bytes) std::memcpy(v.data(), data, bytes);  // little-endian, like every target we build for
  buffers_.push_back(tflite::CreateBufferDirect(fb_, &v));
  return static_cast<uint32_t>(buffers_.size() - 1);
}

int Exporter::add_tensor(const Shape& shape, tflite::TensorType type, uint32_t buffer, const std::string& name,
                         QuantOffset quant) {
  const std::vector<int32_t> dims = dims_of(shape);
  tensors_.push_back(tflite::CreateTensorDirect(fb_, &dims, type, buffer, name.c_str(), quant));
  return static_cast<int>(tensors_.size() - 1);
}

QuantOffset Exporter::grid_quant(const ActivationGrid& g) {
  const std::vector<float> scale{g.scale};
  const std::vector<int64_t> zero_point{g.zero_point};
  return tflite::CreateQuantizationParametersDirect(fb_, nullptr, nullptr, &scale, &zero_point);
}

// Symmetric per-channel scales along `dimension`, or one scale when all channels share it
// (the importer repeats it per channel, which gives the same multipliers).
QuantOffset Exporter::channel_quant(const std::vector<float>& scales, int dimension) {
  const bool shared = std::all_of(scales.begin(), scales.end(), [&](float s) { return s == scales[0]; });
  const std::vector<float> s = shared ? std::vector<float>{scales[0]} : scales;
  const std::vector<int64_t> zero_points(s.size(), 0);
  return tflite::CreateQuantizationParametersDirect(fb_, nullptr, nullptr, &s, &zero_points,
                                                    tflite::QuantizationDetails_NONE, 0, shared ? 0 : dimension);
}

int Exporter::int32_constant(const std::vector<int32_t>& values, const std::string& name) {
  const uint32_t buffer = add_buffer(values.data(), values.size() * sizeof(int32_t));
  return add_tensor(Shape{static_cast<int64_t>(values.size())}, tflite::TensorType_INT32, buffer, name, 0);
}

// The int8 tensor of a computed value on `node`'s grid (buffer 0: no data).
int Exporter::value_tensor(int node, const Shape& shape, const std::string& name) {
  return add_tensor(shape, tflite::TensorType_INT8, 0, name, grid_quant(m_.nodes[node].output));
}

void Exporter::add_operator(tflite::BuiltinOperator code, int version, const std::vector<int32_t>& inputs,
                            const std::vector<int32_t>& outputs, tflite::BuiltinOptions options_type,
                            Offset<void> options) {
  auto it = code_index_.find(code);
  if (it == code_index_.end()) {
    // Codes above 127 no longer fit the deprecated byte, which then says "look at builtin_code".
    const int8_t deprecated = static_cast<int8_t>(std::min<int>(code, tflite::BuiltinOperator_PLACEHOLDER_FOR_GREATER_OP_CODES));
    codes_.push_back(tflite::CreateOperatorCode(fb_, deprecated, 0, version, code));
    it = code_index_.emplace(code, static_cast<uint32_t>(codes_.size() - 1)).first;
  }
  operators_.push_back(tflite::CreateOperatorDirect(fb_, it->second, &inputs, &outputs, options_type, options));
  ++out_.operators[tflite::EnumNameBuiltinOperator(code)];
}

tflite::ActivationFunctionType Exporter::fused_activation(int node) const {
  const int act = fused_into_[node];
  if (act < 0) return tflite::ActivationFunctionType_NONE;
  return static_cast<const Activation&>(*g_.node(act).layer).kind() == ActivationKind::kRelu6
             ? tflite::ActivationFunctionType_RELU6
             : tflite::ActivationFunctionType_RELU;
}

// conv2d, depthwise_conv2d, dense: int8 weights, int32 bias, fused activation.
Status Exporter::add_weighted(int i) {
  const Node& node = g_.node(i);
  const std::string type = node.layer->type();
  const NodeQuantization& q = m_.nodes[i];
  const int in = node.inputs[0];
  const int axis = weight_channel_axis(*node.layer);
  const uint32_t wbuf = add_buffer(q.weight.data(), static_cast<size_t>(q.weight.numel()));
  const int weight = add_tensor(q.weight.shape(), tflite::TensorType_INT8, wbuf, node.name + "/weights",
                                channel_quant(q.weight_scale, axis));
  // Bias scale is s_in x s_w[c] by the TFLite spec; the kernels add the raw int32 values.
  std::vector<float> bias_scales(q.weight_scale.size());
  for (size_t c = 0; c < bias_scales.size(); ++c) bias_scales[c] = m_.nodes[in].output.scale * q.weight_scale[c];
  const uint32_t bbuf = add_buffer(q.bias.data(), q.bias.size() * sizeof(int32_t));
  const int bias = add_tensor(Shape{static_cast<int64_t>(q.bias.size())}, tflite::TensorType_INT32, bbuf,
                              node.name + "/bias", channel_quant(bias_scales, 0));
  const int fused = fused_into_[i];
  const int out = value_tensor(i, node.output_shape, g_.node(fused >= 0 ? fused : i).name);
  const std::vector<int32_t> inputs{tensor_of_[in], weight, bias};
  const tflite::ActivationFunctionType act = fused_activation(i);
  if (type == "conv2d") {
    const Conv2DConfig& c = static_cast<const Conv2D&>(*node.layer).config();
    add_operator(tflite::BuiltinOperator_CONV_2D, 3, inputs, {out}, tflite::BuiltinOptions_Conv2DOptions,
                 tflite::CreateConv2DOptions(fb_, padding_of(c.padding), c.stride_w, c.stride_h, act).Union());
  } else if (type == "depthwise_conv2d") {
    const DepthwiseConv2DConfig& c = static_cast<const DepthwiseConv2D&>(*node.layer).config();
    add_operator(tflite::BuiltinOperator_DEPTHWISE_CONV_2D, 3, inputs, {out},
                 tflite::BuiltinOptions_DepthwiseConv2DOptions,
                 tflite::CreateDepthwiseConv2DOptions(fb_, padding_of(c.padding), c.stride_w, c.stride_h,
                                                      /*depth_multiplier=*/1, act)
                     .Union());
  } else {  // dense: its input is [1, N] (a flatten or a global average pool)
    add_operator(tflite::BuiltinOperator_FULLY_CONNECTED, 4, inputs, {out},
                 tflite::BuiltinOptions_FullyConnectedOptions,
                 tflite::CreateFullyConnectedOptions(fb_, act).Union());
  }
  tensor_of_[i] = out;
  if (fused >= 0) tensor_of_[fused] = out;
  return Status::Ok();
}

Status Exporter::add_node(int i) {
  const Node& node = g_.node(i);
  const std::string type = node.layer->type();
  if (tensor_of_[i] >= 0) return Status::Ok();  // a fused activation or input mapping: already written
  if (is_weighted_type(type)) return add_weighted(i);
  const int in = tensor_of_[node.inputs[0]];
  if (type == "add") {
    const int fused = fused_into_[i];
    const int out = value_tensor(i, node.output_shape, g_.node(fused >= 0 ? fused : i).name);
    add_operator(tflite::BuiltinOperator_ADD, 2, {in, tensor_of_[node.inputs[1]]}, {out},
                 tflite::BuiltinOptions_AddOptions, tflite::CreateAddOptions(fb_, fused_activation(i)).Union());
    tensor_of_[i] = out;
    if (fused >= 0) tensor_of_[fused] = out;
  } else if (type == "max_pool2d" || type == "avg_pool2d") {
    const Pool2DConfig& c = static_cast<const Pool2D&>(*node.layer).config();
    const int out = value_tensor(i, node.output_shape, node.name);
    add_operator(c.kind == PoolKind::kMax ? tflite::BuiltinOperator_MAX_POOL_2D : tflite::BuiltinOperator_AVERAGE_POOL_2D,
                 2, {in}, {out}, tflite::BuiltinOptions_Pool2DOptions,
                 tflite::CreatePool2DOptions(fb_, padding_of(c.padding), c.stride_w, c.stride_h, c.pool_w, c.pool_h)
                     .Union());
    tensor_of_[i] = out;
  } else if (type == "global_avg_pool") {
    // MEAN keeps [1, 1, 1, C]: TFLite runs its integer mean only with keep_dims on a 4-D
    // input reduced over H and W. The RESHAPE gives the node's [1, C].
    const Shape& s = node.output_shape;
    const int axes = int32_constant({1, 2}, node.name + "/axes");
    const int mean = value_tensor(i, Shape{s[0], 1, 1, s[1]}, node.name + "/mean");
    add_operator(tflite::BuiltinOperator_MEAN, 2, {in, axes}, {mean}, tflite::BuiltinOptions_ReducerOptions,
                 tflite::CreateReducerOptions(fb_, /*keep_dims=*/true).Union());
    const std::vector<int32_t> new_shape = dims_of(s);
    const int shape = int32_constant(new_shape, node.name + "/shape");
    const int out = value_tensor(i, s, node.name);
    add_operator(tflite::BuiltinOperator_RESHAPE, 1, {mean, shape}, {out}, tflite::BuiltinOptions_ReshapeOptions,
                 tflite::CreateReshapeOptionsDirect(fb_, &new_shape).Union());
    tensor_of_[i] = out;
  } else if (type == "flatten") {
    const std::vector<int32_t> new_shape = dims_of(node.output_shape);
    const int shape = int32_constant(new_shape, node.name + "/shape");
    const int out = value_tensor(i, node.output_shape, node.name);
    add_operator(tflite::BuiltinOperator_RESHAPE, 1, {in, shape}, {out}, tflite::BuiltinOptions_ReshapeOptions,
                 tflite::CreateReshapeOptionsDirect(fb_, &new_shape).Union());
    tensor_of_[i] = out;
  } else if (type == "relu" || type == "relu6") {
    // Not fused (its producer has other consumers, or is no conv/dense/add): a clamp on the
    // input's grid, which TFLite's RELU/RELU6 compute with an identity requantization.
    const int out = value_tensor(i, node.output_shape, node.name);
    add_operator(type == "relu" ? tflite::BuiltinOperator_RELU : tflite::BuiltinOperator_RELU6, 2, {in}, {out});
    tensor_of_[i] = out;
  } else {
    return unimplemented(node_what(node) + " has no TFLite operator in the exporter (it writes conv2d, "
                         "depthwise_conv2d, dense, add, max_pool2d, avg_pool2d, global_avg_pool, flatten, "
                         "relu and relu6)");
  }
  return Status::Ok();
}

Result<TfliteExport> Exporter::run() {
  if (m_.nodes.empty())
    return invalid_argument("export-tflite needs a quantized model, and this one is float-only: "
                               "run slingshot quantize first");
  Status valid = validate_quantized_model(m_);
  if (!valid.ok()) return valid.with_context("the model to export");
  if (m_.activation_bits != 8)
    return unimplemented("the model has " + std::to_string(m_.activation_bits) +
                         "-bit hidden activations; TFLite's int8 kernels clamp codes only to [-128, 127], so "
                         "only 8-bit activations export exactly");
  if (m_.rounding != RoundingMode::kDouble)
    return unimplemented("the model requantizes with single rounding; TFLite's reference kernels round twice "
                         "(SaturatingRoundingDoublingHighMul then RoundingDivideByPOT), so only double-rounding "
                         "models export exactly");
  const Shape& in_shape = g_.input_shape();
  if (in_shape.empty() || in_shape.size() > 3)
    return unimplemented("the model input has shape " + shape_to_string(in_shape) +
                         "; TFLite export takes [features] or [H, W, C] inputs");

  tensor_of_.assign(g_.num_nodes(), -1);
  fused_into_.assign(g_.num_nodes(), -1);
  for (int i = 1; i < g_.num_nodes(); ++i)
    if (is_fused_activation(g_, i)) fused_into_[g_.node(i).inputs[0]] = i;

  buffers_.push_back(tflite::CreateBuffer(fb_));  // buffer 0: the empty sentinel
  Shape input_dims{1};
  input_dims.insert(input_dims.end(), in_shape.begin(), in_shape.end());
  // An input mapping (an `affine` node on the input whose grid holds the same codes, which
  // the int8 program aliases: what the importer adds to map pixels onto [0, 1]) is no
  // operator: the file's input tensor takes the mapped grid, as in the original file.
  int input_node = 0;
  for (int i = 1; i < g_.num_nodes(); ++i)
    if (std::string(g_.node(i).layer->type()) == "affine" && g_.node(i).inputs[0] == 0) input_node = i;
  tensor_of_[0] = value_tensor(input_node, input_dims, "input");
  tensor_of_[input_node] = tensor_of_[0];
  for (int i = 1; i < g_.num_nodes(); ++i) SLING_RETURN_IF_ERROR(add_node(i));

  const std::vector<int32_t> inputs{tensor_of_[0]}, outputs{tensor_of_[g_.output_node()]};
  if (outputs[0] == inputs[0]) return unimplemented("the model output is its input; there is nothing to export");
  std::vector<Offset<tflite::SubGraph>> subgraphs{
      tflite::CreateSubGraphDirect(fb_, &tensors_, &inputs, &outputs, &operators_, "main")};
  const std::string description =
      description_.empty() ? std::string("Slingshot ") + SLING_VERSION + " (full-int8 export)" : description_;
  tflite::FinishModelBuffer(fb_, tflite::CreateModelDirect(fb_, kTfliteSchemaVersion, &codes_, &subgraphs,
                                                           description.c_str(), &buffers_));
  out_.bytes.assign(reinterpret_cast<const char*>(fb_.GetBufferPointer()), fb_.GetSize());
  out_.tensors = static_cast<int>(tensors_.size());
  return std::move(out_);
}

}  // namespace

Result<TfliteExport> export_tflite(const QuantizedModel& model, const std::string& description) {
  return Exporter(model, description).run();
}

Result<TfliteExport> save_tflite(const QuantizedModel& model, const std::string& path, const std::string& description) {
  SLING_ASSIGN_OR_RETURN(TfliteExport exported, export_tflite(model, description));
  SLING_RETURN_IF_ERROR(write_file_atomic(path, exported.bytes));
  return exported;
}

}  // namespace slingshot

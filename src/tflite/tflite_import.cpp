// The TFLite importer: maps a verified flatbuffer (tflite_verify.h) onto our graph and
// quantization (see tflite_import.h for the operator mapping).
#include "tflite/tflite_import.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "core/file_io.h"
#include "model/layers/activation.h"
#include "model/layers/affine.h"
#include "model/layers/conv2d.h"
#include "model/layers/dense.h"
#include "model/layers/depthwise_conv2d.h"
#include "model/layers/pool2d.h"
#include "model/layers/shape_ops.h"
#include "model/model_file.h"
#include "quant/input_mapping.h"
#include "tflite/tflite_schema_generated.h"
#include "tflite/tflite_verify.h"

namespace slingshot {
namespace {

using nlohmann::json;

constexpr int64_t kMaxFileBytes = int64_t{256} << 20;

std::string shape_text(const Shape& s) { return shape_to_string(s); }

// Copies little-endian scalars out of a flatbuffer byte vector (its alignment is not ours
// to rely on, and every target we build for is little-endian).
template <class T>
std::vector<T> read_scalars(const flatbuffers::Vector<uint8_t>& data) {
  std::vector<T> out(data.size() / sizeof(T));
  if (!out.empty()) std::memcpy(out.data(), data.data(), out.size() * sizeof(T));
  return out;
}

class Importer {
 public:
  Importer(const tflite::Model& model, const TfliteImportOptions& options)
      : model_(model), sg_(*model.subgraphs()->Get(0)), options_(options) {}
  Result<TfliteImport> run();

 private:
  const tflite::Tensor& tensor(int t) const { return *sg_.tensors()->Get(t); }
  std::string tname(int t) const { return tflite_tensor_name(tensor(t), t); }
  Shape shape_of(int t) const {
    Shape s;
    if (tensor(t).shape())
      for (int32_t d : *tensor(t).shape()) s.push_back(d);
    return s;
  }
  // The tensor's constant data, or null for a computed value.
  const flatbuffers::Vector<uint8_t>* constant(int t) const {
    const tflite::Buffer* b = model_.buffers()->Get(tensor(t).buffer());
    return b->data() && b->data()->size() > 0 ? b->data() : nullptr;
  }
  Graph& graph() { return qm_.graph; }

  Result<ActivationGrid> grid_of(int t) const;
  Result<int> input_tensor(const tflite::Operator& op, uint32_t i, const std::string& what) const;
  Result<int> input_node(const tflite::Operator& op, uint32_t i, const std::string& what) const;
  Result<int> add_node(int op_index, std::unique_ptr<Layer> layer, const std::vector<int>& inputs);
  Status bind_output(const tflite::Operator& op, int node, const std::string& what, int producer = -1,
                     bool kept_dims = false);
  Result<int> add_fused_activation(int op_index, int node, tflite::ActivationFunctionType f, const std::string& what);
  Status load_weights(int t, int axis, int64_t channels, int in_node, Layer& layer, NodeQuantization& q,
                      int bias_tensor, const std::string& what);

  Status map_operator(int k);
  Status map_conv(int k, const tflite::Operator& op, bool depthwise, const std::string& what);
  Status map_dense(int k, const tflite::Operator& op, const std::string& what);
  Status map_add(int k, const tflite::Operator& op, const std::string& what);
  Status map_pool(int k, const tflite::Operator& op, PoolKind kind, const std::string& what);
  Status map_reshape(int k, const tflite::Operator& op, const std::string& what);
  Status map_mean(int k, const tflite::Operator& op, const std::string& what);
  Status map_activation(int k, const tflite::Operator& op, ActivationKind kind, const std::string& what);
  Status same_grid(int from_tensor, int to_tensor, const std::string& what) const;
  Status map_input_domain(int in_t, json& card);

  const tflite::Model& model_;
  const tflite::SubGraph& sg_;
  const TfliteImportOptions options_;
  bool int8_ = false;                // full-int8 model (else float32)
  bool dequantized_weights_ = false; // a float model with int8 (dynamic-range) weights
  QuantizedModel qm_;
  std::vector<int> node_of_;         // tensor -> graph node carrying its value, or -1
  std::vector<char> skipped_;        // operators handled at the model boundary
  json nodes_card_ = json::object();
  json dropped_ = json::array();
};

Result<ActivationGrid> Importer::grid_of(int t) const {
  const tflite::QuantizationParameters* q = tensor(t).quantization();
  if (!q || !q->scale() || q->scale()->size() != 1)
    return unimplemented(tname(t) + " is INT8 without one per-tensor scale; activations must be quantized per tensor");
  ActivationGrid g;
  g.scale = q->scale()->Get(0);
  const int64_t zp = q->zero_point() && q->zero_point()->size() == 1 ? q->zero_point()->Get(0) : 0;
  if (!(g.scale > 0) || !std::isfinite(g.scale))
    return data_loss(tname(t) + " has quantization scale " + std::to_string(g.scale) + "; it must be positive");
  if (zp < -128 || zp > 127) return data_loss(tname(t) + " has zero point " + std::to_string(zp) + ", outside int8");
  g.zero_point = static_cast<int32_t>(zp);
  return g;
}

Result<int> Importer::input_tensor(const tflite::Operator& op, uint32_t i, const std::string& what) const {
  if (op.inputs()->size() <= i || op.inputs()->Get(i) < 0)
    return data_loss(what + " lacks its input " + std::to_string(i));
  return op.inputs()->Get(i);
}

Result<int> Importer::input_node(const tflite::Operator& op, uint32_t i, const std::string& what) const {
  SLING_ASSIGN_OR_RETURN(int t, input_tensor(op, i, what));
  if (node_of_[t] < 0)
    return unimplemented(what + " reads " + tname(t) + ", which is a constant or the output of a dropped "
                         "operator; only computed values are supported there");
  const tflite::TensorType want = int8_ ? tflite::TensorType_INT8 : tflite::TensorType_FLOAT32;
  if (tensor(t).type() != want)
    return unimplemented(what + " reads " + tname(t) + " of type " + tflite::EnumNameTensorType(tensor(t).type()) +
                         " in a " + (int8_ ? "full-int8" : "float32") + " model");
  return node_of_[t];
}

Result<int> Importer::add_node(int op_index, std::unique_ptr<Layer> layer, const std::vector<int>& inputs) {
  std::vector<std::string> names;
  for (int i : inputs) names.push_back(graph().node(i).name);
  const std::string name = "op" + std::to_string(op_index) + "_" + layer->type();
  SLING_ASSIGN_OR_RETURN(int node, graph().add(name, std::move(layer), names));
  if (int8_) qm_.nodes.resize(graph().num_nodes());
  return node;
}

// Records the operator's output value as `node`: checks shape, type and (int8) takes its grid.
// `producer`, if given, is the node a fused activation `node` follows: it shares the grid.
// `kept_dims`: the tensor is [N, 1, 1, C] (MEAN with keep_dims) for the node's [N, C].
Status Importer::bind_output(const tflite::Operator& op, int node, const std::string& what, int producer,
                             bool kept_dims) {
  const int t = op.outputs()->Get(0);
  if (op.outputs()->size() != 1) return unimplemented(what + " has more than one output");
  const tflite::TensorType want = int8_ ? tflite::TensorType_INT8 : tflite::TensorType_FLOAT32;
  if (tensor(t).type() != want)
    return unimplemented(what + " writes " + tname(t) + " of type " + tflite::EnumNameTensorType(tensor(t).type()) +
                         " in a " + (int8_ ? "full-int8" : "float32") + " model");
  Shape expected = graph().node(node).output_shape;
  if (kept_dims) expected = {expected[0], 1, 1, expected[1]};
  if (expected != shape_of(t))
    return data_loss(what + " output " + tname(t) + " has shape " + shape_text(shape_of(t)) +
                     ", but its inputs and options give " + shape_text(expected));
  if (int8_) {
    SLING_ASSIGN_OR_RETURN(qm_.nodes[node].output, grid_of(t));
    if (producer >= 0) qm_.nodes[producer].output = qm_.nodes[node].output;
  }
  node_of_[t] = node;
  nodes_card_[graph().node(node).name] = {{"tensor", tensor(t).name() ? tensor(t).name()->str() : ""}};
  return Status::Ok();
}

Result<int> Importer::add_fused_activation(int k, int node, tflite::ActivationFunctionType f,
                                           const std::string& what) {
  switch (f) {
    case tflite::ActivationFunctionType_NONE: return node;
    case tflite::ActivationFunctionType_RELU: return add_node(k, std::make_unique<Activation>(ActivationKind::kRelu), {node});
    case tflite::ActivationFunctionType_RELU6:
      return add_node(k, std::make_unique<Activation>(ActivationKind::kRelu6), {node});
    default: {
      const char* n = tflite::EnumNameActivationFunctionType(f);
      return unimplemented(what + " has fused activation " + (*n ? n : std::to_string(static_cast<int>(f))) +
                           ", which is not supported (only NONE, RELU and RELU6)");
    }
  }
}

// Fills a weighted layer's float weight and bias and, for int8 models, its codes,
// per-channel scales and int32 bias. `axis` is the output-channel axis of the weight.
Status Importer::load_weights(int t, int axis, int64_t channels, int in_node, Layer& layer, NodeQuantization& q,
                              int bias_t, const std::string& what) {
  const flatbuffers::Vector<uint8_t>* data = constant(t);
  if (!data) return unimplemented(what + " has a computed weight " + tname(t) + "; weights must be constants");
  Tensor& w = layer.find_param("weight")->value;
  if (shape_of(t) != w.shape())
    return data_loss(what + " weight " + tname(t) + " has shape " + shape_text(shape_of(t)) + ", expected " +
                     shape_text(w.shape()));
  const Shape& ws = w.shape();
  int64_t inner = 1;  // elements after the channel axis
  for (size_t d = axis + 1; d < ws.size(); ++d) inner *= ws[d];
  auto channel_of = [&](int64_t e) { return (e / inner) % channels; };

  const tflite::Tensor& wt = tensor(t);
  std::vector<float> scales;
  if (wt.type() == tflite::TensorType_INT8) {
    const tflite::QuantizationParameters* qp = wt.quantization();
    const uint32_t n = qp && qp->scale() ? qp->scale()->size() : 0;
    if (n != 1 && n != channels)
      return unimplemented(what + " weight " + tname(t) + " has " + std::to_string(n) + " scales; expected 1 or " +
                           std::to_string(channels) + " (one per output channel)");
    if (n > 1 && qp->quantized_dimension() != axis)
      return unimplemented(what + " weight " + tname(t) + " is quantized along dimension " +
                           std::to_string(qp->quantized_dimension()) + ", not its output-channel dimension " +
                           std::to_string(axis));
    if (qp->zero_point())
      for (int64_t zp : *qp->zero_point())
        if (zp != 0)
          return unimplemented(what + " weight " + tname(t) + " has zero point " + std::to_string(zp) +
                               "; int8 weights must be symmetric (zero point 0)");
    for (int64_t c = 0; c < channels; ++c) {
      const float s = qp->scale()->Get(n == 1 ? 0 : static_cast<uint32_t>(c));
      if (!(s > 0) || !std::isfinite(s))
        return data_loss(what + " weight " + tname(t) + " has scale " + std::to_string(s) + "; it must be positive");
      scales.push_back(s);
    }
    TensorT<int8_t> codes(ws);
    std::memcpy(codes.data(), data->data(), codes.numel());
    for (int64_t e = 0; e < w.numel(); ++e) w[e] = static_cast<float>(codes[e]) * scales[channel_of(e)];
    if (int8_) {
      q.weight = std::move(codes);
      q.weight_scale = scales;
    } else {
      dequantized_weights_ = true;  // dynamic-range quantization: float activations
    }
  } else if (wt.type() == tflite::TensorType_FLOAT32 && !int8_) {
    const std::vector<float> v = read_scalars<float>(*data);
    std::copy(v.begin(), v.end(), w.data());
  } else {
    return unimplemented(what + " weight " + tname(t) + " has type " + tflite::EnumNameTensorType(wt.type()) +
                         " in a " + (int8_ ? "full-int8" : "float32") + " model");
  }

  if (int8_) q.bias.assign(channels, 0);
  if (bias_t < 0) return Status::Ok();
  const flatbuffers::Vector<uint8_t>* bdata = constant(bias_t);
  if (!bdata) return unimplemented(what + " has a computed bias " + tname(bias_t) + "; biases must be constants");
  Shape expected{channels};
  if (shape_of(bias_t) != expected)
    return data_loss(what + " bias " + tname(bias_t) + " has shape " + shape_text(shape_of(bias_t)) + ", expected " +
                     shape_text(expected));
  Tensor& b = layer.find_param("bias")->value;
  if (int8_) {
    if (tensor(bias_t).type() != tflite::TensorType_INT32)
      return unimplemented(what + " bias " + tname(bias_t) + " has type " +
                           tflite::EnumNameTensorType(tensor(bias_t).type()) + "; int8 models need INT32 biases");
    // TFLite's int8 kernels add the raw int32 bias; its scale is s_in x s_w by the spec.
    q.bias = read_scalars<int32_t>(*bdata);
    const double s_in = qm_.nodes[in_node].output.scale;
    for (int64_t c = 0; c < channels; ++c)
      b[c] = static_cast<float>(static_cast<double>(q.bias[c]) * s_in * scales[c]);
  } else {
    if (tensor(bias_t).type() != tflite::TensorType_FLOAT32)
      return unimplemented(what + " bias " + tname(bias_t) + " has type " +
                           tflite::EnumNameTensorType(tensor(bias_t).type()) + "; float models need FLOAT32 biases");
    const std::vector<float> v = read_scalars<float>(*bdata);
    std::copy(v.begin(), v.end(), b.data());
  }
  return Status::Ok();
}

Status Importer::map_conv(int k, const tflite::Operator& op, bool depthwise, const std::string& what) {
  SLING_ASSIGN_OR_RETURN(int in, input_node(op, 0, what));
  SLING_ASSIGN_OR_RETURN(int wt, input_tensor(op, 1, what));
  const int bt = op.inputs()->size() > 2 ? op.inputs()->Get(2) : -1;
  const Shape& xs = graph().node(in).output_shape;
  const Shape ws = shape_of(wt);
  if (xs.size() != 4) return unimplemented(what + " input has shape " + shape_text(xs) + "; expected [1, H, W, C]");
  if (ws.size() != 4) return data_loss(what + " weight " + tname(wt) + " has shape " + shape_text(ws) + "; expected rank 4");
  int stride_h, stride_w, dil_h, dil_w;
  tflite::Padding padding;
  tflite::ActivationFunctionType act;
  if (depthwise) {
    const tflite::DepthwiseConv2DOptions* o = op.builtin_options_as_DepthwiseConv2DOptions();
    if (!o) return data_loss(what + " has no DepthwiseConv2DOptions");
    stride_h = o->stride_h(), stride_w = o->stride_w(), dil_h = o->dilation_h_factor(), dil_w = o->dilation_w_factor();
    padding = o->padding(), act = o->fused_activation_function();
    if (ws[0] != 1 || ws[3] != xs[3])
      return unimplemented(what + " has weight shape " + shape_text(ws) + " for " + std::to_string(xs[3]) +
                           " input channels; only depth multiplier 1 is supported");
  } else {
    const tflite::Conv2DOptions* o = op.builtin_options_as_Conv2DOptions();
    if (!o) return data_loss(what + " has no Conv2DOptions");
    stride_h = o->stride_h(), stride_w = o->stride_w(), dil_h = o->dilation_h_factor(), dil_w = o->dilation_w_factor();
    padding = o->padding(), act = o->fused_activation_function();
    if (ws[3] != xs[3])
      return unimplemented(what + " has " + std::to_string(ws[3]) + " filter input channels for " +
                           std::to_string(xs[3]) + " input channels; grouped convolution is not supported");
  }
  if (stride_h < 1 || stride_w < 1 || stride_h > 64 || stride_w > 64 || ws[1] > 64 || ws[2] > 64)
    return data_loss(what + " has stride " + std::to_string(stride_h) + "x" + std::to_string(stride_w) + " or kernel " +
                     std::to_string(ws[1]) + "x" + std::to_string(ws[2]) + " outside [1, 64]");
  if (dil_h != 1 || dil_w != 1)
    return unimplemented(what + " has dilation " + std::to_string(dil_h) + "x" + std::to_string(dil_w) +
                         "; only 1x1 is supported");
  if (padding != tflite::Padding_SAME && padding != tflite::Padding_VALID)
    return data_loss(what + " has unknown padding " + std::to_string(static_cast<int>(padding)));
  const Padding pad = padding == tflite::Padding_SAME ? Padding::kSame : Padding::kValid;
  std::unique_ptr<Layer> layer;
  int64_t channels;
  if (depthwise) {
    DepthwiseConv2DConfig c;
    c.channels = static_cast<int>(ws[3]);
    c.kernel_h = static_cast<int>(ws[1]), c.kernel_w = static_cast<int>(ws[2]);
    c.stride_h = stride_h, c.stride_w = stride_w, c.padding = pad, c.use_bias = bt >= 0;
    layer = std::make_unique<DepthwiseConv2D>(c);
    channels = c.channels;
  } else {
    Conv2DConfig c;
    c.in_channels = static_cast<int>(ws[3]);
    c.filters = static_cast<int>(ws[0]);
    c.kernel_h = static_cast<int>(ws[1]), c.kernel_w = static_cast<int>(ws[2]);
    c.stride_h = stride_h, c.stride_w = stride_w, c.padding = pad, c.use_bias = bt >= 0;
    layer = std::make_unique<Conv2D>(c);
    channels = c.filters;
  }
  NodeQuantization q;
  SLING_RETURN_IF_ERROR(load_weights(wt, depthwise ? 3 : 0, channels, in, *layer, q, bt, what));
  SLING_ASSIGN_OR_RETURN(int node, add_node(k, std::move(layer), {in}));
  if (int8_) qm_.nodes[node] = std::move(q);
  SLING_ASSIGN_OR_RETURN(int out, add_fused_activation(k, node, act, what));
  return bind_output(op, out, what, node);
}

Status Importer::map_dense(int k, const tflite::Operator& op, const std::string& what) {
  SLING_ASSIGN_OR_RETURN(int in, input_node(op, 0, what));
  SLING_ASSIGN_OR_RETURN(int wt, input_tensor(op, 1, what));
  const int bt = op.inputs()->size() > 2 ? op.inputs()->Get(2) : -1;
  const tflite::FullyConnectedOptions* o = op.builtin_options_as_FullyConnectedOptions();
  const tflite::ActivationFunctionType act = o ? o->fused_activation_function() : tflite::ActivationFunctionType_NONE;
  if (o && o->weights_format() != tflite::FullyConnectedOptionsWeightsFormat_DEFAULT)
    return unimplemented(what + " uses a shuffled weights format; only DEFAULT is supported");
  const Shape ws = shape_of(wt);
  if (ws.size() != 2) return data_loss(what + " weight " + tname(wt) + " has shape " + shape_text(ws) + "; expected [units, inputs]");
  // TFLite flattens any input to [batch, inputs]; so does a flatten node.
  const Shape& xs = graph().node(in).output_shape;
  if (shape_numel(xs) != ws[1])
    return data_loss(what + " input has shape " + shape_text(xs) + " but its weight " + shape_text(ws) + " expects " +
                     std::to_string(ws[1]) + " features");
  if (xs.size() != 2) {
    SLING_ASSIGN_OR_RETURN(in, add_node(k, std::make_unique<Flatten>(), {in}));
    if (int8_) qm_.nodes[in].output = qm_.nodes[graph().node(in).inputs[0]].output;
  }
  DenseConfig c;
  c.in_features = static_cast<int>(ws[1]);
  c.units = static_cast<int>(ws[0]);
  c.use_bias = bt >= 0;
  auto layer = std::make_unique<Dense>(c);
  NodeQuantization q;
  SLING_RETURN_IF_ERROR(load_weights(wt, 0, c.units, in, *layer, q, bt, what));
  SLING_ASSIGN_OR_RETURN(int node, add_node(k, std::move(layer), {in}));
  if (int8_) qm_.nodes[node] = std::move(q);
  SLING_ASSIGN_OR_RETURN(int out, add_fused_activation(k, node, act, what));
  return bind_output(op, out, what, node);
}

Status Importer::map_add(int k, const tflite::Operator& op, const std::string& what) {
  SLING_ASSIGN_OR_RETURN(int a, input_node(op, 0, what));
  SLING_ASSIGN_OR_RETURN(int b, input_node(op, 1, what));
  if (graph().node(a).output_shape != graph().node(b).output_shape)
    return unimplemented(what + " adds shapes " + shape_text(graph().node(a).output_shape) + " and " +
                         shape_text(graph().node(b).output_shape) + "; broadcasting is not supported");
  const tflite::AddOptions* o = op.builtin_options_as_AddOptions();
  const tflite::ActivationFunctionType act = o ? o->fused_activation_function() : tflite::ActivationFunctionType_NONE;
  SLING_ASSIGN_OR_RETURN(int node, add_node(k, std::make_unique<Add>(), {a, b}));
  SLING_ASSIGN_OR_RETURN(int out, add_fused_activation(k, node, act, what));
  return bind_output(op, out, what, node);
}

// Pooling, reshape and standalone activations move no value across grids in TFLite's
// int8 kernels, so input and output must share one.
Status Importer::same_grid(int from, int to, const std::string& what) const {
  if (!int8_) return Status::Ok();
  SLING_ASSIGN_OR_RETURN(ActivationGrid a, grid_of(from));
  SLING_ASSIGN_OR_RETURN(ActivationGrid b, grid_of(to));
  if (!(a == b))
    return unimplemented(what + " changes the quantization from scale " + std::to_string(a.scale) + ", zero point " +
                         std::to_string(a.zero_point) + " to scale " + std::to_string(b.scale) + ", zero point " +
                         std::to_string(b.zero_point) + "; it must keep its input's grid");
  return Status::Ok();
}

Status Importer::map_pool(int k, const tflite::Operator& op, PoolKind kind, const std::string& what) {
  SLING_ASSIGN_OR_RETURN(int in, input_node(op, 0, what));
  const tflite::Pool2DOptions* o = op.builtin_options_as_Pool2DOptions();
  if (!o) return data_loss(what + " has no Pool2DOptions");
  if (graph().node(in).output_shape.size() != 4)
    return unimplemented(what + " input has shape " + shape_text(graph().node(in).output_shape) + "; expected [1, H, W, C]");
  const int vals[4] = {o->filter_height(), o->filter_width(), o->stride_h(), o->stride_w()};
  for (int v : vals)
    if (v < 1 || v > 1024) return data_loss(what + " has a window or stride of " + std::to_string(v) + ", outside [1, 1024]");
  if (o->padding() != tflite::Padding_SAME && o->padding() != tflite::Padding_VALID)
    return data_loss(what + " has unknown padding " + std::to_string(static_cast<int>(o->padding())));
  SLING_RETURN_IF_ERROR(same_grid(op.inputs()->Get(0), op.outputs()->Get(0), what));
  Pool2DConfig c;
  c.kind = kind;
  c.pool_h = vals[0], c.pool_w = vals[1], c.stride_h = vals[2], c.stride_w = vals[3];
  c.padding = o->padding() == tflite::Padding_SAME ? Padding::kSame : Padding::kValid;
  SLING_ASSIGN_OR_RETURN(int node, add_node(k, std::make_unique<Pool2D>(c), {in}));
  // A clamp after the pool on the same grid equals TFLite's clamp inside it.
  SLING_ASSIGN_OR_RETURN(int out, add_fused_activation(k, node, o->fused_activation_function(), what));
  return bind_output(op, out, what, node);
}

Status Importer::map_reshape(int k, const tflite::Operator& op, const std::string& what) {
  SLING_ASSIGN_OR_RETURN(int in, input_node(op, 0, what));
  const int out_t = op.outputs()->Get(0);
  const Shape& xs = graph().node(in).output_shape;
  const Shape os = shape_of(out_t);
  if (shape_numel(os) != shape_numel(xs))
    return data_loss(what + " reshapes " + shape_text(xs) + " (" + std::to_string(shape_numel(xs)) + " elements) to " +
                     shape_text(os));
  SLING_RETURN_IF_ERROR(same_grid(op.inputs()->Get(0), out_t, what));
  if (os == xs) return bind_output(op, in, what);
  if (os.size() != 2 || os[0] != 1)
    return unimplemented(what + " reshapes " + shape_text(xs) + " to " + shape_text(os) +
                         "; only flattening to [1, N] is supported");
  SLING_ASSIGN_OR_RETURN(int node, add_node(k, std::make_unique<Flatten>(), {in}));
  return bind_output(op, node, what);
}

// MEAN over H and W of [1, H, W, C] with keep_dims is TFLite's integer mean (rescale by
// s_in/s_out, divide by H x W rounding half away from zero): our global average pool.
// Other reductions run other TFLite code paths and are refused.
Status Importer::map_mean(int k, const tflite::Operator& op, const std::string& what) {
  SLING_ASSIGN_OR_RETURN(int in, input_node(op, 0, what));
  SLING_ASSIGN_OR_RETURN(int axis_t, input_tensor(op, 1, what));
  const Shape& xs = graph().node(in).output_shape;
  const tflite::ReducerOptions* o = op.builtin_options_as_ReducerOptions();
  std::vector<int32_t> axes;
  if (constant(axis_t) && tensor(axis_t).type() == tflite::TensorType_INT32) axes = read_scalars<int32_t>(*constant(axis_t));
  for (int32_t& a : axes)
    if (a < 0) a += 4;
  std::sort(axes.begin(), axes.end());
  if (xs.size() != 4 || !o || !o->keep_dims() || axes != std::vector<int32_t>{1, 2})
    return unimplemented(what + " is supported only as a global average pool: axes [1, 2] of a [1, H, W, C] "
                         "input, with keep_dims");
  SLING_ASSIGN_OR_RETURN(int node, add_node(k, std::make_unique<GlobalAvgPool>(), {in}));
  return bind_output(op, node, what, -1, /*kept_dims=*/true);
}

Status Importer::map_activation(int k, const tflite::Operator& op, ActivationKind kind, const std::string& what) {
  SLING_ASSIGN_OR_RETURN(int in, input_node(op, 0, what));
  SLING_RETURN_IF_ERROR(same_grid(op.inputs()->Get(0), op.outputs()->Get(0), what));
  SLING_ASSIGN_OR_RETURN(int node, add_node(k, std::make_unique<Activation>(kind), {in}));
  return bind_output(op, node, what);
}

// Makes an image model take our pixels in [0, 1] (see tflite_import.h): an affine node
// after the input maps pixel x to the file's real value, and for int8 files the input
// grid becomes ours (1/255, -128), so pixel k/255 and the file's value of code k - 128
// quantize to the same code k - 128. Records what it did in `card`.
Status Importer::map_input_domain(int in_t, json& card) {
  const Shape shape = graph().input_shape();
  const bool image = shape.size() == 3 && (shape[2] == 1 || shape[2] == 3) && shape != Shape{49, 10, 1};
  auto range_text = [](double lo, double hi) {
    char text[64];
    std::snprintf(text, sizeof text, "%g:%g", lo, hi);
    return std::string(text);
  };
  if (!options_.map_input) {
    card = {{"kind", "none"}, {"reason", "not asked for: the model takes the file's own input values"}};
    return Status::Ok();
  }
  if (!image) {
    if (options_.has_input_range)
      return invalid_argument("an input range maps image pixels, but the model input " + tname(in_t) + " is " +
                              shape_text(shape) + ", not an image");
    card = {{"kind", "none"},
            {"reason", shape == Shape{49, 10, 1} ? "49x10x1 MFCC features keep the file's domain"
                                                 : "not an image: the input keeps the file's domain"}};
    return Status::Ok();
  }
  double lo = options_.input_lo, hi = options_.input_hi;
  const ActivationGrid pixels = image_input_grid();
  if (int8_) {
    // Pixel k is code k - 128, so the file's grid fixes the range.
    const ActivationGrid file = qm_.nodes[0].output;
    const double s = file.scale;
    const double file_lo = s * (file.qmin - file.zero_point), file_hi = s * (file.qmax - file.zero_point);
    const double tolerance = 1e-4 * (file_hi - file_lo);
    if (options_.has_input_range && (std::fabs(lo - file_lo) > tolerance || std::fabs(hi - file_hi) > tolerance))
      return invalid_argument("input range " + range_text(lo, hi) + " does not fit the input grid of " + tname(in_t) +
                              " (scale " + std::to_string(file.scale) + ", zero point " + std::to_string(file.zero_point) +
                              "): pixels 0..255 are its codes -128..127, whose values are " +
                              range_text(file_lo, file_hi) + "; a range that needs a fractional code shift has no "
                              "exact integer mapping");
    lo = file_lo, hi = file_hi;
    card = {{"kind", "pixels"},
            {"pixel_range", {lo, hi}},
            {"codes", "pixel k (our value k/255) is input code k - 128, as the file's"},
            {"file_input_grid", {{"scale", file.scale}, {"zero_point", file.zero_point}}}};
    if (file == pixels) {  // the file already takes [0, 1] pixels
      card["node"] = nullptr;
      return Status::Ok();
    }
    if (!affine_keeps_codes(pixels, file, hi - lo, lo))
      return unimplemented("the input grid of " + tname(in_t) + " (scale " + std::to_string(file.scale) +
                           ", zero point " + std::to_string(file.zero_point) +
                           ") cannot be reached exactly from pixels in [0, 1]; import it without the input mapping");
    qm_.nodes[0].output = pixels;
    qm_.nodes.resize(2);
    qm_.nodes[1].output = file;
  } else {
    card = {{"kind", "pixels"}, {"pixel_range", {lo, hi}}};
    if (!options_.has_input_range)
      card["assumed"] = "a float file's training range is not recorded in it: [0, 1] is assumed (import-tflite "
                        "--input-range LO:HI says otherwise)";
    if (lo == 0.0 && hi == 1.0) {
      card["node"] = nullptr;
      return Status::Ok();
    }
  }
  const AffineConfig map{(hi - lo), lo};
  SLING_ASSIGN_OR_RETURN(int node, graph().add("input_map", std::make_unique<Affine>(map), {"input"}));
  node_of_[in_t] = node;
  card["node"] = {{"name", "input_map"}, {"scale", map.scale}, {"offset", map.offset}};
  return Status::Ok();
}

Status Importer::map_operator(int k) {
  const tflite::Operator& op = *sg_.operators()->Get(k);
  const int32_t code = tflite_builtin_code(model_, op.opcode_index());
  std::string what = "operator " + std::to_string(k) + " (" + tflite_operator_name(code) + ")";
  if (code == tflite::BuiltinOperator_CUSTOM) {
    const tflite::OperatorCode* c = model_.operator_codes()->Get(op.opcode_index());
    return unimplemented("operator " + std::to_string(k) + " is the custom operator '" +
                         (c->custom_code() ? c->custom_code()->str() : "") + "', which is not supported");
  }
  const size_t nodes_before = graph().num_nodes();
  Status s = Status::Ok();
  switch (code) {
    case tflite::BuiltinOperator_CONV_2D: s = map_conv(k, op, false, what); break;
    case tflite::BuiltinOperator_DEPTHWISE_CONV_2D: s = map_conv(k, op, true, what); break;
    case tflite::BuiltinOperator_FULLY_CONNECTED: s = map_dense(k, op, what); break;
    case tflite::BuiltinOperator_ADD: s = map_add(k, op, what); break;
    case tflite::BuiltinOperator_AVERAGE_POOL_2D: s = map_pool(k, op, PoolKind::kAverage, what); break;
    case tflite::BuiltinOperator_MAX_POOL_2D: s = map_pool(k, op, PoolKind::kMax, what); break;
    case tflite::BuiltinOperator_RESHAPE: s = map_reshape(k, op, what); break;
    case tflite::BuiltinOperator_MEAN: s = map_mean(k, op, what); break;
    case tflite::BuiltinOperator_RELU: s = map_activation(k, op, ActivationKind::kRelu, what); break;
    case tflite::BuiltinOperator_RELU6: s = map_activation(k, op, ActivationKind::kRelu6, what); break;
    case tflite::BuiltinOperator_SOFTMAX:
      return unimplemented(what + " is supported only as the model's last operator (it is dropped: models end at logits)");
    case tflite::BuiltinOperator_QUANTIZE:
      return unimplemented(what + " is supported only at the model input (float to int8)");
    case tflite::BuiltinOperator_DEQUANTIZE:
      return unimplemented(what + " is supported only at the model output (int8 to float)");
    default: return unimplemented(what + " is not supported");
  }
  SLING_RETURN_IF_ERROR(s);
  for (int n = static_cast<int>(nodes_before); n < graph().num_nodes(); ++n) {
    json& entry = nodes_card_[graph().node(n).name];
    entry["operator"] = tflite_operator_name(code);
    entry["index"] = k;
  }
  return Status::Ok();
}

Result<TfliteImport> Importer::run() {
  const int tensors = static_cast<int>(sg_.tensors()->size());
  const int ops = static_cast<int>(sg_.operators()->size());
  if (sg_.inputs()->size() != 1 || sg_.outputs()->size() != 1)
    return unimplemented("the model has " + std::to_string(sg_.inputs()->size()) + " inputs and " +
                         std::to_string(sg_.outputs()->size()) + " outputs; only one of each is supported");
  node_of_.assign(tensors, -1);
  skipped_.assign(ops, 0);
  std::vector<int> producer(tensors, -1), consumers(tensors, 0);
  for (int k = 0; k < ops; ++k) {
    const tflite::Operator& op = *sg_.operators()->Get(k);
    for (int32_t t : *op.outputs()) producer[t] = k;
    for (int32_t t : *op.inputs())
      if (t >= 0) ++consumers[t];
  }
  auto code_of = [&](int k) { return tflite_builtin_code(model_, sg_.operators()->Get(k)->opcode_index()); };

  // The input boundary: a float input that one QUANTIZE turns into int8 makes the
  // quantized tensor our input (engines quantize float inputs themselves).
  int in_t = sg_.inputs()->Get(0);
  json card_io = json::object();
  if (tensor(in_t).type() == tflite::TensorType_FLOAT32 && consumers[in_t] == 1) {
    for (int k = 0; k < ops; ++k) {
      const tflite::Operator& op = *sg_.operators()->Get(k);
      if (code_of(k) == tflite::BuiltinOperator_QUANTIZE && op.inputs()->size() == 1 && op.inputs()->Get(0) == in_t &&
          op.outputs()->size() == 1 && tensor(op.outputs()->Get(0)).type() == tflite::TensorType_INT8) {
        skipped_[k] = 1;
        in_t = op.outputs()->Get(0);
        dropped_.push_back({{"operator", "QUANTIZE"}, {"index", k}});
      }
    }
  }
  // The output boundary: a final SOFTMAX is dropped (our models end at logits), and a
  // final DEQUANTIZE is what engines do to their output codes anyway.
  int out_t = sg_.outputs()->Get(0);
  while (producer[out_t] >= 0 && !skipped_[producer[out_t]]) {
    const int k = producer[out_t];
    const int32_t code = code_of(k);
    const tflite::Operator& op = *sg_.operators()->Get(k);
    if (code != tflite::BuiltinOperator_SOFTMAX && code != tflite::BuiltinOperator_DEQUANTIZE) break;
    if (op.inputs()->size() < 1 || op.inputs()->Get(0) < 0) break;
    skipped_[k] = 1;
    out_t = op.inputs()->Get(0);
    dropped_.push_back({{"operator", tflite_operator_name(code)}, {"index", k}});
  }

  const tflite::TensorType in_type = tensor(in_t).type();
  if (in_type != tflite::TensorType_INT8 && in_type != tflite::TensorType_FLOAT32)
    return unimplemented("the model input " + tname(in_t) + " is " + tflite::EnumNameTensorType(in_type) +
                         "; only full-int8 and float32 models are supported");
  int8_ = in_type == tflite::TensorType_INT8;
  const Shape in_shape = shape_of(in_t);
  if (in_shape.size() < 2 || in_shape.size() > 4 || in_shape[0] != 1)
    return unimplemented("the model input " + tname(in_t) + " has shape " + shape_text(in_shape) +
                         "; expected [1, features] or [1, H, W, C]");
  qm_.graph = Graph(Shape(in_shape.begin() + 1, in_shape.end()));
  node_of_[in_t] = 0;
  if (int8_) {
    qm_.nodes.resize(1);
    SLING_ASSIGN_OR_RETURN(qm_.nodes[0].output, grid_of(in_t));
  }
  json input_mapping;
  SLING_RETURN_IF_ERROR(map_input_domain(in_t, input_mapping));
  for (int k = 0; k < ops; ++k)
    if (!skipped_[k]) SLING_RETURN_IF_ERROR(map_operator(k));
  if (node_of_[out_t] <= 0) return unimplemented("the model output " + tname(out_t) + " is not computed by any operator");
  SLING_RETURN_IF_ERROR(graph().set_output(graph().node(node_of_[out_t]).name));

  if (int8_) {
    qm_.weights = WeightScheme::kInt8;
    qm_.activation_bits = 8;
    qm_.rounding = RoundingMode::kDouble;  // TFLite Micro's reference kernels
    qm_.float_weights_from_codes = true;
    qm_.calibration = {{"method", "tflite"}};
    Status s = validate_quantized_model(qm_);
    if (!s.ok()) return s.with_context("the imported int8 model");
  }
  TfliteImport out;
  json tfl = {{"kind", int8_ ? "int8" : "float32"},
              {"input", tensor(in_t).name() ? tensor(in_t).name()->str() : ""},
              {"output", tensor(out_t).name() ? tensor(out_t).name()->str() : ""},
              {"dropped", dropped_},
              {"input_mapping", input_mapping},
              {"nodes", nodes_card_}};
  if (model_.description()) tfl["description"] = model_.description()->str();
  if (dequantized_weights_) tfl["dequantized_int8_weights"] = true;
  out.card = {{"source", "tflite"}, {"tflite", tfl}};
  out.model = std::move(qm_);
  return out;
}

}  // namespace

bool is_tflite_model(std::string_view bytes) { return has_tflite_identifier(bytes); }

Result<TfliteImport> import_tflite(std::string_view bytes, const TfliteImportOptions& options) {
  // flatbuffers reads scalars in place, so the bytes go to 8-byte-aligned storage first.
  std::vector<uint64_t> aligned((bytes.size() + 7) / 8);
  if (!bytes.empty()) std::memcpy(aligned.data(), bytes.data(), bytes.size());
  SLING_ASSIGN_OR_RETURN(const tflite::Model* model,
                         verify_tflite({reinterpret_cast<const char*>(aligned.data()), bytes.size()}));
  return Importer(*model, options).run();
}

Result<TfliteImport> load_tflite(const std::string& path, const TfliteImportOptions& options) {
  SLING_ASSIGN_OR_RETURN(std::string bytes, read_file(path, kMaxFileBytes));
  return import_tflite(bytes, options);
}

Status parse_tflite_input_range(const std::string& text, TfliteImportOptions& options) {
  const size_t colon = text.find(':');
  char* end_lo = nullptr;
  char* end_hi = nullptr;
  const std::string lo_text = text.substr(0, colon), hi_text = colon == std::string::npos ? "" : text.substr(colon + 1);
  const double lo = std::strtod(lo_text.c_str(), &end_lo), hi = std::strtod(hi_text.c_str(), &end_hi);
  if (colon == std::string::npos || lo_text.empty() || hi_text.empty() || *end_lo != '\0' || *end_hi != '\0' ||
      !std::isfinite(lo) || !std::isfinite(hi) || !(hi > lo) || std::fabs(lo) > 1e6 || std::fabs(hi) > 1e6)
    return invalid_argument("input range '" + text + "' must be LO:HI with LO < HI, e.g. 0:255 or -1:1");
  options.has_input_range = true;
  options.input_lo = static_cast<float>(lo);
  options.input_hi = static_cast<float>(hi);
  return Status::Ok();
}

Status save_tflite_import(const TfliteImport& imported, const std::string& path) {
  if (imported.model.nodes.empty()) return save_model(imported.model.graph, path, imported.card);
  return save_quantized_model(imported.model, path, imported.card);
}

}  // namespace slingshot

// Quantized model: validation, model-file conversion (format version 2) and footprint.
#include "quant/quantized_model.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

#include "model/layer_registry.h"
#include "model/layers/activation.h"
#include "model/layers/affine.h"
#include "model/layers/conv2d.h"
#include "model/layers/dense.h"
#include "model/layers/depthwise_conv2d.h"
#include "quant/input_mapping.h"
#include "quant/weight_quantizers.h"

namespace slingshot {
namespace {

using nlohmann::json;

std::string quoted(const std::string& s) { return "'" + s + "'"; }

std::string fmt_real(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

bool is_pass_through_type(std::string_view t) {
  return t == "max_pool2d" || t == "avg_pool2d" || t == "flatten";
}

// A requantization scale must have a fixed-point form with shift at most 30. The exponent
// is computed as quantize_multiplier() does, mantissa rounding included. Scales below
// 2^-32 are valid: like TFLite's QuantizeMultiplier, they become multiplier 0 (the channel
// outputs its zero point); real TFLite files contain them (MLPerf Tiny's VWW has one).
Status check_requant_scale(double real, const std::string& what) {
  if (!std::isfinite(real) || real <= 0)
    return invalid_argument(what + ": requantization scale " + fmt_real(real) + " is not a positive finite number");
  int exponent = 0;
  const double mantissa = std::frexp(real, &exponent);
  if (std::llround(mantissa * static_cast<double>(int64_t{1} << 31)) == (int64_t{1} << 31)) ++exponent;
  if (exponent > 30)
    return invalid_argument(what + ": requantization scale " + fmt_real(real) + " needs shift " +
                            std::to_string(exponent) + ", outside [-31, 30]");
  return Status::Ok();
}

Status check_grid(const ActivationGrid& g, const std::string& what) {
  if (!std::isfinite(g.scale) || g.scale <= 0)
    return invalid_argument(what + " has scale " + fmt_real(g.scale) + "; a scale must be positive and finite");
  if (g.zero_point < g.qmin || g.zero_point > g.qmax)
    return invalid_argument(what + " has zero point " + std::to_string(g.zero_point) + ", outside [" +
                            std::to_string(g.qmin) + ", " + std::to_string(g.qmax) + "]");
  return Status::Ok();
}

// Bits of a node's own grid: input and model output stay 8-bit, hidden nodes follow
// activation_bits, pass-through nodes inherit their input's range.
int own_grid_bits(const QuantizedModel& m, int node) {
  if (node == 0 || node == m.graph.output_node()) return 8;
  return m.activation_bits;
}

Status validate_weighted(const QuantizedModel& m, int i) {
  const Node& node = m.graph.node(i);
  const NodeQuantization& q = m.nodes[i];
  const std::string what = "node " + quoted(node.name) + " (" + node.layer->type() + ")";
  const Param* w = node.layer->find_param("weight");
  const int64_t channels = weighted_out_channels(*node.layer);
  if (static_cast<int64_t>(q.weight_scale.size()) != channels)
    return invalid_argument(what + " has " + std::to_string(q.weight_scale.size()) +
                            " per-channel weight scales but " + std::to_string(channels) + " output channels");
  if (static_cast<int64_t>(q.bias.size()) != channels)
    return invalid_argument(what + " has " + std::to_string(q.bias.size()) + " int32 biases but " +
                            std::to_string(channels) + " output channels");
  if (q.weight.shape() != w->value.shape())
    return invalid_argument(what + " quantized weight has shape " + shape_to_string(q.weight.shape()) +
                            " but the layer's weight is " + shape_to_string(w->value.shape()));
  const int32_t lim = weight_qmax(m.weights);
  for (int64_t k = 0; k < q.weight.numel(); ++k) {
    const int32_t v = q.weight[k];
    if (v < -lim || v > lim || (m.weights == WeightScheme::kBinary && v == 0))
      return invalid_argument(what + " weight value " + std::to_string(v) + " at index " + std::to_string(k) +
                              " is outside the " + weight_scheme_name(m.weights) + " range");
  }
  const double s_in = m.nodes[node.inputs[0]].output.scale;
  const double s_out = q.output.scale;
  for (int64_t c = 0; c < channels; ++c) {
    const float s = q.weight_scale[c];
    if (!std::isfinite(s) || s <= 0)
      return invalid_argument(what + " channel " + std::to_string(c) + " has weight scale " + fmt_real(s) +
                              "; a scale must be positive and finite");
    SLING_RETURN_IF_ERROR(check_requant_scale(s_in * s / s_out, what + " channel " + std::to_string(c)));
  }
  return Status::Ok();
}

}  // namespace

const char* weight_scheme_name(WeightScheme s) {
  switch (s) {
    case WeightScheme::kInt8: return "int8";
    case WeightScheme::kInt4: return "int4";
    case WeightScheme::kTernary: return "ternary";
    case WeightScheme::kBinary: return "binary";
  }
  return "?";
}

Result<WeightScheme> parse_weight_scheme(std::string_view name) {
  for (WeightScheme s : {WeightScheme::kInt8, WeightScheme::kInt4, WeightScheme::kTernary, WeightScheme::kBinary})
    if (name == weight_scheme_name(s)) return s;
  return invalid_argument("unknown weight scheme '" + std::string(name) + "' (expected int8, int4, ternary or binary)");
}

int32_t weight_qmax(WeightScheme s) {
  return s == WeightScheme::kInt8 ? 127 : (s == WeightScheme::kInt4 ? 7 : 1);
}

int weight_packed_bits(WeightScheme s) {
  switch (s) {
    case WeightScheme::kInt8: return 8;
    case WeightScheme::kInt4: return 4;
    case WeightScheme::kTernary: return 2;
    case WeightScheme::kBinary: return 1;
  }
  return 8;
}

bool is_weighted_type(std::string_view t) { return t == "conv2d" || t == "depthwise_conv2d" || t == "dense"; }

int64_t weighted_out_channels(const Layer& layer) {
  const std::string_view t = layer.type();
  if (t == "conv2d") return static_cast<const Conv2D&>(layer).config().filters;
  if (t == "depthwise_conv2d") return static_cast<const DepthwiseConv2D&>(layer).config().channels;
  if (t == "dense") return static_cast<const Dense&>(layer).config().units;
  return 0;
}

int weight_channel_axis(const Layer& layer) { return std::string_view(layer.type()) == "depthwise_conv2d" ? 3 : 0; }

bool is_fused_activation(const Graph& g, int node) {
  const std::string_view t = g.node(node).layer ? g.node(node).layer->type() : "";
  if (t != "relu" && t != "relu6") return false;
  const int p = g.node(node).inputs[0];
  if (p == 0 || p == g.output_node()) return false;
  const std::string_view pt = g.node(p).layer->type();
  if (!is_weighted_type(pt) && pt != "add") return false;
  for (int i = 1; i < g.num_nodes(); ++i)
    if (i != node)
      for (int j : g.node(i).inputs)
        if (j == p) return false;
  return true;
}

Status validate_quantized_model(const QuantizedModel& m) {
  const Graph& g = m.graph;
  if (static_cast<int>(m.nodes.size()) != g.num_nodes())
    return invalid_argument("quantization covers " + std::to_string(m.nodes.size()) + " nodes but the graph has " +
                            std::to_string(g.num_nodes()));
  if (m.activation_bits < 1 || m.activation_bits > 8)
    return invalid_argument("activation_bits " + std::to_string(m.activation_bits) + " is outside [1, 8]");
  SLING_RETURN_IF_ERROR(check_grid(m.nodes[0].output, "the input grid"));
  for (int i = 1; i < g.num_nodes(); ++i) {
    const Node& node = g.node(i);
    const std::string type = node.layer->type();
    const std::string what = "node " + quoted(node.name) + " (" + type + ")";
    const NodeQuantization& q = m.nodes[i];
    SLING_RETURN_IF_ERROR(check_grid(q.output, what + " output grid"));
    if (type == "batch_norm")
      return invalid_argument(what + " was not folded into a conv or dense layer; integer engines need it folded");
    if (type == "softmax")
      return unimplemented(what + ": quantized models end at the logits; remove the softmax node");
    const NodeQuantization& in = m.nodes[node.inputs[0]];
    const bool weighted = is_weighted_type(type);
    if (!weighted && (!q.weight_scale.empty() || q.weight.numel() != 0 || !q.bias.empty()))
      return invalid_argument(what + " has no weights but carries quantized weights");
    if (weighted) SLING_RETURN_IF_ERROR(validate_weighted(m, i));
    if (is_pass_through_type(type) || ((type == "relu" || type == "relu6") && !is_fused_activation(g, i))) {
      if (!(q.output == in.output))
        return invalid_argument(what + " must keep its input's grid (scale " + fmt_real(in.output.scale) +
                                ", zero point " + std::to_string(in.output.zero_point) + "), but has scale " +
                                fmt_real(q.output.scale) + ", zero point " + std::to_string(q.output.zero_point));
    } else if (type == "relu" || type == "relu6") {
      if (!(q.output == in.output))
        return invalid_argument(what + " is fused into " + quoted(g.node(node.inputs[0]).name) +
                                ", so both must share one output grid");
    } else if (type == "affine") {
      // Lowered to nothing: both grids must hold the same codes (quant/input_mapping.h).
      const AffineConfig& a = static_cast<const Affine&>(*node.layer).config();
      if (!affine_keeps_codes(in.output, q.output, a.scale, a.offset))
        return invalid_argument(what + " maps its input grid (scale " + fmt_real(in.output.scale) + ", zero point " +
                                std::to_string(in.output.zero_point) + ") by " + fmt_real(a.scale) + " x + " +
                                fmt_real(a.offset) + ", which does not give its output grid's codes (scale " +
                                fmt_real(q.output.scale) + ", zero point " + std::to_string(q.output.zero_point) +
                                "); integer engines run it only as the identity on codes");
    } else if (type == "thermometer") {
      // Bits 0 and 1 must be codes, exactly, for the integer kernel's output to be the encoding.
      if (!(q.output == thermometer_output_grid(own_grid_bits(m, i))))
        return invalid_argument(what + " must have scale 1 and zero point " +
                                std::to_string(thermometer_output_grid(own_grid_bits(m, i)).zero_point) +
                                " so that its bits 0 and 1 are exact codes, but has scale " + fmt_real(q.output.scale) +
                                ", zero point " + std::to_string(q.output.zero_point));
    } else {
      const int bits = own_grid_bits(m, i);
      if (q.output.qmin != -(1 << (bits - 1)) || q.output.qmax != (1 << (bits - 1)) - 1)
        return invalid_argument(what + " output grid range [" + std::to_string(q.output.qmin) + ", " +
                                std::to_string(q.output.qmax) + "] is not " + std::to_string(bits) + "-bit");
    }
    if (type == "global_avg_pool")
      SLING_RETURN_IF_ERROR(check_requant_scale(static_cast<double>(in.output.scale) / q.output.scale, what));
    if (type == "add") {
      const double s1 = in.output.scale;
      const double s2 = m.nodes[node.inputs[1]].output.scale;
      const double twice_max = 2.0 * std::max(s1, s2);
      SLING_RETURN_IF_ERROR(check_requant_scale(s1 / twice_max, what + " input 1"));
      SLING_RETURN_IF_ERROR(check_requant_scale(s2 / twice_max, what + " input 2"));
      SLING_RETURN_IF_ERROR(
          check_requant_scale(twice_max / (static_cast<double>(1 << 20) * q.output.scale), what + " output"));
    }
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------
// Model-file conversion.

namespace {

constexpr const char* kWeightQ = "weight_q";
constexpr const char* kWeightScale = "weight_scale";
constexpr const char* kBiasQ = "bias_q";

Status check_keys(const json& obj, std::initializer_list<const char*> allowed, const std::string& what) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    bool ok = false;
    for (const char* a : allowed) ok = ok || it.key() == a;
    if (!ok) return data_loss(what + " has unknown field " + quoted(it.key()));
  }
  return Status::Ok();
}

Result<ActivationGrid> parse_grid(const json& j, int bits, const std::string& what) {
  if (!j.is_object()) return data_loss(what + " must be an object with scale and zero_point");
  SLING_RETURN_IF_ERROR(check_keys(j, {"scale", "zero_point"}, what));
  auto s = j.find("scale");
  auto z = j.find("zero_point");
  if (s == j.end() || !s->is_number()) return data_loss(what + " needs a numeric scale");
  if (z == j.end() || !z->is_number_integer()) return data_loss(what + " needs an integer zero_point");
  ActivationGrid g;
  set_grid_bits(g, bits);
  g.scale = static_cast<float>(s->get<double>());
  const int64_t zp = z->get<int64_t>();
  if (zp < g.qmin || zp > g.qmax)
    return invalid_argument(what + " has zero point " + std::to_string(zp) + ", outside [" + std::to_string(g.qmin) +
                            ", " + std::to_string(g.qmax) + "]");
  g.zero_point = static_cast<int32_t>(zp);
  return g;
}

json grid_json(const ActivationGrid& g) { return {{"scale", g.scale}, {"zero_point", g.zero_point}}; }

Result<const AuxTensor*> take_aux(ModelContents& c, const std::string& name, TensorDType dtype, const char* dtype_name,
                                  std::set<std::string>& used) {
  auto it = c.aux_tensors.find(name);
  if (it == c.aux_tensors.end()) return data_loss("missing quantization tensor " + quoted(name));
  if (it->second.dtype != dtype) return data_loss("quantization tensor " + quoted(name) + " must be " + dtype_name);
  used.insert(name);
  return &it->second;
}

// codes x per-channel scale, in the float weight's layout.
Tensor dequantized_code_weights(const Layer& layer, const NodeQuantization& q) {
  QuantizedWeights w{q.weight_scale, q.weight};
  return dequantize_weights(w, weight_channel_axis(layer));
}

}  // namespace

Result<QuantizedModel> quantized_model_from_contents(ModelContents&& c) {
  if (c.quantization.is_null())
    return invalid_argument("this is a float model without quantization parameters; run `slingshot quantize` first");
  const json& top = c.quantization;
  SLING_RETURN_IF_ERROR(
      check_keys(top, {"weights", "activation_bits", "rounding", "input", "calibration"}, "quantization"));
  QuantizedModel m;
  auto w = top.find("weights");
  if (w == top.end() || !w->is_string()) return data_loss("quantization needs a 'weights' scheme name");
  SLING_ASSIGN_OR_RETURN(m.weights, parse_weight_scheme(w->get<std::string>()));
  auto bits = top.find("activation_bits");
  if (bits == top.end() || !bits->is_number_integer()) return data_loss("quantization needs integer activation_bits");
  if (bits->get<int64_t>() < 1 || bits->get<int64_t>() > 8)
    return invalid_argument("activation_bits " + std::to_string(bits->get<int64_t>()) + " is outside [1, 8]");
  m.activation_bits = static_cast<int>(bits->get<int64_t>());
  auto rounding = top.find("rounding");
  if (rounding == top.end() || !rounding->is_string() || (*rounding != "double" && *rounding != "single"))
    return data_loss("quantization rounding must be \"double\" or \"single\"");
  m.rounding = *rounding == "double" ? RoundingMode::kDouble : RoundingMode::kSingle;
  if (auto cal = top.find("calibration"); cal != top.end()) m.calibration = *cal;
  auto input = top.find("input");
  if (input == top.end()) return data_loss("quantization has no input grid");

  m.graph = std::move(c.graph);
  const Graph& g = m.graph;
  m.nodes.resize(g.num_nodes());
  SLING_ASSIGN_OR_RETURN(m.nodes[0].output, parse_grid(*input, 8, "quantization input grid"));
  std::set<std::string> used;
  for (int i = 1; i < g.num_nodes(); ++i) {
    const Node& node = g.node(i);
    const std::string what = "node " + quoted(node.name);
    auto nq = c.node_quantization.find(node.name);
    if (nq == c.node_quantization.end()) return data_loss(what + " has no quantization object");
    // Pass-through nodes and fused activations inherit the range of their input grid.
    const std::string type = node.layer->type();
    int grid_bits = own_grid_bits(m, i);
    if (is_pass_through_type(type) || type == "relu" || type == "relu6") {
      const ActivationGrid& in = m.nodes[node.inputs[0]].output;
      grid_bits = 1;
      while ((1 << (grid_bits - 1)) - 1 < in.qmax) ++grid_bits;
    }
    SLING_ASSIGN_OR_RETURN(m.nodes[i].output, parse_grid(nq->second, grid_bits, what + " quantization"));
    if (!is_weighted_type(type)) continue;
    NodeQuantization& q = m.nodes[i];
    SLING_ASSIGN_OR_RETURN(const AuxTensor* wq, take_aux(c, node.name + "." + kWeightQ, TensorDType::kI8, "I8", used));
    SLING_ASSIGN_OR_RETURN(const AuxTensor* ws,
                           take_aux(c, node.name + "." + kWeightScale, TensorDType::kF32, "F32", used));
    SLING_ASSIGN_OR_RETURN(const AuxTensor* bq, take_aux(c, node.name + "." + kBiasQ, TensorDType::kI32, "I32", used));
    if (ws->shape.size() != 1 || bq->shape.size() != 1)
      return data_loss(what + " weight_scale and bias_q must be vectors (one entry per output channel)");
    q.weight = TensorT<int8_t>(wq->shape);
    std::copy(wq->i8.begin(), wq->i8.end(), q.weight.data());
    q.weight_scale = ws->f32;
    q.bias = bq->i32;
  }
  if (!c.weights_from_codes.empty()) {
    // All weighted nodes or none: the float graph is then the dequantized codes.
    for (int i = 1; i < g.num_nodes(); ++i) {
      Layer& layer = *m.graph.node(i).layer;
      const bool weighted = is_weighted_type(layer.type());
      if (weighted != (c.weights_from_codes.count(g.node(i).name) > 0))
        return data_loss("node " + quoted(g.node(i).name) + (weighted ? " keeps" : " omits") +
                         " its float weight while others do not: a file stores every weight as codes or none");
      if (weighted) layer.find_param("weight")->value = dequantized_code_weights(layer, m.nodes[i]);
    }
    m.float_weights_from_codes = true;
  }
  for (const auto& [name, q] : c.node_quantization)
    if (g.find(name) < 1) return data_loss("quantization for unknown node " + quoted(name));
  for (const auto& [name, t] : c.aux_tensors)
    if (!used.count(name)) return data_loss("unknown quantization tensor " + quoted(name));
  SLING_RETURN_IF_ERROR(validate_quantized_model(m));
  return m;
}

Result<ModelContents> quantized_model_to_contents(const QuantizedModel& m, const json& extra) {
  SLING_RETURN_IF_ERROR(validate_quantized_model(m));
  ModelContents c;
  SLING_ASSIGN_OR_RETURN(c.graph, clone_graph(m.graph));
  c.extra = extra;
  c.quantization = {{"weights", weight_scheme_name(m.weights)},
                    {"activation_bits", m.activation_bits},
                    {"rounding", m.rounding == RoundingMode::kDouble ? "double" : "single"},
                    {"input", grid_json(m.nodes[0].output)}};
  if (!m.calibration.is_null()) c.quantization["calibration"] = m.calibration;
  for (int i = 1; i < m.graph.num_nodes(); ++i) {
    const Node& node = m.graph.node(i);
    const NodeQuantization& q = m.nodes[i];
    c.node_quantization[node.name] = grid_json(q.output);
    if (!is_weighted_type(node.layer->type())) continue;
    AuxTensor wq{TensorDType::kI8, q.weight.shape(), {}, {}, {q.weight.data(), q.weight.data() + q.weight.numel()}};
    AuxTensor ws{TensorDType::kF32, {static_cast<int64_t>(q.weight_scale.size())}, q.weight_scale, {}, {}};
    AuxTensor bq{TensorDType::kI32, {static_cast<int64_t>(q.bias.size())}, {}, q.bias, {}};
    c.aux_tensors[node.name + "." + kWeightQ] = std::move(wq);
    c.aux_tensors[node.name + "." + kWeightScale] = std::move(ws);
    c.aux_tensors[node.name + "." + kBiasQ] = std::move(bq);
    if (m.float_weights_from_codes) {
      if (node.layer->find_param("weight")->value.storage() != dequantized_code_weights(*node.layer, q).storage())
        return internal_error("node " + quoted(node.name) + " is marked as storing codes only, but its float "
                              "weight is not its dequantized codes");
      c.weights_from_codes.insert(node.name);
    }
  }
  return c;
}

bool adopt_code_weights_if_exact(QuantizedModel& m, float rel_tolerance) {
  std::vector<std::pair<int, Tensor>> replaced;
  for (int i = 1; i < m.graph.num_nodes(); ++i) {
    const Layer& layer = *m.graph.node(i).layer;
    if (!is_weighted_type(layer.type())) continue;
    const Tensor& w = layer.find_param("weight")->value;
    Tensor d = dequantized_code_weights(layer, m.nodes[i]);
    float max_w = 0, max_diff = 0;
    for (int64_t e = 0; e < w.numel(); ++e) {
      max_w = std::max(max_w, std::fabs(w[e]));
      max_diff = std::max(max_diff, std::fabs(w[e] - d[e]));
    }
    if (max_diff > rel_tolerance * max_w) return false;
    replaced.emplace_back(i, std::move(d));
  }
  if (replaced.empty()) return false;
  for (auto& [i, d] : replaced) m.graph.node(i).layer->find_param("weight")->value = std::move(d);
  m.float_weights_from_codes = true;
  return true;
}

Status save_quantized_model(const QuantizedModel& m, const std::string& path, const json& extra) {
  SLING_ASSIGN_OR_RETURN(ModelContents c, quantized_model_to_contents(m, extra));
  return save_model_contents(c, path);
}

Result<QuantizedModel> any_model_from_contents(ModelContents&& c, bool allow_float) {
  if (c.quantization.is_null() && allow_float) {
    QuantizedModel m;
    m.graph = std::move(c.graph);
    return m;
  }
  return quantized_model_from_contents(std::move(c));
}

Result<QuantizedModel> load_quantized_model(const std::string& path, json* extra, bool allow_float) {
  SLING_ASSIGN_OR_RETURN(ModelContents c, load_model_contents(path));
  if (extra) *extra = c.extra;
  return any_model_from_contents(std::move(c), allow_float);
}

Footprint footprint(const QuantizedModel& m) { return footprint(m.graph, m.weights); }

Footprint footprint(const Graph& graph, WeightScheme scheme) {
  Footprint f;
  const int bits = weight_packed_bits(scheme);
  for (int i = 1; i < graph.num_nodes(); ++i) {
    const Node& node = graph.node(i);
    if (!is_weighted_type(node.layer->type())) continue;
    const int64_t n = node.layer->find_param("weight")->value.numel();
    const int64_t channels = weighted_out_channels(*node.layer);
    f.weight_count += n;
    f.weight_bytes += (n * bits + 7) / 8;
    f.bias_bytes += 4 * channels;
    f.scale_bytes += 8 * channels;
    f.float_bytes += 4 * (n + channels);
  }
  return f;
}

int64_t peak_activation_bytes(const Graph& g, int bytes) {
  std::vector<int> last_use(g.num_nodes(), 0);
  for (int i = 1; i < g.num_nodes(); ++i)
    for (int in : g.node(i).inputs) last_use[in] = std::max(last_use[in], i);
  last_use[g.output_node()] = g.num_nodes();
  auto size = [&](int i) { return i == 0 ? shape_numel(g.input_shape()) : shape_numel(g.node(i).output_shape); };
  int64_t peak = 0;
  for (int i = 1; i < g.num_nodes(); ++i) {
    int64_t live = 0;
    for (int j = 0; j <= i; ++j)
      if (last_use[j] >= i) live += size(j);
    peak = std::max(peak, live * bytes);
  }
  return peak;
}

}  // namespace slingshot

// Lowering of a quantized model to int8 kernel calls (see int8_program.h).
#include "engine/int8_program.h"

#include <cmath>

#include "model/layers/activation.h"
#include "model/layers/conv2d.h"
#include "model/layers/dense.h"
#include "model/layers/depthwise_conv2d.h"
#include "model/layers/pool2d.h"
#include "model/layers/thermometer.h"
#include "defenses/thermometer.h"
#include "quant/quantize_multiplier.h"

namespace slingshot {
namespace {

// The [min, max] codes of an activation on a grid, as TFLite's
// CalculateActivationRangeQuantized computes them.
void activation_range(ActivationKind kind, const ActivationGrid& g, int32_t& lo, int32_t& hi) {
  lo = std::max(g.qmin, g.zero_point);
  hi = g.qmax;
  if (kind == ActivationKind::kRelu6) {
    const float six = std::round(6.0f / g.scale);
    if (six < static_cast<float>(g.qmax - g.zero_point)) hi = g.zero_point + static_cast<int32_t>(six);
  }
}

Result<QuantizedMultiplier> multiplier_for(double real, const std::string& what) {
  auto m = quantize_multiplier(real);
  if (!m.ok()) return m.status().with_context(what);
  return m;
}

Dims4 dims_of(const Shape& per_sample) {
  return {1, static_cast<int32_t>(per_sample[0]), static_cast<int32_t>(per_sample[1]),
          static_cast<int32_t>(per_sample[2])};
}

// Per level, the smallest input code whose dequantized value the float encoding gives
// that bit (128 if none). The encoding is monotone in the value and dequantization in
// the code, so `code >= threshold` is the float encoding of every code, exactly.
std::vector<int32_t> thermometer_thresholds(const ThermometerConfig& c, const ActivationGrid& in) {
  std::vector<int32_t> thresholds(c.levels, in.qmax + 1);
  for (int32_t code = in.qmax; code >= in.qmin; --code) {
    const int ones = thermometer_ones(in.dequantize(code), c.lo, c.hi, c.levels);
    for (int k = 0; k < ones; ++k) thresholds[k] = code;
  }
  thresholds[0] = -128;  // bit 0 is always set, whatever the grid's code range
  return thresholds;
}

}  // namespace

Result<Int8Program> compile_int8_program(const QuantizedModel& m) {
  SLING_RETURN_IF_ERROR(validate_quantized_model(m));
  const Graph& g = m.graph;
  Int8Program p;
  p.rounding = m.rounding;
  p.input_shape = g.input_shape();
  p.input_grid = m.nodes[0].output;
  std::vector<int> buffer_of(g.num_nodes(), -1);
  buffer_of[0] = 0;
  p.buffer_elements.push_back(shape_numel(g.input_shape()));
  auto new_buffer = [&](int node) {
    buffer_of[node] = static_cast<int>(p.buffer_elements.size());
    p.buffer_elements.push_back(shape_numel(g.node(node).output_shape) / g.node(node).output_shape[0]);
    return buffer_of[node];
  };
  // The fused activation each producer clamps to, if any.
  std::vector<int> fused_activation(g.num_nodes(), -1);
  for (int i = 1; i < g.num_nodes(); ++i)
    if (is_fused_activation(g, i)) fused_activation[g.node(i).inputs[0]] = i;

  for (int i = 1; i < g.num_nodes(); ++i) {
    const Node& node = g.node(i);
    const std::string type = node.layer->type();
    const std::string what = "node '" + node.name + "' (" + type + ")";
    const NodeQuantization& q = m.nodes[i];
    const int in = node.inputs[0];
    // Per-sample input shape (the graph stores shapes with a batch of 1).
    const Shape in_shape(g.node(in).output_shape.begin() + 1, g.node(in).output_shape.end());
    // An affine node holds its input's codes (validated), so it runs as nothing.
    if (type == "flatten" || type == "affine" || (fused_activation[in] == i)) {
      buffer_of[i] = buffer_of[in];  // same codes
      continue;
    }
    Int8Op op;
    op.node = i;
    op.input = buffer_of[in];
    op.input_grid = m.nodes[in].output;
    op.output_grid = q.output;
    op.clamp_min = q.output.qmin;
    op.clamp_max = q.output.qmax;
    if (fused_activation[i] >= 0)
      activation_range(static_cast<const Activation&>(*g.node(fused_activation[i]).layer).kind(), q.output,
                       op.clamp_min, op.clamp_max);
    if (is_weighted_type(type)) {
      const int64_t channels = weighted_out_channels(*node.layer);
      op.multipliers.resize(channels);
      op.shifts.resize(channels);
      for (int64_t c = 0; c < channels; ++c) {
        const double real = static_cast<double>(op.input_grid.scale) * q.weight_scale[c] / q.output.scale;
        SLING_ASSIGN_OR_RETURN(QuantizedMultiplier qm, multiplier_for(real, what));
        op.multipliers[c] = qm.multiplier;
        op.shifts[c] = qm.shift;
      }
      op.weights = q.weight.data();
      op.bias = q.bias.data();
      op.weight_scale = q.weight_scale.data();
      op.conv = {-op.input_grid.zero_point, q.output.zero_point, nullptr, nullptr, true,
                 op.clamp_min,            op.clamp_max,         m.rounding};
    }
    if (type == "conv2d") {
      const Conv2DConfig& c = static_cast<const Conv2D&>(*node.layer).config();
      op.kind = Int8OpKind::kConv2D;
      op.window = make_window_shape(dims_of(in_shape), c.kernel_h, c.kernel_w, c.stride_h, c.stride_w, c.padding,
                                    c.filters);
    } else if (type == "depthwise_conv2d") {
      const DepthwiseConv2DConfig& c = static_cast<const DepthwiseConv2D&>(*node.layer).config();
      op.kind = Int8OpKind::kDepthwiseConv2D;
      op.window = make_window_shape(dims_of(in_shape), c.kernel_h, c.kernel_w, c.stride_h, c.stride_w, c.padding,
                                    c.channels);
    } else if (type == "dense") {
      const DenseConfig& c = static_cast<const Dense&>(*node.layer).config();
      op.kind = Int8OpKind::kDense;
      op.dense = {1, c.in_features, c.units};
    } else if (type == "max_pool2d" || type == "avg_pool2d") {
      const Pool2DConfig& c = static_cast<const Pool2D&>(*node.layer).config();
      op.kind = type == "max_pool2d" ? Int8OpKind::kMaxPool : Int8OpKind::kAvgPool;
      op.window = make_window_shape(dims_of(in_shape), c.pool_h, c.pool_w, c.stride_h, c.stride_w, c.padding,
                                    static_cast<int32_t>(in_shape[2]));
      op.pool = {op.clamp_min, op.clamp_max};
    } else if (type == "global_avg_pool") {
      op.kind = Int8OpKind::kGlobalAvgPool;
      op.mean_input = dims_of(in_shape);
      SLING_ASSIGN_OR_RETURN(QuantizedMultiplier qm,
                             multiplier_for(static_cast<double>(op.input_grid.scale) / q.output.scale, what));
      op.mean = {-op.input_grid.zero_point, q.output.zero_point, qm.multiplier, qm.shift,
                 op.clamp_min,            op.clamp_max,         m.rounding};
    } else if (type == "add") {
      op.kind = Int8OpKind::kAdd;
      op.input2 = buffer_of[node.inputs[1]];
      op.input2_grid = m.nodes[node.inputs[1]].output;
      op.elements = shape_numel(in_shape);
      const double s1 = op.input_grid.scale, s2 = op.input2_grid.scale;
      const double twice_max = 2.0 * std::max(s1, s2);
      constexpr int kLeftShift = 20;  // TFLite's headroom for int8 ADD
      SLING_ASSIGN_OR_RETURN(QuantizedMultiplier m1, multiplier_for(s1 / twice_max, what + " input 1"));
      SLING_ASSIGN_OR_RETURN(QuantizedMultiplier m2, multiplier_for(s2 / twice_max, what + " input 2"));
      SLING_ASSIGN_OR_RETURN(QuantizedMultiplier mo, multiplier_for(twice_max / (std::ldexp(1.0, kLeftShift) *
                                                                                 q.output.scale),
                                                                    what + " output"));
      op.add = {kLeftShift,    -op.input_grid.zero_point,  m1.multiplier, m1.shift,     -op.input2_grid.zero_point,
                m2.multiplier, m2.shift,                   q.output.zero_point, mo.multiplier, mo.shift,
                op.clamp_min,  op.clamp_max,               m.rounding};
    } else if (type == "thermometer") {
      const ThermometerConfig& c = static_cast<const Thermometer&>(*node.layer).config();
      op.kind = Int8OpKind::kThermometer;
      op.elements = shape_numel(in_shape);
      op.thresholds = thermometer_thresholds(c, op.input_grid);
      op.thermometer = {c.levels, nullptr, q.output.zero_point, q.output.zero_point + 1};
    } else if (type == "relu" || type == "relu6") {
      // An activation nothing fuses: a clamp on its input's grid.
      op.kind = Int8OpKind::kClamp;
      op.elements = shape_numel(in_shape);
      activation_range(static_cast<const Activation&>(*node.layer).kind(), q.output, op.clamp_min, op.clamp_max);
    } else {
      return unimplemented(what + ": the integer engines have no kernel for this layer type");
    }
    op.output = new_buffer(i);
    p.ops.push_back(std::move(op));
  }
  p.output_buffer = buffer_of[g.output_node()];
  p.output_grid = m.nodes[g.output_node()].output;
  p.output_shape = g.output_shape();
  return p;
}

Status quantize_input(const Int8Program& p, const Tensor& x, std::vector<int8_t>& codes) {
  const Shape& s = x.shape();
  if (s.size() != p.input_shape.size() + 1 || !std::equal(p.input_shape.begin(), p.input_shape.end(), s.begin() + 1))
    return invalid_argument("input shape " + shape_to_string(s) + " does not match the model input [N, " +
                            shape_to_string(p.input_shape).substr(1));
  codes.resize(x.numel());
  for (int64_t i = 0; i < x.numel(); ++i) codes[i] = static_cast<int8_t>(p.input_grid.quantize(x[i]));
  return Status::Ok();
}

void dequantize_output(const Int8Program& p, const int8_t* codes, int64_t batch, Tensor& logits) {
  Shape s{batch};
  s.insert(s.end(), p.output_shape.begin(), p.output_shape.end());
  logits.resize(s);
  for (int64_t i = 0; i < logits.numel(); ++i) logits[i] = p.output_grid.dequantize(codes[i]);
}

}  // namespace slingshot

// Post-training quantization (see post_training.h).
#include "quant/post_training.h"

#include <cmath>
#include <limits>

#include "model/fold_batch_norm.h"
#include "model/layers/affine.h"
#include "quant/activation_qat.h"
#include "quant/input_mapping.h"
#include "quant/weight_quantizers.h"

namespace slingshot {
namespace {

// A trained activation range must belong to a value with its own integer grid: a
// weighted layer, add or global average pool not fused with a ReLU, or a fused ReLU.
Status check_qat_range_owner(const Graph& g, int i) {
  const Node& node = g.node(i);
  const std::string type = node.layer->type();
  bool owns = false;
  if (type == "relu" || type == "relu6") {
    owns = is_fused_activation(g, i);
  } else if (is_weighted_type(type) || type == "add" || type == "global_avg_pool") {
    owns = true;
    for (int j = i + 1; j < g.num_nodes(); ++j)
      if (g.node(j).inputs[0] == i && is_fused_activation(g, j)) owns = false;
  }
  if (owns) return Status::Ok();
  return invalid_argument("an activation_quant node follows '" + node.name + "' (" + type +
                          "), which has no integer grid of its own in the deployed model");
}

}  // namespace

Status quantize_weights_and_biases(QuantizedModel& m) {
  const Graph& g = m.graph;
  for (int i = 1; i < g.num_nodes(); ++i) {
    const Node& node = g.node(i);
    if (!is_weighted_type(node.layer->type())) continue;
    NodeQuantization& q = m.nodes[i];
    const double s_in = m.nodes[node.inputs[0]].output.scale;
    const double s_out = q.output.scale;
    // Keep s_in * s_w / s_out at or above 2^-31 so the requantization shift stays in range;
    // a channel that small contributes less than one output step anyway.
    const float min_scale = static_cast<float>(std::ldexp(s_out / s_in, -30));
    const int axis = weight_channel_axis(*node.layer);
    QuantizedWeights w = quantize_weights(node.layer->find_param("weight")->value, axis, m.weights, min_scale);
    const Param* bias = node.layer->find_param("bias");
    q.weight_scale = std::move(w.scale);
    q.weight = std::move(w.codes);
    q.bias.assign(q.weight_scale.size(), 0);
    for (size_t c = 0; c < q.bias.size(); ++c) {
      if (!bias) continue;
      const double b = std::round(bias->value[static_cast<int64_t>(c)] / (s_in * q.weight_scale[c]));
      if (!std::isfinite(b) || std::fabs(b) > std::numeric_limits<int32_t>::max())
        return invalid_argument("node '" + node.name + "' channel " + std::to_string(c) + ": bias " +
                                std::to_string(bias->value[static_cast<int64_t>(c)]) +
                                " does not fit int32 at scale input x weight");
      q.bias[c] = static_cast<int32_t>(b);
    }
  }
  return Status::Ok();
}

Result<QuantizedModel> quantize_post_training(const Graph& graph, const Tensor& samples, const QuantizeOptions& o,
                                              const CalibrationProgress& progress) {
  if (o.activation_bits < 1 || o.activation_bits > 8)
    return invalid_argument("activation bits must be in [1, 8], got " + std::to_string(o.activation_bits));
  QuantizedModel m;
  m.weights = o.weights;
  m.activation_bits = o.activation_bits;
  m.rounding = o.rounding;
  SLING_ASSIGN_OR_RETURN(const int qat_bits, activation_quant_bits(graph));
  if (qat_bits != 0 && qat_bits != o.activation_bits)
    return invalid_argument("the model was trained with " + std::to_string(qat_bits) +
                            "-bit activations (activation_quant nodes); quantize it with " + std::to_string(qat_bits) +
                            " activation bits, not " + std::to_string(o.activation_bits));
  // Batch norm folds first, so a quantizer that followed it now follows its producer.
  SLING_ASSIGN_OR_RETURN(Graph folded, fold_batch_norm(graph));
  SLING_ASSIGN_OR_RETURN(StrippedGraph stripped, strip_activation_quant(folded));
  m.graph = std::move(stripped.graph);
  const Graph& g = m.graph;
  for (int i = 1; i < g.num_nodes(); ++i) {
    const std::string type = g.node(i).layer->type();
    if (type == "batch_norm")
      return invalid_argument("batch norm '" + g.node(i).name +
                              "' does not follow a conv or dense layer it alone feeds, so it cannot be folded");
    if (type == "softmax")
      return unimplemented("node '" + g.node(i).name + "' is a softmax; quantized models end at the logits");
  }
  SLING_ASSIGN_OR_RETURN(std::vector<ValueRange> range, calibrate_ranges(g, samples, o.calibration, progress));
  // Quantization-aware training fixed these grids: its ranges replace the calibrated ones.
  for (int i = 1; i < g.num_nodes(); ++i) {
    if (!stripped.qat_ranges[i]) continue;
    SLING_RETURN_IF_ERROR(check_qat_range_owner(g, i));
    range[i] = {stripped.qat_ranges[i]->first, stripped.qat_ranges[i]->second};
  }

  m.nodes.resize(g.num_nodes());
  m.nodes[0].output = o.image_input ? image_input_grid() : grid_for_range(range[0].lo, range[0].hi, 8);
  for (int i = 1; i < g.num_nodes(); ++i) {
    const Node& node = g.node(i);
    const std::string type = node.layer->type();
    const ActivationGrid& in = m.nodes[node.inputs[0]].output;
    const int bits = i == g.output_node() ? 8 : o.activation_bits;
    if (type == "max_pool2d" || type == "avg_pool2d" || type == "flatten") {
      m.nodes[i].output = in;
    } else if (type == "affine") {
      // An input mapping keeps its input's codes: its grid follows from the map.
      const AffineConfig& a = static_cast<const Affine&>(*node.layer).config();
      SLING_ASSIGN_OR_RETURN(m.nodes[i].output,
                             affine_output_grid(in, a.scale, a.offset, "affine node '" + node.name + "'"));
    } else if (type == "thermometer") {
      m.nodes[i].output = thermometer_output_grid(bits);  // its bits, exactly
    } else if (type == "relu" || type == "relu6") {
      if (is_fused_activation(g, i)) {
        m.nodes[i].output = grid_for_range(range[i].lo, range[i].hi, bits);
        m.nodes[node.inputs[0]].output = m.nodes[i].output;  // the producer clamps into this grid
      } else {
        m.nodes[i].output = in;
      }
    } else {
      m.nodes[i].output = grid_for_range(range[i].lo, range[i].hi, bits);
    }
  }
  SLING_RETURN_IF_ERROR(quantize_weights_and_biases(m));
  const char* method = o.calibration.method == CalibrationMethod::kMinMax ? "minmax" : "percentile";
  m.calibration = {{"method", method}, {"samples", samples.dim(0)}};
  if (o.calibration.method == CalibrationMethod::kPercentile) m.calibration["percentile"] = o.calibration.percentile;
  SLING_RETURN_IF_ERROR(validate_quantized_model(m));
  return m;
}

}  // namespace slingshot

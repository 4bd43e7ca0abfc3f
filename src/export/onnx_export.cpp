// ONNX exporter (see onnx_export.h and docs/onnx-export.md): one sweep over the graph
// maps each node to ONNX ops on NCHW tensors; in int8 mode every activation is snapped
// to its grid by a QuantizeLinear/DequantizeLinear pair, the form onnxruntime's QDQ
// transformers fuse into QLinearConv, QGemm, QLinearAdd and friends.
#include "export/onnx_export.h"

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <set>
#include <vector>

#include "core/file_io.h"
#include "core/version.h"
#include "model/layers/activation.h"
#include "model/layers/affine.h"
#include "model/layers/batch_norm.h"
#include "model/layers/conv2d.h"
#include "model/layers/dense.h"
#include "model/layers/depthwise_conv2d.h"
#include "model/layers/activation_quant.h"
#include "model/layers/fake_quant.h"
#include "model/layers/pool2d.h"

namespace slingshot {
namespace {

using onnx::AttributeProto;
using onnx::NodeProto;
using onnx::TensorProto;
using Ints = std::vector<int64_t>;

// A node's value in the ONNX graph: the float tensor that holds it (in int8 mode the
// output of its DequantizeLinear) and its rank with the batch axis. Rank-4 values are
// NCHW; every other rank has our layout.
struct Value {
  std::string name;
  int rank = 0;
};

// Little-endian bytes of a typed array: raw_data is little-endian by the ONNX spec, as
// is every machine the native build runs on.
template <class T>
std::string raw_bytes(const T* data, size_t n) {
  return std::string(reinterpret_cast<const char*>(data), n * sizeof(T));
}

// Window geometry of a conv or pool in ONNX terms: explicit pads [top, left, bottom,
// right], TFLite's SAME split (half before, the odd pixel after).
struct OnnxWindow {
  Ints kernel, strides, pads;
};

OnnxWindow onnx_window(const Shape& in_nhwc, int kh, int kw, int sh, int sw, Padding padding) {
  const Dims4 d{1, static_cast<int32_t>(in_nhwc[1]), static_cast<int32_t>(in_nhwc[2]),
                static_cast<int32_t>(in_nhwc[3])};
  const WindowShape s = make_window_shape(d, kh, kw, sh, sw, padding, d.c);
  auto total = [](int32_t in, int32_t k, int32_t stride, int32_t out) {
    return std::max<int32_t>(0, (out - 1) * stride + k - in);
  };
  const int32_t th = padding == Padding::kSame ? total(d.h, kh, sh, s.output.h) : 0;
  const int32_t tw = padding == Padding::kSame ? total(d.w, kw, sw, s.output.w) : 0;
  return {{kh, kw}, {sh, sw}, {s.pad_top, s.pad_left, th - s.pad_top, tw - s.pad_left}};
}

// Narrows [lo, hi] to the codes a ReLU/ReLU6 keeps on grid `g`, as the integer engines'
// clamps do (TFLite's CalculateActivationRangeQuantized).
void activation_code_range(ActivationKind kind, const ActivationGrid& g, int32_t& lo, int32_t& hi) {
  lo = std::max(lo, g.zero_point);
  if (kind == ActivationKind::kRelu6) {
    const float six = std::round(6.0f / g.scale);
    if (six < static_cast<float>(g.qmax - g.zero_point)) hi = std::min(hi, g.zero_point + static_cast<int32_t>(six));
  }
}

// OHWI [O, kh, kw, I] -> OIHW.
template <class T>
std::vector<T> ohwi_to_oihw(const T* src, int64_t o, int64_t kh, int64_t kw, int64_t in) {
  std::vector<T> dst(o * kh * kw * in);
  for (int64_t a = 0; a < o; ++a)
    for (int64_t y = 0; y < kh; ++y)
      for (int64_t x = 0; x < kw; ++x)
        for (int64_t c = 0; c < in; ++c) dst[((a * in + c) * kh + y) * kw + x] = src[((a * kh + y) * kw + x) * in + c];
  return dst;
}

// Depthwise [1, kh, kw, C] -> [C, 1, kh, kw] (a grouped conv with one input per group).
template <class T>
std::vector<T> depthwise_to_c1hw(const T* src, int64_t kh, int64_t kw, int64_t c) {
  return ohwi_to_oihw(src, 1, kh, kw, c);  // [1, kh, kw, C] read as OHWI gives [1, C, kh, kw]
}

class GraphBuilder {
 public:
  explicit GraphBuilder(onnx::GraphProto* g) : g_(g) {}

  // A tensor (and node) name not used yet, derived from `base`.
  std::string fresh(const std::string& base) {
    std::string name = base;
    for (int k = 2; !used_.insert(name).second; ++k) name = base + "_" + std::to_string(k);
    return name;
  }

  // Appends a node with one output named after `out_base`; returns the node.
  NodeProto* add_op(const std::string& type, const std::vector<std::string>& inputs, const std::string& out_base) {
    NodeProto* n = g_->add_node();
    const std::string out = fresh(out_base);
    n->set_op_type(type);
    n->set_name(out);
    for (const std::string& in : inputs) n->add_input(in);
    n->add_output(out);
    return n;
  }
  // Same, returning the output name.
  std::string op(const std::string& type, const std::vector<std::string>& inputs, const std::string& out_base) {
    return add_op(type, inputs, out_base)->output(0);
  }

  template <class T>
  std::string constant(const std::string& base, TensorProto::DataType dtype, const Ints& dims, const T* data,
                       size_t n) {
    TensorProto* t = g_->add_initializer();
    t->set_name(fresh(base));
    t->set_data_type(dtype);
    for (int64_t d : dims) t->add_dims(d);
    t->set_raw_data(raw_bytes(data, n));
    return t->name();
  }
  std::string f32(const std::string& base, const Ints& dims, const std::vector<float>& v) {
    return constant(base, TensorProto::FLOAT, dims, v.data(), v.size());
  }
  std::string i8(const std::string& base, const Ints& dims, const std::vector<int8_t>& v) {
    return constant(base, TensorProto::INT8, dims, v.data(), v.size());
  }
  std::string i32(const std::string& base, const Ints& dims, const std::vector<int32_t>& v) {
    return constant(base, TensorProto::INT32, dims, v.data(), v.size());
  }
  std::string scalar_f32(const std::string& base, float v) { return f32(base, {}, {v}); }

  static void attr(NodeProto* n, const char* name, int64_t v) {
    AttributeProto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(AttributeProto::INT);
    a->set_i(v);
  }
  static void attr(NodeProto* n, const char* name, float v) {
    AttributeProto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(AttributeProto::FLOAT);
    a->set_f(v);
  }
  static void attr(NodeProto* n, const char* name, const Ints& v) {
    AttributeProto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(AttributeProto::INTS);
    for (int64_t x : v) a->add_ints(x);
  }

  // A graph input or output: float, batch axis "N", then `per_sample`.
  static void describe(onnx::ValueInfoProto* vi, const std::string& name, const Shape& per_sample) {
    vi->set_name(name);
    auto* t = vi->mutable_type()->mutable_tensor_type();
    t->set_elem_type(TensorProto::FLOAT);
    t->mutable_shape()->add_dim()->set_dim_param("N");
    for (int64_t d : per_sample) t->mutable_shape()->add_dim()->set_dim_value(d);
  }

 private:
  onnx::GraphProto* g_;
  std::set<std::string> used_;
};

class Exporter {
 public:
  Exporter(const QuantizedModel& m, bool int8, onnx::GraphProto* g)
      : m_(m), g_(m.graph), int8_(int8), b_(g), graph_(g), values_(m.graph.num_nodes()),
        fused_(m.graph.num_nodes(), -1) {}

  Status run() {
    b_.fresh("input");
    b_.fresh("logits");
    const Shape& in_shape = g_.input_shape();
    if (in_shape.size() != 3 && in_shape.size() != 1)
      return unimplemented("the ONNX exporter takes [H, W, C] or [features] inputs, not " + shape_to_string(in_shape));
    GraphBuilder::describe(graph_->add_input(), "input", in_shape);
    Value in{"input", static_cast<int>(in_shape.size()) + 1};
    if (in.rank == 4) in.name = transpose(in.name, {0, 3, 1, 2}, "input_nchw");
    in.name = snap(in.name, 0, "input");
    values_[0] = in;
    if (int8_)
      for (int i = 1; i < g_.num_nodes(); ++i)
        if (is_fused_activation(g_, i)) fused_[g_.node(i).inputs[0]] = i;
    for (int i = 1; i < g_.num_nodes(); ++i) {
      const Node& node = g_.node(i);
      const Status st = export_node(i);
      if (!st.ok()) return st.with_context("node '" + node.name + "' (" + node.layer->type() + ")");
    }
    Value out = values_[g_.output_node()];
    if (out.rank == 4) out.name = transpose(out.name, {0, 2, 3, 1}, "logits_nhwc");
    NodeProto* id = graph_->add_node();
    id->set_op_type("Identity");
    id->set_name("logits");
    id->add_input(out.name);
    id->add_output("logits");
    GraphBuilder::describe(graph_->add_output(), "logits", g_.output_shape());
    return Status::Ok();
  }

 private:
  const ActivationGrid& grid(int node) const { return m_.nodes[node].output; }

  std::string transpose(const std::string& x, const Ints& perm, const std::string& base) {
    NodeProto* n = b_.add_op("Transpose", {x}, base);
    GraphBuilder::attr(n, "perm", perm);
    return n->output(0);
  }

  std::string clip(const std::string& x, float lo, float hi, const std::string& base) {
    return b_.op("Clip", {x, b_.scalar_f32(base + "_min", lo), b_.scalar_f32(base + "_max", hi)}, base);
  }

  std::string activation(const std::string& x, ActivationKind kind, const std::string& base) {
    if (kind == ActivationKind::kRelu) return b_.op("Relu", {x}, base + "_relu");
    return clip(x, 0.0f, 6.0f, base + "_relu6");
  }

  // QuantizeLinear + DequantizeLinear onto `g`, the codes clamped to [lo, hi] in between
  // by an int8 Clip when that is narrower than int8 (QuantizeLinear saturates only at
  // int8's ends): a low-bit grid's range, or the clamp of a ReLU/ReLU6, applied to the
  // codes exactly as our integer kernels apply it. Q -> Clip -> DQ keeps the producer's
  // QDQ group whole, so onnxruntime still fuses it into an int8 kernel.
  std::string qdq(const std::string& x, const ActivationGrid& g, int32_t lo, int32_t hi, const std::string& base) {
    const std::string scale = b_.scalar_f32(base + "_scale", g.scale);
    const std::string zp = b_.i8(base + "_zero_point", {}, {static_cast<int8_t>(g.zero_point)});
    std::string q = b_.op("QuantizeLinear", {x, scale, zp}, base + "_q");
    if (lo != -128 || hi != 127)
      q = b_.op("Clip",
                {q, b_.i8(base + "_min", {}, {static_cast<int8_t>(lo)}),
                 b_.i8(base + "_max", {}, {static_cast<int8_t>(hi)})},
                base + "_clamp");
    return b_.op("DequantizeLinear", {q, scale, zp}, base + "_dq");
  }
  // In int8 mode, snaps a float result to a node's grid (its full range); a no-op in
  // float mode, where a float file has no grids at all.
  std::string snap(const std::string& x, int node, const std::string& base) {
    if (!int8_) return x;
    const ActivationGrid& g = grid(node);
    return qdq(x, g, g.qmin, g.qmax, base);
  }

  // Ends a node: in int8 mode its grid, clamped by the node's own or fused activation.
  void finish(int i, const std::string& y, int rank, const Layer* act = nullptr) {
    if (!int8_) {
      values_[i] = {y, rank};
      return;
    }
    if (fused_[i] >= 0) act = g_.node(fused_[i]).layer.get();
    const ActivationGrid& g = grid(i);
    int32_t lo = g.qmin, hi = g.qmax;
    if (act) activation_code_range(static_cast<const Activation&>(*act).kind(), g, lo, hi);
    values_[i] = {qdq(y, g, lo, hi, g_.node(i).name), rank};
  }

  // Weight (and bias) inputs of a conv, depthwise conv or dense node. `w_float` and
  // `w_codes` are already in ONNX layout [O, ...]; `out` is the output-channel count.
  std::vector<std::string> weight_inputs(int i, const Ints& dims, const std::vector<float>& w_float,
                                         const std::vector<int8_t>& w_codes) {
    const Node& node = g_.node(i);
    const int64_t out = dims[0];
    if (!int8_) {
      std::vector<std::string> in{b_.f32(node.name + "_weight", dims, w_float)};
      if (const Param* bias = node.layer->find_param("bias"))
        in.push_back(b_.f32(node.name + "_bias", {out}, bias->value.storage()));
      return in;
    }
    const NodeQuantization& q = m_.nodes[i];
    const std::string wq = b_.i8(node.name + "_weight_q", dims, w_codes);
    const std::string ws = b_.f32(node.name + "_weight_scale", {out}, q.weight_scale);
    const std::string wz = b_.i8(node.name + "_weight_zero_point", {out}, std::vector<int8_t>(out, 0));
    NodeProto* wdq = b_.add_op("DequantizeLinear", {wq, ws, wz}, node.name + "_weight");
    GraphBuilder::attr(wdq, "axis", int64_t{0});
    const float s_in = grid(node.inputs[0]).scale;
    std::vector<float> bias_scale(out);
    for (int64_t c = 0; c < out; ++c) bias_scale[c] = s_in * q.weight_scale[c];
    const std::string bq = b_.i32(node.name + "_bias_q", {out}, q.bias);
    const std::string bs = b_.f32(node.name + "_bias_scale", {out}, bias_scale);
    const std::string bz = b_.i32(node.name + "_bias_zero_point", {out}, std::vector<int32_t>(out, 0));
    NodeProto* bdq = b_.add_op("DequantizeLinear", {bq, bs, bz}, node.name + "_bias");
    GraphBuilder::attr(bdq, "axis", int64_t{0});
    return {wdq->output(0), bdq->output(0)};
  }

  static Status require_rank(const Value& x, int rank) {
    if (x.rank == rank) return Status::Ok();
    return invalid_argument("expects a rank-" + std::to_string(rank) + " input, got rank " + std::to_string(x.rank));
  }

  Status export_node(int i) {
    const Node& node = g_.node(i);
    const std::string type = node.layer->type();
    const std::string& name = node.name;
    const Value x = values_[node.inputs[0]];
    const Shape& in_shape = g_.node(node.inputs[0]).output_shape;  // NHWC with batch 1
    const int64_t channels_in = in_shape.back();

    if (type == "conv2d" || type == "depthwise_conv2d") {
      SLING_RETURN_IF_ERROR(require_rank(x, 4));
      const bool dw = type == "depthwise_conv2d";
      int kh, kw, sh, sw, out;
      Padding pad;
      if (dw) {
        const DepthwiseConv2DConfig& c = static_cast<const DepthwiseConv2D&>(*node.layer).config();
        kh = c.kernel_h, kw = c.kernel_w, sh = c.stride_h, sw = c.stride_w, out = c.channels, pad = c.padding;
      } else {
        const Conv2DConfig& c = static_cast<const Conv2D&>(*node.layer).config();
        kh = c.kernel_h, kw = c.kernel_w, sh = c.stride_h, sw = c.stride_w, out = c.filters, pad = c.padding;
      }
      const Ints dims{out, dw ? 1 : channels_in, kh, kw};
      const float* wf = node.layer->find_param("weight")->value.data();
      const int8_t* wc = int8_ ? m_.nodes[i].weight.data() : nullptr;
      std::vector<float> w_float;
      std::vector<int8_t> w_codes;
      if (dw) {
        if (!int8_) w_float = depthwise_to_c1hw(wf, kh, kw, out);
        if (int8_) w_codes = depthwise_to_c1hw(wc, kh, kw, out);
      } else {
        if (!int8_) w_float = ohwi_to_oihw(wf, out, kh, kw, channels_in);
        if (int8_) w_codes = ohwi_to_oihw(wc, out, kh, kw, channels_in);
      }
      std::vector<std::string> inputs{x.name};
      for (std::string& s : weight_inputs(i, dims, w_float, w_codes)) inputs.push_back(std::move(s));
      const OnnxWindow win = onnx_window(in_shape, kh, kw, sh, sw, pad);
      NodeProto* n = b_.add_op("Conv", inputs, name);
      GraphBuilder::attr(n, "kernel_shape", win.kernel);
      GraphBuilder::attr(n, "strides", win.strides);
      GraphBuilder::attr(n, "pads", win.pads);
      GraphBuilder::attr(n, "dilations", Ints{1, 1});
      GraphBuilder::attr(n, "group", int64_t{dw ? out : 1});
      finish(i, n->output(0), 4);
    } else if (type == "dense") {
      SLING_RETURN_IF_ERROR(require_rank(x, 2));
      const DenseConfig& c = static_cast<const Dense&>(*node.layer).config();
      const Ints dims{c.units, c.in_features};
      std::vector<float> w_float;
      std::vector<int8_t> w_codes;
      if (int8_)
        w_codes = m_.nodes[i].weight.storage();
      else
        w_float = node.layer->find_param("weight")->value.storage();
      std::vector<std::string> inputs{x.name};
      for (std::string& s : weight_inputs(i, dims, w_float, w_codes)) inputs.push_back(std::move(s));
      NodeProto* n = b_.add_op("Gemm", inputs, name);
      GraphBuilder::attr(n, "transB", int64_t{1});
      finish(i, n->output(0), 2);
    } else if (type == "batch_norm") {
      if (int8_) return invalid_argument("an unfolded batch norm has no int8 form");
      const Layer& l = *node.layer;
      const int64_t c = static_cast<const BatchNorm&>(l).config().channels;
      std::vector<std::string> inputs{x.name};
      for (const char* p : {"gamma", "beta", "running_mean", "running_var"})
        inputs.push_back(b_.f32(name + "_" + p, {c}, l.find_param(p)->value.storage()));
      NodeProto* n = b_.add_op("BatchNormalization", inputs, name);
      GraphBuilder::attr(n, "epsilon", static_cast<const BatchNorm&>(l).config().epsilon);
      finish(i, n->output(0), x.rank);
    } else if (type == "relu" || type == "relu6") {
      if (!int8_) {
        finish(i, activation(x.name, static_cast<const Activation&>(*node.layer).kind(), name), x.rank);
      } else if (is_fused_activation(g_, i)) {
        values_[i] = x;  // its producer clamps the codes
      } else {
        finish(i, x.name, x.rank, node.layer.get());  // a clamp of the input's codes
      }
    } else if (type == "max_pool2d" || type == "avg_pool2d") {
      SLING_RETURN_IF_ERROR(require_rank(x, 4));
      const Pool2DConfig& c = static_cast<const Pool2D&>(*node.layer).config();
      const OnnxWindow win = onnx_window(in_shape, c.pool_h, c.pool_w, c.stride_h, c.stride_w, c.padding);
      const bool max = c.kind == PoolKind::kMax;
      NodeProto* n = b_.add_op(max ? "MaxPool" : "AveragePool", {x.name}, name);
      GraphBuilder::attr(n, "kernel_shape", win.kernel);
      GraphBuilder::attr(n, "strides", win.strides);
      GraphBuilder::attr(n, "pads", win.pads);
      // Our average pool divides by the taps inside the input, as TFLite does.
      if (!max) GraphBuilder::attr(n, "count_include_pad", int64_t{0});
      finish(i, n->output(0), 4);
    } else if (type == "global_avg_pool") {
      SLING_RETURN_IF_ERROR(require_rank(x, 4));
      const std::string pooled = snap(b_.op("GlobalAveragePool", {x.name}, name + "_nc11"), i, name + "_nc11");
      flatten(i, pooled);
    } else if (type == "add") {
      const Value y = values_[node.inputs[1]];
      if (x.rank != y.rank) return internal_error("add of values of ranks " + std::to_string(x.rank) + " and " +
                                                  std::to_string(y.rank));
      finish(i, b_.op("Add", {x.name, y.name}, name), x.rank);
    } else if (type == "flatten") {
      if (x.rank == 2) {
        values_[i] = x;
        return Status::Ok();
      }
      SLING_RETURN_IF_ERROR(require_rank(x, 4));
      // Our flatten reads NHWC order; unless H = W = 1 the NCHW value goes back first.
      std::string nhwc = x.name;
      if (in_shape[1] != 1 || in_shape[2] != 1)
        nhwc = snap(transpose(x.name, {0, 2, 3, 1}, name + "_nhwc"), i, name + "_nhwc");
      flatten(i, nhwc);
    } else if (type == "affine") {
      // An imported model's input mapping (pixels in [0, 1] to the file's domain). In an
      // int8 export its output grid holds the input's codes, so the snap below is exact.
      const AffineConfig& c = static_cast<const Affine&>(*node.layer).config();
      const std::string scaled =
          b_.op("Mul", {x.name, b_.f32(name + "_scale", {}, {static_cast<float>(c.scale)})}, name + "_mul");
      finish(i, b_.op("Add", {scaled, b_.f32(name + "_offset", {}, {static_cast<float>(c.offset)})}, name), x.rank);
    } else if (type == "softmax") {
      NodeProto* n = b_.add_op("Softmax", {x.name}, name);
      GraphBuilder::attr(n, "axis", int64_t{x.rank == 4 ? 1 : -1});  // the channel axis
      finish(i, n->output(0), x.rank);
    } else if (type == "fake_quant") {
      if (int8_) return invalid_argument("fake-quant nodes have no int8 form; export the quantized model instead");
      const FakeQuantConfig& c = static_cast<const FakeQuant&>(*node.layer).config();
      if (c.qmin < -128 || c.qmax > 127)
        return unimplemented("fake-quant range [" + std::to_string(c.qmin) + ", " + std::to_string(c.qmax) +
                             "] is wider than int8");
      ActivationGrid fg;
      fg.scale = static_cast<float>(c.scale);
      fg.zero_point = c.zero_point;
      values_[i] = {qdq(x.name, fg, c.qmin, c.qmax, name), x.rank};
    } else if (type == "activation_quant") {
      // Activation QAT: a trained range exports as its grid; before training it is the identity.
      const auto& aq = static_cast<const ActivationQuant&>(*node.layer);
      if (!aq.has_range()) {
        values_[i] = x;
      } else {
        const ActivationGrid ag = grid_for_range(aq.range_min(), aq.range_max(), aq.bits());
        values_[i] = {qdq(x.name, ag, ag.qmin, ag.qmax, name), x.rank};
      }
    } else {
      return unimplemented("the ONNX exporter has no mapping for this layer type");
    }
    return Status::Ok();
  }

  // Flatten(axis 1) to [N, features], snapped to the node's grid.
  void flatten(int i, const std::string& x) {
    NodeProto* n = b_.add_op("Flatten", {x}, g_.node(i).name);
    GraphBuilder::attr(n, "axis", int64_t{1});
    finish(i, n->output(0), 2);
  }

  const QuantizedModel& m_;
  const Graph& g_;
  bool int8_;
  GraphBuilder b_;
  onnx::GraphProto* graph_;
  std::vector<Value> values_;
  std::vector<int> fused_;  // per producer node: the activation node fused into it, or -1
};

}  // namespace

Result<std::string> export_onnx(const QuantizedModel& model, bool int8) {
  if (int8) {
    if (model.nodes.empty())
      return invalid_argument("an int8 (QDQ) export needs a quantized model; this is a float model: run "
                              "`slingshot quantize` first");
    SLING_RETURN_IF_ERROR(validate_quantized_model(model));
    if (model.nodes[0].output.qmin != -128 || model.nodes[0].output.qmax != 127)
      return unimplemented("the input grid must be 8-bit");
  }
  onnx::ModelProto proto;
  proto.set_ir_version(onnx::IR_VERSION);
  proto.set_producer_name("slingshot");
  proto.set_producer_version(SLING_VERSION);
  proto.set_doc_string(int8 ? "Slingshot quantized model as QDQ int8 (NHWC float input, float logits)"
                            : "Slingshot float model (NHWC float input, float logits)");
  onnx::OperatorSetIdProto* opset = proto.add_opset_import();
  opset->set_domain("");
  opset->set_version(kOnnxOpset);
  auto meta = [&](const std::string& k, const std::string& v) {
    onnx::StringStringEntryProto* e = proto.add_metadata_props();
    e->set_key(k);
    e->set_value(v);
  };
  meta("slingshot.format", int8 ? "qdq-int8" : "float");
  meta("slingshot.input_layout", "NHWC");
  if (!model.nodes.empty()) {
    meta("slingshot.weights", weight_scheme_name(model.weights));
    meta("slingshot.activation_bits", std::to_string(model.activation_bits));
  }
  onnx::GraphProto* graph = proto.mutable_graph();
  graph->set_name("slingshot");
  Exporter exporter(model, int8, graph);
  SLING_RETURN_IF_ERROR(exporter.run());
  // ONNX's own checker (op schemas, types, topological order): a failure is our bug.
  try {
    onnx::checker::check_model(proto);
  } catch (const std::exception& e) {
    return internal_error(std::string("the exported model fails the ONNX checker: ") + e.what());
  }
  std::string bytes;
  if (!proto.SerializeToString(&bytes)) return internal_error("protobuf could not serialize the ONNX model");
  return bytes;
}

Status save_onnx(const QuantizedModel& model, bool int8, const std::string& path) {
  SLING_ASSIGN_OR_RETURN(std::string bytes, export_onnx(model, int8));
  return write_file_atomic(path, bytes);
}

}  // namespace slingshot

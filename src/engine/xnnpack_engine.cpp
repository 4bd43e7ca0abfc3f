// The native `xnnpack` engine: the shared Int8Program run with Debian's XNNPACK operators
// (0.0~git20220216). Conv2d is a QC8 convolution (per-channel int8 weights); depthwise is
// the same with groups = C and XNN_FLAG_DEPTHWISE_CONVOLUTION; dense is a 1x1 QC8
// convolution over a 1x1 image, because this version's fully connected QS8 operator has
// one weight scale per tensor only. Global average pool, add, max pool and clamp have QS8/
// S8 operators. This version has no int8 average pooling: a window that never meets
// padding becomes a depthwise QC8 convolution with all-one weights and weight scale
// 1/(kh*kw); SAME windows clipped at the border (TFLite divides by the in-bounds count)
// and 1x1 max pools (XNNPACK refuses them) run the reference kernels, and so does the
// thermometer encoding, which XNNPACK has no operator for.
//
// XNNPACK requantizes in fp32 and rounds half to even, where int8-ref uses TFLite's
// fixed-point multipliers, so codes can differ by one LSB at near-ties in any layer: the
// engine is near-exact, and tests/unit/test_xnnpack_engine.cpp measures by how much.
// Operators are created once (XNNPACK packs the weights then) and set up again whenever
// the batch size or a buffer address changes. No thread pool: one thread per engine.
#include <xnnpack.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "engine/int8_program.h"
#include "kernels/ref/avg_pool2d_s8__ref.h"
#include "kernels/ref/max_pool2d_s8__ref.h"
#include "kernels/ref/thermometer_s8__ref.h"

namespace slingshot {
namespace {

const char* xnn_status_text(xnn_status s) {
  switch (s) {
    case xnn_status_success: return "success";
    case xnn_status_uninitialized: return "XNNPACK is not initialized";
    case xnn_status_invalid_parameter: return "invalid parameter";
    case xnn_status_invalid_state: return "invalid state";
    case xnn_status_unsupported_parameter: return "unsupported parameter";
    case xnn_status_unsupported_hardware: return "unsupported hardware";
    case xnn_status_out_of_memory: return "out of memory";
  }
  return "unknown XNNPACK status";
}

// A failed xnn_* call as a Status naming the call and what it was for.
Status xnn_check(xnn_status s, const char* call, const std::string& what) {
  if (s == xnn_status_success) return Status::Ok();
  const std::string m = std::string(call) + " failed for " + what + ": " + xnn_status_text(s);
  return s == xnn_status_unsupported_parameter || s == xnn_status_unsupported_hardware ? unimplemented(m)
                                                                                          : internal_error(m);
}

struct OperatorDeleter {
  void operator()(xnn_operator_t op) const { xnn_delete_operator(op); }
};
using OperatorPtr = std::unique_ptr<xnn_operator, OperatorDeleter>;

// Padding after the last row or column; TFLite SAME puts the odd one there.
uint32_t pad_after(int32_t in, int32_t k, int32_t stride, int32_t out, int32_t before) {
  return static_cast<uint32_t>(std::max(0, (out - 1) * stride + k - in - before));
}

int8_t code(int32_t v) { return static_cast<int8_t>(v); }

// How one program op runs.
enum class Runner {
  kXnnpack,   // an XNNPACK operator
  kRefPool,   // the reference pooling kernel (what XNNPACK cannot express exactly)
  kConstant,  // the clamp range is a single code, so every output is that code
  kRefThermometer,  // the reference thermometer kernel (XNNPACK has no such operator)
};

struct Step {
  const Int8Op* op = nullptr;
  std::string what;  // "node 'conv1' (conv2d)", for errors
  Runner runner = Runner::kXnnpack;
  OperatorPtr xnn;
};

// Holds one xnn_initialize; deinitializes after the operators it owns are gone.
struct XnnInit {
  bool ok = false;
  ~XnnInit() {
    if (ok) xnn_deinitialize();
  }
};

class XnnpackEngine final : public Engine {
 public:
  explicit XnnpackEngine(Int8Program program) : program_(std::move(program)) {
    buffers_.resize(program_.buffer_elements.size());
  }
  EngineKind kind() const override { return EngineKind::kXnnpack; }

  Status init(const QuantizedModel& model) {
    SLING_RETURN_IF_ERROR(xnn_check(xnn_initialize(nullptr), "xnn_initialize", "the xnnpack engine"));
    init_.ok = true;
    steps_.resize(program_.ops.size());
    for (size_t i = 0; i < program_.ops.size(); ++i) {
      Step& s = steps_[i];
      s.op = &program_.ops[i];
      const Node& node = model.graph.node(s.op->node);
      s.what = "node '" + node.name + "' (" + node.layer->type() + ")";
      SLING_RETURN_IF_ERROR(create(s));
    }
    return Status::Ok();
  }

  Status predict(const Tensor& x, Tensor& logits) override {
    std::vector<int8_t>& input = buffers_[program_.input_buffer];
    SLING_RETURN_IF_ERROR(quantize_input(program_, x, input));
    const int32_t n = static_cast<int32_t>(x.dim(0));
    // XNNPACK may read XNN_EXTRA_BYTES past the end of any tensor it is given.
    for (size_t b = 0; b < buffers_.size(); ++b)
      buffers_[b].resize(program_.buffer_elements[b] * n + XNN_EXTRA_BYTES);
    SLING_RETURN_IF_ERROR(setup_if_needed(n));
    for (Step& s : steps_) SLING_RETURN_IF_ERROR(run(s, n));
    dequantize_output(program_, buffers_[program_.output_buffer].data(), n, logits);
    return Status::Ok();
  }

 private:
  static bool needs_padding(const WindowShape& w) {
    return w.pad_top > 0 || w.pad_left > 0 ||
           pad_after(w.input.h, w.kernel_h, w.stride_h, w.output.h, w.pad_top) > 0 ||
           pad_after(w.input.w, w.kernel_w, w.stride_w, w.output.w, w.pad_left) > 0;
  }

  // A QC8 convolution over `w` with `groups` groups.
  Status create_conv(Step& s, const WindowShape& w, uint32_t groups, size_t group_in, size_t group_out,
                     const float* kernel_scale, const int8_t* kernel, const int32_t* bias, uint32_t flags) {
    const Int8Op& op = *s.op;
    xnn_operator_t raw = nullptr;
    const xnn_status st = xnn_create_convolution2d_nhwc_qc8(
        static_cast<uint32_t>(w.pad_top), pad_after(w.input.w, w.kernel_w, w.stride_w, w.output.w, w.pad_left),
        pad_after(w.input.h, w.kernel_h, w.stride_h, w.output.h, w.pad_top), static_cast<uint32_t>(w.pad_left),
        w.kernel_h, w.kernel_w, w.stride_h, w.stride_w, 1, 1, groups, group_in, group_out, groups * group_in,
        groups * group_out, code(op.input_grid.zero_point), op.input_grid.scale, kernel_scale, kernel, bias,
        code(op.output_grid.zero_point), op.output_grid.scale, code(op.clamp_min), code(op.clamp_max), flags, &raw);
    s.xnn.reset(raw);
    return xnn_check(st, "xnn_create_convolution2d_nhwc_qc8", s.what);
  }

  Status create(Step& s) {
    const Int8Op& op = *s.op;
    if (op.kind == Int8OpKind::kThermometer) {
      s.runner = Runner::kRefThermometer;
      return Status::Ok();
    }
    if (op.clamp_min >= op.clamp_max) {  // XNNPACK wants min < max
      s.runner = Runner::kConstant;
      return Status::Ok();
    }
    xnn_operator_t raw = nullptr;
    xnn_status st = xnn_status_success;
    const char* call = "";
    const WindowShape& w = op.window;
    switch (op.kind) {
      case Int8OpKind::kConv2D:
        return create_conv(s, w, 1, w.input.c, w.output.c, op.weight_scale, op.weights, op.bias, 0);
      case Int8OpKind::kDepthwiseConv2D:
        return create_conv(s, w, w.input.c, 1, 1, op.weight_scale, op.weights, op.bias,
                           XNN_FLAG_DEPTHWISE_CONVOLUTION);
      case Int8OpKind::kDense: {
        const WindowShape one = make_window_shape({1, 1, 1, op.dense.in_dim}, 1, 1, 1, 1, Padding::kValid,
                                                  op.dense.out_dim);
        return create_conv(s, one, 1, op.dense.in_dim, op.dense.out_dim, op.weight_scale, op.weights, op.bias, 0);
      }
      case Int8OpKind::kAvgPool: {
        if (needs_padding(w)) {
          s.runner = Runner::kRefPool;
          return Status::Ok();
        }
        // sum(x - zp) / (kh*kw) + zp, requantized like a convolution. XNNPACK packs its
        // own copy of these operands when it creates the operator.
        const int32_t c = w.input.c;
        const std::vector<int8_t> ones(static_cast<size_t>(w.kernel_h) * w.kernel_w * c, 1);
        const std::vector<float> scales(c, 1.0f / static_cast<float>(w.kernel_h * w.kernel_w));
        const std::vector<int32_t> zeros(c, 0);
        return create_conv(s, w, c, 1, 1, scales.data(), ones.data(), zeros.data(), XNN_FLAG_DEPTHWISE_CONVOLUTION);
      }
      case Int8OpKind::kMaxPool:
        if (w.kernel_h * w.kernel_w == 1) {  // XNNPACK refuses 1x1 pooling
          s.runner = Runner::kRefPool;
          return Status::Ok();
        }
        call = "xnn_create_max_pooling2d_nhwc_s8";
        st = xnn_create_max_pooling2d_nhwc_s8(
            static_cast<uint32_t>(w.pad_top), pad_after(w.input.w, w.kernel_w, w.stride_w, w.output.w, w.pad_left),
            pad_after(w.input.h, w.kernel_h, w.stride_h, w.output.h, w.pad_top), static_cast<uint32_t>(w.pad_left),
            w.kernel_h, w.kernel_w, w.stride_h, w.stride_w, 1, 1, w.input.c, w.input.c, w.input.c,
            code(op.clamp_min), code(op.clamp_max), 0, &raw);
        break;
      case Int8OpKind::kGlobalAvgPool:
        call = "xnn_create_global_average_pooling_nwc_qs8";
        st = xnn_create_global_average_pooling_nwc_qs8(
            op.mean_input.c, op.mean_input.c, op.mean_input.c, code(op.input_grid.zero_point), op.input_grid.scale,
            code(op.output_grid.zero_point), op.output_grid.scale, code(op.clamp_min), code(op.clamp_max), 0, &raw);
        break;
      case Int8OpKind::kAdd:
        call = "xnn_create_add_nd_qs8";
        st = xnn_create_add_nd_qs8(code(op.input_grid.zero_point), op.input_grid.scale,
                                   code(op.input2_grid.zero_point), op.input2_grid.scale,
                                   code(op.output_grid.zero_point), op.output_grid.scale, code(op.clamp_min),
                                   code(op.clamp_max), 0, &raw);
        break;
      case Int8OpKind::kClamp:
        call = "xnn_create_clamp_nc_s8";
        st = xnn_create_clamp_nc_s8(op.elements, op.elements, op.elements, code(op.clamp_min), code(op.clamp_max), 0,
                                    &raw);
        break;
      case Int8OpKind::kThermometer:
        return internal_error(s.what + ": the thermometer runs the reference kernel, not an XNNPACK operator");
    }
    s.xnn.reset(raw);
    return xnn_check(st, call, s.what);
  }

  // Binds the operators to the buffers of a batch of n.
  Status setup_if_needed(int32_t n) {
    std::vector<const int8_t*> addresses;
    for (const auto& b : buffers_) addresses.push_back(b.data());
    if (n == setup_batch_ && addresses == setup_addresses_) return Status::Ok();
    setup_batch_ = -1;
    for (Step& s : steps_) {
      if (s.runner != Runner::kXnnpack) continue;
      const Int8Op& op = *s.op;
      const int8_t* in = buffers_[op.input].data();
      int8_t* out = buffers_[op.output].data();
      xnn_operator_t x = s.xnn.get();
      const WindowShape& w = op.window;
      xnn_status st = xnn_status_success;
      const char* call = "";
      switch (op.kind) {
        case Int8OpKind::kConv2D:
        case Int8OpKind::kDepthwiseConv2D:
        case Int8OpKind::kAvgPool:
        case Int8OpKind::kDense: {
          const bool dense = op.kind == Int8OpKind::kDense;  // over a 1x1 image
          call = "xnn_setup_convolution2d_nhwc_qc8";
          st = xnn_setup_convolution2d_nhwc_qc8(x, n, dense ? 1 : w.input.h, dense ? 1 : w.input.w, in, out, nullptr);
          break;
        }
        case Int8OpKind::kMaxPool:
          call = "xnn_setup_max_pooling2d_nhwc_s8";
          st = xnn_setup_max_pooling2d_nhwc_s8(x, n, w.input.h, w.input.w, in, out, nullptr);
          break;
        case Int8OpKind::kGlobalAvgPool:
          call = "xnn_setup_global_average_pooling_nwc_qs8";
          st = xnn_setup_global_average_pooling_nwc_qs8(
              x, n, static_cast<size_t>(op.mean_input.h) * op.mean_input.w, in, out, nullptr);
          break;
        case Int8OpKind::kAdd: {
          call = "xnn_setup_add_nd_qs8";
          const size_t shape[1] = {static_cast<size_t>(op.elements * n)};
          st = xnn_setup_add_nd_qs8(x, 1, shape, 1, shape, in, buffers_[op.input2].data(), out, nullptr);
          break;
        }
        case Int8OpKind::kClamp:
          call = "xnn_setup_clamp_nc_s8";
          st = xnn_setup_clamp_nc_s8(x, n, in, out, nullptr);
          break;
        case Int8OpKind::kThermometer:  // runs the reference kernel (Runner::kRefThermometer)
          break;
      }
      SLING_RETURN_IF_ERROR(xnn_check(st, call, s.what));
    }
    setup_batch_ = n;
    setup_addresses_ = std::move(addresses);
    return Status::Ok();
  }

  Status run(Step& s, int32_t n) {
    const Int8Op& op = *s.op;
    int8_t* out = buffers_[op.output].data();
    switch (s.runner) {
      case Runner::kXnnpack:
        return xnn_check(xnn_run_operator(s.xnn.get(), nullptr), "xnn_run_operator", s.what);
      case Runner::kConstant:
        std::memset(out, code(op.clamp_min), static_cast<size_t>(program_.buffer_elements[op.output]) * n);
        return Status::Ok();
      case Runner::kRefPool: {
        WindowShape w = op.window;
        w.input.n = w.output.n = n;
        if (op.kind == Int8OpKind::kMaxPool)
          max_pool2d_s8__ref(w, op.pool, buffers_[op.input].data(), out);
        else
          avg_pool2d_s8__ref(w, op.pool, buffers_[op.input].data(), out);
        return Status::Ok();
      }
      case Runner::kRefThermometer: {
        ThermometerQuantParams t = op.thermometer;
        t.thresholds = op.thresholds.data();
        thermometer_s8__ref(op.elements * n, t, buffers_[op.input].data(), out);
        return Status::Ok();
      }
    }
    return internal_error("unknown runner for " + s.what);
  }

  Int8Program program_;
  XnnInit init_;  // declared before steps_, so it outlives the operators
  std::vector<Step> steps_;
  std::vector<std::vector<int8_t>> buffers_;
  int32_t setup_batch_ = -1;
  std::vector<const int8_t*> setup_addresses_;
};

}  // namespace

Result<std::unique_ptr<Engine>> make_xnnpack_engine(const QuantizedModel& model) {
  SLING_ASSIGN_OR_RETURN(Int8Program p, compile_int8_program(model));
  auto engine = std::make_unique<XnnpackEngine>(std::move(p));
  SLING_RETURN_IF_ERROR(engine->init(model));
  return std::unique_ptr<Engine>(std::move(engine));
}

}  // namespace slingshot

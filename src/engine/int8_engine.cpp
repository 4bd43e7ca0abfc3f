// The integer engines int8-ref and int8-simd: one runner over an Int8Program, with the
// kernel variant chosen per op kind. Both produce the same codes bit for bit (the simd
// kernels are tested bit-exact against the reference), so only speed differs.
#include <algorithm>

#include "engine/engine.h"
#include "engine/int8_program.h"
#include "kernels/ref/add_s8__ref.h"
#include "kernels/ref/avg_pool2d_s8__ref.h"
#include "kernels/ref/conv2d_s8__ref.h"
#include "kernels/ref/dense_s8__ref.h"
#include "kernels/ref/depthwise_conv2d_s8__ref.h"
#include "kernels/ref/global_avg_pool_s8__ref.h"
#include "kernels/ref/max_pool2d_s8__ref.h"

namespace slingshot {
namespace {

WindowShape batched(WindowShape s, int32_t n) {
  s.input.n = n;
  s.output.n = n;
  return s;
}

class Int8Engine final : public Engine {
 public:
  Int8Engine(Int8Program program, bool simd) : program_(std::move(program)), simd_(simd) {
    buffers_.resize(program_.buffer_elements.size());
  }
  EngineKind kind() const override { return simd_ ? EngineKind::kInt8Simd : EngineKind::kInt8Ref; }

  Status predict(const Tensor& x, Tensor& logits) override {
    SLING_RETURN_IF_ERROR(quantize_input(program_, x, buffers_[program_.input_buffer]));
    const int32_t n = static_cast<int32_t>(x.dim(0));
    for (size_t b = 0; b < buffers_.size(); ++b)
      if (static_cast<int>(b) != program_.input_buffer) buffers_[b].resize(program_.buffer_elements[b] * n);
    for (const Int8Op& op : program_.ops) run(op, n);
    dequantize_output(program_, buffers_[program_.output_buffer].data(), n, logits);
    return Status::Ok();
  }

 private:
  void run(const Int8Op& op, int32_t n) {
    const int8_t* in = buffers_[op.input].data();
    int8_t* out = buffers_[op.output].data();
    ConvQuantParams conv = op.conv;
    conv.output_multiplier = op.multipliers.data();
    conv.output_shift = op.shifts.data();
    switch (op.kind) {
      case Int8OpKind::kConv2D:
        conv2d_s8__ref(batched(op.window, n), conv, in, op.weights, op.bias, out);
        break;
      case Int8OpKind::kDepthwiseConv2D:
        depthwise_conv2d_s8__ref(batched(op.window, n), conv, in, op.weights, op.bias, out);
        break;
      case Int8OpKind::kDense:
        dense_s8__ref({n, op.dense.in_dim, op.dense.out_dim}, conv, in, op.weights, op.bias, out);
        break;
      case Int8OpKind::kMaxPool:
        max_pool2d_s8__ref(batched(op.window, n), op.pool, in, out);
        break;
      case Int8OpKind::kAvgPool:
        avg_pool2d_s8__ref(batched(op.window, n), op.pool, in, out);
        break;
      case Int8OpKind::kGlobalAvgPool: {
        Dims4 d = op.mean_input;
        d.n = n;
        global_avg_pool_s8__ref(d, op.mean, in, out);
        break;
      }
      case Int8OpKind::kAdd:
        add_s8__ref(op.elements * n, op.add, in, buffers_[op.input2].data(), out);
        break;
      case Int8OpKind::kClamp:
        for (int64_t i = 0; i < op.elements * n; ++i)
          out[i] = static_cast<int8_t>(std::clamp<int32_t>(in[i], op.clamp_min, op.clamp_max));
        break;
    }
  }

  Int8Program program_;
  bool simd_;
  std::vector<std::vector<int8_t>> buffers_;
};

}  // namespace

Result<std::unique_ptr<Engine>> make_int8_engine(const QuantizedModel& model, bool simd) {
  SLING_ASSIGN_OR_RETURN(Int8Program p, compile_int8_program(model));
  return std::unique_ptr<Engine>(new Int8Engine(std::move(p), simd));
}

}  // namespace slingshot

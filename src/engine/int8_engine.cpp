// The integer engines int8-ref and int8-simd: one runner over an Int8Program, with the
// kernel variant chosen per op kind. Both produce the same codes bit for bit (the simd
// kernels are tested bit-exact against the reference), so only speed differs.
#include <algorithm>
#include <functional>

#include "engine/engine.h"
#include "engine/int8_program.h"
#include "kernels/ref/add_s8__ref.h"
#include "kernels/ref/avg_pool2d_s8__ref.h"
#include "kernels/ref/conv2d_s8__ref.h"
#include "kernels/ref/dense_s8__ref.h"
#include "kernels/ref/depthwise_conv2d_s8__ref.h"
#include "kernels/ref/global_avg_pool_s8__ref.h"
#include "kernels/ref/max_pool2d_s8__ref.h"
#include "kernels/ref/thermometer_s8__ref.h"
#include "kernels/simd/add_s8__simd.h"
#include "kernels/simd/conv2d_s8__simd.h"
#include "kernels/simd/dense_s8__simd.h"
#include "kernels/simd/depthwise_conv2d_s8__simd.h"
#include "kernels/simd/max_pool2d_s8__simd.h"

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
    if (!simd_) return;
    // Conv filters are packed once, at load.
    packed_.resize(program_.ops.size());
    for (size_t i = 0; i < program_.ops.size(); ++i) {
      const Int8Op& op = program_.ops[i];
      if (op.kind != Int8OpKind::kConv2D) continue;
      packed_[i].resize(conv2d_s8__simd_packed_size(op.window));
      conv2d_s8__simd_pack_filter(op.window, op.weights, packed_[i].data());
    }
  }
  EngineKind kind() const override { return simd_ ? EngineKind::kInt8Simd : EngineKind::kInt8Ref; }

  // Called with every op's output codes for the batch, after the op ran.
  using OpObserver = std::function<void(const Int8Op& op, const int8_t* codes, int64_t count)>;
  void set_observer(OpObserver observer) { observer_ = std::move(observer); }
  const Int8Program& program() const { return program_; }

  Status predict(const Tensor& x, Tensor& logits) override {
    SLING_RETURN_IF_ERROR(quantize_input(program_, x, buffers_[program_.input_buffer]));
    const int32_t n = static_cast<int32_t>(x.dim(0));
    for (size_t b = 0; b < buffers_.size(); ++b)
      if (static_cast<int>(b) != program_.input_buffer) buffers_[b].resize(program_.buffer_elements[b] * n);
    if (simd_ && n != scratch_batch_) size_scratch(n);
    for (size_t i = 0; i < program_.ops.size(); ++i) {
      run(program_.ops[i], i, n);
      if (observer_) observer_(program_.ops[i], buffers_[program_.ops[i].output].data(), program_.buffer_elements[program_.ops[i].output] * n);
    }
    dequantize_output(program_, buffers_[program_.output_buffer].data(), n, logits);
    return Status::Ok();
  }

 private:
  // One scratch buffer serves every simd kernel call: the largest any op needs at batch n.
  void size_scratch(int32_t n) {
    int64_t need = 0;
    for (const Int8Op& op : program_.ops) {
      if (op.kind == Int8OpKind::kConv2D) need = std::max(need, conv2d_s8__simd_scratch_size(batched(op.window, n)));
      if (op.kind == Int8OpKind::kDepthwiseConv2D)
        need = std::max(need, depthwise_conv2d_s8__simd_scratch_size(batched(op.window, n)));
      if (op.kind == Int8OpKind::kDense)
        need = std::max(need, dense_s8__simd_scratch_size({n, op.dense.in_dim, op.dense.out_dim}));
    }
    scratch_.resize(need);
    scratch_batch_ = n;
  }

  void run(const Int8Op& op, size_t index, int32_t n) {
    const int8_t* in = buffers_[op.input].data();
    int8_t* out = buffers_[op.output].data();
    ConvQuantParams conv = op.conv;
    conv.output_multiplier = op.multipliers.data();
    conv.output_shift = op.shifts.data();
    switch (op.kind) {
      case Int8OpKind::kConv2D:
        if (simd_)
          conv2d_s8__simd(batched(op.window, n), conv, in, packed_[index].data(), op.bias, out, scratch_.data());
        else
          conv2d_s8__ref(batched(op.window, n), conv, in, op.weights, op.bias, out);
        break;
      case Int8OpKind::kDepthwiseConv2D:
        if (simd_)
          depthwise_conv2d_s8__simd(batched(op.window, n), conv, in, op.weights, op.bias, out, scratch_.data());
        else
          depthwise_conv2d_s8__ref(batched(op.window, n), conv, in, op.weights, op.bias, out);
        break;
      case Int8OpKind::kDense:
        if (simd_)
          dense_s8__simd({n, op.dense.in_dim, op.dense.out_dim}, conv, in, op.weights, op.bias, out, scratch_.data());
        else
          dense_s8__ref({n, op.dense.in_dim, op.dense.out_dim}, conv, in, op.weights, op.bias, out);
        break;
      case Int8OpKind::kMaxPool:
        if (simd_)
          max_pool2d_s8__simd(batched(op.window, n), op.pool, in, out);
        else
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
        if (simd_)
          add_s8__simd(op.elements * n, op.add, in, buffers_[op.input2].data(), out);
        else
          add_s8__ref(op.elements * n, op.add, in, buffers_[op.input2].data(), out);
        break;
      case Int8OpKind::kClamp:
        for (int64_t i = 0; i < op.elements * n; ++i)
          out[i] = static_cast<int8_t>(std::clamp<int32_t>(in[i], op.clamp_min, op.clamp_max));
        break;
      case Int8OpKind::kThermometer: {
        // One comparison per output byte: the reference kernel serves the simd engine too.
        ThermometerQuantParams t = op.thermometer;
        t.thresholds = op.thresholds.data();
        thermometer_s8__ref(op.elements * n, t, in, out);
        break;
      }
    }
  }

  Int8Program program_;
  bool simd_;
  std::vector<std::vector<int8_t>> buffers_;
  std::vector<std::vector<int32_t>> packed_;  // simd: packed conv filters, by op index
  std::vector<int32_t> scratch_;              // simd: shared kernel scratch
  int32_t scratch_batch_ = -1;                // the batch scratch_ is sized for
  OpObserver observer_;
};

}  // namespace

Result<std::unique_ptr<Engine>> make_int8_engine(const QuantizedModel& model, bool simd) {
  SLING_ASSIGN_OR_RETURN(Int8Program p, compile_int8_program(model));
  return std::unique_ptr<Engine>(new Int8Engine(std::move(p), simd));
}

Result<std::vector<Int8LayerCodes>> int8_layer_codes(const QuantizedModel& model, const Tensor& x) {
  SLING_ASSIGN_OR_RETURN(Int8Program p, compile_int8_program(model));
  std::vector<Int8LayerCodes> layers;
  Int8LayerCodes input{"input", {}};
  SLING_RETURN_IF_ERROR(quantize_input(p, x, input.codes));
  layers.push_back(std::move(input));
  Int8Engine engine(std::move(p), /*simd=*/false);
  engine.set_observer([&](const Int8Op& op, const int8_t* codes, int64_t count) {
    layers.push_back({model.graph.node(op.node).name, std::vector<int8_t>(codes, codes + count)});
  });
  Tensor logits;
  SLING_RETURN_IF_ERROR(engine.predict(x, logits));
  return layers;
}

}  // namespace slingshot

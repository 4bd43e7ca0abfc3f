// A quantized model lowered to a flat list of int8 kernel calls, built once per model
// and shared by every integer engine (int8-ref, int8-simd, xnnpack) and, later, by the
// Cortex-M exporter. Lowering follows TFLite: relu/relu6 that a conv, depthwise conv,
// dense or add alone feeds fuse into that op's clamp; flatten is a no-op on NHWC data;
// requantization multipliers are derived from the grids exactly as TFLite's Prepare does.
#pragma once

#include <cstdint>
#include <vector>

#include "core/status.h"
#include "kernels/kernel_params.h"
#include "kernels/quant_params.h"
#include "quant/quantized_model.h"

namespace slingshot {

enum class Int8OpKind { kConv2D, kDepthwiseConv2D, kDense, kMaxPool, kAvgPool, kGlobalAvgPool, kAdd, kClamp, kThermometer };

struct Int8Op {
  Int8OpKind kind = Int8OpKind::kClamp;
  int node = 0;         // graph node whose value this op produces
  int input = -1;       // buffer read
  int input2 = -1;      // second buffer read (add)
  int output = -1;      // buffer written
  // Geometry for a batch of 1; runners set .n to the batch.
  WindowShape window{};  // conv, depthwise conv, pools
  DenseShape dense{};    // dense
  Dims4 mean_input{};    // global average pool input
  int64_t elements = 0;  // add, clamp, thermometer: input elements per sample
  // Quantization. conv.output_multiplier/output_shift are left null: runners point them
  // at `multipliers`/`shifts`, which keeps Int8Op freely copyable.
  ConvQuantParams conv{};
  PoolQuantParams pool{};
  MeanQuantParams mean{};
  AddQuantParams add{};
  ThermometerQuantParams thermometer{};  // .thresholds left null: runners point it at `thresholds`
  std::vector<int32_t> thresholds;       // thermometer: per-level input-code thresholds
  std::vector<int32_t> multipliers;  // per output channel (conv, depthwise, dense)
  std::vector<int32_t> shifts;       // per output channel
  const int8_t* weights = nullptr;   // into the QuantizedModel (OHWI, [1,kh,kw,C] or [out,in])
  const int32_t* bias = nullptr;     // into the QuantizedModel
  const float* weight_scale = nullptr;  // per output channel, for engines that requantize in float
  ActivationGrid input_grid;         // grid of `input`
  ActivationGrid input2_grid;        // grid of `input2` (add)
  ActivationGrid output_grid;        // grid of `output`
  int32_t clamp_min = -128;          // the output clamp every kind applies (fused activation included)
  int32_t clamp_max = 127;
};

struct Int8Program {
  std::vector<Int8Op> ops;                // in execution order
  std::vector<int64_t> buffer_elements;   // per-sample int8 elements of each buffer
  int input_buffer = 0;                   // buffer holding the quantized input
  int output_buffer = 0;                  // buffer holding the output codes
  ActivationGrid input_grid;              // quantizes float inputs
  ActivationGrid output_grid;             // dequantizes the output
  Shape input_shape;                      // per sample
  Shape output_shape;                     // per sample
  RoundingMode rounding = RoundingMode::kDouble;
};

// Lowers a validated quantized model. Errors name the node a kernel cannot run.
Result<Int8Program> compile_int8_program(const QuantizedModel& model);

// Float inputs [N, input_shape...] to input codes (round half away from zero, clamp).
Status quantize_input(const Int8Program& program, const Tensor& x, std::vector<int8_t>& codes);
// Output codes of a batch to float logits [N, output_shape...].
void dequantize_output(const Int8Program& program, const int8_t* codes, int64_t batch, Tensor& logits);

}  // namespace slingshot

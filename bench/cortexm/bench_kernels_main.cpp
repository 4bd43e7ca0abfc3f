// Instruction-count benchmark firmware of the Cortex-M DSP kernels (bench/cortexm/run_bench.sh
// runs it under QEMU with -icount shift=0). For each network, one whole int8 inference
// twice: once on the reference kernels, once with conv, depthwise conv and dense on the DSP
// kernels (src/kernels/cortexm); add and pooling run the reference kernels in both, so the
// totals are whole-inference figures. Counts every layer; both runs must agree byte for
// byte on every layer's output (exit 1 otherwise). Prints one JSON object.
//   resnet8: MLPerf Tiny image classification (pretrainedResnet_quant.tflite's layers:
//            32x32x3 input, three residual stacks of 16/32/64 channels with 1x1 stride-2
//            shortcuts, 8x8 average pool, 10-way dense; all convs SAME).
//   ds-cnn:  MLPerf Tiny keyword spotting (kws_ref_model.tflite's layers: 49x10x1 MFCC
//            input, 10x4 stride-2 conv to 64 channels, four depthwise 3x3 + pointwise
//            blocks, 25x5 average pool, 12-way dense).
// Weights and activations are seeded random int8 with TFLite-like quantization
// parameters: the kernels' instruction counts depend on the shapes, not on the values
// (the only data-dependent branches are requantization corner cases).
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "core/rng.h"
#include "cortexm/instruction_counter.h"
#include "kernels/cortexm/conv2d_s8__dsp.h"
#include "kernels/cortexm/dense_s8__dsp.h"
#include "kernels/cortexm/depthwise_conv2d_s8__dsp.h"
#include "kernels/kernel_params.h"
#include "kernels/quant_params.h"
#include "kernels/ref/add_s8__ref.h"
#include "kernels/ref/avg_pool2d_s8__ref.h"
#include "kernels/ref/conv2d_s8__ref.h"
#include "kernels/ref/dense_s8__ref.h"
#include "kernels/ref/depthwise_conv2d_s8__ref.h"

namespace slingshot {
namespace {

enum class Op { kConv, kDepthwise, kAdd, kAvgPool, kDense };

// One layer of a network. Activations live in numbered slots; slot 0 is the input.
struct Layer {
  const char* name;
  Op op;
  int32_t in_slot, in2_slot, out_slot;  // in2: the add's second input
  int32_t in_h, in_w, in_c, out_c;      // input geometry; out_c: output channels
  int32_t kernel_h, kernel_w, stride;   // conv / pool window (all convs SAME, pools VALID)
  bool relu;                            // fused ReLU (clamp at the output zero point)
};

const Layer kResnet8[] = {
    {"conv0", Op::kConv, 0, -1, 1, 32, 32, 3, 16, 3, 3, 1, true},
    {"stack1_conv1", Op::kConv, 1, -1, 2, 32, 32, 16, 16, 3, 3, 1, true},
    {"stack1_conv2", Op::kConv, 2, -1, 3, 32, 32, 16, 16, 3, 3, 1, false},
    {"stack1_add", Op::kAdd, 1, 3, 4, 32, 32, 16, 16, 0, 0, 0, true},
    {"stack2_conv1", Op::kConv, 4, -1, 5, 32, 32, 16, 32, 3, 3, 2, true},
    {"stack2_conv2", Op::kConv, 5, -1, 6, 16, 16, 32, 32, 3, 3, 1, false},
    {"stack2_shortcut", Op::kConv, 4, -1, 7, 32, 32, 16, 32, 1, 1, 2, false},
    {"stack2_add", Op::kAdd, 6, 7, 8, 16, 16, 32, 32, 0, 0, 0, true},
    {"stack3_conv1", Op::kConv, 8, -1, 9, 16, 16, 32, 64, 3, 3, 2, true},
    {"stack3_conv2", Op::kConv, 9, -1, 10, 8, 8, 64, 64, 3, 3, 1, false},
    {"stack3_shortcut", Op::kConv, 8, -1, 11, 16, 16, 32, 64, 1, 1, 2, false},
    {"stack3_add", Op::kAdd, 10, 11, 12, 8, 8, 64, 64, 0, 0, 0, true},
    {"avg_pool", Op::kAvgPool, 12, -1, 13, 8, 8, 64, 64, 8, 8, 8, false},
    {"dense", Op::kDense, 13, -1, 14, 1, 1, 64, 10, 0, 0, 0, false},
};

const Layer kDsCnn[] = {
    {"conv0", Op::kConv, 0, -1, 1, 49, 10, 1, 64, 10, 4, 2, true},
    {"block1_dw", Op::kDepthwise, 1, -1, 2, 25, 5, 64, 64, 3, 3, 1, true},
    {"block1_pw", Op::kConv, 2, -1, 3, 25, 5, 64, 64, 1, 1, 1, true},
    {"block2_dw", Op::kDepthwise, 3, -1, 4, 25, 5, 64, 64, 3, 3, 1, true},
    {"block2_pw", Op::kConv, 4, -1, 5, 25, 5, 64, 64, 1, 1, 1, true},
    {"block3_dw", Op::kDepthwise, 5, -1, 6, 25, 5, 64, 64, 3, 3, 1, true},
    {"block3_pw", Op::kConv, 6, -1, 7, 25, 5, 64, 64, 1, 1, 1, true},
    {"block4_dw", Op::kDepthwise, 7, -1, 8, 25, 5, 64, 64, 3, 3, 1, true},
    {"block4_pw", Op::kConv, 8, -1, 9, 25, 5, 64, 64, 1, 1, 1, true},
    {"avg_pool", Op::kAvgPool, 9, -1, 10, 25, 5, 64, 64, 25, 5, 1, false},
    {"dense", Op::kDense, 10, -1, 11, 1, 1, 64, 12, 0, 0, 0, false},
};

struct Network {
  const char* name;
  const Layer* layers;
  int count;
};
const Network kNetworks[] = {
    {"resnet8", kResnet8, sizeof(kResnet8) / sizeof(kResnet8[0])},
    {"ds-cnn", kDsCnn, sizeof(kDsCnn) / sizeof(kDsCnn[0])},
};

constexpr int kMaxLayers = 14;
constexpr int kSlots = 15;
constexpr int32_t kSlotBytes = 32 * 32 * 16;
constexpr int32_t kMaxWeights = 64 * 3 * 3 * 64;
constexpr int32_t kMaxChannels = 64;
constexpr int32_t kActivationZeroPoint = -128;  // after ReLU, as in the MLPerf files

// Per-layer parameters, drawn once per network and shared by both runs.
struct LayerData {
  int8_t weights[kMaxWeights];
  int32_t bias[kMaxChannels];
  int32_t multiplier[kMaxChannels];
  int32_t shift[kMaxChannels];
  AddQuantParams add;
};
LayerData g_params[kMaxLayers];
int8_t g_slots[2][kSlots][kSlotBytes];  // [run][slot]
// Accumulators of two pixels (2 x 64 int32) and a widened block of two 3x3x64 columns.
int32_t g_scratch[2 * 64 + 2 * 3 * 3 * 64 / 2];
uint64_t g_counts[2][kMaxLayers];

WindowShape window_of(const Layer& l) {
  const Padding pad = l.op == Op::kAvgPool ? Padding::kValid : Padding::kSame;
  return make_window_shape(Dims4{1, l.in_h, l.in_w, l.in_c}, l.kernel_h, l.kernel_w, l.stride, l.stride, pad,
                           l.out_c);
}

int64_t output_size(const Layer& l) {
  if (l.op == Op::kAdd) return int64_t{l.in_h} * l.in_w * l.in_c;
  if (l.op == Op::kDense) return l.out_c;
  return window_of(l).output.size();
}

int64_t macs(const Layer& l) {
  const int64_t taps = int64_t{l.kernel_h} * l.kernel_w;
  if (l.op == Op::kConv) return output_size(l) * taps * l.in_c;
  if (l.op == Op::kDepthwise) return output_size(l) * taps;
  if (l.op == Op::kDense) return int64_t{l.in_c} * l.out_c;
  return 0;
}

const char* op_name(Op op) {
  switch (op) {
    case Op::kConv: return "conv2d";
    case Op::kDepthwise: return "depthwise_conv2d";
    case Op::kAdd: return "add";
    case Op::kAvgPool: return "avg_pool2d";
    case Op::kDense: return "dense";
  }
  return "?";
}

void init_params(Rng& rng, const Network& net) {
  for (int i = 0; i < net.count; ++i) {
    const Layer& l = net.layers[i];
    LayerData& d = g_params[i];
    for (int32_t j = 0; j < kMaxWeights; ++j) d.weights[j] = static_cast<int8_t>(static_cast<int32_t>(rng.below(255)) - 127);
    // Output scale / accumulator scale ~ 2^-(7..12), growing with the taps summed: keeps
    // activations spread over int8.
    const int32_t taps = l.kernel_h * l.kernel_w * (l.op == Op::kDepthwise ? 1 : l.in_c);
    const int32_t base_shift = taps >= 256 ? -9 : taps >= 64 ? -8 : -7;
    for (int32_t c = 0; c < kMaxChannels; ++c) {
      d.bias[c] = static_cast<int32_t>(rng.below(4001)) - 2000;
      d.multiplier[c] = static_cast<int32_t>((1u << 30) + rng.below(1u << 30));
      d.shift[c] = base_shift - static_cast<int32_t>(rng.below(4));
    }
    // TFLite's int8 ADD preparation for two inputs of similar scale.
    d.add = AddQuantParams{20,        -kActivationZeroPoint, 1 << 30, -1, -kActivationZeroPoint, 1 << 30,
                           -1,        kActivationZeroPoint,  1 << 30, -19, kActivationZeroPoint, 127,
                           RoundingMode::kDouble};
  }
}

ConvQuantParams conv_quant(const Layer& l, const LayerData& d) {
  ConvQuantParams q{};
  q.input_offset = -kActivationZeroPoint;
  q.output_offset = kActivationZeroPoint;
  q.output_multiplier = d.multiplier;
  q.output_shift = d.shift;
  q.per_channel = true;
  q.activation_min = l.relu ? kActivationZeroPoint : -128;
  q.activation_max = 127;
  q.rounding = RoundingMode::kDouble;
  return q;
}

void require_scratch(const Layer& l, int32_t bytes) {
  if (bytes > static_cast<int32_t>(sizeof g_scratch)) {
    std::printf("error: %s needs %ld bytes of scratch, the benchmark has %u\n", l.name, (long)bytes,
                unsigned(sizeof g_scratch));
    std::exit(2);
  }
}

// Runs layer l on run `run`'s activations (run 0: reference kernels, 1: DSP kernels).
void run_layer(int run, const Layer& l, const LayerData& d) {
  const int8_t* in = g_slots[run][l.in_slot];
  int8_t* out = g_slots[run][l.out_slot];
  const ConvQuantParams q = conv_quant(l, d);
  switch (l.op) {
    case Op::kConv: {
      const WindowShape s = window_of(l);
      require_scratch(l, conv2d_s8__dsp_scratch_bytes(s));
      if (run == 0)
        conv2d_s8__ref(s, q, in, d.weights, d.bias, out);
      else
        conv2d_s8__dsp(s, q, in, d.weights, d.bias, out, g_scratch);
      break;
    }
    case Op::kDepthwise:
      if (run == 0)
        depthwise_conv2d_s8__ref(window_of(l), q, in, d.weights, d.bias, out);
      else
        depthwise_conv2d_s8__dsp(window_of(l), q, in, d.weights, d.bias, out);
      break;
    case Op::kAdd:
      add_s8__ref(output_size(l), d.add, in, g_slots[run][l.in2_slot], out);
      break;
    case Op::kAvgPool:
      avg_pool2d_s8__ref(window_of(l), PoolQuantParams{-128, 127}, in, out);
      break;
    case Op::kDense: {
      const DenseShape s{1, l.in_c, l.out_c};
      require_scratch(l, dense_s8__dsp_scratch_bytes(s));
      if (run == 0)
        dense_s8__ref(s, q, in, d.weights, d.bias, out);
      else
        dense_s8__dsp(s, q, in, d.weights, d.bias, out, g_scratch);
      break;
    }
  }
}

// Runs and prints one network; returns its number of layers whose outputs differ.
int bench_network(const Network& net, uint64_t seed, bool last) {
  Rng rng(seed);
  init_params(rng, net);
  const Layer& first = net.layers[0];
  const int32_t input_bytes = first.in_h * first.in_w * first.in_c;
  for (int32_t j = 0; j < input_bytes; ++j) g_slots[0][0][j] = static_cast<int8_t>(static_cast<int32_t>(rng.below(256)) - 128);
  std::memcpy(g_slots[1][0], g_slots[0][0], static_cast<size_t>(input_bytes));

  for (int run = 0; run < 2; ++run)
    for (int i = 0; i < net.count; ++i) {
      instruction_counter_start();
      run_layer(run, net.layers[i], g_params[i]);
      g_counts[run][i] = instruction_counter_read();
    }

  uint64_t total[2] = {0, 0};
  int64_t total_macs = 0;
  int mismatched_layers = 0;
  std::printf("  {\"name\": \"%s\", \"layers\": [\n", net.name);
  for (int i = 0; i < net.count; ++i) {
    const Layer& l = net.layers[i];
    const int64_t n = output_size(l);
    const bool same = std::memcmp(g_slots[0][l.out_slot], g_slots[1][l.out_slot], static_cast<size_t>(n)) == 0;
    mismatched_layers += same ? 0 : 1;
    total[0] += g_counts[0][i];
    total[1] += g_counts[1][i];
    total_macs += macs(l);
    std::printf(
        "    {\"name\": \"%s\", \"op\": \"%s\", \"input\": [%ld, %ld, %ld], \"output_channels\": %ld, "
        "\"kernel\": [%ld, %ld], \"stride\": %ld, \"macs\": %lld, \"ref_instructions\": %llu, "
        "\"dsp_instructions\": %llu, \"outputs_equal\": %s}%s\n",
        l.name, op_name(l.op), (long)l.in_h, (long)l.in_w, (long)l.in_c, (long)l.out_c, (long)l.kernel_h,
        (long)l.kernel_w, (long)l.stride, static_cast<long long>(macs(l)),
        static_cast<unsigned long long>(g_counts[0][i]), static_cast<unsigned long long>(g_counts[1][i]),
        same ? "true" : "false", i + 1 < net.count ? "," : "");
  }
  std::printf("  ], \"total_macs\": %lld, \"ref_instructions\": %llu, \"dsp_instructions\": %llu, "
              "\"mismatched_layers\": %d}%s\n",
              static_cast<long long>(total_macs), static_cast<unsigned long long>(total[0]),
              static_cast<unsigned long long>(total[1]), mismatched_layers, last ? "" : ",");
  return mismatched_layers;
}

}  // namespace
}  // namespace slingshot

int main() {
  using namespace slingshot;
  constexpr int kCount = sizeof(kNetworks) / sizeof(kNetworks[0]);
  int mismatched = 0;
  std::printf("{\"networks\": [\n");
  for (int i = 0; i < kCount; ++i) mismatched += bench_network(kNetworks[i], 8 + i, i + 1 == kCount);
  std::printf("]}\n");
  std::fflush(stdout);
  std::exit(mismatched ? 1 : 0);
}

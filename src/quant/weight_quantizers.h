// Per-output-channel symmetric weight quantizers for every scheme: int8 and int4 (max-abs
// scaling), ternary (TWN threshold at inference, stochastic rounding in training, as in
// Stochastic Ternary Quantization) and binary (sign x mean |w|, as XNOR-Net). Codes live
// in int8 containers; real weight = code x scale[channel].
#pragma once

#include <cstdint>
#include <vector>

#include "core/rng.h"
#include "core/tensor.h"
#include "quant/quantized_model.h"

namespace slingshot {

struct QuantizedWeights {
  std::vector<float> scale;  // per output channel, > 0
  TensorT<int8_t> codes;     // the weight's shape; |code| <= weight_qmax(scheme)
};

// Deterministic quantization of weight `w` whose output channel is axis `channel_axis`.
// `min_scale` (>= 0) is a floor on every channel scale: it keeps the requantization scale
// of near-zero channels representable (see quantize_model).
QuantizedWeights quantize_weights(const Tensor& w, int channel_axis, WeightScheme scheme, float min_scale = 0.0f);

// Training-time ternary codes: the TWN scale, but each weight rounds stochastically to
// sign(w) with probability min(|w| / scale, 1), else to 0, so the expected code is
// w / scale inside the range (unbiased, the STQ idea). Other schemes are deterministic.
QuantizedWeights quantize_weights_stochastic(const Tensor& w, int channel_axis, WeightScheme scheme, Rng& rng);

// The real-valued weights the codes stand for: codes x scale (the fake-quant weights).
Tensor dequantize_weights(const QuantizedWeights& q, int channel_axis);

}  // namespace slingshot

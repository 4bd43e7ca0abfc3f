// The fake-quant graph: the float graph that mirrors an integer engine. Weights become
// their dequantized codes, biases their dequantized int32 values, and a fake_quant node
// follows the input and every node with its own integer output (after the activation
// for fused producer/activation pairs), so forward matches the integer arithmetic up to
// requantization rounding and backward gives straight-through (STE) gradients: zero
// outside each grid's range, except at the logits, whose clamp they pass (saturated
// logits would otherwise give an attack no direction).
#pragma once

#include "core/status.h"
#include "model/graph.h"
#include "quant/quantized_model.h"

namespace slingshot {

// Fake-quant node names are "<node>/fq" ("input/fq" for the input).
Result<Graph> build_fake_quant_graph(const QuantizedModel& model);

}  // namespace slingshot

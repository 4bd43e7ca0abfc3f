// Quantization-aware training of activations: where activation_quant nodes go in the
// float graph, and how post-training quantization takes their trained ranges back out.
#pragma once

#include <optional>
#include <utility>
#include <vector>

#include "core/status.h"
#include "model/graph.h"

namespace slingshot {

// Inserts an activation_quant node of `bits` bits ("<node>/aq") after every value that
// has its own grid in the deployed integer model, i.e. after batch-norm folding and
// ReLU fusion: after a fused ReLU, else after the batch norm, weighted layer, add or
// global average pool itself. The graph input (fixed image grid), the model output
// (8-bit logits) and pass-through nodes get none. The graph must not have any yet.
Result<Graph> insert_activation_quant(const Graph& g, int bits);

// Bits of the graph's activation_quant nodes: 0 if it has none; an error if they differ.
Result<int> activation_quant_bits(const Graph& g);

struct StrippedGraph {
  Graph graph{Shape{1}};
  // Per node of `graph`: the trained range [min, max] of the activation_quant node that
  // followed it, if one did.
  std::vector<std::optional<std::pair<float, float>>> qat_ranges;
};

// Removes the activation_quant nodes, handing their consumers the value they quantized.
// Every one must have a trained range.
Result<StrippedGraph> strip_activation_quant(const Graph& g);

}  // namespace slingshot

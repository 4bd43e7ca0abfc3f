// Folds inference-mode batch norm into the conv, depthwise conv or dense layer before
// it, as TFLite converters do before quantization. The result computes the same
// function (up to float rounding) with one layer fewer and a bias on the producer.
#pragma once

#include "model/graph.h"

namespace slingshot {

// Returns a new graph with every foldable batch norm removed. A batch norm is foldable
// when its input is a conv2d / depthwise_conv2d / dense node that feeds nothing else.
// Unfoldable batch norms are kept. `folded` (optional) receives how many were folded.
Result<Graph> fold_batch_norm(const Graph& graph, int* folded = nullptr);

}  // namespace slingshot

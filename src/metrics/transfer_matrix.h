// The transferability matrix: adversarial inputs crafted white-box on each source (float,
// int8, int4, ternary, binary, defended variants) and replayed on every target. Cell
// (s, t) is the share of samples that both s and t classify correctly whose adversarial
// input from s fools t; the diagonal is each model's white-box success rate. Poor
// transfer between float and quantized networks, and across bitwidths, shows as small
// off-diagonal cells.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "attacks/attack.h"
#include "attacks/evaluate.h"
#include "core/status.h"
#include "core/tensor.h"

namespace slingshot {

struct TransferEndpoint {
  std::string name;
  Target* target = nullptr;  // not owned; attacked as a source, replayed on as a target
};

struct TransferCell {
  int64_t eligible = 0;  // samples both source and target classify correctly (and the source attacked)
  int64_t fooled = 0;    // of them, the source's adversarial input fools the target
  double rate = 0;       // fooled / eligible (NaN when none is eligible)
};

struct TransferMatrix {
  std::vector<std::string> names;
  std::vector<std::vector<TransferCell>> cells;  // [source][target]
};

// Attacks x [N, ...] (labels y) on every endpoint with `attack` and `params`, in batches
// of params.batch_size, then predicts every source's outputs on every endpoint.
Result<TransferMatrix> transfer_matrix(Attack& attack, std::span<const TransferEndpoint> endpoints, const Tensor& x,
                                       std::span<const int> y, const AttackParams& params);

}  // namespace slingshot

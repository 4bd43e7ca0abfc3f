// Mini-batch training of the float master graph with SGD + momentum (Nesterov off,
// decoupled-free L2 weight decay as in Keras/PyTorch SGD) and a cosine learning rate.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>

#include "data/dataset.h"
#include "model/graph.h"
#include "quant/quantized_model.h"

namespace slingshot {

struct TrainConfig {
  int epochs = 10;                       // passes over the training set
  int batch_size = 32;                   // samples per step
  float learning_rate = 0.05f;           // peak learning rate (cosine-decayed to 0)
  float momentum = 0.9f;                 // SGD momentum
  float weight_decay = 5e-4f;            // L2 on weights (not biases or batch-norm parameters)
  float bn_momentum = 0.9f;              // running-statistics decay
  uint64_t seed = 0;                     // shuffling seed
  KernelPath kernels = KernelPath::kSimd;  // float kernels to use
  // Quantization-aware training of the weights: each step runs on the quantized weights
  // (ternary drawn stochastically, as Stochastic Ternary Quantization does) and applies
  // the gradient to the float master weights (straight-through estimator). Validation
  // uses the deterministic quantizer. Off when empty.
  std::optional<WeightScheme> qat_weights;
};

struct EpochReport {
  int epoch = 0;               // 1-based
  double train_loss = 0;       // mean cross-entropy over the epoch
  double train_accuracy = 0;   // accuracy on the training batches as seen (training mode)
  double val_accuracy = -1;    // accuracy on the validation set, -1 if none
};

// Called after each step with (epoch, step, steps_per_epoch, loss); return false to stop.
using StepCallback = std::function<bool(int, int, int, double)>;

// Trains `graph` in place. Reports one entry per completed epoch.
Result<std::vector<EpochReport>> train(Graph& graph, const Dataset& train_set, const Dataset* val_set,
                                       const TrainConfig& config, const StepCallback& on_step = {});

// Replaces every conv / depthwise / dense weight by its deterministic per-channel
// quantization, dequantized: what a QAT model deploys. BN folding and PTQ afterwards
// recover the same codes (a per-channel scale absorbs the batch norm).
void quantize_weights_in_place(Graph& graph, WeightScheme scheme);

// Top-1 accuracy in inference mode.
Result<double> evaluate_accuracy(const Graph& graph, const Dataset& data, int batch_size = 64,
                                 KernelPath kernels = KernelPath::kSimd);

}  // namespace slingshot

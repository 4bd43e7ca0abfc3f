// Mini-batch training of the float master graph: SGD-momentum or AdamW, cosine learning
// rate with linear warm-up, image augmentation, quantization-aware training of the
// weights (STE), and the train-based defenses (PGD / fast-FGSM adversarial training,
// TRADES, Jacobian regularization, defensive distillation).
//
// Every random choice of epoch e is drawn from streams seeded by (seed, e), so a run
// resumed from an end-of-epoch checkpoint (model + optimizer state) continues exactly
// as the uninterrupted run would have.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "data/dataset.h"
#include "model/graph.h"
#include "quant/quantized_model.h"
#include "train/adversarial_training.h"
#include "train/augment.h"
#include "train/jacobian_regularization.h"
#include "train/optimizer.h"

namespace slingshot {

struct DistillationConfig {
  const Graph* teacher = nullptr;  // trained at the same temperature; null: no distillation
  float temperature = 20.0f;       // softmax temperature for teacher targets and student loss
};

struct TrainConfig {
  int epochs = 10;                       // passes over the training set
  int batch_size = 32;                   // samples per step
  float learning_rate = 0.05f;           // peak learning rate
  float warmup_epochs = 0.0f;            // linear warm-up from 0, then cosine decay to 0
  OptimizerConfig optimizer;             // update rule and weight decay
  float bn_momentum = 0.9f;              // running-statistics decay
  uint64_t seed = 0;                     // shuffling, augmentation and defense randomness
  KernelPath kernels = KernelPath::kSimd;  // float kernels to use
  AugmentConfig augment;                 // per-sample augmentation of training batches
  // Quantization-aware training of the weights: each step runs on the quantized weights
  // (ternary drawn stochastically, as Stochastic Ternary Quantization does) and applies
  // the gradient to the float master weights (straight-through estimator). Validation
  // uses the deterministic quantizer. Off when empty.
  std::optional<WeightScheme> qat_weights;
  // Quantization-aware training of the activations at this many bits (1-8; 0: off). The
  // caller puts the activation_quant nodes in (insert_activation_quant); train() checks
  // they are there with these bits.
  int qat_activation_bits = 0;
  AdversarialTrainingConfig adversarial;  // PGD-AT, fast FGSM or TRADES; off by default
  JacobianConfig jacobian;                // Jacobian regularization; off when lambda == 0
  DistillationConfig distillation;        // defensive distillation; off without a teacher
};

Status validate_train_config(const TrainConfig& config);

struct EpochReport {
  int epoch = 0;               // 1-based
  double train_loss = 0;       // mean training objective over the epoch
  double train_accuracy = 0;   // accuracy on the (possibly adversarial) training batches as seen
  double val_accuracy = -1;    // accuracy on the validation set, -1 if none
  double seconds = 0;          // wall time of the epoch
};

// Where a run starts: epoch 0, or the end of a checkpointed epoch.
struct TrainProgress {
  int epochs_done = 0;               // completed epochs
  std::vector<EpochReport> history;  // their reports
};

// Called after each step with (epoch, step, steps_per_epoch, loss, running training
// accuracy of the epoch so far); return false to stop.
using StepCallback = std::function<bool(int, int, int, double, double)>;
// Called after each completed epoch with every report so far (the last is the new one),
// e.g. to checkpoint; a failed status stops training.
using EpochCallback = std::function<Status(const std::vector<EpochReport>&, const Optimizer&)>;

// Trains `graph` in place, from `progress` (epochs done and their history) with
// `optimizer` (fresh, or restored from a checkpoint). Returns all epoch reports.
Result<std::vector<EpochReport>> train(Graph& graph, Optimizer& optimizer, const Dataset& train_set,
                                       const Dataset* val_set, const TrainConfig& config,
                                       const TrainProgress& progress = {}, const StepCallback& on_step = {},
                                       const EpochCallback& on_epoch = {});
// The same with a fresh optimizer.
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

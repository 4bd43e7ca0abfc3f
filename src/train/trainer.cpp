// The training loop: one step = (augment) -> (QAT weights) -> (adversarial examples) ->
// forward -> objective (+ TRADES / Jacobian / distillation terms) -> backward -> update.
#include "train/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include "core/rng.h"
#include "model/loss.h"
#include "quant/activation_qat.h"
#include "quant/weight_quantizers.h"

namespace slingshot {
namespace {

int argmax_row(const Tensor& logits, int64_t row) {
  const int64_t k = logits.dim(1);
  const float* z = logits.data() + row * k;
  return static_cast<int>(std::max_element(z, z + k) - z);
}

Status check_compatible(const Graph& graph, const Dataset& data, const char* which) {
  if (data.size() == 0) return invalid_argument(std::string(which) + " set is empty");
  if (data.sample_shape() != graph.input_shape())
    return invalid_argument(std::string(which) + " samples are " + shape_to_string(data.sample_shape()) +
                            " but the model expects " + shape_to_string(graph.input_shape()));
  const Shape out = graph.output_shape();
  if (out.size() != 1 || out[0] < static_cast<int64_t>(data.class_names.size()))
    return invalid_argument("model output " + shape_to_string(out) + " cannot score " +
                            std::to_string(data.class_names.size()) + " classes");
  return Status::Ok();
}

// Independent random streams per (epoch, purpose): resuming at an epoch boundary
// reproduces the uninterrupted run without saving generator states.
enum Stream : uint64_t { kShuffle = 1, kAugment, kQat, kAdversarial, kJacobian };
Rng epoch_stream(uint64_t seed, int epoch, Stream stream) {
  Rng mix(seed ^ (0x9E3779B97F4A7C15ull * (static_cast<uint64_t>(epoch) * 16 + stream)));
  return Rng(mix.next_u64());
}

// Swaps quantized weights in for a pass and the float masters back afterwards.
class QatWeights {
 public:
  QatWeights(Graph& g, std::optional<WeightScheme> scheme) : graph_(g), scheme_(scheme) {}
  ~QatWeights() { restore(); }  // an early error return must not lose the masters
  QatWeights(const QatWeights&) = delete;
  QatWeights& operator=(const QatWeights&) = delete;
  // Puts quantized weights in place (stochastic ternary when `rng` is given).
  void quantize(Rng* rng) {
    if (!scheme_) return;
    masters_.clear();
    for (int i = 1; i < graph_.num_nodes(); ++i) {
      Layer& layer = *graph_.node(i).layer;
      if (!is_weighted_type(layer.type())) continue;
      Tensor& w = layer.find_param("weight")->value;
      const int axis = weight_channel_axis(layer);
      QuantizedWeights q = rng ? quantize_weights_stochastic(w, axis, *scheme_, *rng)
                               : quantize_weights(w, axis, *scheme_);
      masters_.emplace_back(i, w);
      w = dequantize_weights(q, axis);
    }
  }
  // Keeps the quantized weights: the masters are dropped.
  void commit() { masters_.clear(); }
  // Restores the float masters.
  void restore() {
    for (auto& [i, w] : masters_) graph_.node(i).layer->find_param("weight")->value = std::move(w);
    masters_.clear();
  }

 private:
  Graph& graph_;
  std::optional<WeightScheme> scheme_;
  std::vector<std::pair<int, Tensor>> masters_;
};

// Peak rate after a linear warm-up, cosine-decayed to 0 at the last step.
float learning_rate_at(const TrainConfig& c, int64_t step, int64_t total_steps, int64_t warmup_steps) {
  if (step < warmup_steps) return c.learning_rate * static_cast<float>(step + 1) / static_cast<float>(warmup_steps);
  const double t = static_cast<double>(step - warmup_steps) / static_cast<double>(std::max<int64_t>(total_steps - warmup_steps, 1));
  return static_cast<float>(c.learning_rate * 0.5 * (1.0 + std::cos(3.14159265358979 * t)));
}

void add_grads(std::vector<std::vector<Tensor>>& acc, const std::vector<std::vector<Tensor>>& g) {
  for (size_t i = 0; i < acc.size() && i < g.size(); ++i)
    for (size_t k = 0; k < acc[i].size() && k < g[i].size(); ++k)
      for (int64_t e = 0; e < acc[i][k].numel(); ++e) acc[i][k][e] += g[i][k][e];
}

void zero_like_params(const Graph& graph, std::vector<std::vector<Tensor>>& grads) {
  grads.resize(graph.num_nodes());
  for (int i = 1; i < graph.num_nodes(); ++i) {
    const auto& params = graph.node(i).layer->params();
    grads[i].resize(params.size());
    for (size_t k = 0; k < params.size(); ++k) {
      grads[i][k].resize(params[k].value.shape());
      grads[i][k].fill(0.0f);
    }
  }
}

}  // namespace

Status validate_train_config(const TrainConfig& c) {
  if (c.epochs < 1 || c.batch_size < 2) return invalid_argument("epochs must be >= 1 and batch size >= 2");
  if (!(c.learning_rate > 0) || !std::isfinite(c.learning_rate)) return invalid_argument("learning rate must be > 0");
  if (!(c.warmup_epochs >= 0) || c.warmup_epochs > c.epochs)
    return invalid_argument("warm-up epochs must be in [0, epochs]");
  if (!(c.bn_momentum >= 0 && c.bn_momentum < 1)) return invalid_argument("batch-norm momentum must be in [0, 1)");
  SLING_RETURN_IF_ERROR(validate_optimizer_config(c.optimizer));
  SLING_RETURN_IF_ERROR(validate_augment_config(c.augment));
  SLING_RETURN_IF_ERROR(validate_adversarial_training_config(c.adversarial));
  SLING_RETURN_IF_ERROR(validate_jacobian_config(c.jacobian));
  if (c.qat_activation_bits < 0 || c.qat_activation_bits > 8)
    return invalid_argument("QAT activation bits must be in [1, 8] (0: off), got " + std::to_string(c.qat_activation_bits));
  if (c.distillation.teacher && !(c.distillation.temperature > 0))
    return invalid_argument("distillation temperature must be > 0");
  return Status::Ok();
}

void quantize_weights_in_place(Graph& graph, WeightScheme scheme) {
  QatWeights q(graph, scheme);
  q.quantize(nullptr);
  q.commit();
}

Result<double> evaluate_accuracy(const Graph& graph, const Dataset& data, int batch_size, KernelPath kernels) {
  SLING_RETURN_IF_ERROR(check_compatible(graph, data, "evaluation"));
  if (batch_size < 1) return invalid_argument("batch size must be >= 1");
  Workspace<float> ws;
  Tensor batch;
  std::vector<int> labels;
  int64_t correct = 0;
  for (int64_t b = 0; b < data.size(); b += batch_size) {
    const int64_t n = std::min<int64_t>(batch_size, data.size() - b);
    data.slice(b, n, batch, labels);
    SLING_RETURN_IF_ERROR(graph.forward(batch, ws, Mode::kInference, kernels));
    for (int64_t i = 0; i < n; ++i) correct += argmax_row(ws.output(), i) == labels[i];
  }
  return static_cast<double>(correct) / static_cast<double>(data.size());
}

Result<std::vector<EpochReport>> train(Graph& graph, const Dataset& train_set, const Dataset* val_set,
                                       const TrainConfig& config, const StepCallback& on_step) {
  SLING_RETURN_IF_ERROR(validate_train_config(config));
  Optimizer optimizer(graph, config.optimizer);
  return train(graph, optimizer, train_set, val_set, config, {}, on_step, {});
}

Result<std::vector<EpochReport>> train(Graph& graph, Optimizer& optimizer, const Dataset& train_set,
                                       const Dataset* val_set, const TrainConfig& config,
                                       const TrainProgress& progress, const StepCallback& on_step,
                                       const EpochCallback& on_epoch) {
  SLING_RETURN_IF_ERROR(validate_train_config(config));
  SLING_RETURN_IF_ERROR(check_compatible(graph, train_set, "training"));
  if (val_set) SLING_RETURN_IF_ERROR(check_compatible(graph, *val_set, "validation"));
  if (config.distillation.teacher) {
    if (config.distillation.teacher->input_shape() != graph.input_shape() ||
        config.distillation.teacher->output_shape() != graph.output_shape())
      return invalid_argument("the distillation teacher's input/output shapes differ from the model's");
  }
  if (progress.epochs_done < 0 || progress.epochs_done > config.epochs)
    return invalid_argument("cannot resume after epoch " + std::to_string(progress.epochs_done) + " of " +
                            std::to_string(config.epochs));

  SLING_ASSIGN_OR_RETURN(const int graph_activation_bits, activation_quant_bits(graph));
  if (graph_activation_bits != config.qat_activation_bits)
    return invalid_argument(config.qat_activation_bits == 0
                                ? "the model has " + std::to_string(graph_activation_bits) +
                                      "-bit activation_quant nodes but the configuration trains no activation QAT"
                                : "activation QAT at " + std::to_string(config.qat_activation_bits) +
                                      " bits needs the model's activation_quant nodes (insert_activation_quant)" +
                                      (graph_activation_bits ? ", but they have " + std::to_string(graph_activation_bits) + " bits" : ""));
  QatWeights qat(graph, config.qat_weights);
  const int steps_per_epoch = static_cast<int>((train_set.size() + config.batch_size - 1) / config.batch_size);
  const int64_t total_steps = static_cast<int64_t>(steps_per_epoch) * config.epochs;
  const int64_t warmup_steps = static_cast<int64_t>(std::llround(config.warmup_epochs * steps_per_epoch));
  const AdversarialMethod adv = config.adversarial.method;
  Workspace<float> ws, ws_adv, ws_teacher;
  Tensor batch, x_adv, grad, grad_adv, teacher_probs;
  std::vector<int> labels;
  std::vector<int64_t> order(train_set.size()), idx;
  std::vector<std::vector<Tensor>> extra_grads;
  std::vector<std::pair<int, Tensor>> jr_seeds;
  std::vector<std::pair<int, const Tensor*>> seed_refs;
  std::vector<EpochReport> reports = progress.history;
  for (int epoch = progress.epochs_done + 1; epoch <= config.epochs; ++epoch) {
    const auto t0 = std::chrono::steady_clock::now();
    Rng shuffle_rng = epoch_stream(config.seed, epoch, kShuffle);
    Rng augment_rng = epoch_stream(config.seed, epoch, kAugment);
    Rng qat_rng = epoch_stream(config.seed, epoch, kQat);
    Rng adversarial_rng = epoch_stream(config.seed, epoch, kAdversarial);
    Rng jacobian_rng = epoch_stream(config.seed, epoch, kJacobian);
    std::iota(order.begin(), order.end(), 0);
    for (int64_t i = train_set.size() - 1; i > 0; --i)
      std::swap(order[i], order[shuffle_rng.below(static_cast<uint32_t>(i + 1))]);
    EpochReport rep;
    rep.epoch = epoch;
    int64_t seen = 0, correct = 0;
    for (int s = 0; s < steps_per_epoch; ++s) {
      const int64_t step = static_cast<int64_t>(epoch - 1) * steps_per_epoch + s;
      const int64_t begin = static_cast<int64_t>(s) * config.batch_size;
      const int64_t n = std::min<int64_t>(config.batch_size, train_set.size() - begin);
      // Batch norm needs 2+ samples for batch statistics; a lone tail sample is dropped.
      if (n < 2 && s > 0) break;
      idx.assign(order.begin() + begin, order.begin() + begin + n);
      train_set.gather(idx, batch, labels);
      if (config.augment.enabled()) SLING_RETURN_IF_ERROR(augment_batch(batch, config.augment, augment_rng));
      qat.quantize(&qat_rng);
      if (adv != AdversarialMethod::kNone)
        SLING_RETURN_IF_ERROR(craft_training_examples(graph, batch, labels, config.adversarial, adversarial_rng,
                                                      config.kernels, x_adv));
      // PGD and fast FGSM train on the adversarial batch only; TRADES on both.
      const Tensor& x_train = (adv == AdversarialMethod::kPgd || adv == AdversarialMethod::kFgsmRs) ? x_adv : batch;
      SLING_RETURN_IF_ERROR(graph.forward(x_train, ws, Mode::kTrain, config.kernels));
      double loss = 0;
      if (config.distillation.teacher) {
        SLING_RETURN_IF_ERROR(config.distillation.teacher->forward(x_train, ws_teacher, Mode::kInference, config.kernels));
        SLING_RETURN_IF_ERROR(softmax_rows(ws_teacher.output(), config.distillation.temperature, teacher_probs));
        SLING_ASSIGN_OR_RETURN(loss, soft_target_cross_entropy(ws.output(), teacher_probs,
                                                               config.distillation.temperature, &grad));
      } else {
        SLING_ASSIGN_OR_RETURN(loss, softmax_cross_entropy(ws.output(), labels, &grad));
      }
      const bool extra = adv == AdversarialMethod::kTrades || config.jacobian.enabled();
      if (extra) zero_like_params(graph, extra_grads);
      if (adv == AdversarialMethod::kTrades) {
        SLING_RETURN_IF_ERROR(graph.forward(x_adv, ws_adv, Mode::kTrain, config.kernels));
        Tensor grad_clean_kl;
        SLING_ASSIGN_OR_RETURN(double kl, softmax_kl_divergence(ws.output(), ws_adv.output(), &grad_adv, &grad_clean_kl));
        loss += config.adversarial.trades_beta * kl;
        for (int64_t e = 0; e < grad.numel(); ++e) {
          grad[e] += config.adversarial.trades_beta * grad_clean_kl[e];
          grad_adv[e] *= config.adversarial.trades_beta;
        }
        SLING_RETURN_IF_ERROR(graph.backward(grad_adv, ws_adv, true, config.kernels));
        add_grads(extra_grads, ws_adv.param_grads);
      }
      seed_refs.clear();
      if (config.jacobian.enabled()) {
        SLING_ASSIGN_OR_RETURN(double penalty, jacobian_penalty_step(graph, x_train, ws, config.jacobian, jacobian_rng,
                                                                     config.kernels, jr_seeds, extra_grads));
        loss += penalty;
        for (auto& [node, seed] : jr_seeds) {
          if (node == graph.output_node()) {
            for (int64_t e = 0; e < grad.numel(); ++e) grad[e] += seed[e];
          } else {
            seed_refs.emplace_back(node, &seed);
          }
        }
      }
      if (!std::isfinite(loss))
        return invalid_argument("training diverged (loss is " + std::to_string(loss) + " at epoch " +
                                std::to_string(epoch) + "); lower the learning rate");
      for (int64_t i = 0; i < n; ++i) correct += argmax_row(ws.output(), i) == labels[i];
      seen += n;
      rep.train_loss += loss * static_cast<double>(n);
      SLING_RETURN_IF_ERROR(graph.backward(grad, std::span<const std::pair<int, const Tensor*>>(seed_refs), ws, true,
                                           config.kernels));
      if (extra) add_grads(ws.param_grads, extra_grads);
      qat.restore();  // the gradient of the quantized weights updates the masters (STE)
      graph.update_running_stats(ws, config.bn_momentum);
      optimizer.step(graph, ws.param_grads, learning_rate_at(config, step, total_steps, warmup_steps));
      if (on_step && !on_step(epoch, s + 1, steps_per_epoch, loss,
                              static_cast<double>(correct) / static_cast<double>(std::max<int64_t>(seen, 1))))
        return reports;
    }
    rep.train_loss /= static_cast<double>(std::max<int64_t>(seen, 1));
    rep.train_accuracy = static_cast<double>(correct) / static_cast<double>(std::max<int64_t>(seen, 1));
    if (val_set) {
      qat.quantize(nullptr);
      auto acc = evaluate_accuracy(graph, *val_set, 64, config.kernels);
      qat.restore();
      SLING_ASSIGN_OR_RETURN(rep.val_accuracy, std::move(acc));
    }
    rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    reports.push_back(rep);
    if (on_epoch) SLING_RETURN_IF_ERROR(on_epoch(reports, optimizer));
  }
  return reports;
}

}  // namespace slingshot

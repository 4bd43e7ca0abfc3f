// SGD training loop.
#include "train/trainer.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/rng.h"
#include "model/loss.h"
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

}  // namespace

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
  SLING_RETURN_IF_ERROR(check_compatible(graph, train_set, "training"));
  if (val_set) SLING_RETURN_IF_ERROR(check_compatible(graph, *val_set, "validation"));
  if (config.epochs < 1 || config.batch_size < 1) return invalid_argument("epochs and batch size must be >= 1");
  if (!(config.learning_rate > 0) || !(config.momentum >= 0 && config.momentum < 1) || !(config.weight_decay >= 0))
    return invalid_argument("learning rate must be > 0, momentum in [0, 1) and weight decay >= 0");

  // Momentum buffers, one per trainable parameter.
  std::vector<std::vector<Tensor>> velocity(graph.num_nodes());
  for (int i = 1; i < graph.num_nodes(); ++i)
    for (const Param& p : graph.node(i).layer->params()) velocity[i].emplace_back(p.value.shape(), 0.0f);

  Rng rng(config.seed);
  Rng qat_rng(config.seed ^ 0x5354515f71617421ull);  // stochastic ternary draws
  QatWeights qat(graph, config.qat_weights);
  std::vector<int64_t> order(train_set.size());
  std::iota(order.begin(), order.end(), 0);
  const int steps_per_epoch = static_cast<int>((train_set.size() + config.batch_size - 1) / config.batch_size);
  const int total_steps = steps_per_epoch * config.epochs;
  Workspace<float> ws;
  Tensor batch, grad;
  std::vector<int> labels;
  std::vector<int64_t> idx;
  std::vector<EpochReport> reports;
  int step = 0;
  for (int epoch = 1; epoch <= config.epochs; ++epoch) {
    for (int64_t i = train_set.size() - 1; i > 0; --i) std::swap(order[i], order[rng.below(static_cast<uint32_t>(i + 1))]);
    EpochReport rep;
    rep.epoch = epoch;
    int64_t seen = 0, correct = 0;
    for (int s = 0; s < steps_per_epoch; ++s, ++step) {
      const int64_t begin = static_cast<int64_t>(s) * config.batch_size;
      const int64_t n = std::min<int64_t>(config.batch_size, train_set.size() - begin);
      // Batch norm needs 2+ samples for batch statistics; a lone tail sample is dropped.
      if (n < 2 && s > 0) break;
      idx.assign(order.begin() + begin, order.begin() + begin + n);
      train_set.gather(idx, batch, labels);
      qat.quantize(&qat_rng);
      SLING_RETURN_IF_ERROR(graph.forward(batch, ws, Mode::kTrain, config.kernels));
      SLING_ASSIGN_OR_RETURN(float loss, softmax_cross_entropy(ws.output(), labels, &grad));
      if (!std::isfinite(loss))
        return invalid_argument("training diverged (loss is " + std::to_string(loss) + " at epoch " +
                                std::to_string(epoch) + "); lower the learning rate");
      for (int64_t i = 0; i < n; ++i) correct += argmax_row(ws.output(), i) == labels[i];
      seen += n;
      rep.train_loss += static_cast<double>(loss) * n;
      SLING_RETURN_IF_ERROR(graph.backward(grad, ws, true, config.kernels));
      qat.restore();  // the gradient of the quantized weights updates the masters (STE)
      graph.update_running_stats(ws, config.bn_momentum);
      const float lr = config.learning_rate * 0.5f *
                       (1.0f + std::cos(3.14159265f * static_cast<float>(step) / static_cast<float>(total_steps)));
      for (int i = 1; i < graph.num_nodes(); ++i) {
        auto& params = graph.node(i).layer->params();
        for (size_t k = 0; k < params.size(); ++k) {
          if (!params[k].trainable) continue;
          const bool decay = params[k].name == "weight";
          Tensor& v = velocity[i][k];
          Tensor& w = params[k].value;
          const Tensor& g = ws.param_grads[i][k];
          for (int64_t e = 0; e < w.numel(); ++e) {
            const float gk = g[e] + (decay ? config.weight_decay * w[e] : 0.0f);
            v[e] = config.momentum * v[e] + gk;
            w[e] -= lr * v[e];
          }
        }
      }
      if (on_step && !on_step(epoch, s + 1, steps_per_epoch, loss)) return reports;
    }
    rep.train_loss /= std::max<int64_t>(seen, 1);
    rep.train_accuracy = static_cast<double>(correct) / static_cast<double>(std::max<int64_t>(seen, 1));
    if (val_set) {
      qat.quantize(nullptr);
      auto acc = evaluate_accuracy(graph, *val_set, 64, config.kernels);
      qat.restore();
      SLING_ASSIGN_OR_RETURN(rep.val_accuracy, std::move(acc));
    }
    reports.push_back(rep);
  }
  return reports;
}

}  // namespace slingshot

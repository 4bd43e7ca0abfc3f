// Targets: counting wrapper and the model target with float / ste / fd gradients.
#include "attacks/target.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "core/float_bits.h"
#include "core/thread_pool.h"
#include "model/layer_registry.h"
#include "model/layers/thermometer.h"
#include "quant/fake_quant_graph.h"

namespace slingshot {

const char* gradient_source_name(GradientSource s) {
  switch (s) {
    case GradientSource::kFloat: return "float";
    case GradientSource::kSte: return "ste";
    case GradientSource::kBpda: return "bpda";
    case GradientSource::kFd: return "fd";
    case GradientSource::kEot: return "eot";
  }
  return "?";
}

const char* gradient_source_doc(GradientSource s) {
  switch (s) {
    case GradientSource::kFloat: return "the float master's gradient (transfer to the deployed model)";
    case GradientSource::kSte: return "straight-through estimator through the fake-quant mirror";
    case GradientSource::kBpda: return "defended targets: identity through non-differentiable pre-processing";
    case GradientSource::kFd: return "central finite differences on the deployed integer engine";
    case GradientSource::kEot: return "defended targets: averaged over draws of randomized pre-processing";
  }
  return "?";
}

Result<GradientSource> parse_gradient_source(std::string_view s) {
  for (GradientSource g : {GradientSource::kFloat, GradientSource::kSte, GradientSource::kBpda, GradientSource::kFd,
                           GradientSource::kEot})
    if (s == gradient_source_name(g)) return g;
  return invalid_argument("unknown gradient source '" + std::string(s) + "'; use float, ste, bpda, fd or eot");
}

namespace {

// The share of exactly-zero components, counted per sample in parallel.
double zero_density(const Tensor& grad) {
  if (grad.numel() == 0) return 0.0;
  const int64_t n = grad.dim(0), per = n > 0 ? grad.numel() / n : 0;
  std::vector<int64_t> zeros(static_cast<size_t>(n), 0);
  parallel_item_ranges(n, per, [&](int64_t s0, int64_t s1, int) {
    for (int64_t s = s0; s < s1; ++s) {
      const float* g = grad.data() + s * per;
      int64_t count = 0;
      for (int64_t i = 0; i < per; ++i) count += g[i] == 0.0f;
      zeros[static_cast<size_t>(s)] = count;
    }
  });
  int64_t total = 0;
  for (const int64_t z : zeros) total += z;
  return static_cast<double>(total) / static_cast<double>(grad.numel());
}

}  // namespace

Status Target::check_batch(const Tensor& x) const {
  const Shape want = input_shape();
  if (x.rank() != static_cast<int>(want.size()) + 1 || !std::equal(want.begin(), want.end(), x.shape().begin() + 1))
    return invalid_argument("input batch " + shape_to_string(x.shape()) + " does not match the model input " +
                            shape_to_string(want));
  // Per sample, in parallel; the first bad value of the batch is the one reported.
  const int64_t n = x.dim(0), per = n > 0 ? x.numel() / n : 0;
  std::vector<int64_t> first_bad(static_cast<size_t>(n), -1);
  parallel_item_ranges(n, per, [&](int64_t s0, int64_t s1, int) {
    for (int64_t s = s0; s < s1; ++s) {
      const float* xs = x.data() + s * per;
      // A pass over the exponent bits first, which vectorizes: almost every batch is clean.
      uint32_t non_finite = 0;
      for (int64_t i = 0; i < per; ++i)
        non_finite |= non_finite_bits(float_bits(xs[i]));
      if (!non_finite) continue;
      for (int64_t i = 0; i < per; ++i)
        if (!std::isfinite(xs[i])) {
          first_bad[static_cast<size_t>(s)] = s * per + i;
          break;
        }
    }
  });
  for (const int64_t i : first_bad)
    if (i >= 0) return invalid_argument("input batch holds NaN or infinity at index " + std::to_string(i));
  return Status::Ok();
}

Status Target::predict(const Tensor& x, Tensor& logits) {
  SLING_RETURN_IF_ERROR(check_batch(x));
  SLING_RETURN_IF_ERROR(predict_uncounted(x, logits));
  counts_.predictions += x.dim(0);
  return Status::Ok();
}

Status Target::loss_grad(const Tensor& x, const Objective& objective, Tensor& value, Tensor& grad) {
  SLING_RETURN_IF_ERROR(check_batch(x));
  SLING_RETURN_IF_ERROR(loss_grad_uncounted(x, objective, value, grad));
  counts_.gradients += x.dim(0);
  last_zero_density_ = zero_density(grad);
  return Status::Ok();
}

Status Target::differentiable_logits(const Tensor& x, Tensor& logits) {
  (void)x;
  (void)logits;
  return invalid_argument(std::string("gradient source '") + gradient_source_name(gradient_source()) +
                          "' has no differentiable logits to chain through (use float or ste)");
}

Status Target::backward_logits(const Tensor& dlogits, Tensor& dx) {
  (void)dlogits;
  (void)dx;
  return invalid_argument(std::string("gradient source '") + gradient_source_name(gradient_source()) +
                          "' has no differentiable logits to chain through (use float or ste)");
}

namespace {

// Attack gradients only need a direction, so 3x3 convolutions run by Winograd: fewer
// multiply-adds for rounding differences far below what a sign or a step resolves.
// Predictions (the verdicts) always run on the deployed engine.
constexpr KernelPath kGradientKernels = KernelPath::kSimdWinograd;
// Chunk size of gradient batches, in bytes of the widest activation (see gradient_chunks).
constexpr int64_t kGradientChunkBytes = int64_t{1} << 19;

class ModelTarget final : public Target {
 public:
  ModelTarget(const QuantizedModel& model, const ModelTargetOptions& o, std::unique_ptr<Engine> engine, Graph grad_graph)
      : model_(model),
        options_(o),
        engine_(std::move(engine)),
        grad_graph_(std::move(grad_graph)),
        relaxed_encoding_(has_thermometer_head(model.graph)) {}

  Shape input_shape() const override { return model_.graph.input_shape(); }
  int num_classes() const override { return static_cast<int>(model_.graph.output_shape()[0]); }
  InputDomain domain() const override { return options_.domain; }
  std::string engine_name() const override { return slingshot::engine_name(options_.engine); }
  // A thermometer head back-propagates its relaxation, not its own derivative, so float
  // and ste gradients through it are BPDA over that source.
  GradientSource gradient_source() const override {
    return relaxed_encoding_ && options_.source != GradientSource::kFd ? GradientSource::kBpda : options_.source;
  }
  GradientSource inner_gradient_source() const override { return options_.source; }

  Status differentiable_logits(const Tensor& x, Tensor& logits) override {
    if (options_.source == GradientSource::kFd) return Target::differentiable_logits(x, logits);
    SLING_RETURN_IF_ERROR(check_batch(x));
    SLING_RETURN_IF_ERROR(grad_graph_.forward(x, ws_, Mode::kInference, kGradientKernels));
    logits = ws_.output();
    return Status::Ok();
  }
  Status backward_logits(const Tensor& dlogits, Tensor& dx) override {
    if (options_.source == GradientSource::kFd) return Target::backward_logits(dlogits, dx);
    SLING_RETURN_IF_ERROR(grad_graph_.backward(dlogits, ws_, /*param_grads=*/false, kGradientKernels));
    dx = ws_.input_grad();
    return Status::Ok();
  }

 protected:
  Status predict_uncounted(const Tensor& x, Tensor& logits) override { return engine_->predict(x, logits); }

  Status loss_grad_uncounted(const Tensor& x, const Objective& objective, Tensor& value, Tensor& grad) override {
    if (options_.source == GradientSource::kFd) return finite_differences(x, objective, value, grad);
    const int64_t n = x.dim(0);
    const int64_t chunks = gradient_chunks(n);
    const bool labels_match = static_cast<int64_t>(objective.labels.size()) == n &&
                              (objective.targets.empty() || static_cast<int64_t>(objective.targets.size()) == n);
    if (chunks <= 1 || !labels_match) {  // a mismatch is reported by attack_objective
      SLING_RETURN_IF_ERROR(grad_graph_.forward(x, ws_, Mode::kInference, kGradientKernels));
      Tensor dlogits;
      SLING_RETURN_IF_ERROR(attack_objective(ws_.output(), objective, value, &dlogits));
      SLING_RETURN_IF_ERROR(grad_graph_.backward(dlogits, ws_, /*param_grads=*/false, kGradientKernels));
      grad = ws_.input_grad();
      return Status::Ok();
    }
    // Chunks of samples run whole passes in parallel, each on its worker's workspace; the
    // kernels' own parallel regions run inline inside a task. Every sample's gradient is
    // computed exactly as in one whole-batch pass (the kernels treat samples independently),
    // so results do not depend on the chunking or the thread count.
    value.resize({n});
    grad.resize(x.shape());
    const int64_t per_sample = x.numel() / n;
    const int workers = static_cast<int>(std::min<int64_t>(num_threads(), chunks));
    if (static_cast<int>(chunk_.size()) < workers) chunk_.resize(static_cast<size_t>(workers));
    std::vector<Status> failures(static_cast<size_t>(workers), Status::Ok());
    parallel_ranges(n, chunks, [&](int64_t begin, int64_t end, int worker) {
      ChunkState& c = chunk_[static_cast<size_t>(worker)];
      Status st = chunk_gradient(x, objective, begin, end, c);
      if (!st.ok()) {
        if (failures[static_cast<size_t>(worker)].ok()) failures[static_cast<size_t>(worker)] = std::move(st);
        return;
      }
      std::copy(c.value.data(), c.value.data() + (end - begin), value.data() + begin);
      const Tensor& g = c.ws.input_grad();
      std::copy(g.data(), g.data() + (end - begin) * per_sample, grad.data() + begin * per_sample);
    });
    for (Status& st : failures)
      if (!st.ok()) return st;
    return Status::Ok();
  }

 private:
  // One worker's buffers for chunked gradients, kept across calls.
  struct ChunkState {
    Workspace<float> ws;
    Tensor input, dlogits, value;
  };

  // How many chunks a gradient batch of n samples runs in: chunks of at most
  // kGradientChunkBytes of the widest activation (a chunk's layer inputs and outputs then
  // stay in L2 between layers, where the whole batch streams from L3), as many for every
  // thread. On ResNet-8, 8 images per chunk ran PGD fastest of 4, 8 and 16.
  int64_t gradient_chunks(int64_t n) const {
    if (n <= 1) return 1;
    int64_t widest = 1;
    for (int i = 0; i < grad_graph_.num_nodes(); ++i)
      widest = std::max(widest, shape_numel(grad_graph_.node(i).output_shape));
    const int64_t per_chunk = std::max<int64_t>(1, kGradientChunkBytes / (widest * static_cast<int64_t>(sizeof(float))));
    const int64_t threads = num_threads();
    const int64_t rounds = ((n + per_chunk - 1) / per_chunk + threads - 1) / threads;
    return std::min(rounds * threads, n);
  }

  Status chunk_gradient(const Tensor& x, const Objective& objective, int64_t begin, int64_t end, ChunkState& c) {
    const int64_t count = end - begin, per_sample = x.numel() / x.dim(0);
    Shape shape = x.shape();
    shape[0] = count;
    c.input.resize(shape);
    std::copy(x.data() + begin * per_sample, x.data() + end * per_sample, c.input.data());
    Objective part = objective;
    part.labels = objective.labels.subspan(static_cast<size_t>(begin), static_cast<size_t>(count));
    if (!objective.targets.empty())
      part.targets = objective.targets.subspan(static_cast<size_t>(begin), static_cast<size_t>(count));
    c.ws.fuse_elementwise = true;  // only the logits and the input gradient are read
    c.ws.hand_off_grads = true;
    SLING_RETURN_IF_ERROR(grad_graph_.forward(c.input, c.ws, Mode::kInference, kGradientKernels));
    SLING_RETURN_IF_ERROR(attack_objective(c.ws.output(), part, c.value, &c.dlogits));
    return grad_graph_.backward(c.dlogits, c.ws, /*param_grads=*/false, kGradientKernels);
  }

  // Central differences of the objective on the deployed engine, one input value at a
  // time; at the domain's edge the difference is one-sided.
  Status finite_differences(const Tensor& x, const Objective& objective, Tensor& value, Tensor& grad) {
    const int64_t n = x.dim(0), d = x.numel() / n;
    const float h = options_.fd_step > 0 ? options_.fd_step : (options_.domain.levels > 0 ? options_.domain.step() : 1e-3f);
    const InputDomain& dom = options_.domain;
    grad = Tensor(x.shape());
    value = Tensor({n});
    Shape chunk_shape = x.shape();
    const int64_t per_call = std::max<int64_t>(2, options_.fd_batch / 2 * 2);
    Tensor chunk, logits, vals;
    std::vector<int> labels, targets;
    std::vector<float> steps;
    for (int64_t s = 0; s < n; ++s) {
      const float* xs = x.data() + s * d;
      Objective one = objective;
      labels.assign(static_cast<size_t>(per_call + 1), objective.labels[s]);
      if (!objective.targets.empty()) targets.assign(static_cast<size_t>(per_call + 1), objective.targets[s]);
      // The objective at x itself.
      chunk_shape[0] = 1;
      chunk = Tensor(chunk_shape, std::vector<float>(xs, xs + d));
      SLING_RETURN_IF_ERROR(engine_->predict(chunk, logits));
      one.labels = std::span<const int>(labels.data(), 1);
      one.targets = objective.targets.empty() ? std::span<const int>() : std::span<const int>(targets.data(), 1);
      SLING_RETURN_IF_ERROR(attack_objective(logits, one, vals, nullptr));
      value[s] = vals[0];
      counts_.fd_evaluations += 1;
      for (int64_t begin = 0; begin < d; begin += per_call / 2) {
        const int64_t count = std::min<int64_t>(per_call / 2, d - begin);
        chunk_shape[0] = 2 * count;
        chunk = Tensor(chunk_shape);
        steps.assign(static_cast<size_t>(count), 0.0f);
        for (int64_t k = 0; k < count; ++k) {
          const int64_t i = begin + k;
          float* plus = chunk.data() + (2 * k) * d;
          float* minus = plus + d;
          std::copy(xs, xs + d, plus);
          std::copy(xs, xs + d, minus);
          plus[i] = std::min(xs[i] + h, dom.hi);
          minus[i] = std::max(xs[i] - h, dom.lo);
          steps[k] = plus[i] - minus[i];
        }
        SLING_RETURN_IF_ERROR(engine_->predict(chunk, logits));
        one.labels = std::span<const int>(labels.data(), static_cast<size_t>(2 * count));
        if (!objective.targets.empty()) one.targets = std::span<const int>(targets.data(), static_cast<size_t>(2 * count));
        SLING_RETURN_IF_ERROR(attack_objective(logits, one, vals, nullptr));
        counts_.fd_evaluations += 2 * count;
        for (int64_t k = 0; k < count; ++k)
          grad[s * d + begin + k] = steps[k] > 0 ? (vals[2 * k] - vals[2 * k + 1]) / steps[k] : 0.0f;
      }
    }
    return Status::Ok();
  }

  const QuantizedModel& model_;
  ModelTargetOptions options_;
  std::unique_ptr<Engine> engine_;
  Graph grad_graph_;
  bool relaxed_encoding_;  // the graph has a thermometer layer (backward = its relaxation)
  Workspace<float> ws_;
  std::vector<ChunkState> chunk_;  // per worker, for chunked gradients
};

}  // namespace

Result<std::unique_ptr<Target>> make_model_target(const QuantizedModel& model, const ModelTargetOptions& o) {
  if (model.graph.output_shape().size() != 1)
    return invalid_argument("attacks need a model with a flat [classes] output, got " +
                            shape_to_string(model.graph.output_shape()));
  if (o.source == GradientSource::kBpda || o.source == GradientSource::kEot)
    return invalid_argument(std::string("gradient source '") + gradient_source_name(o.source) +
                            "' differentiates through a pre-processing defense; this target has none (use float, ste "
                            "or fd)");
  if (o.source == GradientSource::kSte && model.nodes.empty())
    return invalid_argument("gradient source 'ste' needs a quantized model (run `slingshot quantize` first)");
  if (o.fd_batch < 2) return invalid_argument("fd_batch must be >= 2");
  if (!(o.fd_step >= 0) || !std::isfinite(o.fd_step)) return invalid_argument("fd_step must be a finite number >= 0");
  SLING_ASSIGN_OR_RETURN(auto engine, make_engine(o.engine, model));
  Graph grad_graph(Shape{1});
  if (o.source == GradientSource::kSte) {
    SLING_ASSIGN_OR_RETURN(grad_graph, build_fake_quant_graph(model));
  } else if (o.source == GradientSource::kFloat) {
    SLING_ASSIGN_OR_RETURN(grad_graph, clone_graph(model.graph));
  }
  return std::unique_ptr<Target>(new ModelTarget(model, o, std::move(engine), std::move(grad_graph)));
}

}  // namespace slingshot

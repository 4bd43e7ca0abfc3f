// The bit-flip attack: progressive bit search and the random-flip baseline (bit_flip.h).
#include "attacks/bit_flip.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <tuple>

#include "attacks/attack.h"
#include "attacks/objective.h"
#include "core/rng.h"
#include "quant/fake_quant_graph.h"

namespace slingshot {
namespace {

// Bits of the two's-complement word a code is stored in.
int word_bits(WeightScheme scheme) { return scheme == WeightScheme::kInt8 ? 8 : 4; }

// The output channel of element k of a weighted node's weight tensor.
int64_t channel_of(const Shape& shape, int axis, int64_t k) {
  int64_t inner = 1;
  for (int d = axis + 1; d < static_cast<int>(shape.size()); ++d) inner *= shape[d];
  return (k / inner) % shape[axis];
}

// One bit of one weight code.
struct BitAddress {
  int node = 0;
  int64_t index = 0;
  int bit = 0;
  bool operator<(const BitAddress& o) const { return std::tie(node, index, bit) < std::tie(o.node, o.index, o.bit); }
};

struct Candidate {
  BitAddress at;
  int old_code = 0, new_code = 0;
  double estimate = 0;  // first-order loss change grad x (new - old)
};

// The deployed engine's logits for every sample of `data`, a chunk at a time so large
// evaluation sets do not need one huge activation buffer.
Status predict_all(Engine& engine, const Dataset& data, int64_t count, Tensor& logits) {
  constexpr int64_t kChunk = 256;
  Tensor batch, part;
  std::vector<int> labels;
  for (int64_t first = 0; first < count; first += kChunk) {
    const int64_t n = std::min(kChunk, count - first);
    data.slice(first, n, batch, labels);
    SLING_RETURN_IF_ERROR(engine.predict(batch, part));
    if (first == 0) logits = Tensor({count, part.dim(1)});
    std::copy(part.data(), part.data() + part.numel(), logits.data() + first * part.dim(1));
  }
  return Status::Ok();
}

// Mean cross-entropy of logits against the first rows of `labels`, and optionally
// d(mean)/d(logits).
Result<double> mean_cross_entropy(const Tensor& logits, std::span<const int> labels, Tensor* grad) {
  Objective ce;
  ce.labels = labels.first(static_cast<size_t>(logits.dim(0)));
  Tensor value;
  SLING_RETURN_IF_ERROR(attack_objective(logits, ce, value, grad));
  double sum = 0;
  for (int64_t i = 0; i < value.numel(); ++i) sum += value[i];
  const double n = static_cast<double>(value.numel());
  if (grad)
    for (int64_t i = 0; i < grad->numel(); ++i) (*grad)[i] = static_cast<float>((*grad)[i] / n);
  return sum / n;
}

// What the deployed engine says about the model as it is now.
struct Judgement {
  double loss = 0;           // attack-batch mean cross-entropy
  double accuracy = 0;       // evaluation accuracy (when asked for)
  std::vector<int> predictions;
};

// The search state: the model under attack, its data and what has been flipped.
class BitFlipSearcher {
 public:
  BitFlipSearcher(QuantizedModel& model, const Dataset& attack_data, int64_t attack_count, const Dataset& eval_data,
                  const BitFlipOptions& o)
      : model_(model), attack_(attack_data), attack_count_(attack_count), eval_(eval_data), options_(o), rng_(o.seed) {
    for (int i = 1; i < model.graph.num_nodes(); ++i)
      if (is_weighted_type(model.graph.node(i).layer->type())) weighted_.push_back(i);
  }

  // The deployed engine's attack loss and, if `with_accuracy`, evaluation accuracy.
  Result<Judgement> judge(bool with_accuracy) {
    // Integer engines lower (and pack) the codes when built, so every change needs a new one.
    SLING_ASSIGN_OR_RETURN(auto engine, make_engine(options_.engine, model_));
    Judgement j;
    Tensor logits;
    SLING_RETURN_IF_ERROR(predict_all(*engine, attack_, attack_count_, logits));
    SLING_ASSIGN_OR_RETURN(j.loss, mean_cross_entropy(logits, attack_.labels, nullptr));
    if (!with_accuracy) return j;
    SLING_RETURN_IF_ERROR(predict_all(*engine, eval_, eval_.size(), logits));
    j.predictions = top1_classes(logits);
    int64_t correct = 0;
    for (int64_t i = 0; i < eval_.size(); ++i) correct += j.predictions[i] == eval_.labels[i];
    j.accuracy = static_cast<double>(correct) / static_cast<double>(eval_.size());
    return j;
  }

  // The next bit to flip, by the configured search.
  Result<Candidate> choose() {
    if (options_.search == BitFlipSearch::kRandom) return random_candidate();
    return progressive_candidate();
  }

  // Writes `code` into the deployed weights only (what the engines read).
  void set_code(const BitAddress& at, int code) {
    model_.nodes[at.node].weight[at.index] = static_cast<int8_t>(code);
  }

  // Makes a flip permanent: the code, and the float master weight as code x scale (the
  // product dequantize_weights forms), so the float and fake-quant graphs agree with it.
  Status commit(const Candidate& c) {
    set_code(c.at, c.new_code);
    Layer& layer = *model_.graph.node(c.at.node).layer;
    Tensor& w = layer.find_param("weight")->value;
    const int64_t channel = channel_of(w.shape(), weight_channel_axis(layer), c.at.index);
    w[c.at.index] = static_cast<float>(c.new_code) * model_.nodes[c.at.node].weight_scale[channel];
    flipped_.insert(c.at);
    const Status valid = validate_quantized_model(model_);
    if (!valid.ok()) return internal_error("a bit flip left an invalid model: " + valid.message());
    return Status::Ok();
  }

 private:
  // Whether flipping `at` of `code` is allowed: inside the symmetric range, and not a bit
  // flipped before (flipping it back would only undo the attack).
  bool allowed(const BitAddress& at, int new_code) const {
    return std::abs(new_code) <= weight_qmax(model_.weights) && !flipped_.count(at);
  }

  // dL/dcode of every weight, per node (empty for unweighted nodes), through the
  // fake-quant graph: the STE gradient dL/dw times the channel scale, since w = code x scale.
  Result<std::vector<std::vector<float>>> code_gradients() {
    SLING_ASSIGN_OR_RETURN(Graph fq, build_fake_quant_graph(model_));
    Tensor batch;
    std::vector<int> labels;
    attack_.slice(0, attack_count_, batch, labels);
    Workspace<float> ws;
    SLING_RETURN_IF_ERROR(fq.forward(batch, ws, Mode::kInference));
    Tensor dlogits;
    SLING_RETURN_IF_ERROR(mean_cross_entropy(ws.output(), labels, &dlogits).status());
    SLING_RETURN_IF_ERROR(fq.backward(dlogits, ws, /*param_grads=*/true));
    std::vector<std::vector<float>> grads(model_.graph.num_nodes());
    for (int node : weighted_) {
      const int f = fq.find(model_.graph.node(node).name);
      const Layer& layer = *fq.node(f).layer;
      const auto& params = layer.params();
      const size_t w = static_cast<size_t>(
          std::find_if(params.begin(), params.end(), [](const Param& p) { return p.name == "weight"; }) - params.begin());
      const Tensor& g = ws.param_grads[f][w];
      const int axis = weight_channel_axis(layer);
      std::vector<float>& out = grads[node];
      out.resize(static_cast<size_t>(g.numel()));
      for (int64_t k = 0; k < g.numel(); ++k)
        out[k] = g[k] * model_.nodes[node].weight_scale[channel_of(g.shape(), axis, k)];
    }
    return grads;
  }

  // In-layer search: the candidates_per_layer allowed flips of `node` with the largest
  // first-order loss increase (the first ones on ties, so runs are deterministic).
  std::vector<Candidate> layer_candidates(int node, const std::vector<float>& grad) const {
    const TensorT<int8_t>& codes = model_.nodes[node].weight;
    const int bits = word_bits(model_.weights);
    const size_t keep = static_cast<size_t>(options_.candidates_per_layer);
    std::vector<Candidate> best;  // sorted, largest estimate first
    for (int64_t k = 0; k < codes.numel(); ++k) {
      for (int b = 0; b < bits; ++b) {
        Candidate c{{node, k, b}, codes[k], flipped_code(codes[k], b, model_.weights), 0};
        if (!allowed(c.at, c.new_code)) continue;
        c.estimate = static_cast<double>(grad[k]) * (c.new_code - c.old_code);
        if (best.size() == keep && c.estimate <= best.back().estimate) continue;
        auto pos = std::upper_bound(best.begin(), best.end(), c,
                                    [](const Candidate& a, const Candidate& e) { return a.estimate > e.estimate; });
        best.insert(pos, c);
        if (best.size() > keep) best.pop_back();
      }
    }
    return best;
  }

  // Cross-layer search: every layer's candidates tried on the deployed engine; the one
  // with the largest attack loss wins (the first on ties).
  Result<Candidate> progressive_candidate() {
    SLING_ASSIGN_OR_RETURN(auto grads, code_gradients());
    Candidate winner;
    double winner_loss = -std::numeric_limits<double>::infinity();
    bool found = false;
    for (int node : weighted_) {
      for (const Candidate& c : layer_candidates(node, grads[node])) {
        set_code(c.at, c.new_code);
        auto judged = judge(/*with_accuracy=*/false);
        set_code(c.at, c.old_code);
        if (!judged.ok()) return judged.status();
        if (!found || judged->loss > winner_loss) {
          winner = c;
          winner_loss = judged->loss;
          found = true;
        }
      }
    }
    if (!found) return invalid_argument("no weight bit is left that can flip inside the scheme's range");
    return winner;
  }

  // A uniformly drawn allowed bit among all weight bits of the model.
  Result<Candidate> random_candidate() {
    const int bits = word_bits(model_.weights);
    int64_t total = 0;
    for (int node : weighted_) total += model_.nodes[node].weight.numel() * bits;
    // Disallowed bits are rare (a -128 / -8 result, or a bit flipped already): redraw.
    for (int attempt = 0; attempt < 1000000; ++attempt) {
      int64_t draw = static_cast<int64_t>(rng_.next_u64() % static_cast<uint64_t>(total));
      for (int node : weighted_) {
        const TensorT<int8_t>& codes = model_.nodes[node].weight;
        if (draw >= codes.numel() * bits) {
          draw -= codes.numel() * bits;
          continue;
        }
        Candidate c{{node, draw / bits, static_cast<int>(draw % bits)}, codes[draw / bits], 0, 0};
        c.new_code = flipped_code(c.old_code, c.at.bit, model_.weights);
        if (allowed(c.at, c.new_code)) return c;
        break;
      }
    }
    return invalid_argument("no weight bit is left that can flip inside the scheme's range");
  }

  QuantizedModel& model_;
  const Dataset& attack_;
  int64_t attack_count_;
  const Dataset& eval_;
  BitFlipOptions options_;
  Rng rng_;
  std::vector<int> weighted_;     // weighted node indices, in graph order
  std::set<BitAddress> flipped_;  // bits flipped so far
};

Status check_data(const QuantizedModel& model, const Dataset& data, const char* what) {
  if (data.size() == 0) return invalid_argument(std::string("bitflip needs ") + what + " samples; got none");
  if (data.sample_shape() != model.graph.input_shape())
    return invalid_argument(std::string("bitflip ") + what + " samples are " + shape_to_string(data.sample_shape()) +
                            " but the model takes " + shape_to_string(model.graph.input_shape()));
  return Status::Ok();
}

Status check_option_values(const BitFlipOptions& o) {
  if (o.max_flips < 1)
    return invalid_argument("bitflip needs a flip budget (--max-iter) of at least 1, got " + std::to_string(o.max_flips));
  if (o.candidates_per_layer < 1)
    return invalid_argument("bitflip setting 'candidates' (per layer) must be >= 1, got " +
                            std::to_string(o.candidates_per_layer));
  if (o.attack_samples < 1)
    return invalid_argument("bitflip setting 'attack_samples' must be >= 1, got " + std::to_string(o.attack_samples));
  if (!(o.stop_accuracy >= 0 && o.stop_accuracy <= 1))
    return invalid_argument("bitflip setting 'stop_accuracy' must lie in [0, 1], got " +
                            std::to_string(o.stop_accuracy));
  return Status::Ok();
}

Status check_options(const QuantizedModel& model, const BitFlipOptions& o) {
  if (model.nodes.empty())
    return invalid_argument("bitflip attacks the integer weights of a quantized model; run `slingshot quantize` first");
  if (model.weights != WeightScheme::kInt8 && model.weights != WeightScheme::kInt4)
    return invalid_argument(std::string("bitflip flips int8 and int4 weight codes; this model's weights are ") +
                            weight_scheme_name(model.weights) +
                            ", whose packed 2-bit / 1-bit words make flipping a different attack");
  if (o.engine == EngineKind::kFloat)
    return invalid_argument("bitflip judges flips on an engine that runs the weight codes; the float engine runs the "
                            "float master (use int8-ref, int8-simd, xnnpack or fakequant)");
  if (model.graph.output_shape().size() != 1)
    return invalid_argument("bitflip needs a model with a flat [classes] output, got " +
                            shape_to_string(model.graph.output_shape()));
  return check_option_values(o);
}

}  // namespace

int flipped_code(int code, int bit, WeightScheme scheme) {
  if (scheme == WeightScheme::kInt8) return static_cast<int8_t>(static_cast<uint8_t>(code) ^ (1u << bit));
  const int word = (code & 0xF) ^ (1 << bit);  // the 4-bit two's-complement word
  return word >= 8 ? word - 16 : word;
}

double default_bit_flip_stop_accuracy(int num_classes) { return 1.0 / std::max(num_classes, 1) + 0.01; }

std::vector<SettingSpec> bit_flip_settings() {
  return {
      {.name = "stop_accuracy", .default_value = std::numeric_limits<double>::quiet_NaN(), .min = 0, .max = 1,
       .doc = "stop once evaluation accuracy is at or below this; default: max(1/classes, the majority label's share) + 0.01"},
      {.name = "candidates", .kind = SettingKind::kInteger, .default_value = 1, .min = 1, .max = 1e9, .unit = "count",
       .doc = "bit flips tried per layer in each step (the top-k of the in-layer search)"},
      {.name = "attack_samples", .kind = SettingKind::kInteger, .default_value = 128, .min = 1, .max = 1e9, .unit = "count",
       .doc = "samples of the attack batch the search computes its loss on"},
      {.name = "random", .kind = SettingKind::kBoolean, .default_value = 0,
       .doc = "flip uniformly random bits instead (the paper's baseline)"},
  };
}

Result<BitFlipOptions> bit_flip_options(const AttackParams& p, int num_classes, EngineKind engine) {
  SLING_RETURN_IF_ERROR(check_extra_settings(p, bit_flip_settings(), kBitFlipAttackName));
  if (p.targeted) return invalid_argument("bitflip is untargeted: it raises the loss of the true classes");
  auto setting = [&](const std::string& key, double fallback) {
    const auto it = p.extra.find(key);
    return it == p.extra.end() ? fallback : it->second;
  };
  auto whole = [&](const std::string& key, double fallback) -> Result<int> {
    const double v = setting(key, fallback);
    if (v != std::floor(v) || v < 0 || v > 1e9)
      return invalid_argument("bitflip setting '" + key + "' must be a whole number >= 0, got " + std::to_string(v));
    return static_cast<int>(v);
  };
  BitFlipOptions o;
  o.max_flips = p.max_iter;
  o.seed = p.seed;
  o.engine = engine;
  o.stop_accuracy = setting("stop_accuracy", default_bit_flip_stop_accuracy(num_classes));
  SLING_ASSIGN_OR_RETURN(o.candidates_per_layer, whole("candidates", 1));
  SLING_ASSIGN_OR_RETURN(o.attack_samples, whole("attack_samples", 128));
  SLING_ASSIGN_OR_RETURN(const int random, whole("random", 0));
  if (random > 1) return invalid_argument("bitflip setting 'random' is 0 (progressive bit search) or 1 (random flips)");
  o.search = random ? BitFlipSearch::kRandom : BitFlipSearch::kProgressive;
  SLING_RETURN_IF_ERROR(check_option_values(o));
  return o;
}

Result<BitFlipResult> bit_flip_attack(QuantizedModel& model, const Dataset& attack_data, const Dataset& eval_data,
                                      const BitFlipOptions& options, const BitFlipProgress& progress) {
  SLING_RETURN_IF_ERROR(check_options(model, options));
  SLING_RETURN_IF_ERROR(check_data(model, attack_data, "attack"));
  SLING_RETURN_IF_ERROR(check_data(model, eval_data, "evaluation"));
  SLING_RETURN_IF_ERROR(validate_quantized_model(model));
  const int64_t attack_count = std::min<int64_t>(options.attack_samples, attack_data.size());
  BitFlipSearcher searcher(model, attack_data, attack_count, eval_data, options);
  SLING_ASSIGN_OR_RETURN(Judgement clean, searcher.judge(/*with_accuracy=*/true));
  BitFlipResult r;
  r.clean_accuracy = r.final_accuracy = clean.accuracy;
  r.clean_attack_loss = clean.loss;
  r.clean_predictions = clean.predictions;
  r.final_predictions = std::move(clean.predictions);
  while (static_cast<int>(r.flips.size()) < options.max_flips && r.final_accuracy > options.stop_accuracy) {
    SLING_ASSIGN_OR_RETURN(Candidate c, searcher.choose());
    SLING_RETURN_IF_ERROR(searcher.commit(c));
    SLING_ASSIGN_OR_RETURN(Judgement now, searcher.judge(/*with_accuracy=*/true));
    BitFlip f;
    f.flip = static_cast<int>(r.flips.size()) + 1;
    f.node = c.at.node;
    f.layer = model.graph.node(c.at.node).name;
    f.weight_index = c.at.index;
    f.bit = c.at.bit;
    f.old_code = c.old_code;
    f.new_code = c.new_code;
    f.attack_loss = now.loss;
    f.accuracy = now.accuracy;
    r.final_accuracy = now.accuracy;
    r.final_predictions = std::move(now.predictions);
    r.flips.push_back(f);
    if (progress) progress(f);
  }
  return r;
}

}  // namespace slingshot

// The bit-flip attack on the weight codes: progressive bit search beats random flips,
// every flip leaves a valid model that differs from the original in exactly the recorded
// bits, runs are reproducible, and bad settings are refused with clear errors.
#include <doctest/doctest.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstdlib>

#include "attack_test_support.h"
#include "attacks/bit_flip.h"
#include "quant/weight_quantizers.h"

namespace slingshot {
namespace {

using attack_test::contains;
using attack_test::shapes_fixture;

// An independent copy of a quantized model, through its file form.
QuantizedModel copy_model(const QuantizedModel& m) {
  auto contents = quantized_model_to_contents(m);
  REQUIRE_MESSAGE(contents.ok(), contents.status().message());
  auto copy = quantized_model_from_contents(std::move(*contents));
  REQUIRE_MESSAGE(copy.ok(), copy.status().message());
  return std::move(*copy);
}

// The first `n` training samples: the search's attack batch.
Dataset attack_samples(int64_t n) { return shapes_fixture().train.range(0, n); }

BitFlipOptions options(int max_flips, BitFlipSearch search = BitFlipSearch::kProgressive, uint64_t seed = 0) {
  BitFlipOptions o;
  o.max_flips = max_flips;
  o.stop_accuracy = 0;  // spend the whole budget
  o.search = search;
  o.seed = seed;
  return o;
}

// Runs the attack on a copy of `model`, which must succeed; the flipped copy lands in `flipped`.
BitFlipResult run_bit_flip(const QuantizedModel& model, const BitFlipOptions& o, QuantizedModel& flipped) {
  flipped = copy_model(model);
  auto r = bit_flip_attack(flipped, attack_samples(128), shapes_fixture().test, o);
  REQUIRE_MESSAGE(r.ok(), r.status().message());
  return std::move(*r);
}

// Bits that differ between the weight codes of two models with the same graph, counted
// in the scheme's word (8 or 4 bits).
int64_t differing_bits(const QuantizedModel& a, const QuantizedModel& b) {
  const unsigned mask = a.weights == WeightScheme::kInt8 ? 0xFFu : 0xFu;
  int64_t bits = 0;
  for (size_t i = 0; i < a.nodes.size(); ++i)
    for (int64_t k = 0; k < a.nodes[i].weight.numel(); ++k)
      bits += std::popcount((static_cast<unsigned>(a.nodes[i].weight[k]) ^ static_cast<unsigned>(b.nodes[i].weight[k])) &
                            mask);
  return bits;
}

// Accuracy of `model` on the fixture's test set on `engine`, from a fresh engine.
double accuracy_of(const QuantizedModel& model, EngineKind engine) {
  auto e = make_engine(engine, model);
  REQUIRE(e.ok());
  Tensor logits;
  REQUIRE((*e)->predict(shapes_fixture().test.inputs, logits).ok());
  return attack_test::count_correct(logits, shapes_fixture().test.labels) /
         static_cast<double>(shapes_fixture().test.size());
}

bool same_flips(const std::vector<BitFlip>& a, const std::vector<BitFlip>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const BitFlip& x, const BitFlip& y) {
    return x.node == y.node && x.weight_index == y.weight_index && x.bit == y.bit && x.new_code == y.new_code &&
           x.accuracy == y.accuracy;
  });
}

TEST_CASE("bitflip: flipped codes in the two's-complement word") {
  CHECK(flipped_code(0, 7, WeightScheme::kInt8) == -128);  // out of range: the search never takes it
  CHECK(flipped_code(1, 7, WeightScheme::kInt8) == -127);
  CHECK(flipped_code(-1, 7, WeightScheme::kInt8) == 127);
  CHECK(flipped_code(5, 1, WeightScheme::kInt8) == 7);
  CHECK(flipped_code(0, 3, WeightScheme::kInt4) == -8);  // out of range as well
  CHECK(flipped_code(7, 3, WeightScheme::kInt4) == -1);
  CHECK(flipped_code(-7, 0, WeightScheme::kInt4) == -8);
  CHECK(flipped_code(3, 0, WeightScheme::kInt4) == 2);
}

TEST_CASE("bitflip: a few searched flips break the int8 model, as many random flips do not") {
  const QuantizedModel& model = shapes_fixture().int8;
  QuantizedModel searched, random;
  const BitFlipResult pbs = run_bit_flip(model, options(6), searched);
  const BitFlipResult rnd = run_bit_flip(model, options(6, BitFlipSearch::kRandom, 11), random);
  MESSAGE("clean " << pbs.clean_accuracy << ", after 6 searched flips " << pbs.final_accuracy << ", after 6 random flips "
                   << rnd.final_accuracy);
  REQUIRE(pbs.clean_accuracy > 0.8);
  CHECK(pbs.flips.size() == 6);
  CHECK(pbs.final_accuracy <= 0.4);
  CHECK(rnd.final_accuracy >= pbs.clean_accuracy - 0.15);
  // The search ascends the loss it measures on the deployed engine.
  CHECK(pbs.flips.back().attack_loss > 2 * pbs.clean_attack_loss);
}

TEST_CASE("bitflip: every flip leaves a valid model that differs in exactly the recorded bits") {
  const QuantizedModel& model = shapes_fixture().int8;
  QuantizedModel flipped;
  const BitFlipResult r = run_bit_flip(model, options(5), flipped);
  REQUIRE(r.flips.size() == 5);
  CHECK(validate_quantized_model(flipped).ok());
  CHECK(differing_bits(model, flipped) == 5);
  for (const BitFlip& f : r.flips) {
    CHECK(model.nodes[f.node].weight[f.weight_index] == f.old_code);
    CHECK(flipped.nodes[f.node].weight[f.weight_index] == f.new_code);
    CHECK(f.new_code == flipped_code(f.old_code, f.bit, WeightScheme::kInt8));
    CHECK(f.new_code != -128);
  }
  // The model file keeps the flips, and a fresh engine on it reproduces the recorded accuracy.
  const QuantizedModel reloaded = copy_model(flipped);
  CHECK(accuracy_of(reloaded, EngineKind::kInt8Ref) == r.final_accuracy);
  CHECK(accuracy_of(reloaded, EngineKind::kInt8Simd) == r.final_accuracy);
  CHECK(differing_bits(model, reloaded) == 5);
  // The float master carries the flipped weight as code x scale (what STE gradients see).
  const BitFlip& f = r.flips.front();
  const Layer& layer = *flipped.graph.node(f.node).layer;
  const Tensor& w = layer.find_param("weight")->value;
  const Tensor deployed = dequantize_weights({flipped.nodes[f.node].weight_scale, flipped.nodes[f.node].weight},
                                             weight_channel_axis(layer));
  CHECK(w[f.weight_index] == deployed[f.weight_index]);
  CHECK(w[f.weight_index] != model.graph.node(f.node).layer->find_param("weight")->value[f.weight_index]);
  // Accuracy recorded per flip is monotone only in expectation; the curve must end at the final value.
  CHECK(r.flips.back().accuracy == r.final_accuracy);
}

TEST_CASE("bitflip: int4 flips stay inside [-7, 7]") {
  QuantizeOptions qo;
  qo.weights = WeightScheme::kInt4;
  auto int4 = quantize_post_training(shapes_fixture().int8.graph, shapes_fixture().train.inputs, qo);
  REQUIRE(int4.ok());
  QuantizedModel flipped;
  const BitFlipResult r = run_bit_flip(*int4, options(4), flipped);
  REQUIRE(r.flips.size() == 4);
  CHECK(validate_quantized_model(flipped).ok());
  CHECK(differing_bits(*int4, flipped) == 4);
  for (const BitFlip& f : r.flips) {
    CHECK(f.bit < 4);
    CHECK(std::abs(f.new_code) <= 7);
  }
  CHECK(r.final_accuracy < r.clean_accuracy);
}

TEST_CASE("bitflip: the same seed gives the same flips") {
  const QuantizedModel& model = shapes_fixture().int8;
  QuantizedModel a, b;
  CHECK(same_flips(run_bit_flip(model, options(3), a).flips, run_bit_flip(model, options(3), b).flips));
  const auto r1 = run_bit_flip(model, options(4, BitFlipSearch::kRandom, 5), a).flips;
  const auto r2 = run_bit_flip(model, options(4, BitFlipSearch::kRandom, 5), b).flips;
  const auto r3 = run_bit_flip(model, options(4, BitFlipSearch::kRandom, 6), b).flips;
  CHECK(same_flips(r1, r2));
  CHECK(!same_flips(r1, r3));
}

TEST_CASE("bitflip: stops once accuracy reaches the stop accuracy") {
  BitFlipOptions o = options(20);
  o.stop_accuracy = default_bit_flip_stop_accuracy(4);
  QuantizedModel flipped;
  const BitFlipResult r = run_bit_flip(shapes_fixture().int8, o, flipped);
  REQUIRE(!r.flips.empty());
  CHECK(r.final_accuracy <= o.stop_accuracy);
  CHECK(r.flips.size() < 20);
  for (size_t i = 0; i + 1 < r.flips.size(); ++i) CHECK(r.flips[i].accuracy > o.stop_accuracy);
}

TEST_CASE("bitflip: bad settings and models are refused with clear errors") {
  const attack_test::ShapesFixture& f = shapes_fixture();
  QuantizedModel model = copy_model(f.int8);
  auto error_of = [&](QuantizedModel& m, const BitFlipOptions& o) {
    auto r = bit_flip_attack(m, attack_samples(16), f.test, o);
    REQUIRE(!r.ok());
    return r.status();
  };
  CHECK(contains(error_of(model, options(0)), "flip budget (--max-iter) of at least 1"));
  BitFlipOptions o = options(2);
  o.engine = EngineKind::kFloat;
  CHECK(contains(error_of(model, o), "the float engine runs the float master"));
  o = options(2);
  o.stop_accuracy = 1.5;
  CHECK(contains(error_of(model, o), "'stop_accuracy' must lie in [0, 1]"));
  o = options(2);
  o.candidates_per_layer = 0;
  CHECK(contains(error_of(model, o), "'candidates' (per layer) must be >= 1"));
  CHECK(differing_bits(f.int8, model) == 0);  // refused runs change nothing

  QuantizeOptions qo;
  qo.weights = WeightScheme::kTernary;
  auto ternary = quantize_post_training(f.int8.graph, f.train.inputs, qo);
  REQUIRE(ternary.ok());
  CHECK(contains(error_of(*ternary, options(2)), "this model's weights are ternary"));

  AttackParams p;
  p.extra["flips"] = 3;
  auto unknown = bit_flip_options(p, 4, EngineKind::kInt8Ref);
  REQUIRE(!unknown.ok());
  CHECK(contains(unknown.status(), "attack 'bitflip' has no setting 'flips'"));
  p.extra = {{"random", 2}};
  CHECK(contains(bit_flip_options(p, 4, EngineKind::kInt8Ref).status(), "'random' is 0"));
  p.extra = {{"candidates", 1.5}};
  CHECK(contains(bit_flip_options(p, 4, EngineKind::kInt8Ref).status(), "must be a whole number"));
  p.extra = {};
  p.max_iter = -1;
  CHECK(contains(bit_flip_options(p, 4, EngineKind::kInt8Ref).status(), "flip budget"));
  p.max_iter = 7;
  auto good = bit_flip_options(p, 4, EngineKind::kInt8Simd);
  REQUIRE(good.ok());
  CHECK(good->max_flips == 7);
  CHECK(good->stop_accuracy == doctest::Approx(0.26));

  // Listed among the attacks, but not an input attack.
  const auto names = attack_names();
  CHECK(std::find(names.begin(), names.end(), "bitflip") != names.end());
  auto made = make_attack("bitflip");
  REQUIRE(!made.ok());
  CHECK(contains(made.status(), "flips bits of the model's weights"));
}

}  // namespace
}  // namespace slingshot

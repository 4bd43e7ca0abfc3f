// Imported TFLite models in use: the input mapping (our pixels k/255 reach the integer
// engines as exactly the codes the file gets for its own input k) and the float shadow
// (fake-quant graph) that gives white-box attacks gradients while the imported integer
// model judges. Reads ../shared/mlperf-tiny and skips with a message when it is absent.
#include <doctest/doctest.h>

#include <map>
#include <string>
#include <vector>

#include "attacks/attack.h"
#include "attacks/evaluate.h"
#include "attacks/target_builder.h"
#include "data/image_io.h"
#include "engine/engine.h"
#include "engine/int8_program.h"
#include "model/layers/affine.h"
#include "tflite/tflite_import.h"
#include "tflite_test_support.h"

using namespace slingshot;
using namespace slingshot::tflite_test;

namespace {

QuantizedModel import_file(const std::string& file, bool map_input = true) {
  TfliteImportOptions o;
  o.map_input = map_input;
  auto r = import_tflite(read_mlperf(file), o);
  REQUIRE_MESSAGE(r.ok(), r.status().message());
  return std::move(r->model);
}

std::string import_error(const std::string& file, const char* range) {
  TfliteImportOptions o;
  REQUIRE(parse_tflite_input_range(range, o).ok());
  auto r = import_tflite(read_mlperf(file), o);
  return r.ok() ? std::string("(imported)") : r.status().message();
}

Tensor predict(EngineKind kind, const QuantizedModel& m, const Tensor& x) {
  auto e = make_engine(kind, m);
  REQUIRE_MESSAGE(e.ok(), e.status().message());
  Tensor y;
  REQUIRE((*e)->predict(x, y).ok());
  return y;
}

// `count` random 8-bit images of the model's shape: raw pixel values k and ours k/255.
void random_pixels(const Shape& shape, int count, uint64_t seed, Tensor& raw, Tensor& ours) {
  raw = Tensor(with_batch(count, shape));
  ours = Tensor(raw.shape());
  Rng rng(seed);
  for (int64_t i = 0; i < raw.numel(); ++i) {
    const int k = static_cast<int>(rng.next_u64() % 256);
    raw[i] = static_cast<float>(k);
    ours[i] = static_cast<float>(k) / 255.0f;
  }
}

// Housenum evaluation images at the model's size (PNG files committed under models/).
Tensor housenum_images(int count, int size) {
  Tensor x({count, size, size, 3});
  for (int i = 0; i < count; ++i) {
    char name[96];
    std::snprintf(name, sizeof name, "%s/models/housenum/eval/housenum_test_%05d.png", SLING_SOURCE_DIR, i);
    auto img = load_image(name, 3);
    REQUIRE(img.ok());
    auto fitted = fit_image(*img, size, size);
    REQUIRE(fitted.ok());
    std::copy(fitted->data(), fitted->data() + fitted->numel(), x.data() + static_cast<int64_t>(i) * size * size * 3);
  }
  return x;
}

std::vector<int> top1(const Tensor& logits) {
  std::vector<int> out;
  const int64_t n = logits.dim(1);
  for (int64_t r = 0; r < logits.dim(0); ++r) {
    int best = 0;
    for (int64_t j = 1; j < n; ++j)
      if (logits[r * n + j] > logits[r * n + best]) best = static_cast<int>(j);
    out.push_back(best);
  }
  return out;
}

}  // namespace

TEST_CASE("TFLite input mapping: pixel k/255 is the file's input code k - 128, with identical logits") {
  if (!have_mlperf()) return;
  // ResNet-8 takes 0..255 (scale 1, zero point -128): an affine node x 255 maps our pixels.
  const QuantizedModel mapped = import_file("pretrainedResnet_quant.tflite");
  const QuantizedModel raw = import_file("pretrainedResnet_quant.tflite", /*map_input=*/false);
  REQUIRE(std::string(mapped.graph.node(1).layer->type()) == "affine");
  CHECK(static_cast<const Affine&>(*mapped.graph.node(1).layer).config().scale == 255.0);
  CHECK(static_cast<const Affine&>(*mapped.graph.node(1).layer).config().offset == 0.0);
  CHECK(mapped.nodes[0].output == image_input_grid());
  CHECK(raw.nodes[0].output.scale == 1.0f);
  CHECK(raw.nodes[0].output.zero_point == -128);
  CHECK(mapped.graph.macs() == raw.graph.macs());

  // Every pixel value: the same input code, k - 128.
  auto pm = compile_int8_program(mapped), pr = compile_int8_program(raw);
  REQUIRE(pm.ok());
  REQUIRE(pr.ok());
  CHECK(pm->ops.size() == pr->ops.size());  // the affine node lowers to nothing
  Tensor ours({1, 256}), file({1, 256});
  for (int k = 0; k < 256; ++k) ours[k] = static_cast<float>(k) / 255.0f, file[k] = static_cast<float>(k);
  pm->input_shape = pr->input_shape = Shape{256};
  std::vector<int8_t> cm, cr;
  REQUIRE(quantize_input(*pm, ours, cm).ok());
  REQUIRE(quantize_input(*pr, file, cr).ok());
  for (int k = 0; k < 256; ++k) {
    CAPTURE(k);
    CHECK(cm[k] == k - 128);
    CHECK(cr[k] == k - 128);
  }

  // Logits bit for bit on both integer engines, and on the float shadow (fake-quant).
  Tensor x_raw, x_ours;
  random_pixels(mapped.graph.input_shape(), 6, 5, x_raw, x_ours);
  for (EngineKind kind : {EngineKind::kInt8Ref, EngineKind::kInt8Simd, EngineKind::kFakeQuant}) {
    CAPTURE(static_cast<int>(kind));
    CHECK(predict(kind, mapped, x_ours).storage() == predict(kind, raw, x_raw).storage());
  }
  // The float graph multiplies by 255 in float: equal up to float rounding.
  const Tensor fm = predict(EngineKind::kFloat, mapped, x_ours), fr = predict(EngineKind::kFloat, raw, x_raw);
  for (int64_t i = 0; i < fm.numel(); ++i) CHECK(fm[i] == doctest::Approx(fr[i]).epsilon(1e-4).scale(1.0));
}

TEST_CASE("TFLite input mapping: the other MLPerf files, float files and refusals") {
  if (!have_mlperf()) return;
  // VWW's int8 input grid already is ours (1/255, -128): no node, the file's codes as they are.
  const QuantizedModel vww = import_file("vww_96_int8.tflite");
  const QuantizedModel vww_raw = import_file("vww_96_int8.tflite", false);
  CHECK(vww.graph.num_nodes() == vww_raw.graph.num_nodes());
  CHECK(vww.nodes[0].output == vww_raw.nodes[0].output);
  auto kind = model_input_kind(vww, "vww");
  REQUIRE(kind.ok());
  CHECK(*kind == ModelInputKind::kImage);

  // Keyword features and the autoencoder keep their domains; the autoencoder has none to attack.
  const QuantizedModel kws = import_file("kws_ref_model.tflite");
  CHECK(std::string(kws.graph.node(1).layer->type()) != "affine");
  CHECK(*model_input_kind(kws, "kws") == ModelInputKind::kKeywords);
  const QuantizedModel ad = import_file("ad01_int8.tflite");
  auto ad_kind = model_input_kind(ad, "ad01_int8.tflite");
  REQUIRE_FALSE(ad_kind.ok());
  CHECK(ad_kind.status().message() ==
        "model 'ad01_int8.tflite' takes [640] values: it is neither an image model (H x W x 1 or 3) nor a 49x10x1 "
        "MFCC keyword model, so it has no attack domain (attacks perturb 8-bit images or keyword audio)");
  // Raw (unmapped) image inputs are refused by the attack domain, saying why.
  auto raw_kind = model_input_kind(import_file("pretrainedResnet_quant.tflite", false), "raw");
  REQUIRE_FALSE(raw_kind.ok());
  CHECK(raw_kind.status().message().find("not the 8-bit pixel grid of [0, 1]") != std::string::npos);

  // A float file takes the range it was trained on: the float ResNet-8 0..255.
  TfliteImportOptions o;
  REQUIRE(parse_tflite_input_range("0:255", o).ok());
  auto f = import_tflite(read_mlperf("pretrainedResnet.tflite"), o);
  REQUIRE(f.ok());
  CHECK(std::string(f->model.graph.node(1).layer->type()) == "affine");
  CHECK(f->card["tflite"]["input_mapping"]["pixel_range"] == nlohmann::json::array({0.0, 255.0}));
  auto f_default = import_tflite(read_mlperf("pretrainedResnet.tflite"));
  REQUIRE(f_default.ok());
  CHECK(f_default->card["tflite"]["input_mapping"].contains("assumed"));

  // An int8 file's range is fixed by its grid; one that needs a fractional code shift is refused.
  CHECK(import_error("pretrainedResnet_quant.tflite", "0:255") == "(imported)");
  CHECK(import_error("pretrainedResnet_quant.tflite", "0.5:255.5").find(
            "does not fit the input grid of tensor 0") != std::string::npos);
  CHECK(import_error("pretrainedResnet_quant.tflite", "0:1").find("pixels 0..255 are its codes -128..127, whose "
                                                                   "values are 0:255") != std::string::npos);
  CHECK(import_error("kws_ref_model.tflite", "0:1").find("not an image") != std::string::npos);
  TfliteImportOptions bad;
  CHECK(parse_tflite_input_range("255:0", bad).message() ==
        "input range '255:0' must be LO:HI with LO < HI, e.g. 0:255 or -1:1");
  CHECK_FALSE(parse_tflite_input_range("0-255", bad).ok());

  // A quantized affine node whose grids do not hold the same codes is refused.
  QuantizedModel broken = import_file("pretrainedResnet_quant.tflite");
  broken.nodes[1].output.zero_point = -127;
  const Status s = validate_quantized_model(broken);
  CHECK(s.message().find("integer engines run it only as the identity on codes") != std::string::npos);
}

TEST_CASE("TFLite float shadow: white-box attacks on imported int8 models, judged on int8-ref") {
  if (!have_mlperf()) return;
  struct Case {
    const char* file;
    int size;
    int count;
    std::vector<const char*> attacks;
    bool ste_must_flip;
  };
  // FGSM's single step at 8/255 flips none of the two (confident) VWW images, with either
  // gradient: VWW runs the iterative attacks only. Through VWW's deep stack of fake-quant nodes the
  // STE gradient is weak: five steps of it flip one image or none, depending on float
  // rounding (native vs wasm), so there the float gradient must flip both images and the
  // STE attack must do no better than it.
  const Case cases[] = {{"pretrainedResnet_quant.tflite", 32, 4, {"fgsm", "pgd", "apgd-ce"}, true},
                        {"vww_96_int8.tflite", 96, 2, {"pgd", "apgd-ce"}, false}};
  for (const Case& c : cases) {
    CAPTURE(c.file);
    const QuantizedModel m = import_file(c.file);
    const Tensor x = housenum_images(c.count, c.size);
    // Labels: the deployed model's own clean answers, so clean accuracy is 1 and every
    // sample is attacked.
    const std::vector<int> labels = top1(predict(EngineKind::kInt8Ref, m, x));
    std::map<std::string, double> float_robust;  // by attack
    for (const char* grad : {"float", "ste"}) {
      for (const char* name : c.attacks) {
        CAPTURE(grad);
        CAPTURE(name);
        TargetRecipe recipe;
        recipe.engine = "int8-ref";
        recipe.grad = grad;
        auto target = make_recipe_model_target(m, c.file, recipe);
        REQUIRE_MESSAGE(target.ok(), target.status().message());
        auto attack = make_attack(name);
        REQUIRE_MESSAGE(attack.ok(), attack.status().message());
        AttackParams p;
        p.max_iter = 5;
        p.eps = 0;
        auto still = attack_batch(**attack, **target, x, labels, 0, p);
        REQUIRE_MESSAGE(still.ok(), still.status().message());
        const AttackSummary s0 = summarize(still->records);
        CHECK(s0.clean_accuracy == 1.0);
        CHECK(s0.robust_accuracy == s0.clean_accuracy);
        p.eps = 8.0f / 255.0f;
        auto out = attack_batch(**attack, **target, x, labels, 0, p);
        REQUIRE_MESSAGE(out.ok(), out.status().message());
        const AttackSummary s = summarize(out->records);
        const std::string line = std::string(c.file) + " " + name + " --grad " + grad + ": robust accuracy at 8/255 " +
                                 std::to_string(s.robust_accuracy);
        MESSAGE(line);
        if (std::string(grad) == "float") {
          float_robust[name] = s.robust_accuracy;
          CHECK(s.robust_accuracy < s.clean_accuracy);
          if (!c.ste_must_flip) CHECK(s.robust_accuracy == 0.0);
        } else if (c.ste_must_flip) {
          CHECK(s.robust_accuracy < s.clean_accuracy);
        } else {
          CHECK(float_robust[name] <= s.robust_accuracy);
        }
      }
    }
  }
}

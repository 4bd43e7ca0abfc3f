// The input/expected-output C header: its codes are what the integer engines read and
// write, the text holds exactly those codes, and bad inputs are refused.
#include <doctest/doctest.h>

#include <cstdlib>
#include <sstream>
#include <string>

#include "attacks/threat_model.h"
#include "core/rng.h"
#include "engine/engine.h"
#include "export/c_header.h"
#include "model/builders.h"
#include "model/layer_registry.h"
#include "quant/post_training.h"

using namespace slingshot;

namespace {

QuantizedModel tiny_int8_model() {
  Graph g = build_tiny_cnn(4, {16, 16, 3}).value();
  init_params(g, 3);
  Tensor calibration({32, 16, 16, 3});
  Rng rng(4);
  for (int64_t i = 0; i < calibration.numel(); ++i) calibration[i] = rng.uniform();
  return quantize_post_training(g, calibration, {}).value();
}

Tensor pixel_image(uint64_t seed) {
  Tensor x({1, 16, 16, 3});
  Rng rng(seed);
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = static_cast<float>(rng.below(256)) / 255.0f;
  snap_to_domain(x, image_domain());
  return x;
}

// The integers of the initializer that follows `array_name` in the header.
std::vector<int> array_values(const std::string& text, const std::string& array_name) {
  const size_t open = text.find('{', text.find(array_name + "["));
  const size_t close = text.find('}', open);
  std::string body = text.substr(open + 1, close - open - 1);
  for (char& c : body) c = c == ',' ? ' ' : c;
  std::istringstream in(body);
  std::vector<int> out;
  for (int v; in >> v;) out.push_back(v);
  return out;
}

}  // namespace

TEST_CASE("C header: the input codes, the expected output and the text agree with the integer engines") {
  const QuantizedModel model = tiny_int8_model();
  const Tensor x = pixel_image(9);
  auto h = input_output_c_header(model, x, "adv_example", "test image");
  REQUIRE_MESSAGE(h.ok(), h.status().message());
  // Images on the k/255 grid enter as code k - 128.
  REQUIRE(h->input_codes.size() == 16u * 16u * 3u);
  for (int64_t i = 0; i < x.numel(); ++i) CHECK(h->input_codes[i] == static_cast<int>(std::lround(x[i] * 255.0f)) - 128);
  // The expected output dequantizes to the logits of both integer engines.
  const ActivationGrid& out_grid = model.nodes[model.graph.output_node()].output;
  for (EngineKind kind : {EngineKind::kInt8Ref, EngineKind::kInt8Simd}) {
    auto engine = make_engine(kind, model);
    REQUIRE(engine.ok());
    Tensor logits;
    REQUIRE((*engine)->predict(x, logits).ok());
    REQUIRE(logits.numel() == 4);
    int best = 0;
    for (int k = 0; k < 4; ++k) {
      CHECK(out_grid.dequantize(h->output_codes[k]) == logits[k]);
      if (logits[k] > logits[best]) best = k;
    }
    CHECK(h->expected_class == best);
  }
  // The text carries exactly these codes and the grids.
  const std::vector<int> in_text = array_values(h->text, "adv_example_input");
  const std::vector<int> out_text = array_values(h->text, "adv_example_expected_output");
  REQUIRE(in_text.size() == h->input_codes.size());
  REQUIRE(out_text.size() == h->output_codes.size());
  for (size_t i = 0; i < in_text.size(); ++i) CHECK(in_text[i] == h->input_codes[i]);
  for (size_t i = 0; i < out_text.size(); ++i) CHECK(out_text[i] == h->output_codes[i]);
  CHECK(h->text.find("#define ADV_EXAMPLE_INPUT_ZERO_POINT (-128)") != std::string::npos);
  CHECK(h->text.find("#define ADV_EXAMPLE_EXPECTED_CLASS " + std::to_string(h->expected_class) + "\n") != std::string::npos);
  CHECK(h->text.find("// test image") != std::string::npos);
  // Without the batch axis it is the same header.
  Tensor unbatched = x;
  unbatched.reshape({16, 16, 3});
  auto same = input_output_c_header(model, unbatched, "adv_example", "test image");
  REQUIRE(same.ok());
  CHECK(same->text == h->text);
}

TEST_CASE("C header: bad inputs are refused with errors naming the problem") {
  const QuantizedModel model = tiny_int8_model();
  Tensor x = pixel_image(2);
  auto message = [&](const Tensor& in, const std::string& name) {
    auto r = input_output_c_header(model, in, name);
    REQUIRE(!r.ok());
    return r.status().message();
  };
  CHECK(message(x, "2bad").find("not a C identifier") != std::string::npos);
  CHECK(message(x, "has-dash").find("not a C identifier") != std::string::npos);
  Tensor off = x;
  off[5] += 0.3f / 255.0f;
  CHECK(message(off, "ok").find("is not an 8-bit pixel") != std::string::npos);
  Tensor nan = x;
  nan[0] = std::numeric_limits<float>::quiet_NaN();
  CHECK(message(nan, "ok").find("NaN") != std::string::npos);
  CHECK(message(Tensor({1, 8, 8, 3}), "ok").find("does not match the model input") != std::string::npos);
  QuantizedModel float_only;
  float_only.graph = clone_graph(model.graph).value();
  auto r = input_output_c_header(float_only, x, "ok");
  REQUIRE(!r.ok());
  CHECK(r.status().message().find("float") != std::string::npos);
}

// Quantized-model latency at batch 1 on every engine this build has: the median (and
// p10/p90) of per-inference thread CPU time over many runs, after a warm-up. Prints one
// JSON object; never asserts on time. Runs natively and as wasm (node, NODERAWFS).
//
//   bench_int8_resnet8 --model QUANTIZED.safetensors [--runs N] [--engine E ...]
//
// bench/run_int8_resnet8.sh builds the model (ResNet-8, PTQ), exports it to ONNX for the
// onnxruntime peers and combines everything with the ratios.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "thread_clock.h"

#include "core/rng.h"
#include "engine/engine.h"

using namespace slingshot;

namespace {

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "bench_int8_resnet8: %s\n", msg.c_str());
  std::exit(1);
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  const size_t i = static_cast<size_t>(p * (v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
  std::string model_path;
  int runs = 300;
  std::vector<std::string> engine_names;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--model" && i + 1 < argc) model_path = argv[++i];
    else if (a == "--runs" && i + 1 < argc) runs = std::atoi(argv[++i]);
    else if (a == "--engine" && i + 1 < argc) engine_names.push_back(argv[++i]);
    else die("usage: bench_int8_resnet8 --model QUANTIZED.safetensors [--runs N] [--engine E ...]");
  }
  if (model_path.empty() || runs < 1) die("--model is required and --runs must be >= 1");
  auto model = load_quantized_model(model_path);
  if (!model.ok()) die(model.status().message());
  std::vector<EngineKind> kinds;
  for (const std::string& n : engine_names) {
    auto k = parse_engine(n);
    if (!k.ok()) die(k.status().message());
    kinds.push_back(*k);
  }
  if (kinds.empty()) kinds = available_engines();

  // One 8-bit image on the input grid, the same for every engine.
  Shape shape{1};
  for (int64_t d : model->graph.input_shape()) shape.push_back(d);
  Tensor x(shape);
  Rng rng(7);
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = static_cast<float>(rng.below(256)) / 255.0f;

  nlohmann::json engines = nlohmann::json::object();
  Tensor logits;
  for (EngineKind k : kinds) {
    auto engine = make_engine(k, *model);
    if (!engine.ok()) die(engine.status().message());
    for (int i = 0; i < std::max(10, runs / 10); ++i)
      if (Status s = (*engine)->predict(x, logits); !s.ok()) die(s.message());
    std::vector<double> ms;
    for (int i = 0; i < runs; ++i) {
      const double t0 = bench::thread_cpu_ms();
      (void)(*engine)->predict(x, logits);
      ms.push_back(bench::thread_cpu_ms() - t0);
    }
    engines[engine_name(k)] = {{"median_ms", percentile(ms, 0.5)},
                               {"p10_ms", percentile(ms, 0.1)},
                               {"p90_ms", percentile(ms, 0.9)},
                               {"runs", runs}};
    std::fprintf(stderr, "%-10s median %.4f ms\n", engine_name(k), percentile(ms, 0.5));
  }
  nlohmann::json out = {{"benchmark", "quantized model latency, batch 1, thread CPU time"},
                        {"model", model_path},
                        {"macs", model->graph.macs()},
#ifdef __EMSCRIPTEN__
                        {"platform", "wasm"},
#else
                        {"platform", "native"},
#endif
                        {"engines", engines}};
  std::printf("%s\n", out.dump(2).c_str());
  return 0;
}

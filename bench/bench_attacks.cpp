// Attack benchmark on the shipped housenum ResNet-8 (models/housenum/resnet8_int8.safetensors)
// and the first images of its committed evaluation set (models/housenum/eval). Prints one
// JSON object; never asserts on time. Runs natively and as wasm (node).
//
//   bench_attacks [--threads N] [--repeats N] [--quick] [--sections LIST] [--export DIR]
//                 [--model FILE] [--eval-csv FILE] [--images N]
//                 [--square-images N] [--square-queries N] [--pgd-iters N]
//
// Sections (--sections, comma-separated; default pgd-float,pgd-ste,square; "none" runs
// only the clean check and --export):
//   pgd-float  PGD Linf, eps 8/255, step 2/255, 20 iterations, no random start, CE loss,
//              on all --images images as one batch, float gradients on the float engine
//              (the BN-folded float graph), without pixel-valid snapping: exactly what a
//              PyTorch PGD on the same float network computes (bench/peer_pytorch_pgd.py).
//              Timed around Attack::run, --repeats times after one warm-up run.
//   pgd-ste    the same attack as users run it against the deployed model: ste gradients
//              (fake-quant graph), pixel-valid iterates, judged on int8-simd through
//              attack_batch (clean-wrong samples are skipped). No peer.
//   square     Square attack (Linf 8/255, p_init 0.05, budget --square-queries per image)
//              on the first --square-images images the int8 model classifies correctly,
//              on int8-ref (one timed run) and int8-simd (--repeats runs): queries
//              (predicted samples) per second, the attack's own work included.
//
// --export DIR writes the model's folded float graph (graph.json + one .npy per parameter),
// the images (images.npy, NHWC), and our float-engine logits (logits.npy) for the peer.
// --threads N runs the float kernels on N threads (set_num_threads; the int8 engines are
// single-threaded). CPU times are this thread's at 1 thread, the process's above.
// --quick: one timed run per section, Square on 3 images x 200 queries (default 5 x 500).
// --pgd-iters N (default 20) is for correctness checks: with 1 iteration our x_adv and the
// peer's differ only where a gradient component's sign differs.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "thread_clock.h"

#include "attacks/attack.h"
#include "attacks/evaluate.h"
#include "attacks/target.h"
#include "core/thread_pool.h"
#include "data/labeled_files.h"
#include "data/npy.h"
#include "engine/engine.h"
#include "kernels/simd/gemm_f32__simd.h"
#include "quant/quantized_model.h"

#ifndef SLING_BENCH_SOURCE_DIR
#define SLING_BENCH_SOURCE_DIR "."
#endif

using namespace slingshot;
using slingshot::bench::compiler;
using slingshot::bench::cpu_ms;
using slingshot::bench::median;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  int threads = 1;
  int repeats = 3;
  bool quick = false;
  std::vector<std::string> sections = {"pgd-float", "pgd-ste", "square"};
  std::string export_dir;
  std::string model = std::string(SLING_BENCH_SOURCE_DIR) + "/models/housenum/resnet8_int8.safetensors";
  std::string eval_csv = std::string(SLING_BENCH_SOURCE_DIR) + "/models/housenum/eval/y_labels.csv";
  int images = 100;
  int square_images = 5;
  int square_queries = 500;
};

// The PGD settings of the comparison (the issue's; the peer uses the same).
constexpr float kEps = 8.0f / 255.0f;
constexpr float kStep = 2.0f / 255.0f;
constexpr int kIters = 20;  // --pgd-iters changes it (for checks)
int g_iters = kIters;

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "bench_attacks: %s\n", msg.c_str());
  std::exit(1);
}

void check(const Status& st) {
  if (!st.ok()) die(st.message());
}

template <class T>
T take(Result<T> r) {
  if (!r.ok()) die(r.status().message());
  return std::move(*r);
}

bool has(const Options& o, const std::string& s) {
  return std::find(o.sections.begin(), o.sections.end(), s) != o.sections.end();
}



double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

std::vector<int> argmax_rows(const Tensor& logits) {
  const int64_t n = logits.dim(0), k = logits.dim(1);
  std::vector<int> out(static_cast<size_t>(n));
  for (int64_t r = 0; r < n; ++r)
    out[r] = static_cast<int>(std::max_element(logits.data() + r * k, logits.data() + (r + 1) * k) - (logits.data() + r * k));
  return out;
}

double accuracy(const Tensor& logits, const std::vector<int>& labels) {
  const std::vector<int> pred = argmax_rows(logits);
  int64_t right = 0;
  for (size_t i = 0; i < labels.size(); ++i) right += pred[i] == labels[i];
  return labels.empty() ? 0 : static_cast<double>(right) / static_cast<double>(labels.size());
}

// Wall-time statistics of repeated runs, in the units of the peer's JSON.
nlohmann::json timing_stats(const std::vector<double>& ms, const std::vector<double>& cpu, int images) {
  nlohmann::json r;
  r["runs_ms"] = ms;
  r["best_ms"] = *std::min_element(ms.begin(), ms.end());
  r["median_ms"] = median(ms);
  r["best_images_per_s"] = images * 1e3 / r["best_ms"].get<double>();
  r["median_images_per_s"] = images * 1e3 / r["median_ms"].get<double>();
#ifndef __EMSCRIPTEN__
  r["median_cpu_ms"] = median(cpu);
#else
  (void)cpu;
#endif
  return r;
}

AttackParams pgd_params(bool pixel_valid) {
  AttackParams p;
  p.norm = Norm::kLinf;
  p.eps = kEps;
  p.eps_step = kStep;
  p.max_iter = g_iters;
  p.num_random_init = 0;
  p.loss = LossKind::kCrossEntropy;
  p.pixel_valid = pixel_valid;
  p.batch_size = 1 << 20;
  p.seed = 1;
  return p;
}

nlohmann::json pgd_json_params(bool pixel_valid) {
  return {{"norm", "inf"}, {"eps", "8/255"}, {"eps_step", "2/255"}, {"max_iter", g_iters}, {"num_random_init", 0},
          {"loss", "ce"}, {"pixel_valid", pixel_valid}};
}

// PGD with float gradients on the float engine, on the whole batch (like the peer).
nlohmann::json bench_pgd_float(const QuantizedModel& model, const Tensor& x, const std::vector<int>& y, const Options& o) {
  ModelTargetOptions to;
  to.engine = EngineKind::kFloat;
  to.source = GradientSource::kFloat;
  auto target = take(make_model_target(model, to));
  auto attack = take(make_attack("pgd"));
  const AttackParams p = pgd_params(/*pixel_valid=*/false);
  check(attack->validate(p, target->num_classes()));
  Tensor x_adv, logits;
  std::vector<double> ms, cpu;
  for (int r = 0; r < o.repeats + 1; ++r) {  // run 0 is the warm-up
    Rng rng(p.seed);
    target->reset_counts();
    const double c0 = cpu_ms();
    const auto t0 = Clock::now();
    check(attack->run(*target, AttackBatch{x, y, {}}, p, rng, x_adv));
    const double t = ms_since(t0), c = cpu_ms() - c0;
    if (r > 0) {
      ms.push_back(t);
      cpu.push_back(c);
    }
  }
  nlohmann::json r = timing_stats(ms, cpu, static_cast<int>(y.size()));
  r["engine"] = "float";
  r["gradient_source"] = "float";
  r["params"] = pgd_json_params(false);
  r["images"] = y.size();
  r["gradients_per_run"] = target->counts().gradients;
  check(target->predict(x, logits));
  r["clean_accuracy"] = accuracy(logits, y);
  check(target->predict(x_adv, logits));
  r["robust_accuracy"] = accuracy(logits, y);
  double linf = 0;
  for (int64_t i = 0; i < x.numel(); ++i) linf = std::max(linf, static_cast<double>(std::fabs(x_adv[i] - x[i])));
  r["max_linf"] = linf;
  if (!o.export_dir.empty()) {
    check(save_npy(x_adv, o.export_dir + "/x_adv_ours.npy"));
    r["exported_x_adv"] = o.export_dir + "/x_adv_ours.npy";
  }
  return r;
}

// PGD as users run it on the deployed model: ste gradients, pixel-valid, judged on int8-simd.
nlohmann::json bench_pgd_ste(const QuantizedModel& model, const Tensor& x, const std::vector<int>& y, const Options& o) {
  ModelTargetOptions to;
  to.engine = EngineKind::kInt8Simd;
  to.source = GradientSource::kSte;
  auto target = take(make_model_target(model, to));
  auto attack = take(make_attack("pgd"));
  const AttackParams p = pgd_params(/*pixel_valid=*/true);
  std::vector<double> ms, cpu, attack_ms;
  AttackSummary s;
  int64_t gradients = 0;
  const int runs = std::max(1, o.quick ? 1 : o.repeats);
  for (int r = 0; r < runs; ++r) {  // seconds per run: no separate warm-up
    target->reset_counts();
    const double c0 = cpu_ms();
    const auto t0 = Clock::now();
    BatchOutcome out = take(attack_batch(*attack, *target, x, y, 0, p));
    const double t = ms_since(t0), c = cpu_ms() - c0;
    ms.push_back(t);
    cpu.push_back(c);
    attack_ms.push_back(out.seconds * 1e3);
    s = summarize(out.records);
    gradients = out.counts.gradients;
  }
  nlohmann::json r = timing_stats(ms, cpu, static_cast<int>(y.size()));
  r["what"] = "attack_batch: clean predict on int8-simd, PGD on the clean-correct samples, judged on int8-simd";
  r["attack_only_median_ms"] = median(attack_ms);
  r["engine"] = "int8-simd";
  r["gradient_source"] = "ste";
  r["params"] = pgd_json_params(true);
  r["images"] = y.size();
  r["attacked"] = s.attacked;
  r["gradients_per_run"] = gradients;
  r["clean_accuracy"] = s.clean_accuracy;
  r["robust_accuracy"] = s.robust_accuracy;
  r["success_rate"] = s.success_rate;
  return r;
}

// Square attack queries per second on one integer engine.
nlohmann::json bench_square(const QuantizedModel& model, EngineKind engine, const Tensor& x, const std::vector<int>& y,
                            const Options& o) {
  ModelTargetOptions to;
  to.engine = engine;
  to.source = GradientSource::kFloat;  // unused: Square calls predict() only
  auto target = take(make_model_target(model, to));
  auto attack = take(make_attack("square"));
  AttackParams p;
  p.norm = Norm::kLinf;
  p.eps = kEps;
  p.max_queries = o.square_queries;
  p.seed = 1;
  check(attack->validate(p, target->num_classes()));
  // The first images the engine classifies correctly (all are then attacked).
  Tensor logits;
  check(target->predict(x, logits));
  const std::vector<int> pred = argmax_rows(logits);
  const int64_t per = x.numel() / x.dim(0);
  std::vector<int> idx;
  for (size_t i = 0; i < y.size() && static_cast<int>(idx.size()) < o.square_images; ++i)
    if (pred[i] == y[i]) idx.push_back(static_cast<int>(i));
  Shape s = x.shape();
  s[0] = static_cast<int64_t>(idx.size());
  Tensor sub(s), x_adv;
  std::vector<int> labels;
  for (size_t c = 0; c < idx.size(); ++c) {
    std::copy(x.data() + idx[c] * per, x.data() + (idx[c] + 1) * per, sub.data() + static_cast<int64_t>(c) * per);
    labels.push_back(y[idx[c]]);
  }
  // int8-ref is ~40x slower than int8-simd: one timed run is long enough there.
  const int runs = engine == EngineKind::kInt8Ref || o.quick ? 1 : std::max(1, o.repeats);
  std::vector<double> qps, ms;
  int64_t queries = 0;
  for (int r = 0; r < runs; ++r) {
    Rng rng(p.seed);
    target->reset_counts();
    const auto t0 = Clock::now();
    check(attack->run(*target, AttackBatch{sub, labels, {}}, p, rng, x_adv));
    const double t = ms_since(t0);
    queries = target->counts().predictions;
    ms.push_back(t);
    qps.push_back(static_cast<double>(queries) * 1e3 / t);
  }
  check(target->predict(x_adv, logits));
  const std::vector<int> adv = argmax_rows(logits);
  int successes = 0;
  for (size_t i = 0; i < labels.size(); ++i) successes += adv[i] != labels[i];
  nlohmann::json r;
  r["engine"] = engine_name(engine);
  r["params"] = {{"norm", "inf"}, {"eps", "8/255"}, {"p_init", 0.05}, {"max_queries", p.max_queries}};
  r["images"] = idx.size();
  r["image_indices"] = idx;
  r["queries_per_run"] = queries;
  r["runs_ms"] = ms;
  r["best_queries_per_s"] = *std::max_element(qps.begin(), qps.end());
  r["median_queries_per_s"] = median(qps);
  r["successes"] = successes;
  return r;
}

// The folded float graph as graph.json + one .npy per parameter, the images and our logits.
nlohmann::json export_model(const QuantizedModel& model, const Tensor& x, const std::vector<int>& y,
                            const Tensor& logits, const std::string& dir) {
  std::filesystem::create_directories(dir);
  const Graph& g = model.graph;
  nlohmann::json nodes = nlohmann::json::array();
  for (int i = 1; i < g.num_nodes(); ++i) {
    const Node& n = g.node(i);
    nlohmann::json j;
    j["name"] = n.name;
    j["type"] = n.layer->type();
    nlohmann::json cfg = nlohmann::json::object();
    n.layer->to_json(cfg);
    j["config"] = cfg;
    nlohmann::json inputs = nlohmann::json::array();
    for (int k : n.inputs) inputs.push_back(g.node(k).name);
    j["inputs"] = inputs;
    nlohmann::json params = nlohmann::json::object();
    for (const Param& p : n.layer->params()) {
      const std::string file = "param_" + std::to_string(i) + "_" + p.name + ".npy";
      check(save_npy(p.value, dir + "/" + file));
      params[p.name] = file;
    }
    j["params"] = params;
    nodes.push_back(j);
  }
  nlohmann::json e;
  e["layout"] = "conv weight OHWI, depthwise [1, kh, kw, C], dense [out, in], images NHWC in [0, 1]";
  e["input_name"] = g.node(0).name;
  e["input_shape"] = g.input_shape();
  e["output"] = g.node(g.output_node()).name;
  e["nodes"] = nodes;
  e["labels"] = y;
  e["images"] = "images.npy";
  e["logits"] = "logits.npy";
  e["pgd"] = {{"eps", kEps}, {"eps_step", kStep}, {"max_iter", g_iters}};
  check(save_npy(x, dir + "/images.npy"));
  check(save_npy(logits, dir + "/logits.npy"));
  std::ofstream f(dir + "/graph.json");
  f << e.dump(1);
  if (!f) die("cannot write " + dir + "/graph.json");
  return dir;
}


std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty() && item != "none") out.push_back(item);
  return out;
}

int int_arg(const char* v, const char* flag, int lo) {
  const int n = std::atoi(v);
  if (n < lo) die(std::string(flag) + " must be >= " + std::to_string(lo));
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool more = i + 1 < argc;
    if (a == "--quick") {
      o.quick = true;
      o.repeats = 1;
      o.square_queries = 200;
      o.square_images = 3;
    } else if (a == "--threads" && more) {
      o.threads = int_arg(argv[++i], "--threads", 1);
      if (o.threads > kMaxThreads) die("--threads must be <= " + std::to_string(kMaxThreads));
    } else if (a == "--repeats" && more) {
      o.repeats = int_arg(argv[++i], "--repeats", 1);
    } else if (a == "--sections" && more) {
      o.sections = split_list(argv[++i]);
      for (const std::string& s : o.sections)
        if (s != "pgd-float" && s != "pgd-ste" && s != "square") die("unknown section '" + s + "'");
    } else if (a == "--export" && more) {
      o.export_dir = argv[++i];
    } else if (a == "--model" && more) {
      o.model = argv[++i];
    } else if (a == "--eval-csv" && more) {
      o.eval_csv = argv[++i];
    } else if (a == "--pgd-iters" && more) {
      g_iters = int_arg(argv[++i], "--pgd-iters", 1);
    } else if (a == "--images" && more) {
      o.images = int_arg(argv[++i], "--images", 1);
    } else if (a == "--square-images" && more) {
      o.square_images = int_arg(argv[++i], "--square-images", 1);
    } else if (a == "--square-queries" && more) {
      o.square_queries = int_arg(argv[++i], "--square-queries", 2);
    } else {
      die("unknown argument '" + a + "' (see the header of bench/bench_attacks.cpp)");
    }
  }
  set_num_threads(o.threads);

  const QuantizedModel model = take(load_quantized_model(o.model, nullptr, /*allow_float=*/true));
  const Shape in = model.graph.input_shape();
  if (in.size() != 3) die("the model must take [H, W, C] images");
  Dataset data = take(load_labeled_images(o.eval_csv, static_cast<int>(in[0]), static_cast<int>(in[1]),
                                          static_cast<int>(in[2])));
  if (data.size() < o.images) die("the evaluation set has only " + std::to_string(data.size()) + " images");
  Tensor x;
  std::vector<int> y;
  data.slice(0, o.images, x, y);

  nlohmann::json out;
  out["benchmark"] = "attacks";
#ifdef __EMSCRIPTEN__
  out["platform"] = "wasm";
#else
  out["platform"] = "native";
#endif
  out["highway_target"] = simd_internal::simd_f32_target_name();
  out["compiler"] = compiler();
  out["threads"] = num_threads();
  out["model"] = o.model;
  out["images"] = o.eval_csv + " (first " + std::to_string(o.images) + ")";
  out["repeats"] = o.repeats;
  out["macs_per_image"] = model.graph.macs();
  {
    auto engine = take(make_engine(EngineKind::kFloat, model));
    Tensor logits;
    check(engine->predict(x, logits));
    out["float_clean_accuracy"] = accuracy(logits, y);
    if (!o.export_dir.empty()) out["exported"] = export_model(model, x, y, logits, o.export_dir);
  }
  if (has(o, "pgd-float")) out["pgd_float"] = bench_pgd_float(model, x, y, o);
  if (has(o, "pgd-ste")) out["pgd_ste_int8_simd"] = bench_pgd_ste(model, x, y, o);
  if (has(o, "square")) {
    out["square"]["int8_ref"] = bench_square(model, EngineKind::kInt8Ref, x, y, o);
    out["square"]["int8_simd"] = bench_square(model, EngineKind::kInt8Simd, x, y, o);
  }
  std::printf("%s\n", out.dump(2).c_str());
  return 0;
}

// `slingshot mcu-run --model M --input FILE|DIR|SPEC --cpu m4|m7|m55|m3 [--json OUT] [--n K]`:
// the exported model on an emulated Cortex-M. Exports the model to C, builds (or reuses)
// the harness firmware for the core, runs it under QEMU with instruction counting, and
// checks every output byte against the host int8-ref engine on the same input codes.
// Fails (non-zero exit) when any input's logits differ.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/file_io.h"
#include "core/rng.h"
#include "deploy/firmware_build.h"
#include "deploy/qemu_run.h"
#include "engine/engine.h"
#include "export/c_model.h"

namespace slingshot::cli {
namespace fs = std::filesystem;
namespace {

struct McuRunOptions {
  std::string model, input, cpu = "m4", part, json, cache;
  int n = 0;  // 0: every file of a folder, 20 samples of a dataset
  int processes = 2;
  double timeout = 900;
};

struct NamedInputs {
  std::vector<std::string> names;
  std::vector<Tensor> samples;  // each [1, ...]
};

bool is_input_file(const fs::path& p) {
  std::string ext = p.extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".npy" || ext == ".wav";
}

// "random" or "random:SEED": uniform codes over the input grid, as floats on that grid.
Result<NamedInputs> random_inputs(const std::string& spec, int count, const Int8Program& program) {
  uint64_t seed = 1;
  if (spec.size() > 7) {
    const std::string s = spec.substr(7);
    if (s.empty() || s.size() > 18 || !std::all_of(s.begin(), s.end(), ::isdigit))
      return invalid_argument("'" + spec + "': the seed of random:SEED must be a non-negative integer");
    seed = std::stoull(s);
  }
  NamedInputs in;
  Rng rng(seed);
  const ActivationGrid& g = program.input_grid;
  for (int k = 0; k < count; ++k) {
    Tensor x(with_batch(1, program.input_shape));
    for (int64_t i = 0; i < x.numel(); ++i)
      x[i] = g.dequantize(g.qmin + static_cast<int32_t>(rng.below(static_cast<uint32_t>(g.qmax - g.qmin + 1))));
    in.names.push_back("random#" + std::to_string(k));
    in.samples.push_back(std::move(x));
  }
  return in;
}

// A file, a folder of files, or a dataset spec as elsewhere in the CLI (test split).
Result<NamedInputs> load_inputs(const McuRunOptions& o, const QuantizedModel& model, const Int8Program& program) {
  const Shape shape = model.graph.input_shape();
  NamedInputs in;
  std::error_code ec;
  if (fs::is_directory(o.input, ec)) {
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(o.input, ec))
      if (e.is_regular_file() && is_input_file(e.path())) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    if (o.n > 0 && static_cast<int>(files.size()) > o.n) files.resize(o.n);
    if (files.empty()) return invalid_argument("folder '" + o.input + "' holds no PNG, JPEG, .npy or WAV input");
    for (const fs::path& f : files) {
      SLING_ASSIGN_OR_RETURN(Tensor x, load_input_arg(f.string(), shape));
      in.names.push_back(f.filename().string());
      in.samples.push_back(std::move(x));
    }
    return in;
  }
  if (fs::is_regular_file(o.input, ec)) {
    SLING_ASSIGN_OR_RETURN(Tensor x, load_input_arg(o.input, shape));
    in.names.push_back(fs::path(o.input).filename().string());
    in.samples.push_back(std::move(x));
    return in;
  }
  const int count = o.n > 0 ? o.n : 20;
  if (o.input == "random" || o.input.rfind("random:", 0) == 0) return random_inputs(o.input, count, program);
  auto data = load_data_arg(o.input, "test", count, shape);
  if (!data.ok())
    return data.status().with_context("--input '" + o.input + "' is no file or folder, and as a dataset spec");
  Tensor x;
  std::vector<int> labels;
  for (int64_t i = 0; i < data.value().size(); ++i) {
    data.value().slice(i, 1, x, labels);
    in.names.push_back(o.input + "#" + std::to_string(i));
    in.samples.push_back(x);
  }
  return in;
}

int first_argmax(const std::vector<int8_t>& codes) {
  return static_cast<int>(std::max_element(codes.begin(), codes.end()) - codes.begin());
}

const char* kind_label(uint32_t kind) {
  static const char* const names[SLING_LAYER_KIND_COUNT] = {"conv2d",   "depthwise_conv2d", "dense", "max_pool2d",
                                                            "avg_pool2d", "global_avg_pool", "add",   "clamp"};
  return kind < SLING_LAYER_KIND_COUNT ? names[kind] : "?";
}

Status run_mcu_run(const McuRunOptions& o) {
  if (o.processes < 1 || o.processes > 64) return invalid_argument("--processes must be in [1, 64]");
  if (o.n < 0) return invalid_argument("--n must be >= 1");
  if (!(o.timeout > 0)) return invalid_argument("--timeout must be positive");
  SLING_ASSIGN_OR_RETURN(McuCpu cpu, parse_cpu(o.cpu));
  SLING_ASSIGN_OR_RETURN(McuPart part, find_part(o.part, cpu));
  SLING_ASSIGN_OR_RETURN(QuantizedModel model, load_any_model_arg(o.model));
  if (model.nodes.empty())
    return invalid_argument("mcu-run needs a quantized model; '" + o.model + "' is float (run `slingshot quantize`)");
  SLING_ASSIGN_OR_RETURN(Int8Program program, compile_int8_program(model));
  // What the device runtime cannot run is refused before the toolchain is looked for.
  SLING_ASSIGN_OR_RETURN(CModelTable table, build_c_model_table(program));
  SLING_RETURN_IF_ERROR(check_deploy_tools());
  SLING_RETURN_IF_ERROR(check_part_fits(part, table.constant_bytes, table.model.arena_bytes)
                            .with_context("cannot deploy '" + o.model + "' on " + part.name));
  SLING_ASSIGN_OR_RETURN(NamedInputs inputs, load_inputs(o, model, program));
  const int64_t n = static_cast<int64_t>(inputs.samples.size());

  // The device and the host see the same codes: the host engine quantizes the same floats.
  std::vector<std::vector<int8_t>> codes(n);
  Shape batch_shape = with_batch(n, program.input_shape);
  Tensor batch(batch_shape);
  const int64_t per = shape_numel(program.input_shape);
  for (int64_t i = 0; i < n; ++i) {
    SLING_RETURN_IF_ERROR(quantize_input(program, inputs.samples[i], codes[i]));
    std::copy(inputs.samples[i].data(), inputs.samples[i].data() + per, batch.data() + i * per);
  }
  SLING_ASSIGN_OR_RETURN(auto engine, make_engine(EngineKind::kInt8Ref, model));
  Tensor logits;
  SLING_RETURN_IF_ERROR(engine->predict(batch, logits));
  const int64_t out_per = logits.numel() / n;
  std::vector<std::vector<int8_t>> host(n);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < out_per; ++j)
      host[i].push_back(static_cast<int8_t>(program.output_grid.quantize(logits[i * out_per + j])));

  const std::string cache = o.cache.empty() ? default_cache_dir() : o.cache;
  const CModelSource files =
      c_model_source(program, table, "Model: " + fs::path(o.model).filename().string() + " (slingshot mcu-run).");
  const auto build_start = std::chrono::steady_clock::now();
  SLING_ASSIGN_OR_RETURN(FirmwareBuild fw, build_harness_firmware(cpu, files, cache));
  const auto run_start = std::chrono::steady_clock::now();
  const FirmwareTarget& target = firmware_target(cpu);
  SLING_ASSIGN_OR_RETURN(std::vector<HarnessResult> device,
                         run_harness(target, fw.elf_path, codes, table.model.input_bytes, table.model.output_bytes,
                                     table.model.layer_count, {o.processes, o.timeout}));
  const auto run_end = std::chrono::steady_clock::now();
  const double build_seconds = std::chrono::duration<double>(run_start - build_start).count();
  const double qemu_seconds = std::chrono::duration<double>(run_end - run_start).count();

  std::printf("%s on %s (%s, %s, %s kernels): firmware %s (%.1f s)\n", fs::path(o.model).filename().string().c_str(),
              cpu_name(cpu), target.board.c_str(), part.name.c_str(), target.dsp ? "dsp" : "ref",
              fw.reused ? "reused" : "built", build_seconds);
  int mismatches = 0;
  uint64_t total_instructions = 0;
  nlohmann::json records = nlohmann::json::array();
  for (int64_t i = 0; i < n; ++i) {
    const bool match = device[i].output_codes == host[i];
    mismatches += match ? 0 : 1;
    total_instructions += device[i].instructions;
    const int mcu_class = first_argmax(device[i].output_codes), host_class = first_argmax(host[i]);
    std::printf("  %-32s mcu class %d, host class %d, logits %s, %llu instructions\n", inputs.names[i].c_str(),
                mcu_class, host_class, match ? "match" : "DIFFER", static_cast<unsigned long long>(device[i].instructions));
    records.push_back({{"name", inputs.names[i]},
                       {"mcu_class", mcu_class},
                       {"host_class", host_class},
                       {"logits_match", match},
                       {"instructions", device[i].instructions}});
  }
  nlohmann::json layers = nlohmann::json::array();
  for (uint32_t l = 0; l < table.model.layer_count; ++l) {
    uint64_t sum = 0;
    for (const HarnessResult& r : device) sum += r.layer_instructions[l];
    layers.push_back({{"index", l},
                      {"name", model.graph.node(program.ops[l].node).name},
                      {"kind", kind_label(table.layers[l].kind)},
                      {"instructions", n > 0 ? sum / static_cast<uint64_t>(n) : 0}});
  }
  const uint64_t mean = n > 0 ? total_instructions / static_cast<uint64_t>(n) : 0;
  std::printf("n %lld, mismatches %d, mean %llu instructions per inference (%s, -icount shift=0), QEMU %.1f s\n",
              static_cast<long long>(n), mismatches, static_cast<unsigned long long>(mean), cpu_name(cpu),
              qemu_seconds);
  if (!o.json.empty()) {
    nlohmann::json j = {{"model", o.model},
                        {"cpu", cpu_name(cpu)},
                        {"board", target.board},
                        {"part", part.name},
                        {"kernels", target.dsp ? "dsp" : "ref"},  // kernel_dispatch.h's choice for the core
                        {"n", n},
                        {"mismatches", mismatches},
                        {"instructions_mean", mean},
                        {"arena_bytes", table.model.arena_bytes},
                        {"constant_bytes", table.constant_bytes},
                        {"firmware_reused", fw.reused},
                        {"qemu_seconds", qemu_seconds},
                        {"layers", layers},
                        {"inputs", records}};
    SLING_RETURN_IF_ERROR(write_file_atomic(o.json, j.dump(2) + "\n"));
  }
  if (mismatches > 0)
    return data_loss(std::to_string(mismatches) + " of " + std::to_string(n) + " inputs gave other logits on the " +
                     cpu_name(cpu) + " than int8-ref on the host");
  return Status::Ok();
}

}  // namespace

void register_mcu_run(CLI::App& app, CommandList& out) {
  auto o = std::make_shared<McuRunOptions>();
  CLI::App* sub = app.add_subcommand(
      "mcu-run", "Run the exported int8 model on an emulated Cortex-M (QEMU) and check it against int8-ref");
  sub->add_option("--model", o->model, "Quantized model file (.safetensors or full-int8 .tflite)")->required();
  sub->add_option("--input", o->input,
                  "An input file (PNG/JPEG/.npy/WAV), a folder of them, a dataset spec (housenum, keywords, shapes, "
                  "labels:CSV, ...) or random[:SEED]")
      ->required();
  sub->add_option("--cpu", o->cpu, "m4 (mps2-an386), m7 (mps2-an500), m3 (mps2-an385) or m55 (mps3-an547)")
      ->capture_default_str();
  sub->add_option("--part", o->part, "Part the model must fit (default: the cpu's default part)");
  sub->add_option("--n", o->n, "At most this many inputs (default: all files of a folder, 20 dataset samples)");
  sub->add_option("--json", o->json, "Write the results as JSON here");
  sub->add_option("--processes", o->processes, "QEMU processes to split the inputs over")->capture_default_str();
  sub->add_option("--timeout", o->timeout, "Seconds each QEMU process may run")->capture_default_str();
  sub->add_option("--cache", o->cache, "Firmware cache directory (default $SLINGSHOT_CACHE_DIR or ~/.cache/slingshot)");
  out.push_back({sub, [o] { return run_mcu_run(*o); }});
}

}  // namespace slingshot::cli

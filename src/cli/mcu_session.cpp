// The shared part of mcu-run and footprint (see mcu_session.h).
#include "cli/mcu_session.h"

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "cli/commands.h"
#include "core/rng.h"
#include "engine/engine.h"

namespace slingshot::cli {
namespace fs = std::filesystem;
namespace {

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
Result<NamedInputs> load_inputs(const McuSessionOptions& o, const QuantizedModel& model, const Int8Program& program) {
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

const char* kind_label(uint32_t kind) {
  static const char* const names[SLING_LAYER_KIND_COUNT] = {"conv2d",     "depthwise_conv2d", "dense", "max_pool2d",
                                                            "avg_pool2d", "global_avg_pool",  "add",   "clamp",
                                                            "thermometer"};
  return kind < SLING_LAYER_KIND_COUNT ? names[kind] : "?";
}

}  // namespace

void add_mcu_session_options(CLI::App* sub, McuSessionOptions& o) {
  sub->add_option("--model", o.model, "Quantized model file (.safetensors or full-int8 .tflite)")->required();
  sub->add_option("--cpu", o.cpu, "m4 (mps2-an386), m7 (mps2-an500), m3 (mps2-an385) or m55 (mps3-an547)")
      ->capture_default_str();
  sub->add_option("--part", o.part, "Part the model must fit (default: the cpu's default part)");
  sub->add_option("--processes", o.processes, "QEMU processes to split the inputs over")->capture_default_str();
  sub->add_option("--timeout", o.timeout, "Seconds each QEMU process may run")->capture_default_str();
  sub->add_option("--cache", o.cache, "Firmware cache directory (default $SLINGSHOT_CACHE_DIR or ~/.cache/slingshot)");
}

int first_argmax(const std::vector<int8_t>& codes) {
  return static_cast<int>(std::max_element(codes.begin(), codes.end()) - codes.begin());
}

Result<McuSession> run_mcu_session(const McuSessionOptions& o) {
  if (o.processes < 1 || o.processes > 64) return invalid_argument("--processes must be in [1, 64]");
  if (o.n < 0) return invalid_argument("--n must be >= 1");
  if (!(o.timeout > 0)) return invalid_argument("--timeout must be positive");
  McuSession s;
  SLING_ASSIGN_OR_RETURN(s.cpu, parse_cpu(o.cpu));
  SLING_ASSIGN_OR_RETURN(s.part, find_part(o.part, s.cpu));
  SLING_ASSIGN_OR_RETURN(s.model, load_any_model_arg(o.model));
  if (s.model.nodes.empty())
    return invalid_argument("'" + o.model + "' is a float model; the microcontroller runs quantized ones (run `slingshot quantize`)");
  SLING_ASSIGN_OR_RETURN(s.program, compile_int8_program(s.model));
  // What the device runtime cannot run is refused before the toolchain is looked for.
  SLING_ASSIGN_OR_RETURN(s.table, build_c_model_table(s.program, s.model.weights));
  SLING_RETURN_IF_ERROR(check_deploy_tools());
  SLING_RETURN_IF_ERROR(check_part_fits(s.part, s.table.constant_bytes, s.table.model.arena_bytes)
                            .with_context("cannot deploy '" + o.model + "' on " + s.part.name));
  SLING_ASSIGN_OR_RETURN(NamedInputs inputs, load_inputs(o, s.model, s.program));
  const int64_t n = static_cast<int64_t>(inputs.samples.size());
  s.input_names = inputs.names;

  // The device and the host see the same codes: the host engine quantizes the same floats.
  std::vector<std::vector<int8_t>> codes(n);
  Tensor batch(with_batch(n, s.program.input_shape));
  const int64_t per = shape_numel(s.program.input_shape);
  for (int64_t i = 0; i < n; ++i) {
    SLING_RETURN_IF_ERROR(quantize_input(s.program, inputs.samples[i], codes[i]));
    std::copy(inputs.samples[i].data(), inputs.samples[i].data() + per, batch.data() + i * per);
  }
  SLING_ASSIGN_OR_RETURN(auto engine, make_engine(EngineKind::kInt8Ref, s.model));
  Tensor logits;
  SLING_RETURN_IF_ERROR(engine->predict(batch, logits));
  const int64_t out_per = logits.numel() / n;
  s.host_codes.resize(n);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < out_per; ++j)
      s.host_codes[i].push_back(static_cast<int8_t>(s.program.output_grid.quantize(logits[i * out_per + j])));

  const std::string cache = o.cache.empty() ? default_cache_dir() : o.cache;
  const CModelSource files = c_model_source(s.program, s.table,
                                            "Model: " + fs::path(o.model).filename().string() + " (slingshot mcu-run).");
  const auto build_start = std::chrono::steady_clock::now();
  SLING_ASSIGN_OR_RETURN(s.firmware, build_harness_firmware(s.cpu, files, cache));
  const auto run_start = std::chrono::steady_clock::now();
  SLING_ASSIGN_OR_RETURN(s.device, run_harness(firmware_target(s.cpu), s.firmware.elf_path, codes,
                                               s.table.model.input_bytes, s.table.model.output_bytes,
                                               s.table.model.layer_count, {o.processes, o.timeout}));
  const auto run_end = std::chrono::steady_clock::now();
  s.build_seconds = std::chrono::duration<double>(run_start - build_start).count();
  s.qemu_seconds = std::chrono::duration<double>(run_end - run_start).count();
  return s;
}

nlohmann::json mcu_layer_json(const McuSession& s) {
  const uint64_t n = s.device.size();
  nlohmann::json layers = nlohmann::json::array();
  for (uint32_t l = 0; l < s.table.model.layer_count; ++l) {
    uint64_t sum = 0;
    for (const HarnessResult& r : s.device) sum += r.layer_instructions[l];
    layers.push_back({{"index", l},
                      {"name", s.model.graph.node(s.program.ops[l].node).name},
                      {"kind", kind_label(s.table.layers[l].kind)},
                      {"instructions", n > 0 ? sum / n : 0}});
  }
  return layers;
}

int mcu_mismatches(const McuSession& s) {
  int mismatches = 0;
  for (size_t i = 0; i < s.device.size(); ++i) mismatches += s.device[i].output_codes == s.host_codes[i] ? 0 : 1;
  return mismatches;
}

}  // namespace slingshot::cli

// `slingshot card MODEL --data D`: a model card in Markdown (and JSON): where the model
// comes from (data, recipe, quantization), what it costs (parameters, MACs, flash per
// weight scheme, activation RAM) and how accurate it is on every engine this build has.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/file_io.h"
#include "engine/engine.h"

namespace slingshot::cli {
namespace {

struct CardOptions {
  std::string model;         // model file
  std::string data;          // --data spec for the accuracy table
  int count = 2000;          // test samples
  std::string output;        // Markdown file to write (stdout when empty)
  bool json = false;         // print the figures as JSON
};

// Whether the input grid is the 8-bit image grid (scale 1/255, zero point -128).
bool is_image_input_grid(const ActivationGrid& g) {
  const ActivationGrid image = image_input_grid();
  return g.scale == image.scale && g.zero_point == image.zero_point;
}

std::string percent(double x) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.2f%%", 100 * x);
  return buf;
}

Status run_card(const CardOptions& o) {
  nlohmann::json meta;
  SLING_ASSIGN_OR_RETURN(QuantizedModel model, load_any_model_arg(o.model, &meta));
  if (!meta.is_object()) meta = nlohmann::json::object();
  const Graph& g = model.graph;
  SLING_ASSIGN_OR_RETURN(Dataset data, load_data_arg(o.data, "test", o.count, g.input_shape()));
  const bool quantized = !model.nodes.empty();

  nlohmann::json card = {{"model", std::filesystem::path(o.model).filename().string()},
                         {"data", o.data},
                         {"test_samples", data.size()},
                         {"params", g.num_params(false)},
                         {"macs", g.macs()},
                         {"activation_ram_bytes_int8", peak_activation_bytes(g, 1)},
                         {"activation_ram_bytes_float", peak_activation_bytes(g, 4)}};
  nlohmann::json flash = nlohmann::json::object();
  for (WeightScheme s : {WeightScheme::kInt8, WeightScheme::kInt4, WeightScheme::kTernary, WeightScheme::kBinary}) {
    const Footprint f = footprint(g, s);
    flash[weight_scheme_name(s)] = f.total_bytes();
    flash["float32"] = f.float_bytes;
  }
  card["flash_bytes"] = flash;
  // Provenance: the recipe and its wall time travel in the model's metadata.
  if (meta.contains("recipe")) card["recipe"] = meta["recipe"].value("name", "");
  if (meta.contains("train_seconds")) card["train_seconds"] = meta["train_seconds"];
  if (meta.contains("test_accuracy")) card["float_parent_test_accuracy"] = meta["test_accuracy"];
  // Imported TFLite files: their source and how our pixels reach their input.
  const bool imported = meta.value("source", "") == "tflite" && meta.contains("tflite");
  if (imported) {
    card["source"] = "tflite";
    card["input_mapping"] = meta["tflite"].value("input_mapping", nlohmann::json());
  }
  if (quantized) {
    card["weights"] = weight_scheme_name(model.weights);
    card["activation_bits"] = model.activation_bits;
  }
  nlohmann::json accuracy = nlohmann::json::object();
  Tensor out;
  for (EngineKind k : available_engines()) {
    if (!quantized && k != EngineKind::kFloat) continue;
    SLING_ASSIGN_OR_RETURN(auto engine, make_engine(k, model));
    int64_t correct = 0;
    Tensor batch;
    std::vector<int> labels;
    for (int64_t b = 0; b < data.size(); b += 100) {
      const int64_t n = std::min<int64_t>(100, data.size() - b);
      data.slice(b, n, batch, labels);
      SLING_RETURN_IF_ERROR(engine->predict(batch, out));
      for (int64_t i = 0; i < n; ++i) {
        const float* z = out.data() + i * out.dim(1);
        correct += static_cast<int>(std::max_element(z, z + out.dim(1)) - z) == labels[i];
      }
    }
    accuracy[engine_name(k)] = static_cast<double>(correct) / static_cast<double>(data.size());
  }
  card["accuracy"] = accuracy;
  if (o.json) std::printf("%s\n", card.dump(2).c_str());

  // Markdown.
  const nlohmann::json recipe = meta.value("recipe", nlohmann::json::object());
  const std::string name = recipe.value("name", std::filesystem::path(o.model).stem().string());
  std::ostringstream md;
  md << "# " << std::filesystem::path(o.model).filename().string() << "\n\n";
  if (recipe.contains("description")) md << recipe["description"].get<std::string>() << "\n\n";
  md << "## Data\n\n";
  if (recipe.contains("data")) md << "Trained on `" << recipe["data"].dump() << "`";
  else if (meta.contains("dataset")) md << "Trained on `" << meta["dataset"].dump() << "`";
  md << ". Accuracy below: " << data.size() << " samples of `--data " << o.data << "` (test split).\n\n";
  md << "## Recipe\n\n```sh\n";
  if (imported) {
    md << "slingshot import-tflite " << meta["tflite"].value("file", std::string("MODEL.tflite")) << " -o " << o.model
       << "\n";
  } else if (meta.contains("quantized_from")) {
    md << "slingshot train models/recipes/" << name << ".json   # float parent\n";
    md << "slingshot quantize --model " << meta["quantized_from"].get<std::string>() << " --data "
       << meta.value("calibration_data", std::string("?")) << " --scheme " << weight_scheme_name(model.weights)
       << " --act-bits " << model.activation_bits << " --input-grid "
       << (is_image_input_grid(model.nodes[0].output) ? "image" : "calibrated") << " -o " << o.model << "\n";
  } else {
    md << "slingshot train models/recipes/" << name << ".json\n";
  }
  md << "```\n\n";
  if (imported) {
    const nlohmann::json& m = card["input_mapping"];
    md << "Imported from TFLite (" << meta["tflite"].value("kind", std::string("?")) << "). Input: ";
    if (m.value("kind", "") == "pixels")
      md << "pixels in [0, 1] on the 8-bit grid reach the file's input as " << m["pixel_range"][0].get<double>()
         << ".." << m["pixel_range"][1].get<double>() << (quantized ? " (pixel k is input code k - 128)" : "") << ".\n\n";
    else
      md << "the file's own domain (" << m.value("reason", std::string("no mapping")) << ").\n\n";
  }
  if (meta.contains("train_seconds"))
    md << "Training time: " << static_cast<long>(meta["train_seconds"].get<double>() / 60 + 0.5)
       << " min on this project's 2-core reference machine (" << meta.value("recipe", nlohmann::json::object()).value("epochs", 0)
       << " epochs).\n\n";
  md << "## Accuracy per engine\n\n| engine | top-1 |\n|---|---|\n";
  for (auto it = accuracy.begin(); it != accuracy.end(); ++it) md << "| " << it.key() << " | " << percent(it.value()) << " |\n";
  md << "\n## Cost\n\n| | |\n|---|---|\n";
  md << "| parameters | " << g.num_params(false) << " |\n";
  md << "| MACs per inference | " << g.macs() << " |\n";
  md << "| activation RAM, int8 (peak live tensors) | " << peak_activation_bytes(g, 1) << " B |\n";
  if (quantized) md << "| deployed weights | " << weight_scheme_name(model.weights) << ", " << model.activation_bits << "-bit activations |\n";
  md << "\nFlash for weights, biases and requantization scales, per weight scheme:\n\n| scheme | bytes |\n|---|---|\n";
  for (const char* s : {"float32", "int8", "int4", "ternary", "binary"}) md << "| " << s << " | " << flash[s].get<int64_t>() << " |\n";
  if (o.output.empty()) {
    if (!o.json) std::printf("%s", md.str().c_str());
  } else {
    SLING_RETURN_IF_ERROR(write_file_atomic(o.output, md.str()));
    std::fprintf(stderr, "card written to %s\n", o.output.c_str());
  }
  return Status::Ok();
}

}  // namespace

void register_card(CLI::App& app, CommandList& out) {
  auto o = std::make_shared<CardOptions>();
  CLI::App* sub = app.add_subcommand("card", "Write a model card: provenance, cost and accuracy on every engine");
  sub->add_option("model", o->model, "Model file")->required();
  sub->add_option("--data", o->data, "Test data (same forms as eval --data)")->required();
  sub->add_option("--count", o->count, "Test samples")->capture_default_str()->check(CLI::Range(1, 1000000));
  sub->add_option("-o,--output", o->output, "Markdown file to write (default: stdout)");
  sub->add_flag("--json", o->json, "Print the figures as JSON");
  out.push_back({sub, [o] { return run_card(*o); }});
}

}  // namespace slingshot::cli

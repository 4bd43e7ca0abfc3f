// Registration of the CLI subcommands. Each cmd_*.cpp adds one subcommand and the
// function that runs it after parsing.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "core/status.h"
#include "data/dataset.h"
#include "model/graph.h"
#include "quant/quantized_model.h"
#include "tflite/tflite_import.h"

namespace slingshot::cli {

struct Command {
  CLI::App* sub;                 // the parsed subcommand
  std::function<Status()> run;   // runs it with the options CLI11 filled in
};
using CommandList = std::vector<Command>;

void register_info(CLI::App& app, CommandList& out);
void register_grad(CLI::App& app, CommandList& out);
void register_init(CLI::App& app, CommandList& out);
void register_train(CLI::App& app, CommandList& out);
void register_demo(CLI::App& app, CommandList& out);
void register_quantize(CLI::App& app, CommandList& out);
void register_eval(CLI::App& app, CommandList& out);
void register_export_onnx(CLI::App& app, CommandList& out);
void register_export_dataset(CLI::App& app, CommandList& out);
void register_card(CLI::App& app, CommandList& out);
void register_attack(CLI::App& app, CommandList& out);
void register_export_c_header(CLI::App& app, CommandList& out);
void register_export_c(CLI::App& app, CommandList& out);
void register_mcu_run(CLI::App& app, CommandList& out);
void register_footprint(CLI::App& app, CommandList& out);
void register_list(CLI::App& app, CommandList& out);
void register_study(CLI::App& app, CommandList& out);
void register_import_tflite(CLI::App& app, CommandList& out);
void register_export_tflite(CLI::App& app, CommandList& out);
void register_sweep(CLI::App& app, CommandList& out);
void register_merge(CLI::App& app, CommandList& out);
void register_certify(CLI::App& app, CommandList& out);
void register_detect(CLI::App& app, CommandList& out);

// Adds --input-range and --raw-input (how a .tflite model's input maps onto pixels in
// [0, 1]; see import-tflite) to every subcommand that reads a model, for the model loaders
// below. They are refused for models that are not .tflite files.
void add_tflite_model_flags(CLI::App& app);

// The TFLite import options those flags give, checked ("" and false: the defaults).
Result<TfliteImportOptions> tflite_options_from_flags(const std::string& input_range, bool raw_input);

inline void register_all(CLI::App& app, CommandList& out) {
  register_info(app, out);
  register_grad(app, out);
  register_init(app, out);
  register_train(app, out);
  register_demo(app, out);
  register_quantize(app, out);
  register_eval(app, out);
  register_export_onnx(app, out);
  register_export_dataset(app, out);
  register_card(app, out);
  register_attack(app, out);
  register_export_c_header(app, out);
  register_export_c(app, out);
  register_mcu_run(app, out);
  register_footprint(app, out);
  register_list(app, out);
  register_study(app, out);
  register_import_tflite(app, out);
  register_export_tflite(app, out);
  register_sweep(app, out);
  register_merge(app, out);
  register_certify(app, out);
  register_detect(app, out);
  add_tflite_model_flags(app);
}

// Runs the float kernels (and attack-gradient chunks) on `requested` threads, or on every
// core when it is 0. Results never depend on the count.
void use_threads(int requested);

// Loads a float model file named on the command line (a float32 .tflite file too).
Result<Graph> load_model_arg(const std::string& path);
// Loads a model file for an engine: quantized files fully, float files as float-only
// models (only the float engine runs them). TFLite files (identifier "TFL3") are
// imported: full-int8 ones as quantized models, float32 ones as float-only models.
Result<QuantizedModel> load_any_model_arg(const std::string& path, nlohmann::json* extra = nullptr);

// The dataset named by --data, at the model's per-sample shape, at most `count` samples.
// Generated sets ("shapes", "housenum", "keywords" as 49x10x1 MFCCs) come in a `split`:
// "train" is the recipes' training stream (calibration), "test" the held-out one.
// Files: "cifar10:FILE[,FILE...]" (CIFAR-10 binary batches), "folder:DIR" (one subfolder
// of images per class) and "labels:CSV" (files listed in an MLPerf-style y_labels.csv;
// WAV clips become MFCCs for 49x10x1 models); for those the files themselves are the split.
Result<Dataset> load_data_arg(const std::string& spec, const std::string& split, int count, const Shape& sample_shape);

// Raw 16-bit 16 kHz one-second clips for waveform attacks on keyword models: "keywords"
// (generated, snapped to 16-bit PCM as a microphone delivers it) or "labels:CSV" of WAVs.
Result<Dataset> load_waveform_data_arg(const std::string& spec, const std::string& split, int count);

// One input for a model: a PNG/JPEG (values k/255), a float32 .npy of the model's input
// shape (with or without the batch axis), or a WAV clip for 49x10x1 keyword models (its
// MLPerf MFCC features); returned as a batch of one.
Result<Tensor> load_input_arg(const std::string& path, const Shape& model_input);

// Parses "32x32x3" (or "49x10x1", "64") into a per-sample shape.
Result<Shape> parse_shape_arg(const std::string& text);

}  // namespace slingshot::cli

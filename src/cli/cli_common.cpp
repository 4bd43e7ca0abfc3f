// Helpers shared by subcommands.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "cli/commands.h"
#include "core/thread_pool.h"
#include "data/cifar10_binary.h"
#include "data/housenum.h"
#include "data/image_folder.h"
#include "data/keywords.h"
#include "data/image_io.h"
#include "data/labeled_files.h"
#include "data/mfcc.h"
#include "data/npy.h"
#include "data/speech_commands.h"
#include "data/synthetic_shapes.h"
#include "data/wav.h"
#include "model/model_file.h"
#include "tflite/tflite_import.h"

namespace slingshot::cli {

void use_threads(int requested) {
  set_num_threads(requested > 0 ? requested : static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
}

namespace {

// TFLite files are recognized by their identifier, so the extension does not matter.
bool is_tflite_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  char head[8] = {};
  return f.read(head, sizeof head) && is_tflite_model(std::string_view(head, sizeof head));
}

// What the shared --input-range / --raw-input flags were given (one subcommand runs).
struct TfliteModelFlags {
  std::string input_range;
  bool raw_input = false;
  bool given() const { return !input_range.empty() || raw_input; }
};
TfliteModelFlags g_tflite_flags;

Status refuse_tflite_flags_for(const std::string& path) {
  if (!g_tflite_flags.given()) return Status::Ok();
  return invalid_argument(std::string(g_tflite_flags.raw_input ? "--raw-input" : "--input-range") +
                          " applies to .tflite models only; '" + path +
                          "' is a Slingshot model file, whose input domain is in the file");
}

Result<QuantizedModel> import_tflite_arg(const std::string& path, nlohmann::json* extra) {
  SLING_ASSIGN_OR_RETURN(const TfliteImportOptions options,
                         tflite_options_from_flags(g_tflite_flags.input_range, g_tflite_flags.raw_input));
  auto imported = load_tflite(path, options);
  if (!imported.ok()) return imported.status().with_context("TFLite model '" + path + "'");
  if (extra) {
    *extra = imported->card;
    (*extra)["tflite"]["file"] = path;
  }
  return std::move(imported->model);
}

}  // namespace

Result<Graph> load_model_arg(const std::string& path) {
  if (is_tflite_file(path)) {
    SLING_ASSIGN_OR_RETURN(QuantizedModel m, import_tflite_arg(path, nullptr));
    if (!m.nodes.empty())
      return invalid_argument("model '" + path + "' is a full-int8 TFLite model; this needs a float model");
    return std::move(m.graph);
  }
  SLING_RETURN_IF_ERROR(refuse_tflite_flags_for(path));
  auto g = load_model(path);
  if (!g.ok()) return g.status().with_context("model '" + path + "'");
  return g;
}

Result<QuantizedModel> load_any_model_arg(const std::string& path, nlohmann::json* extra) {
  if (is_tflite_file(path)) return import_tflite_arg(path, extra);
  SLING_RETURN_IF_ERROR(refuse_tflite_flags_for(path));
  auto m = load_quantized_model(path, extra, /*allow_float=*/true);
  if (!m.ok()) return m.status().with_context("model '" + path + "'");
  return m;
}

Result<TfliteImportOptions> tflite_options_from_flags(const std::string& input_range, bool raw_input) {
  TfliteImportOptions options;
  options.map_input = !raw_input;
  if (!input_range.empty()) {
    if (raw_input) return invalid_argument("--input-range maps image pixels, which --raw-input turns off");
    SLING_RETURN_IF_ERROR(parse_tflite_input_range(input_range, options));
  }
  return options;
}

void add_tflite_model_flags(CLI::App& app) {
  for (CLI::App* sub : app.get_subcommands({})) {
    // import-tflite has its own; the others take the model as --model (info, card: positional).
    if (sub->get_name() == "import-tflite") continue;
    if (!sub->get_option_no_throw("--model") && !sub->get_option_no_throw("model")) continue;
    sub->add_option("--input-range", g_tflite_flags.input_range,
                    "For a .tflite model: the file's input values of pixels 0 and 255, LO:HI (float files; "
                    "default 0:1. int8 files: fixed by their input grid, checked if given)");
    sub->add_flag("--raw-input", g_tflite_flags.raw_input,
                  "For a .tflite model: keep the file's own input domain (no mapping onto pixels in [0, 1])");
  }
}

Result<Dataset> load_data_arg(const std::string& spec, const std::string& split, int count, const Shape& shape) {
  if (count < 1) return invalid_argument("--count must be >= 1");
  if (split != "train" && split != "test") return invalid_argument("split must be train or test, got '" + split + "'");
  if (spec == "shapes") {
    if (shape.size() != 3 || shape[0] != shape[1] || shape[2] != 3 || shape[0] < 8 || shape[0] > 256)
      return invalid_argument("dataset 'shapes' makes square RGB images (8..256 px), but the model expects " +
                              shape_to_string(shape));
    // The seeds of `slingshot train`: training stream seed 1, held-out stream seed 1 + 1000003.
    const uint64_t seed = split == "train" ? 1 : 1 + 1000003;
    return make_shapes_dataset(count, static_cast<int>(shape[0]), seed);
  }
  // Files on disk: the first `count` samples (their own train/test split is the files').
  auto first_count = [&](Dataset d) -> Result<Dataset> { return d.size() > count ? d.range(0, count) : d; };
  if (spec.rfind("cifar10:", 0) == 0) {
    if (shape != Shape{32, 32, 3})
      return invalid_argument("CIFAR-10 images are 32x32x3, but the model expects " + shape_to_string(shape));
    std::vector<std::string> files;
    std::string rest = spec.substr(8);
    for (size_t pos = 0; pos <= rest.size();) {
      const size_t comma = rest.find(',', pos);
      files.push_back(rest.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos));
      if (comma == std::string::npos) break;
      pos = comma + 1;
    }
    SLING_ASSIGN_OR_RETURN(Dataset d, load_cifar10_binary(files, count));
    return d;
  }
  const bool mfcc_model = shape == Shape{49, 10, 1};
  if (spec.rfind("folder:", 0) == 0 && mfcc_model) {
    // Keyword models read Speech Commands-style WAV folders, labeled by folder name in the
    // MLPerf class order (data/speech_commands.h).
    SLING_ASSIGN_OR_RETURN(Dataset wav, load_speech_commands_folder(spec.substr(7)));
    SLING_ASSIGN_OR_RETURN(Dataset d, keywords_to_mfcc(wav));
    return first_count(std::move(d));
  }
  if (spec.rfind("folder:", 0) == 0) {
    if (shape.size() != 3 || (shape[2] != 1 && shape[2] != 3))
      return invalid_argument("an image folder feeds HxWx1 or HxWx3 models, but the model expects " +
                              shape_to_string(shape));
    SLING_ASSIGN_OR_RETURN(Dataset d, load_image_folder(spec.substr(7), static_cast<int>(shape[0]),
                                                        static_cast<int>(shape[1]), static_cast<int>(shape[2])));
    return first_count(std::move(d));
  }
  if (spec == "housenum" || spec == "keywords") {
    // The zoo recipes' dataset seed (1); the test split holds out what training never saw.
    const DatasetSplit which = split == "train" ? DatasetSplit::kTrain : DatasetSplit::kTest;
    if (spec == "housenum") {
      if (shape != Shape{32, 32, 3})
        return invalid_argument("housenum images are 32x32x3, but the model expects " + shape_to_string(shape));
      return make_housenum_dataset(which, count, 1);
    }
    if (!mfcc_model) return invalid_argument("keywords feed 49x10x1 MFCC models, but the model expects " + shape_to_string(shape));
    SLING_ASSIGN_OR_RETURN(Dataset wav, make_keywords_clips(which, count, 1));
    return keywords_to_mfcc(wav);
  }
  if (spec.rfind("labels:", 0) == 0) {
    const std::string csv = spec.substr(7);
    if (mfcc_model) {
      SLING_ASSIGN_OR_RETURN(Dataset wav, load_labeled_wavs(csv, 16000, 16000));
      SLING_ASSIGN_OR_RETURN(Dataset d, keywords_to_mfcc(wav));
      return first_count(std::move(d));
    }
    if (shape.size() != 3 || (shape[2] != 1 && shape[2] != 3))
      return invalid_argument("labelled images feed HxWx1 or HxWx3 models, but the model expects " + shape_to_string(shape));
    SLING_ASSIGN_OR_RETURN(Dataset d, load_labeled_images(csv, static_cast<int>(shape[0]), static_cast<int>(shape[1]),
                                                          static_cast<int>(shape[2])));
    return first_count(std::move(d));
  }
  return invalid_argument("unknown dataset '" + spec +
                          "' (available: shapes, housenum, keywords, cifar10:FILE[,FILE...] for CIFAR-10 binary "
                          "batches, folder:DIR for one subfolder of PNG/JPEG images per class, labels:CSV for files "
                          "listed in a y_labels.csv)");
}

Result<Dataset> load_waveform_data_arg(const std::string& spec, const std::string& split, int count) {
  if (count < 1) return invalid_argument("the sample count must be >= 1");
  Dataset d;
  if (spec == "keywords") {
    SLING_ASSIGN_OR_RETURN(d, make_keywords_clips(split == "train" ? DatasetSplit::kTrain : DatasetSplit::kTest, count, 1));
    for (int64_t i = 0; i < d.inputs.numel(); ++i)
      d.inputs[i] = std::clamp(std::round(d.inputs[i] * 32768.0f), -32768.0f, 32767.0f) / 32768.0f;
  } else if (spec.rfind("labels:", 0) == 0) {
    SLING_ASSIGN_OR_RETURN(d, load_labeled_wavs(spec.substr(7), 16000, 16000));
  } else if (spec.rfind("folder:", 0) == 0) {
    SLING_ASSIGN_OR_RETURN(d, load_speech_commands_folder(spec.substr(7)));
  } else {
    return invalid_argument("keyword models are attacked on waveforms; use --data keywords, labels:CSV of WAV files "
                            "or folder:DIR of WAV class folders, not '" + spec + "'");
  }
  if (d.size() > count) d = d.range(0, count);
  return d;
}

namespace {

bool ends_with(const std::string& s, const char* suffix) {
  const std::string x(suffix);
  return s.size() >= x.size() && s.compare(s.size() - x.size(), x.size(), x) == 0;
}

}  // namespace

Result<Tensor> load_input_arg(const std::string& path, const Shape& model_input) {
  Tensor x;
  if (ends_with(path, ".npy")) {
    SLING_ASSIGN_OR_RETURN(x, load_npy(path));
  } else if (ends_with(path, ".wav") || ends_with(path, ".WAV")) {
    const MfccConfig cfg;
    if (model_input != Shape{mfcc_num_frames(cfg), cfg.num_coefficients, 1})
      return invalid_argument("'" + path + "' is audio, but the model takes " + shape_to_string(model_input) +
                              ", not 49x10x1 MFCC features");
    std::vector<float> samples;  // one second at 16 kHz, padded or cut as the keyword loaders do
    SLING_RETURN_IF_ERROR(append_wav_clip(path, 16000, cfg.clip_samples, samples));
    SLING_ASSIGN_OR_RETURN(x, mfcc(samples.data(), static_cast<int64_t>(samples.size()), cfg));
    x.reshape(model_input);
  } else {
    const int channels = model_input.size() == 3 && (model_input[2] == 1 || model_input[2] == 3)
                             ? static_cast<int>(model_input[2]) : 0;
    SLING_ASSIGN_OR_RETURN(x, load_image(path, channels));
  }
  const Shape batched = with_batch(1, model_input);
  if (x.shape() == model_input) x.reshape(batched);
  if (x.shape() != batched)
    return invalid_argument("input '" + path + "' has shape " + shape_to_string(x.shape()) + " but the model takes " +
                            shape_to_string(model_input) + " (or " + shape_to_string(batched) + ")");
  for (int64_t i = 0; i < x.numel(); ++i)
    if (!std::isfinite(x[i])) return invalid_argument("input '" + path + "' contains NaN or infinity");
  return x;
}

Result<Shape> parse_shape_arg(const std::string& text) {
  Shape s;
  size_t pos = 0;
  while (pos <= text.size()) {
    const size_t x = text.find('x', pos);
    const std::string part = text.substr(pos, x == std::string::npos ? std::string::npos : x - pos);
    char* end = nullptr;
    const long v = std::strtol(part.c_str(), &end, 10);
    if (part.empty() || *end != '\0' || v < 1 || v > 4096)
      return invalid_argument("shape '" + text + "' must look like 32x32x3 with sides in [1, 4096]");
    s.push_back(v);
    if (x == std::string::npos) break;
    pos = x + 1;
  }
  return s;
}

}  // namespace slingshot::cli

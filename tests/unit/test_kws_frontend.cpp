// The keyword front end against the real MLPerf Tiny KWS model: Speech Commands folder
// names mapped onto the model's class order, the real stereo Speech Commands clip of
// ../shared/mlperf-tiny (mixed down; refused by a mono-only read), and kws_ref_model
// (int8 and float) classifying it as "_unknown_". The tests that need that folder say so
// and skip when it is absent.
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "core/file_io.h"
#include "data/mfcc.h"
#include "data/speech_commands.h"
#include "data/wav.h"
#include "engine/engine.h"
#include "tflite/tflite_import.h"

using namespace slingshot;

namespace {

namespace fs = std::filesystem;

const std::string kMlperfDir = std::string(SLING_SOURCE_DIR) + "/../shared/mlperf-tiny";
const std::string kMarvin = kMlperfDir + "/marvin_617de221_0.wav";

bool have_marvin() {
  if (fs::exists(kMarvin) && fs::exists(kMlperfDir + "/kws_ref_model.tflite")) return true;
  MESSAGE("skipped: " << kMlperfDir << " is absent (the MLPerf Tiny KWS model and its Speech Commands clip)");
  return false;
}

// A mono 16-bit WAV of `samples` at 16 kHz.
std::string mono_wav(const std::vector<float>& samples) {
  return encode_wav_pcm16(samples.data(), static_cast<int64_t>(samples.size()), 16000);
}

// The model input of a WAV file, as the CLI builds it (cli_common.cpp load_input_arg).
Tensor features_of(const std::string& path) {
  const MfccConfig cfg;
  std::vector<float> samples;
  const Status st = append_wav_clip(path, 16000, cfg.clip_samples, samples);
  REQUIRE_MESSAGE(st.ok(), st.message());
  auto m = mfcc(samples.data(), static_cast<int64_t>(samples.size()), cfg);
  REQUIRE_MESSAGE(m.ok(), m.status().message());
  Tensor x = *m;
  x.reshape({1, 49, 10, 1});
  return x;
}

std::vector<double> softmax_row(const Tensor& logits) {
  std::vector<double> p(static_cast<size_t>(logits.numel()));
  const double top = *std::max_element(logits.data(), logits.data() + logits.numel());
  double sum = 0;
  for (size_t k = 0; k < p.size(); ++k) sum += p[k] = std::exp(logits[static_cast<int64_t>(k)] - top);
  for (double& v : p) v /= sum;
  return p;
}

}  // namespace

TEST_CASE("KWS classes: Speech Commands folder names map onto the MLPerf class order") {
  const std::vector<std::string>& names = kws_class_names();
  REQUIRE(names.size() == 12);
  CHECK(names == std::vector<std::string>{"down", "go", "left", "no", "off", "on", "right", "stop", "up", "yes",
                                          "_silence_", "_unknown_"});
  for (int k = 0; k < 12; ++k) CHECK(speech_commands_class(names[static_cast<size_t>(k)]) == k);
  CHECK(speech_commands_class("YES") == 9);
  CHECK(speech_commands_class("Go") == 1);
  CHECK(speech_commands_class("silence") == 10);
  CHECK(speech_commands_class("_background_noise_") == 10);
  CHECK(speech_commands_class("unknown") == 11);
  CHECK(speech_commands_class("marvin") == 11);  // other words are "unknown", as TFDS labels them
  CHECK(speech_commands_class("yesterday") == 11);
  CHECK(speech_commands_class("") == 11);
  CHECK(speech_commands_class("___") == 11);
}

TEST_CASE("KWS classes: a Speech Commands folder loads relabeled by folder name") {
  const std::string root = "/tmp/slingshot_kws_folder_" + std::to_string(static_cast<long long>(::getpid()));
  std::error_code ec;
  fs::remove_all(root, ec);
  const std::vector<float> clip(800, 0.25f);
  for (const char* rel : {"yes/a.wav", "marvin/b.wav", "_background_noise_/c.wav", "Stop/d.wav"}) {
    fs::create_directories(fs::path(root + "/" + rel).parent_path(), ec);
    REQUIRE(write_file_atomic(root + "/" + rel, mono_wav(clip)).ok());
  }
  auto d = load_speech_commands_folder(root);
  REQUIRE_MESSAGE(d.ok(), d.status().message());
  CHECK(d->class_names == kws_class_names());
  // Folders in sorted order: Stop, _background_noise_, marvin, yes.
  CHECK(d->labels == std::vector<int>{7, 10, 11, 9});
  REQUIRE(d->inputs.shape() == Shape{4, 16000});
  CHECK(d->inputs[0] == 0.25f);
  CHECK(d->inputs[15999] == 0.0f);  // padded to one second
  auto missing = load_speech_commands_folder(root + "/none");
  REQUIRE(!missing.ok());
  CHECK(missing.status().message().find("does not exist") != std::string::npos);
  fs::remove_all(root, ec);
}

TEST_CASE("KWS: the real stereo Speech Commands clip mixes down, and a mono-only read refuses it") {
  if (!have_marvin()) return;
  auto w = load_wav(kMarvin);
  REQUIRE_MESSAGE(w.ok(), w.status().message());
  CHECK(w->channels == 2);
  CHECK(w->sample_rate == 16000);
  REQUIRE(w->samples.size() == 16000);
  // The mix-down is the per-frame channel mean, checked against the raw bytes.
  auto bytes = read_file(kMarvin, kMaxWavFileBytes);
  REQUIRE(bytes.ok());
  const size_t data = bytes->find("data") + 8;
  for (size_t i = 0; i < 16000; i += 997) {
    auto s16 = [&](size_t at) {
      const auto* p = reinterpret_cast<const unsigned char*>(bytes->data() + at);
      return static_cast<int16_t>(p[0] | (p[1] << 8));
    };
    const double mean = (s16(data + 4 * i) + s16(data + 4 * i + 2)) / 2.0 / 32768.0;
    CHECK(w->samples[i] == static_cast<float>(mean));
  }
  auto strict = load_wav(kMarvin, WavChannels::kMonoOnly);
  REQUIRE(!strict.ok());
  CHECK(strict.status().message().find("marvin_617de221_0.wav") != std::string::npos);
  CHECK(strict.status().message().find("has 2 channels, but this needs a mono (1-channel) file") != std::string::npos);
}

TEST_CASE("KWS: kws_ref_model (int8 and float) classifies the real 'marvin' clip as _unknown_") {
  if (!have_marvin()) return;
  const Tensor x = features_of(kMarvin);
  const int unknown = 11;
  struct Case {
    const char* file;
    EngineKind engine;
  };
  for (const Case& c : {Case{"kws_ref_model.tflite", EngineKind::kInt8Ref},
                        Case{"kws_ref_model_float32.tflite", EngineKind::kFloat}}) {
    CAPTURE(c.file);
    auto imported = load_tflite(kMlperfDir + "/" + c.file);
    REQUIRE_MESSAGE(imported.ok(), imported.status().message());
    auto engine = make_engine(c.engine, imported->model);
    REQUIRE_MESSAGE(engine.ok(), engine.status().message());
    Tensor logits;
    REQUIRE((*engine)->predict(x, logits).ok());
    REQUIRE(logits.numel() == 12);
    const std::vector<double> p = softmax_row(logits);
    std::string shown;
    for (size_t k = 0; k < p.size(); ++k) shown += " " + kws_class_names()[k] + "=" + std::to_string(p[k]);
    MESSAGE(std::string(c.file) << ":" << shown);
    const int top = static_cast<int>(std::max_element(p.begin(), p.end()) - p.begin());
    CHECK(kws_class_names()[static_cast<size_t>(top)] == "_unknown_");
    CHECK(top == unknown);
  }
}

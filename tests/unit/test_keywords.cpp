// The `keywords` speech dataset: labels, determinism, speaker split, signal levels,
// the MFCC conversion and error reporting. Native only (espeak-ng is not in wasm).
#ifndef __EMSCRIPTEN__
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "data/keywords.h"
#include "data/mfcc.h"

using namespace slingshot;

namespace {

bool contains(const Status& s, const std::string& text) { return s.message().find(text) != std::string::npos; }

bool has_female(const std::vector<std::string>& names) {
  return std::any_of(names.begin(), names.end(), [](const std::string& n) { return n.find("+f") != std::string::npos; });
}
bool has_male(const std::vector<std::string>& names) {
  return std::any_of(names.begin(), names.end(), [](const std::string& n) { return n.find("+m") != std::string::npos; });
}

double clip_rms(const Dataset& d, int64_t i) {
  const int64_t n = d.inputs.shape()[1];
  double s = 0.0;
  for (int64_t k = 0; k < n; ++k) s += static_cast<double>(d.inputs.data()[i * n + k]) * d.inputs.data()[i * n + k];
  return std::sqrt(s / static_cast<double>(n));
}

// RMS of each 10 ms frame of clip i.
std::vector<double> frame_rms(const Dataset& d, int64_t i) {
  const int64_t n = d.inputs.shape()[1], frame = 160;
  std::vector<double> out;
  for (int64_t f = 0; f + frame <= n; f += frame) {
    double s = 0.0;
    for (int64_t k = 0; k < frame; ++k) s += std::pow(static_cast<double>(d.inputs.data()[i * n + f + k]), 2.0);
    out.push_back(std::sqrt(s / frame));
  }
  return out;
}

}  // namespace

TEST_CASE("keywords: class names follow the MLPerf Tiny KWS label order") {
  const auto& names = keyword_class_names();
  REQUIRE(names.size() == 12);
  CHECK(names[0] == "down");
  CHECK(names[9] == "yes");
  CHECK(names[10] == "_silence_");
  CHECK(names[11] == "_unknown_");
  for (const std::string& w : keyword_unknown_words())
    CHECK(std::find(names.begin(), names.end(), w) == names.end());
}

TEST_CASE("keywords: train and test speakers are disjoint and both mixed gender") {
  const auto train = keyword_speakers(DatasetSplit::kTrain);
  const auto test = keyword_speakers(DatasetSplit::kTest);
  REQUIRE(!train.empty());
  REQUIRE(!test.empty());
  const std::set<std::string> train_set(train.begin(), train.end());
  CHECK(train_set.size() == train.size());
  for (const std::string& s : test) CHECK(train_set.count(s) == 0);
  CHECK(has_male(train));
  CHECK(has_female(train));
  CHECK(has_male(test));
  CHECK(has_female(test));
  // Roughly a fifth held out.
  const double frac = static_cast<double>(test.size()) / static_cast<double>(train.size() + test.size());
  CHECK(frac > 0.1);
  CHECK(frac < 0.3);
}

TEST_CASE("keywords: shapes, labels, range, determinism and the prefix property") {
  auto a = make_keywords_dataset(DatasetSplit::kTrain, 3, 11);
  REQUIRE_MESSAGE(a.ok(), a.status().message());
  REQUIRE(a->inputs.shape() == Shape{36, 16000});
  REQUIRE(a->size() == 36);
  CHECK(a->class_names == keyword_class_names());
  for (int64_t i = 0; i < 36; ++i) CHECK(a->labels[i] == i % 12);
  for (int64_t k = 0; k < a->inputs.numel(); ++k) {
    const float v = a->inputs.data()[k];
    REQUIRE(std::isfinite(v));
    REQUIRE(v >= -1.0f);
    REQUIRE(v <= 1.0f);
  }
  auto again = make_keywords_dataset(DatasetSplit::kTrain, 3, 11);
  REQUIRE(again.ok());
  CHECK(std::equal(a->inputs.data(), a->inputs.data() + a->inputs.numel(), again->inputs.data()));

  auto prefix = make_keywords_dataset(DatasetSplit::kTrain, 2, 11);
  REQUIRE(prefix.ok());
  CHECK(std::equal(prefix->inputs.data(), prefix->inputs.data() + prefix->inputs.numel(), a->inputs.data()));

  auto other_seed = make_keywords_dataset(DatasetSplit::kTrain, 2, 12);
  auto test_split = make_keywords_dataset(DatasetSplit::kTest, 2, 11);
  REQUIRE(other_seed.ok());
  REQUIRE(test_split.ok());
  CHECK(!std::equal(other_seed->inputs.data(), other_seed->inputs.data() + other_seed->inputs.numel(), a->inputs.data()));
  CHECK(!std::equal(test_split->inputs.data(), test_split->inputs.data() + test_split->inputs.numel(), a->inputs.data()));

  auto empty = make_keywords_dataset(DatasetSplit::kTest, 0, 1);
  REQUIRE(empty.ok());
  CHECK(empty->size() == 0);
}

TEST_CASE("keywords: silence is quiet, word clips hold speech above their noise floor") {
  auto d = make_keywords_dataset(DatasetSplit::kTest, 6, 5);
  REQUIRE_MESSAGE(d.ok(), d.status().message());
  double silence = 0.0, words = 0.0;
  int n_silence = 0, n_words = 0;
  for (int64_t i = 0; i < d->size(); ++i) {
    if (d->labels[i] == 10) {
      silence += clip_rms(*d, i);
      ++n_silence;
      continue;
    }
    words += clip_rms(*d, i);
    ++n_words;
    std::vector<double> f = frame_rms(*d, i);
    std::sort(f.begin(), f.end());
    // The loudest frame stands well above the quietest tenth (noise floor or digital silence).
    CAPTURE(i);
    CHECK(f.back() > 3.0 * f[f.size() / 10] + 1e-4);
  }
  REQUIRE(n_silence == 6);
  silence /= n_silence;
  words /= n_words;
  CHECK(silence * 4.0 < words);
}

TEST_CASE("keywords_to_mfcc: shapes, finite values and agreement with mfcc()") {
  auto d = make_keywords_dataset(DatasetSplit::kTrain, 1, 3);
  REQUIRE(d.ok());
  auto m = keywords_to_mfcc(*d);
  REQUIRE_MESSAGE(m.ok(), m.status().message());
  REQUIRE(m->inputs.shape() == Shape{12, 49, 10, 1});
  CHECK(m->labels == d->labels);
  for (int64_t k = 0; k < m->inputs.numel(); ++k) REQUIRE(std::isfinite(m->inputs.data()[k]));
  auto direct = mfcc(d->inputs.data() + 5 * 16000, 16000);
  REQUIRE(direct.ok());
  CHECK(std::equal(direct->data(), direct->data() + 490, m->inputs.data() + 5 * 490));

  Dataset bad;
  bad.inputs = Tensor({2, 8000});
  bad.labels = {0, 1};
  CHECK(contains(keywords_to_mfcc(bad).status(), "16000"));
}

TEST_CASE("keywords: bad options and espeak-ng failures are clear errors") {
  CHECK(contains(make_keywords_dataset(DatasetSplit::kTrain, -1, 1).status(), "per_class"));
  KeywordsOptions rate;
  rate.sample_rate = 8000;
  CHECK(contains(make_keywords_dataset(DatasetSplit::kTrain, 1, 1, rate).status(), "sample_rate"));
  KeywordsOptions snr;
  snr.snr_db_min = 20.0f;
  snr.snr_db_max = 10.0f;
  CHECK(contains(make_keywords_dataset(DatasetSplit::kTrain, 1, 1, snr).status(), "snr"));
  KeywordsOptions voice;
  voice.voices = {"xx-no-such-voice"};
  CHECK(contains(make_keywords_dataset(DatasetSplit::kTrain, 1, 1, voice).status(), "no voice 'xx-no-such-voice"));
  KeywordsOptions path;
  path.espeak_data_path = "/nonexistent/espeak-data";
  CHECK(contains(make_keywords_dataset(DatasetSplit::kTrain, 1, 1, path).status(), "not a directory"));
  path.espeak_data_path = SLING_SOURCE_DIR;  // a folder without espeak-ng-data
  CHECK(contains(make_keywords_dataset(DatasetSplit::kTrain, 1, 1, path).status(), "espeak-ng failed to initialize"));
}
#endif  // __EMSCRIPTEN__

// The MLPerf Tiny KWS MFCC front end: against an independent float64 reference written
// from the definition, tone placement, silence, errors, and the backward pass by central
// finite differences.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/rng.h"
#include "data/mfcc.h"

using namespace slingshot;

namespace {

constexpr double kPi = 3.14159265358979323846;

bool contains(const Status& s, const std::string& text) { return s.message().find(text) != std::string::npos; }

// Independent float64 reference, straight from the TensorFlow ops MLPerf calls: direct
// 512-point DFT sums over the zero-padded frame, a mel filterbank evaluated per bin from
// the HTK formula, and the DCT-II sum. Returns [frames x coeffs] and [frames x mels].
void reference(const std::vector<double>& clip, const MfccConfig& c, bool normalize, std::vector<double>& out,
               std::vector<double>& logmel) {
  const int n = static_cast<int>(clip.size());
  double peak = 1.0;
  if (normalize) peak = *std::max_element(clip.begin(), clip.end());
  const int frames = 1 + (n - c.frame_length) / c.frame_step;
  const int bins = c.fft_length / 2 + 1;
  auto mel_of = [](double hz) { return 1127.0 * std::log1p(hz / 700.0); };
  const double lo = mel_of(c.lower_edge_hz), hi = mel_of(c.upper_edge_hz);
  out.assign(size_t(frames) * c.num_coefficients, 0.0);
  logmel.assign(size_t(frames) * c.num_mel_bins, 0.0);
  std::vector<double> padded(c.fft_length), mag(bins);
  for (int t = 0; t < frames; ++t) {
    std::fill(padded.begin(), padded.end(), 0.0);
    for (int i = 0; i < c.frame_length; ++i) {
      const double s = std::sin(kPi * i / c.frame_length);  // periodic Hann = sin^2(pi i / N)
      padded[i] = s * s * clip[size_t(t) * c.frame_step + i] / peak;
    }
    for (int k = 0; k < bins; ++k) {
      double re = 0, im = 0;
      for (int i = 0; i < c.fft_length; ++i) {
        re += padded[i] * std::cos(2 * kPi * k * i / c.fft_length);
        im -= padded[i] * std::sin(2 * kPi * k * i / c.fft_length);
      }
      mag[k] = std::hypot(re, im);
    }
    for (int m = 0; m < c.num_mel_bins; ++m) {
      const double step = (hi - lo) / (c.num_mel_bins + 1);
      const double l = lo + m * step, ctr = l + step, r = ctr + step;
      double e = 0;
      for (int k = 1; k < bins; ++k) {  // HTK: the DC bin gets no weight
        const double f = mel_of(double(k) * c.sample_rate / c.fft_length);
        double w = 0;
        if (f > l && f <= ctr) w = (f - l) / (ctr - l);
        else if (f > ctr && f < r) w = (r - f) / (r - ctr);
        e += w * mag[k];
      }
      logmel[size_t(t) * c.num_mel_bins + m] = std::log(e + c.log_offset);
    }
    for (int q = 0; q < c.num_coefficients; ++q) {
      double s = 0;
      for (int m = 0; m < c.num_mel_bins; ++m)
        s += logmel[size_t(t) * c.num_mel_bins + m] * std::cos(kPi * q * (m + 0.5) / c.num_mel_bins);
      out[size_t(t) * c.num_coefficients + q] = s * std::sqrt(2.0 / c.num_mel_bins);
    }
  }
}

// A speech-like test clip in int16 units: three tones plus broadband noise, so every mel
// band holds energy far above the 1e-6 offset.
std::vector<float> test_clip(uint64_t seed) {
  Rng rng(seed);
  std::vector<float> x(16000);
  for (size_t i = 0; i < x.size(); ++i) {
    const double t = double(i) / 16000.0;
    x[i] = float(6000 * std::sin(2 * kPi * 440 * t) + 3000 * std::sin(2 * kPi * 1230 * t + 0.3) +
                 1500 * std::sin(2 * kPi * 3100 * t + 1.1) + 2000 * (rng.uniform() - 0.5));
  }
  return x;
}

}  // namespace

TEST_CASE("mfcc: matches the float64 reference of the MLPerf definition") {
  const MfccConfig cfg;
  CHECK(mfcc_num_frames(cfg) == 49);
  const std::vector<float> x = test_clip(7);
  auto r = mfcc(x.data(), int64_t(x.size()), cfg);
  REQUIRE(r.ok());
  REQUIRE(r->shape() == Shape{49, 10});
  auto lm = log_mel_spectrogram(x.data(), int64_t(x.size()), cfg);
  REQUIRE(lm.ok());
  REQUIRE(lm->shape() == Shape{49, 40});

  std::vector<double> ref, ref_lm;
  reference(std::vector<double>(x.begin(), x.end()), cfg, true, ref, ref_lm);
  // Bound: the float DFT sums 480 terms of size <= 1, so |re|, |im| carry an absolute error
  // of ~480 * 6e-8 ~ 3e-5 against bin magnitudes of >= 1e-1 in every band here, and the mel
  // sums add a relative 1e-6: log-mel errors stay ~1e-4 in the weakest band. The DCT rows
  // have 40 weights of <= sqrt(2/40) = 0.22, so MFCC errors are <= 40 * 0.22 * 1e-4 ~ 1e-3.
  // A wrong window (symmetric Hann), mel formula or DCT scale moves values by >= 1e-2.
  double max_lm = 0, max_c = 0;
  for (size_t i = 0; i < ref_lm.size(); ++i) max_lm = std::max(max_lm, std::abs(ref_lm[i] - (*lm)[int64_t(i)]));
  for (size_t i = 0; i < ref.size(); ++i) max_c = std::max(max_c, std::abs(ref[i] - (*r)[int64_t(i)]));
  MESSAGE("max |log-mel - ref| = " << max_lm << ", max |mfcc - ref| = " << max_c);
  CHECK(max_lm < 2e-4);
  CHECK(max_c < 1e-3);
  CHECK(std::abs(ref[0]) > 1.0);  // the comparison is not against near-zero values

  // The double instantiation agrees with the reference to rounding.
  std::vector<double> xd(x.begin(), x.end()), outd;
  REQUIRE(mfcc_forward__ref<double>(xd.data(), int64_t(xd.size()), cfg, outd).ok());
  double max_d = 0;
  for (size_t i = 0; i < ref.size(); ++i) max_d = std::max(max_d, std::abs(ref[i] - outd[i]));
  CHECK(max_d < 1e-9);

  // Peak normalization makes the output independent of the input scale.
  std::vector<float> half(x);
  for (float& v : half) v *= 0.5f;
  auto rh = mfcc(half.data(), int64_t(half.size()), cfg);
  REQUIRE(rh.ok());
  for (int64_t i = 0; i < rh->numel(); ++i) CHECK((*rh)[i] == doctest::Approx((*r)[i]).epsilon(1e-4));
}

TEST_CASE("mfcc: a pure tone peaks in the mel band around its frequency") {
  // 1000 Hz = 1000.0 mel; band centers sit at mel(20) + (m + 1) * (mel(4000) - mel(20)) / 41,
  // so 1000 Hz falls between the centers of bands 17 (969 mel) and 18 (1020 mel).
  std::vector<float> x(16000);
  for (size_t i = 0; i < x.size(); ++i) x[i] = float(std::sin(2 * kPi * 1000.0 * double(i) / 16000.0));
  auto lm = log_mel_spectrogram(x.data(), int64_t(x.size()));
  REQUIRE(lm.ok());
  for (int t = 0; t < 49; ++t) {
    const float* row = lm->data() + t * 40;
    const int best = int(std::max_element(row, row + 40) - row);
    CHECK((best == 17 || best == 18));
    CHECK(row[best] - row[5] > 5.0f);  // far from the tone the band is much weaker
  }
}

TEST_CASE("mfcc: silence gives the log(1e-6) constant") {
  MfccConfig cfg;
  std::vector<float> x(16000, 0.0f);
  // MLPerf divides by max(x), undefined for silence: a clear error, not NaNs.
  auto bad = mfcc(x.data(), 16000, cfg);
  REQUIRE_FALSE(bad.ok());
  CHECK(contains(bad.status(), "positive maximum"));

  cfg.normalize_by_max = false;
  auto r = mfcc(x.data(), 16000, cfg);
  REQUIRE(r.ok());
  // Every log-mel value is log(1e-6); DCT row 0 sums 40 of them times 2 / sqrt(80) and the
  // cosine rows q >= 1 sum to zero.
  const double c0 = std::log(1e-6) * 40 * 2 / std::sqrt(80.0);
  for (int t = 0; t < 49; ++t) {
    CHECK((*r)[t * 10] == doctest::Approx(c0).epsilon(1e-5));
    for (int q = 1; q < 10; ++q) CHECK(std::abs((*r)[t * 10 + q]) < 1e-4);
  }
}

TEST_CASE("mfcc: bad sizes and configs get clear errors") {
  std::vector<float> x(16001, 0.5f);
  auto r = mfcc(x.data(), 15999);
  REQUIRE_FALSE(r.ok());
  CHECK(contains(r.status(), "expected 16000 samples"));
  CHECK(contains(r.status(), "got 15999"));
  r = mfcc(x.data(), 16001);
  REQUIRE_FALSE(r.ok());
  CHECK(contains(r.status(), "got 16001"));

  MfccConfig c;
  c.fft_length = 256;
  r = mfcc(x.data(), 16000, c);
  REQUIRE_FALSE(r.ok());
  CHECK(contains(r.status(), "fft_length"));
  c = MfccConfig{};
  c.upper_edge_hz = 9000;
  r = mfcc(x.data(), 16000, c);
  REQUIRE_FALSE(r.ok());
  CHECK(contains(r.status(), "upper_edge_hz"));
  c = MfccConfig{};
  c.num_coefficients = 41;
  r = mfcc(x.data(), 16000, c);
  REQUIRE_FALSE(r.ok());
  CHECK(contains(r.status(), "num_coefficients"));

  const std::vector<float> clip = test_clip(3);
  auto g = mfcc_backward(clip.data(), 16000, Tensor(Shape{49, 9}));
  REQUIRE_FALSE(g.ok());
  CHECK(contains(g.status(), "[49, 10]"));
}

TEST_CASE("mfcc_backward: central finite differences in float64") {
  // A scaled-down config (same code paths, overlapping frames, DC bin, peak normalization)
  // keeps the 2 forward passes per checked sample cheap.
  MfccConfig c;
  c.clip_samples = 1000;
  c.frame_length = 120;
  c.frame_step = 80;
  c.fft_length = 128;
  c.num_mel_bins = 16;
  c.num_coefficients = 8;
  c.lower_edge_hz = 100;
  const int frames = mfcc_num_frames(c);
  REQUIRE(frames == 12);
  Rng rng(11);
  std::vector<double> x(1000);
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = 0.5 * std::sin(2 * kPi * 700.0 * double(i) / 16000.0) + (rng.uniform() - 0.5);
  std::vector<double> r(size_t(frames) * 8);
  for (double& v : r) v = rng.uniform(-1.f, 1.f);
  auto loss = [&]() {
    std::vector<double> out;
    REQUIRE(mfcc_forward__ref<double>(x.data(), 1000, c, out).ok());
    double s = 0;
    for (size_t i = 0; i < out.size(); ++i) s += r[i] * out[i];
    return s;
  };
  std::vector<double> g;
  REQUIRE(mfcc_backward__ref<double>(x.data(), 1000, r.data(), c, g).ok());
  REQUIRE(g.size() == 1000);
  double mean_abs = 0;
  for (double v : g) mean_abs += std::abs(v);
  mean_abs /= 1000.0;
  REQUIRE(mean_abs > 0);

  std::vector<int64_t> idx = {0, 1, 79, 80, 119, 120, 500, 998, 999};
  idx.push_back(int64_t(std::max_element(x.begin(), x.end()) - x.begin()));  // the peak sample
  for (int k = 0; k < 20; ++k) idx.push_back(int64_t(rng.next_u32() % 1000));
  const double h = 1e-6;
  double worst = 0;
  for (int64_t i : idx) {
    const double saved = x[size_t(i)];
    x[size_t(i)] = saved + h;
    const double up = loss();
    x[size_t(i)] = saved - h;
    const double down = loss();
    x[size_t(i)] = saved;
    const double numeric = (up - down) / (2 * h);
    const double err = std::abs(numeric - g[size_t(i)]) /
                       std::max({std::abs(numeric), std::abs(g[size_t(i)]), 1e-3 * mean_abs});
    worst = std::max(worst, err);
    CHECK_MESSAGE(err <= 1e-4, "sample " << i << ": analytic " << g[size_t(i)] << " numeric " << numeric);
  }
  MESSAGE("worst relative error " << worst);

  // The float entry point agrees with the double one.
  std::vector<float> xf(x.begin(), x.end());
  Tensor gm(Shape{frames, 8});
  for (int64_t i = 0; i < gm.numel(); ++i) gm[i] = float(r[size_t(i)]);
  auto gf = mfcc_backward(xf.data(), 1000, gm, c);
  REQUIRE(gf.ok());
  for (int64_t i = 0; i < 1000; i += 37) CHECK(std::abs(gf->data()[i] - g[size_t(i)]) <= 1e-3 * (std::abs(g[size_t(i)]) + mean_abs));
}

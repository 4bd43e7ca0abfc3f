// The MLPerf Tiny KWS MFCC front end as explicit matrices: window, real DFT as [bins x frame]
// cos/sin matrices, mel filterbank [mels x bins], DCT [coeffs x mels]; and its backward pass.
#include "data/mfcc.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace slingshot {

namespace {

constexpr double kPi = 3.14159265358979323846;

double hz_to_mel(double hz) { return 1127.0 * std::log(1.0 + hz / 700.0); }

Status validate(int64_t n, const MfccConfig& c) {
  if (c.clip_samples <= 0 || c.frame_length <= 0 || c.frame_step <= 0 || c.num_mel_bins <= 0 ||
      c.num_coefficients <= 0 || c.sample_rate <= 0)
    return invalid_argument("mfcc: sizes in MfccConfig must be positive");
  if (c.frame_length > c.clip_samples)
    return invalid_argument("mfcc: frame_length " + std::to_string(c.frame_length) + " exceeds clip_samples " +
                            std::to_string(c.clip_samples));
  if (c.fft_length < c.frame_length)
    return invalid_argument("mfcc: fft_length " + std::to_string(c.fft_length) + " is shorter than frame_length " +
                            std::to_string(c.frame_length));
  if (c.num_coefficients > c.num_mel_bins)
    return invalid_argument("mfcc: num_coefficients " + std::to_string(c.num_coefficients) +
                            " exceeds num_mel_bins " + std::to_string(c.num_mel_bins));
  if (!(c.lower_edge_hz >= 0.0 && c.lower_edge_hz < c.upper_edge_hz && c.upper_edge_hz <= c.sample_rate / 2.0))
    return invalid_argument("mfcc: need 0 <= lower_edge_hz < upper_edge_hz <= sample_rate / 2");
  if (!(c.log_offset > 0.0)) return invalid_argument("mfcc: log_offset must be positive");
  if (n != c.clip_samples)
    return invalid_argument("mfcc: expected " + std::to_string(c.clip_samples) + " samples (1 s at " +
                            std::to_string(c.sample_rate) + " Hz), got " + std::to_string(n) +
                            "; pad or truncate the clip first");
  return Status();
}

// The constant matrices, built in double and stored in T.
template <typename T>
struct Plan {
  int frames = 0, len = 0, step = 0, bins = 0, mels = 0, coeffs = 0;
  std::vector<T> window;  // [len] periodic Hann
  std::vector<T> cosm;    // [bins x len] cos(2 pi k n / fft)
  std::vector<T> sinm;    // [bins x len] -sin(2 pi k n / fft)
  std::vector<T> melw;    // [mels x bins]
  std::vector<T> dct;     // [coeffs x mels]

  explicit Plan(const MfccConfig& c) {
    frames = mfcc_num_frames(c);
    len = c.frame_length;
    step = c.frame_step;
    bins = c.fft_length / 2 + 1;
    mels = c.num_mel_bins;
    coeffs = c.num_coefficients;
    window.resize(len);
    for (int i = 0; i < len; ++i) window[i] = T(0.5 - 0.5 * std::cos(2.0 * kPi * i / len));
    cosm.resize(size_t(bins) * len);
    sinm.resize(size_t(bins) * len);
    for (int k = 0; k < bins; ++k)
      for (int i = 0; i < len; ++i) {
        // Reduce k*i modulo the FFT length so the angle stays exact.
        const double a = 2.0 * kPi * double((int64_t(k) * i) % c.fft_length) / c.fft_length;
        cosm[size_t(k) * len + i] = T(std::cos(a));
        sinm[size_t(k) * len + i] = T(-std::sin(a));
      }
    // tf.signal.linear_to_mel_weight_matrix: triangles linear in mel, bin 0 (DC) weight 0.
    melw.assign(size_t(mels) * bins, T(0));
    const double lo = hz_to_mel(c.lower_edge_hz), hi = hz_to_mel(c.upper_edge_hz);
    const double nyquist = c.sample_rate / 2.0;
    for (int m = 0; m < mels; ++m) {
      const double left = lo + (hi - lo) * m / (mels + 1);
      const double center = lo + (hi - lo) * (m + 1) / (mels + 1);
      const double right = lo + (hi - lo) * (m + 2) / (mels + 1);
      for (int k = 1; k < bins; ++k) {
        const double f = hz_to_mel(nyquist * k / (bins - 1));
        const double w = std::min((f - left) / (center - left), (right - f) / (right - center));
        melw[size_t(m) * bins + k] = T(std::max(0.0, w));
      }
    }
    // tf.signal.mfccs_from_log_mel_spectrograms: unnormalized DCT-II times rsqrt(2 * mels).
    dct.resize(size_t(coeffs) * mels);
    const double scale = 2.0 / std::sqrt(2.0 * mels);
    for (int q = 0; q < coeffs; ++q)
      for (int m = 0; m < mels; ++m)
        dct[size_t(q) * mels + m] = T(scale * std::cos(kPi * q * (2 * m + 1) / (2.0 * mels)));
  }
};

// y[rows] = A[rows x cols] . x[cols]
template <typename T>
void matvec(const T* a, int rows, int cols, const T* x, T* y) {
  for (int r = 0; r < rows; ++r) {
    T s = T(0);
    for (int k = 0; k < cols; ++k) s += a[size_t(r) * cols + k] * x[k];
    y[r] = s;
  }
}

// Forward intermediates kept for the backward pass.
template <typename T>
struct Trace {
  T peak = T(1);
  int64_t peak_index = -1;     // -1: no normalization
  std::vector<T> re, im, mag;  // [frames x bins]
  std::vector<T> mel;          // [frames x mels] (before the offset)
  std::vector<T> out;          // [frames x coeffs]
  std::vector<T> logmel;       // [frames x mels]
};

template <typename T>
Status run_forward(const T* x, int64_t n, const MfccConfig& c, const Plan<T>& p, Trace<T>& tr) {
  if (c.normalize_by_max) {
    int64_t j = 0;
    for (int64_t i = 1; i < n; ++i)
      if (x[i] > x[j]) j = i;
    if (!(x[j] > T(0)))
      return invalid_argument("mfcc: normalize_by_max needs a positive maximum sample (the clip is silent or "
                              "all negative); MLPerf's x / max(x) is undefined there");
    tr.peak = x[j];
    tr.peak_index = j;
  }
  const T inv_peak = T(1) / tr.peak;
  tr.re.assign(size_t(p.frames) * p.bins, T(0));
  tr.im.assign(tr.re.size(), T(0));
  tr.mag.assign(tr.re.size(), T(0));
  tr.mel.assign(size_t(p.frames) * p.mels, T(0));
  tr.logmel.assign(tr.mel.size(), T(0));
  tr.out.assign(size_t(p.frames) * p.coeffs, T(0));
  std::vector<T> u(p.len);
  for (int t = 0; t < p.frames; ++t) {
    const T* frame = x + int64_t(t) * p.step;  // strided copy of one frame
    for (int i = 0; i < p.len; ++i) u[i] = p.window[i] * (frame[i] * inv_peak);
    T* re = &tr.re[size_t(t) * p.bins];
    T* im = &tr.im[size_t(t) * p.bins];
    T* mag = &tr.mag[size_t(t) * p.bins];
    for (int k = 0; k < p.bins; ++k) {
      const T* cr = &p.cosm[size_t(k) * p.len];
      const T* sr = &p.sinm[size_t(k) * p.len];
      T a = T(0), b = T(0);
      for (int i = 0; i < p.len; ++i) {
        a += cr[i] * u[i];
        b += sr[i] * u[i];
      }
      re[k] = a;
      im[k] = b;
      mag[k] = std::sqrt(a * a + b * b);
    }
    T* mel = &tr.mel[size_t(t) * p.mels];
    T* lg = &tr.logmel[size_t(t) * p.mels];
    matvec(p.melw.data(), p.mels, p.bins, mag, mel);
    for (int m = 0; m < p.mels; ++m) lg[m] = std::log(mel[m] + T(c.log_offset));
    matvec(p.dct.data(), p.coeffs, p.mels, lg, &tr.out[size_t(t) * p.coeffs]);
  }
  return Status();
}

}  // namespace

int mfcc_num_frames(const MfccConfig& c) {
  if (c.frame_step <= 0 || c.frame_length > c.clip_samples) return 0;
  return 1 + (c.clip_samples - c.frame_length) / c.frame_step;
}

template <typename T>
Status mfcc_forward__ref(const T* samples, int64_t n, const MfccConfig& cfg, std::vector<T>& out,
                         std::vector<T>* log_mel_out) {
  SLING_RETURN_IF_ERROR(validate(n, cfg));
  const Plan<T> plan(cfg);
  Trace<T> tr;
  SLING_RETURN_IF_ERROR(run_forward(samples, n, cfg, plan, tr));
  out = std::move(tr.out);
  if (log_mel_out) *log_mel_out = std::move(tr.logmel);
  return Status();
}

template <typename T>
Status mfcc_backward__ref(const T* samples, int64_t n, const T* grad_mfcc, const MfccConfig& cfg,
                          std::vector<T>& grad_samples) {
  SLING_RETURN_IF_ERROR(validate(n, cfg));
  const Plan<T> p(cfg);
  Trace<T> tr;
  SLING_RETURN_IF_ERROR(run_forward(samples, n, cfg, p, tr));
  std::vector<T> gy(size_t(n), T(0));  // gradient w.r.t. the normalized clip
  std::vector<T> glg(p.mels), gmag(p.bins), gu(p.len);
  for (int t = 0; t < p.frames; ++t) {
    const T* g = grad_mfcc + size_t(t) * p.coeffs;
    // DCT^T, then d log(mel + eps) = 1 / (mel + eps).
    for (int m = 0; m < p.mels; ++m) {
      T s = T(0);
      for (int q = 0; q < p.coeffs; ++q) s += p.dct[size_t(q) * p.mels + m] * g[q];
      glg[m] = s / (tr.mel[size_t(t) * p.mels + m] + T(cfg.log_offset));
    }
    // Mel^T.
    std::fill(gmag.begin(), gmag.end(), T(0));
    for (int m = 0; m < p.mels; ++m) {
      const T* w = &p.melw[size_t(m) * p.bins];
      for (int k = 0; k < p.bins; ++k) gmag[k] += w[k] * glg[m];
    }
    // |X| -> (re, im): re / |X|, im / |X|; a zero bin has no defined direction, take 0.
    std::fill(gu.begin(), gu.end(), T(0));
    for (int k = 0; k < p.bins; ++k) {
      const T mag = tr.mag[size_t(t) * p.bins + k];
      if (!(mag > T(0))) continue;
      const T gre = gmag[k] * tr.re[size_t(t) * p.bins + k] / mag;
      const T gim = gmag[k] * tr.im[size_t(t) * p.bins + k] / mag;
      const T* cr = &p.cosm[size_t(k) * p.len];
      const T* sr = &p.sinm[size_t(k) * p.len];
      for (int i = 0; i < p.len; ++i) gu[i] += cr[i] * gre + sr[i] * gim;
    }
    // Window, then scatter-add back to the overlapping frame positions.
    T* dst = gy.data() + int64_t(t) * p.step;
    for (int i = 0; i < p.len; ++i) dst[i] += p.window[i] * gu[i];
  }
  grad_samples.assign(size_t(n), T(0));
  const T inv_peak = T(1) / tr.peak;
  T dpeak = T(0);  // d/d peak of y_i = x_i / peak is -y_i / peak
  for (int64_t i = 0; i < n; ++i) {
    grad_samples[i] = gy[i] * inv_peak;
    dpeak -= gy[i] * samples[i] * inv_peak * inv_peak;
  }
  if (tr.peak_index >= 0) grad_samples[tr.peak_index] += dpeak;
  return Status();
}

template Status mfcc_forward__ref<float>(const float*, int64_t, const MfccConfig&, std::vector<float>&,
                                         std::vector<float>*);
template Status mfcc_forward__ref<double>(const double*, int64_t, const MfccConfig&, std::vector<double>&,
                                          std::vector<double>*);
template Status mfcc_backward__ref<float>(const float*, int64_t, const float*, const MfccConfig&,
                                          std::vector<float>&);
template Status mfcc_backward__ref<double>(const double*, int64_t, const double*, const MfccConfig&,
                                           std::vector<double>&);

Result<Tensor> mfcc(const float* samples, int64_t n, const MfccConfig& cfg) {
  std::vector<float> out;
  SLING_RETURN_IF_ERROR(mfcc_forward__ref<float>(samples, n, cfg, out));
  return Tensor(Shape{mfcc_num_frames(cfg), cfg.num_coefficients}, std::move(out));
}

Result<Tensor> log_mel_spectrogram(const float* samples, int64_t n, const MfccConfig& cfg) {
  std::vector<float> out, lg;
  SLING_RETURN_IF_ERROR(mfcc_forward__ref<float>(samples, n, cfg, out, &lg));
  return Tensor(Shape{mfcc_num_frames(cfg), cfg.num_mel_bins}, std::move(lg));
}

Result<Tensor> mfcc_backward(const float* samples, int64_t n, const Tensor& grad_mfcc, const MfccConfig& cfg) {
  SLING_RETURN_IF_ERROR(validate(n, cfg));
  const Shape want{mfcc_num_frames(cfg), cfg.num_coefficients};
  if (grad_mfcc.shape() != want)
    return invalid_argument("mfcc_backward: grad_mfcc must have shape [" + std::to_string(want[0]) + ", " +
                            std::to_string(want[1]) + "], got rank " + std::to_string(grad_mfcc.rank()) +
                            " with " + std::to_string(grad_mfcc.numel()) + " elements");
  std::vector<float> g;
  SLING_RETURN_IF_ERROR(mfcc_backward__ref<float>(samples, n, grad_mfcc.data(), cfg, g));
  return Tensor(Shape{n}, std::move(g));
}

}  // namespace slingshot

// The MLPerf Tiny keyword-spotting MFCC front end (benchmark/training/keyword_spotting/
// get_dataset.py, feature_type "mfcc"), written as explicit matrix products so that
// gradients flow back to the waveform (mfcc_backward).
//
// Definition (TensorFlow ops the MLPerf code calls, reproduced here):
//   x      = samples / max(samples)                    (signed max, as tf.reduce_max)
//   frames = 49 frames of 480 samples, stride 320, no end padding (tf.signal.stft)
//   X_t    = rfft_512(periodic_hann_480 * frame_t)    (frame zero-padded to 512)
//   mel    = |X_t| . W   (W: tf.signal.linear_to_mel_weight_matrix, HTK mel, DC bin zero)
//   out    = DCT-II(log(mel + 1e-6)) * rsqrt(2 * 40), first 10 coefficients
#pragma once

#include <cstdint>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"

namespace slingshot {

struct MfccConfig {
  int sample_rate = 16000;        // Hz; the clip must hold exactly clip_samples samples
  int clip_samples = 16000;       // 1 s clips (MLPerf pads shorter clips with zeros first)
  int frame_length = 480;         // samples per frame (30 ms window_size_ms)
  int frame_step = 320;           // samples between frame starts (20 ms window_stride_ms)
  int fft_length = 512;           // DFT size: smallest power of two >= frame_length (stft default)
  int num_mel_bins = 40;          // triangular mel filters
  double lower_edge_hz = 20.0;    // lowest mel filter edge
  double upper_edge_hz = 4000.0;  // highest mel filter edge (<= sample_rate / 2)
  double log_offset = 1e-6;       // added to the mel energies before the natural log
  int num_coefficients = 10;      // DCT coefficients kept (dct_coefficient_count)
  bool normalize_by_max = true;   // divide the clip by its (signed) maximum, as MLPerf does
};

// Frames the config yields: 1 + (clip_samples - frame_length) / frame_step (49 by default).
int mfcc_num_frames(const MfccConfig& cfg);

// [frames, num_coefficients] MFCCs of a clip of exactly cfg.clip_samples samples.
Result<Tensor> mfcc(const float* samples, int64_t n, const MfccConfig& cfg = {});
// [frames, num_mel_bins] log(mel + log_offset), the stage before the DCT.
Result<Tensor> log_mel_spectrogram(const float* samples, int64_t n, const MfccConfig& cfg = {});
// dL/dsamples ([n]) from dL/dmfcc ([frames, num_coefficients]) at `samples`.
Result<Tensor> mfcc_backward(const float* samples, int64_t n, const Tensor& grad_mfcc,
                             const MfccConfig& cfg = {});

// The same computations in T (float or double; double serves the gradient checks).
// Outputs are row-major [frames, coeffs] / [frames, mels] / [n].
template <typename T>
Status mfcc_forward__ref(const T* samples, int64_t n, const MfccConfig& cfg, std::vector<T>& out,
                         std::vector<T>* log_mel_out = nullptr);
template <typename T>
Status mfcc_backward__ref(const T* samples, int64_t n, const T* grad_mfcc, const MfccConfig& cfg,
                          std::vector<T>& grad_samples);

}  // namespace slingshot

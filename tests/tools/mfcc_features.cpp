// Test tool: writes our MLPerf MFCC features of WAV files as one float32 .npy
// [files, 49, 10], read the way the CLI reads a WAV input (channels mixed down, padded
// or cut to 1 s at 16 kHz), for the independent NumPy oracle (tests/tools/mlperf_mfcc_oracle.py).
#include <cstdio>
#include <string>
#include <vector>

#include "data/mfcc.h"
#include "data/npy.h"
#include "data/wav.h"

using namespace slingshot;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: mfcc_features OUT.npy IN.wav [IN.wav ...]\n");
    return 2;
  }
  const MfccConfig cfg;
  const int frames = mfcc_num_frames(cfg);
  std::vector<float> all;
  for (int i = 2; i < argc; ++i) {
    std::vector<float> samples;
    Status st = append_wav_clip(argv[i], cfg.sample_rate, cfg.clip_samples, samples);
    Result<Tensor> m = st.ok() ? mfcc(samples.data(), static_cast<int64_t>(samples.size()), cfg) : Result<Tensor>(st);
    if (!m.ok()) {
      std::fprintf(stderr, "mfcc_features: %s: %s\n", argv[i], m.status().message().c_str());
      return 1;
    }
    all.insert(all.end(), m->data(), m->data() + m->numel());
  }
  const Tensor out({argc - 2, frames, cfg.num_coefficients}, std::move(all));
  const Status st = save_npy(out, argv[1]);
  if (!st.ok()) {
    std::fprintf(stderr, "mfcc_features: %s\n", st.message().c_str());
    return 1;
  }
  return 0;
}

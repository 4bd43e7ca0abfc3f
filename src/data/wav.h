// WAV files (RIFF/WAVE, mono PCM 8/16-bit or 32-bit float) and Speech Commands-style
// WAV folders: root/<class>/<clip>.wav.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "data/dataset.h"

namespace slingshot {

// Largest WAV file read from disk.
constexpr int64_t kMaxWavFileBytes = int64_t{64} << 20;

struct Waveform {
  std::vector<float> samples;  // mono samples in [-1, 1]
  int sample_rate = 0;         // samples per second
};

// Decodes a RIFF/WAVE file held in memory. Accepted encodings, mono only: PCM 16-bit
// (s / 32768), PCM 8-bit unsigned ((b - 128) / 128) and IEEE float 32-bit (clamped to
// [-1, 1]; NaN or infinity is an error). WAVE_FORMAT_EXTENSIBLE is read by its sub-format.
// Unknown chunks are skipped (with their pad byte when the size is odd); a chunk running
// past the end of the file, a missing fmt or data chunk, or data before fmt is an error.
Result<Waveform> decode_wav(std::string_view bytes);
// Reads (at most kMaxWavFileBytes) and decodes a WAV file.
Result<Waveform> load_wav(const std::string& path);

// Loads root/<class>/*.wav (class names = sorted subfolder names, files sorted; hidden
// entries ignored) as inputs [N, samples_per_clip]. Every clip must have `sample_rate`.
// Clips shorter than samples_per_clip are zero-padded at the end; longer clips are
// truncated to their first samples_per_clip samples.
Result<Dataset> load_wav_folder(const std::string& root, int sample_rate, int samples_per_clip);

}  // namespace slingshot

// WAV files (RIFF/WAVE, PCM 8/16-bit or 32-bit float, any channel count mixed down to
// mono) and Speech Commands-style WAV folders: root/<class>/<clip>.wav.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "data/dataset.h"

namespace slingshot {

// Largest WAV file read from disk.
constexpr int64_t kMaxWavFileBytes = int64_t{64} << 20;
// Longest clip the WAV loaders accept (about 10 minutes at 16 kHz).
constexpr int kMaxSamplesPerClip = 10'000'000;

// Most channels a WAV file may interleave.
constexpr int kMaxWavChannels = 16;

struct Waveform {
  std::vector<float> samples;  // mono samples in [-1, 1] (the mean of the file's channels)
  int sample_rate = 0;         // samples per second
  int channels = 1;            // channels in the file, before the mix-down
};

// What decode_wav does with a file of more than one channel.
enum class WavChannels {
  kMixDown,   // average the channels of each frame: (l + r) / 2 for stereo (the model-input path)
  kMonoOnly,  // refuse it, naming the channel count (for callers that must not alter the signal)
};

// Decodes a RIFF/WAVE file held in memory. Accepted encodings: PCM 16-bit (s / 32768),
// PCM 8-bit unsigned ((b - 128) / 128) and IEEE float 32-bit (clamped to [-1, 1]; NaN or
// infinity is an error), with 1..kMaxWavChannels interleaved channels; several channels are
// mixed down to their per-frame mean, or refused under WavChannels::kMonoOnly.
// WAVE_FORMAT_EXTENSIBLE is read by its sub-format. Unknown chunks are skipped (with their
// pad byte when the size is odd); a chunk running past the end of the file, a missing fmt or
// data chunk, data before fmt, or a data chunk that is not a whole number of frames is an error.
Result<Waveform> decode_wav(std::string_view bytes, WavChannels channels = WavChannels::kMixDown);
// Encodes mono 16-bit PCM: round(x * 32768) clamped to [-32768, 32767], the inverse of
// decode_wav on the 16-bit grid (so a decoded 16-bit clip re-encodes to the same bytes).
std::string encode_wav_pcm16(const float* samples, int64_t n, int sample_rate);
// Writes encode_wav_pcm16 atomically.
Status save_wav(const std::string& path, const float* samples, int64_t n, int sample_rate);
// Reads (at most kMaxWavFileBytes) and decodes a WAV file.
Result<Waveform> load_wav(const std::string& path, WavChannels channels = WavChannels::kMixDown);

// Loads root/<class>/*.wav (class names = sorted subfolder names, files sorted; hidden
// entries ignored) as inputs [N, samples_per_clip]. Every clip must have `sample_rate`.
// Clips shorter than samples_per_clip are zero-padded at the end; longer clips are
// truncated to their first samples_per_clip samples.
Result<Dataset> load_wav_folder(const std::string& root, int sample_rate, int samples_per_clip);

// Loads one clip that must have `sample_rate` and appends exactly samples_per_clip
// samples (zero-padded or cut) to `samples`.
Status append_wav_clip(const std::string& path, int sample_rate, int samples_per_clip, std::vector<float>& samples);


}  // namespace slingshot

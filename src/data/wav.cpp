// WAV decoding by bounds-checked chunk walking, and the WAV-folder dataset loader.
#include "data/wav.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "core/file_io.h"
#include "data/image_folder.h"

namespace slingshot {
namespace {

constexpr uint16_t kFormatPcm = 1;
constexpr uint16_t kFormatFloat = 3;
constexpr uint16_t kFormatExtensible = 0xFFFE;

uint16_t u16le(const unsigned char* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t u32le(const unsigned char* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) | (static_cast<uint32_t>(p[2]) << 16) |
         (static_cast<uint32_t>(p[3]) << 24);
}

struct WavFormat {
  uint16_t tag = 0;
  int channels = 0;
  int sample_rate = 0;
  int bits = 0;
};

Result<WavFormat> parse_fmt(const unsigned char* p, size_t size) {
  if (size < 16) return invalid_argument("WAV fmt chunk is " + std::to_string(size) + " bytes, expected at least 16");
  WavFormat f;
  f.tag = u16le(p);
  f.channels = u16le(p + 2);
  const uint32_t rate = u32le(p + 4);
  f.bits = u16le(p + 14);
  if (f.tag == kFormatExtensible) {
    if (size < 40) return invalid_argument("WAV extensible fmt chunk is " + std::to_string(size) + " bytes, expected 40");
    f.tag = u16le(p + 24);  // the sub-format GUID starts with the format tag
  }
  if (rate == 0 || rate > 1'000'000) return invalid_argument("WAV sample rate " + std::to_string(rate) + " is out of range");
  f.sample_rate = static_cast<int>(rate);
  const bool ok = f.channels >= 1 && f.channels <= kMaxWavChannels &&
                  ((f.tag == kFormatPcm && (f.bits == 8 || f.bits == 16)) || (f.tag == kFormatFloat && f.bits == 32));
  if (!ok)
    return unimplemented("unsupported WAV encoding: format tag " + std::to_string(f.tag) + ", " +
                         std::to_string(f.bits) + " bits, " + std::to_string(f.channels) +
                         " channels (supported: PCM 8/16-bit and IEEE float 32-bit, 1.." +
                         std::to_string(kMaxWavChannels) + " channels)");
  return f;
}

}  // namespace

Result<Waveform> decode_wav(std::string_view bytes, WavChannels channels) {
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t n = bytes.size();
  if (n < 12 || std::memcmp(data, "RIFF", 4) != 0 || std::memcmp(data + 8, "WAVE", 4) != 0)
    return invalid_argument("not a WAV file (missing the RIFF/WAVE header)");
  // The RIFF size field is often wrong in the wild; the chunks are walked to the real end.
  size_t pos = 12;
  bool have_fmt = false;
  WavFormat fmt;
  while (true) {
    if (pos >= n) break;
    if (n - pos < 8) return data_loss("WAV chunk header at byte " + std::to_string(pos) + " is truncated");
    const std::string id(reinterpret_cast<const char*>(data + pos), 4);
    const size_t size = u32le(data + pos + 4);
    const size_t body = pos + 8;
    if (size > n - body)
      return data_loss("WAV chunk '" + id + "' at byte " + std::to_string(pos) + " is truncated: it claims " +
                       std::to_string(size) + " bytes, " + std::to_string(n - body) + " remain");
    if (id == "fmt ") {
      if (have_fmt) return invalid_argument("WAV file has two fmt chunks");
      SLING_ASSIGN_OR_RETURN(fmt, parse_fmt(data + body, size));
      have_fmt = true;
    } else if (id == "data") {
      if (!have_fmt) return invalid_argument("WAV data chunk comes before the fmt chunk");
      if (fmt.channels != 1 && channels == WavChannels::kMonoOnly)
        return invalid_argument("WAV file has " + std::to_string(fmt.channels) +
                                " channels, but this needs a mono (1-channel) file");
      const size_t width = static_cast<size_t>(fmt.bits / 8);
      const size_t frame_bytes = width * static_cast<size_t>(fmt.channels);
      if (size % frame_bytes != 0)
        return data_loss("WAV data chunk is " + std::to_string(size) + " bytes, not a multiple of the " +
                         std::to_string(frame_bytes) + "-byte frame (" + std::to_string(fmt.channels) + " x " +
                         std::to_string(width) + "-byte samples; truncated sample)");
      const unsigned char* s = data + body;
      auto sample = [&](size_t i) -> Result<float> {
        if (fmt.bits == 8) return (static_cast<float>(s[i]) - 128.0f) / 128.0f;
        if (fmt.bits == 16) return static_cast<float>(static_cast<int16_t>(u16le(s + 2 * i))) / 32768.0f;
        const uint32_t u = u32le(s + 4 * i);
        float v;
        std::memcpy(&v, &u, 4);
        if (!std::isfinite(v)) return invalid_argument("WAV float sample " + std::to_string(i) + " is not finite");
        return std::clamp(v, -1.0f, 1.0f);
      };
      Waveform w;
      w.sample_rate = fmt.sample_rate;
      w.channels = fmt.channels;
      w.samples.resize(size / frame_bytes);
      const size_t c = static_cast<size_t>(fmt.channels);
      for (size_t i = 0; i < w.samples.size(); ++i) {
        // The mix-down is the channel mean (summed in double, so a mono file stays exact).
        double sum = 0;
        for (size_t k = 0; k < c; ++k) {
          SLING_ASSIGN_OR_RETURN(float v, sample(i * c + k));
          sum += v;
        }
        w.samples[i] = static_cast<float>(sum / static_cast<double>(c));
      }
      return w;
    }
    // Chunks are word-aligned: an odd-sized chunk is followed by a pad byte (which some
    // writers omit at the very end of the file).
    pos = body + size + (size & 1);
  }
  return invalid_argument(have_fmt ? "WAV file has no data chunk" : "WAV file has no fmt chunk");
}

std::string encode_wav_pcm16(const float* samples, int64_t n, int sample_rate) {
  auto put16 = [](std::string& o, uint32_t v) {
    o.push_back(static_cast<char>(v & 0xFF));
    o.push_back(static_cast<char>((v >> 8) & 0xFF));
  };
  auto put32 = [&](std::string& o, uint32_t v) {
    put16(o, v & 0xFFFF);
    put16(o, v >> 16);
  };
  const uint32_t data_bytes = static_cast<uint32_t>(n * 2);
  std::string o = "RIFF";
  put32(o, 36 + data_bytes);
  o += "WAVEfmt ";
  put32(o, 16);
  put16(o, kFormatPcm);
  put16(o, 1);  // mono
  put32(o, static_cast<uint32_t>(sample_rate));
  put32(o, static_cast<uint32_t>(sample_rate) * 2);
  put16(o, 2);   // block align
  put16(o, 16);  // bits per sample
  o += "data";
  put32(o, data_bytes);
  for (int64_t i = 0; i < n; ++i) {
    const float x = std::isfinite(samples[i]) ? samples[i] : 0.0f;
    const long v = std::lround(std::clamp(static_cast<double>(x) * 32768.0, -32768.0, 32767.0));
    put16(o, static_cast<uint32_t>(static_cast<uint16_t>(static_cast<int16_t>(v))));
  }
  return o;
}

Status save_wav(const std::string& path, const float* samples, int64_t n, int sample_rate) {
  if (sample_rate <= 0) return invalid_argument("WAV sample rate must be positive");
  if (n < 0 || n > kMaxSamplesPerClip) return invalid_argument("WAV clip length out of range");
  return write_file_atomic(path, encode_wav_pcm16(samples, n, sample_rate));
}

Result<Waveform> load_wav(const std::string& path, WavChannels channels) {
  SLING_ASSIGN_OR_RETURN(std::string bytes, read_file(path, kMaxWavFileBytes));
  Result<Waveform> w = decode_wav(bytes, channels);
  if (!w.ok()) return w.status().with_context("WAV '" + path + "'");
  return w;
}

Status append_wav_clip(const std::string& path, int sample_rate, int samples_per_clip, std::vector<float>& samples) {
  SLING_ASSIGN_OR_RETURN(Waveform w, load_wav(path));
  if (w.sample_rate != sample_rate)
    return invalid_argument("WAV '" + path + "' has sample rate " + std::to_string(w.sample_rate) + " Hz, expected " +
                            std::to_string(sample_rate) + " Hz");
  const size_t keep = std::min(w.samples.size(), static_cast<size_t>(samples_per_clip));
  samples.insert(samples.end(), w.samples.begin(), w.samples.begin() + static_cast<std::ptrdiff_t>(keep));
  samples.resize(samples.size() + (samples_per_clip - keep), 0.0f);
  return Status::Ok();
}

Result<Dataset> load_wav_folder(const std::string& root, int sample_rate, int samples_per_clip) {
  if (sample_rate <= 0) return invalid_argument("WAV folder: sample_rate must be positive, got " + std::to_string(sample_rate));
  if (samples_per_clip <= 0 || samples_per_clip > kMaxSamplesPerClip)
    return invalid_argument("WAV folder: samples_per_clip must be in 1.." + std::to_string(kMaxSamplesPerClip) +
                            ", got " + std::to_string(samples_per_clip));
  SLING_ASSIGN_OR_RETURN(ClassFolderListing listing, list_class_folders(root, {"wav"}, "WAV files"));
  Dataset ds;
  ds.class_names = listing.class_names;
  std::vector<float> samples;
  for (size_t label = 0; label < listing.files.size(); ++label) {
    for (const std::string& path : listing.files[label]) {
      SLING_RETURN_IF_ERROR(append_wav_clip(path, sample_rate, samples_per_clip, samples));
      ds.labels.push_back(static_cast<int>(label));
    }
  }
  ds.inputs = Tensor({ds.size(), samples_per_clip}, std::move(samples));
  return ds;
}

}  // namespace slingshot

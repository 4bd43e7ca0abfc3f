// The `keywords` generator: plans every clip from a seeded Rng, synthesizes the words with
// libespeak-ng in a forked helper process, resamples them to 16 kHz and augments them.
//
// Why a forked helper: espeak-ng keeps hidden synthesis state between utterances (its
// pitch-flutter phase is a function-local static, and it draws noise from libc rand()),
// so the same request gives different samples depending on what was spoken before in
// the process. A fresh process per dataset call, speaking the planned utterances in
// index order, makes every clip a pure function of (split, seed, index, options). The
// helper also keeps espeak-ng's global, thread-unsafe state out of the caller.
#include "data/keywords.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <complex>
#include <cstdlib>
#include <cstring>
#include <numeric>

#include <espeak-ng/espeak_ng.h>
#include <espeak-ng/speak_lib.h>

#include "core/rng.h"
#include "core/thread_pool.h"
#include "data/mfcc.h"
#include "data/speech_commands.h"

namespace slingshot {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr int kNumKeywords = 10;
constexpr int kSilenceLabel = 10;
constexpr int kUnknownLabel = 11;
constexpr int kBabblePhrases = 16;  // pool of background-speech phrases per call
constexpr int kTestSpeakerModulus = 5;  // 1 in 5 speaker combinations is held out for test

const std::vector<std::string> kDefaultVoices = {"en",         "en-us",          "en-gb-scotland", "en-gb-x-gbclan",
                                                 "en-gb-x-rp", "en-gb-x-gbcwmd", "en-029",         "en-us-nyc"};
const std::vector<std::string> kMaleVariants = {"m1", "m2",    "m3",     "m4",      "m5",    "m6",
                                                "m7", "croak", "klatt", "klatt3", "whisper", "grandpa"};
const std::vector<std::string> kFemaleVariants = {"f1",     "f2",    "f3",   "f4",      "f5",    "whisperf",
                                                  "Andrea", "Annie", "aunty", "belinda", "linda", "steph"};
// (espeak base pitch, pitch range) presets, 0..100 each, 50 = the variant's normal.
constexpr int kPitchPresets[][2] = {{30, 25}, {30, 60}, {50, 25}, {50, 60}, {70, 25}, {70, 60}};

// Everyday words for the background babble; never a keyword, so a babble clip's label stays true.
const std::vector<std::string> kBabbleWords = {"the",    "and",    "then",    "maybe",   "there",  "what",    "okay",
                                               "people", "time",   "water",   "morning", "really", "because", "something",
                                               "coffee", "window", "monday",  "picture", "later",  "number"};

struct Speaker {
  std::string voice;  // espeak-ng voice name with variant, e.g. "en-us+f3"
  int pitch = 50;     // espeak base pitch
  int range = 50;     // espeak pitch range
  bool female = false;  // a female variant (documentation; the split hash ignores it)
  std::string name() const {
    return voice + "/p" + std::to_string(pitch) + "r" + std::to_string(range);
  }
};

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

// Seed of an independent stream for (seed, split, index, purpose).
uint64_t stream_seed(uint64_t seed, DatasetSplit split, uint64_t index, uint64_t purpose) {
  Rng r(seed ^ (split == DatasetSplit::kTest ? 0x7e57000000000000ull : 0x7a1400000000000ull));
  uint64_t s = r.next_u64() ^ (index * 0x9E3779B97F4A7C15ull);
  Rng r2(s + purpose * 0xD1B54A32D192ED03ull);
  return r2.next_u64();
}

std::vector<Speaker> split_speakers(DatasetSplit split, const KeywordsOptions& opt) {
  const std::vector<std::string>& voices = opt.voices.empty() ? kDefaultVoices : opt.voices;
  std::vector<Speaker> out;
  for (const std::string& v : voices)
    for (int g = 0; g < 2; ++g)
      for (const std::string& variant : g ? kFemaleVariants : kMaleVariants)
        for (const auto& pr : kPitchPresets) {
          Speaker s{v + "+" + variant, pr[0], pr[1], g == 1};
          const bool test = fnv1a(s.name()) % kTestSpeakerModulus == 0;
          if (test == (split == DatasetSplit::kTest)) out.push_back(std::move(s));
        }
  return out;
}

// One espeak-ng request.
struct Utterance {
  std::string voice;  // voice+variant name
  std::string text;   // what to say
  int rate = 175;     // words per minute
  int pitch = 50;     // base pitch 0..100
  int range = 50;     // pitch range 0..100
  int word_gap = 0;   // extra pause between words, 10 ms units
};

// ---- the helper process ------------------------------------------------------------

enum RecordKind : int32_t { kAudio = 0, kError = 1, kSampleRate = 2 };

// Moves n bytes with ::read or ::write, across EINTR and short transfers.
template <typename Op, typename Byte>
bool transfer_all(Op op, int fd, Byte* p, size_t n) {
  while (n > 0) {
    const ssize_t r = op(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}
bool write_all(int fd, const void* data, size_t n) {
  return transfer_all(::write, fd, static_cast<const char*>(data), n);
}
bool read_all(int fd, void* data, size_t n) { return transfer_all(::read, fd, static_cast<char*>(data), n); }

void send_record(int fd, int32_t kind, int32_t n, const void* payload, size_t bytes) {
  const int32_t head[2] = {kind, n};
  if (!write_all(fd, head, sizeof(head)) || (bytes && !write_all(fd, payload, bytes))) _exit(3);
}

[[noreturn]] void child_fail(int fd, const std::string& message) {
  send_record(fd, kError, static_cast<int32_t>(message.size()), message.data(), message.size());
  _exit(1);
}

std::vector<int16_t>* g_child_samples = nullptr;  // the helper's synthesis sink

int collect_samples(short* wav, int n, espeak_EVENT*) {
  if (wav && n > 0) g_child_samples->insert(g_child_samples->end(), wav, wav + n);
  return 0;
}

std::string espeak_message(espeak_ng_STATUS st) {
  char buf[256] = {0};
  espeak_ng_GetStatusCodeMessage(st, buf, sizeof(buf) - 1);
  return buf;
}

[[noreturn]] void espeak_child_main(int fd, const std::vector<Utterance>& reqs, const std::string& data_path) {
  srand(1);  // espeak-ng's noise comes from rand(): start every helper at the same state
  espeak_ng_InitializePath(data_path.empty() ? nullptr : data_path.c_str());
  espeak_ng_ERROR_CONTEXT ctx = nullptr;
  espeak_ng_STATUS st = espeak_ng_Initialize(&ctx);
  const std::string where = data_path.empty() ? "the default data folder" : "data path '" + data_path + "'";
  if (st != ENS_OK) child_fail(fd, "espeak-ng failed to initialize from " + where + ": " + espeak_message(st));
  st = espeak_ng_InitializeOutput(ENOUTPUT_MODE_SYNCHRONOUS, 0, nullptr);
  if (st != ENS_OK) child_fail(fd, "espeak-ng output setup failed: " + espeak_message(st));
  send_record(fd, kSampleRate, espeak_ng_GetSampleRate(), nullptr, 0);
  std::vector<int16_t> samples;
  g_child_samples = &samples;
  espeak_SetSynthCallback(collect_samples);
  for (const Utterance& u : reqs) {
    if (espeak_SetVoiceByName(u.voice.c_str()) != EE_OK) child_fail(fd, "espeak-ng has no voice '" + u.voice + "'");
    espeak_SetParameter(espeakRATE, u.rate, 0);
    espeak_SetParameter(espeakPITCH, u.pitch, 0);
    espeak_SetParameter(espeakRANGE, u.range, 0);
    espeak_SetParameter(espeakVOLUME, 100, 0);
    espeak_SetParameter(espeakWORDGAP, u.word_gap, 0);
    samples.clear();
    if (espeak_Synth(u.text.c_str(), u.text.size() + 1, 0, POS_CHARACTER, 0, espeakCHARS_AUTO, nullptr, nullptr) !=
            EE_OK ||
        espeak_Synchronize() != EE_OK)
      child_fail(fd, "espeak-ng failed to synthesize '" + u.text + "' with voice '" + u.voice + "'");
    send_record(fd, kAudio, static_cast<int32_t>(samples.size()), samples.data(), samples.size() * sizeof(int16_t));
  }
  _exit(0);
}

// The parent's end of one helper process: it answers the planned utterances in order.
class EspeakHelper {
 public:
  EspeakHelper() = default;
  EspeakHelper(const EspeakHelper&) = delete;
  EspeakHelper& operator=(const EspeakHelper&) = delete;
  ~EspeakHelper() { stop(); }

  Status start(const std::vector<Utterance>& reqs, const std::string& data_path) {
    int fds[2];
    if (::pipe(fds) != 0) return io_error("keywords: cannot create a pipe for the espeak-ng helper");
    const pid_t pid = ::fork();
    if (pid < 0) {
      ::close(fds[0]);
      ::close(fds[1]);
      return io_error("keywords: cannot fork the espeak-ng helper process");
    }
    if (pid == 0) {
      ::close(fds[0]);
      espeak_child_main(fds[1], reqs, data_path);
    }
    ::close(fds[1]);
    fd_ = fds[0];
    pid_ = pid;
    SLING_RETURN_IF_ERROR(read_record(kSampleRate).status());
    sample_rate_ = last_n_;  // the rate travels in the record header
    if (sample_rate_ < 8000 || sample_rate_ > 96000)
      return internal_error("keywords: espeak-ng reports a sample rate of " + std::to_string(sample_rate_));
    return Status::Ok();
  }
  int sample_rate() const { return sample_rate_; }
  Result<std::vector<int16_t>> next() { return read_record(kAudio); }
  // Waits for the helper; an error if it did not end cleanly.
  Status finish() {
    ::close(fd_);
    fd_ = -1;
    int status = 0;
    const pid_t pid = pid_;
    pid_ = -1;
    if (::waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
      return internal_error("keywords: the espeak-ng helper process did not exit cleanly");
    return Status::Ok();
  }

 private:
  Result<std::vector<int16_t>> read_record(int32_t want) {
    int32_t head[2];
    if (!read_all(fd_, head, sizeof(head)))
      return internal_error("keywords: the espeak-ng helper process ended unexpectedly (crashed or exited)");
    last_n_ = head[1];
    if (head[0] == kError) {
      std::string msg(static_cast<size_t>(std::clamp(head[1], 0, 4096)), '\0');
      if (!read_all(fd_, msg.data(), msg.size())) msg = "espeak-ng helper error";
      return internal_error("keywords: " + msg);
    }
    if (head[0] != want || head[1] < 0 || head[1] > 50'000'000)
      return internal_error("keywords: malformed message from the espeak-ng helper");
    std::vector<int16_t> samples;
    if (want == kAudio) {
      samples.resize(static_cast<size_t>(head[1]));
      if (!read_all(fd_, samples.data(), samples.size() * sizeof(int16_t)))
        return internal_error("keywords: the espeak-ng helper process ended mid-utterance");
    }
    return samples;
  }
  void stop() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
    pid_ = -1;
  }

  int fd_ = -1;
  pid_t pid_ = -1;
  int sample_rate_ = 0;
  int32_t last_n_ = 0;
};

// ---- signal processing --------------------------------------------------------------

using cd = std::complex<double>;

// In-place iterative radix-2 FFT; a.size() must be a power of two. The inverse is scaled by 1/n.
void fft(std::vector<cd>& a, bool inverse) {
  const size_t n = a.size();
  for (size_t i = 1, j = 0; i < n; ++i) {
    size_t bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) std::swap(a[i], a[j]);
  }
  for (size_t len = 2; len <= n; len <<= 1) {
    const double ang = 2.0 * kPi / static_cast<double>(len) * (inverse ? 1.0 : -1.0);
    for (size_t k = 0; k < len / 2; ++k) {
      const cd w(std::cos(ang * static_cast<double>(k)), std::sin(ang * static_cast<double>(k)));
      for (size_t i = 0; i < n; i += len) {
        const cd u = a[i + k], v = a[i + k + len / 2] * w;
        a[i + k] = u + v;
        a[i + k + len / 2] = u - v;
      }
    }
  }
  if (inverse)
    for (cd& x : a) x /= static_cast<double>(n);
}

size_t next_pow2(size_t n) {
  size_t p = 1;
  while (p < n) p <<= 1;
  return p;
}

// Full linear convolution of x and h by FFT.
std::vector<float> convolve(const std::vector<float>& x, const std::vector<float>& h) {
  const size_t out_n = x.size() + h.size() - 1, n = next_pow2(out_n);
  std::vector<cd> a(n), b(n);
  for (size_t i = 0; i < x.size(); ++i) a[i] = x[i];
  for (size_t i = 0; i < h.size(); ++i) b[i] = h[i];
  fft(a, false);
  fft(b, false);
  for (size_t i = 0; i < n; ++i) a[i] *= b[i];
  fft(a, true);
  std::vector<float> y(out_n);
  for (size_t i = 0; i < out_n; ++i) y[i] = static_cast<float>(a[i].real());
  return y;
}

// Rational-ratio resampler (up/down) with a Blackman-windowed sinc low-pass at 46% of the
// lower Nyquist rate, as a polyphase table (one row of taps per output phase).
class Resampler {
 public:
  Resampler(int up, int down) {
    const int g = std::gcd(up, down);
    up_ = up / g;
    down_ = down / g;
    const double scale = std::min(1.0, static_cast<double>(up_) / down_);
    const double cutoff = 0.46 * scale;  // cycles per input sample
    half_ = static_cast<int>(std::ceil(16.0 / scale));
    taps_.resize(static_cast<size_t>(up_) * 2 * half_);
    for (int p = 0; p < up_; ++p)
      for (int k = 0; k < 2 * half_; ++k) {
        const double t = (k - half_ + 1) - static_cast<double>(p) / up_;  // input offset from the output time
        const double x = 2.0 * cutoff * t;
        const double sinc = std::abs(x) < 1e-12 ? 1.0 : std::sin(kPi * x) / (kPi * x);
        const double u = t / half_;
        const double win = std::abs(u) >= 1.0 ? 0.0 : 0.42 + 0.5 * std::cos(kPi * u) + 0.08 * std::cos(2 * kPi * u);
        taps_[static_cast<size_t>(p) * 2 * half_ + k] = static_cast<float>(2.0 * cutoff * sinc * win);
      }
  }
  std::vector<float> run(const std::vector<float>& x) const {
    const int64_t n_in = static_cast<int64_t>(x.size());
    const int64_t n_out = n_in * up_ / down_;
    std::vector<float> y(static_cast<size_t>(n_out));
    for (int64_t j = 0; j < n_out; ++j) {
      const int64_t pos = j * down_;
      const int64_t i0 = pos / up_ - half_ + 1;
      const float* row = &taps_[static_cast<size_t>(pos % up_) * 2 * half_];
      double acc = 0.0;
      for (int k = 0; k < 2 * half_; ++k) {
        const int64_t i = i0 + k;
        if (i >= 0 && i < n_in) acc += static_cast<double>(row[k]) * x[static_cast<size_t>(i)];
      }
      y[static_cast<size_t>(j)] = static_cast<float>(acc);
    }
    return y;
  }

 private:
  int up_ = 1, down_ = 1, half_ = 1;
  std::vector<float> taps_;
};

// Drops leading and trailing stretches quieter than -40 dB of the loudest 10 ms frame
// (keeping 20 ms of margin on each side).
std::vector<float> trim_silence(const std::vector<float>& x, int sample_rate) {
  const int frame = sample_rate / 100;
  const int64_t frames = static_cast<int64_t>(x.size()) / frame;
  if (frames < 1) return x;
  std::vector<double> e(static_cast<size_t>(frames), 0.0);
  for (int64_t f = 0; f < frames; ++f)
    for (int i = 0; i < frame; ++i) e[f] += static_cast<double>(x[f * frame + i]) * x[f * frame + i];
  const double thr = *std::max_element(e.begin(), e.end()) * 1e-4;
  int64_t first = 0, last = frames - 1;
  while (first < frames && e[first] <= thr) ++first;
  while (last > first && e[last] <= thr) --last;
  const int64_t b = std::max<int64_t>(0, (first - 2) * frame);
  const int64_t end = std::min<int64_t>(static_cast<int64_t>(x.size()), (last + 3) * frame);
  if (first >= frames || end <= b) return x;
  return std::vector<float>(x.begin() + b, x.begin() + end);
}

// A second-order low-pass or high-pass section (Q = 1/sqrt 2, bilinear transform).
void biquad(std::vector<float>& x, double cutoff_hz, int sample_rate, bool high_pass) {
  const double w0 = 2.0 * kPi * cutoff_hz / sample_rate, c = std::cos(w0), alpha = std::sin(w0) / std::sqrt(2.0);
  const double a0 = 1.0 + alpha, a1 = -2.0 * c / a0, a2 = (1.0 - alpha) / a0;
  const double b0 = (high_pass ? (1.0 + c) / 2.0 : (1.0 - c) / 2.0) / a0;
  const double b1 = (high_pass ? -(1.0 + c) : (1.0 - c)) / a0, b2 = b0;
  double x1 = 0, x2 = 0, y1 = 0, y2 = 0;
  for (float& v : x) {
    const double y = b0 * v + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2;
    x2 = x1;
    x1 = v;
    y2 = y1;
    y1 = y;
    v = static_cast<float>(y);
  }
}

float peak_abs(const std::vector<float>& x) {
  float p = 0.0f;
  for (float v : x) p = std::max(p, std::abs(v));
  return p;
}

double rms(const float* x, int64_t n) {
  double s = 0.0;
  for (int64_t i = 0; i < n; ++i) s += static_cast<double>(x[i]) * x[i];
  return n > 0 ? std::sqrt(s / static_cast<double>(n)) : 0.0;
}

void normalize_rms(std::vector<float>& x) {
  const double r = rms(x.data(), static_cast<int64_t>(x.size()));
  if (r > 0)
    for (float& v : x) v = static_cast<float>(v / r);
}

float log_uniform(Rng& rng, float lo, float hi) { return lo * std::pow(hi / lo, rng.uniform()); }

// Noise with power spectrum ~ 1/f^alpha above 20 Hz (0 white, 1 pink, 2 brown), unit RMS.
std::vector<float> colored_noise(Rng& rng, int n, int sample_rate, float alpha) {
  const size_t m = next_pow2(static_cast<size_t>(n));
  std::vector<cd> spec(m);
  for (size_t k = 1; k < m / 2; ++k) {
    const double f = std::max(20.0, static_cast<double>(k) * sample_rate / static_cast<double>(m));
    const double mag = std::pow(f, -0.5 * alpha) * (0.5 + rng.uniform());
    spec[k] = std::polar(mag, 2.0 * kPi * rng.uniform());
    spec[m - k] = std::conj(spec[k]);
  }
  fft(spec, true);
  std::vector<float> out(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) out[i] = static_cast<float>(spec[i].real());
  normalize_rms(out);
  return out;
}

// Mains hum: 50 or 60 Hz with random harmonics, plus a little white noise; unit RMS.
std::vector<float> hum_noise(Rng& rng, int n, int sample_rate) {
  const double f0 = (rng.below(2) ? 50.0 : 60.0) * rng.uniform(0.99f, 1.01f);
  double amp[8], phase[8];
  for (int h = 0; h < 8; ++h) {
    amp[h] = rng.uniform() / (1.0 + h * rng.uniform(0.2f, 1.5f));
    phase[h] = 2.0 * kPi * rng.uniform();
  }
  std::vector<float> out(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    double v = 0.0;
    for (int h = 0; h < 8; ++h) v += amp[h] * std::sin(2.0 * kPi * f0 * (h + 1) * i / sample_rate + phase[h]);
    out[i] = static_cast<float>(v + 0.05 * rng.uniform(-1.0f, 1.0f));
  }
  normalize_rms(out);
  return out;
}

// Background speech: 2-4 overlapping stretches of the call's babble phrases; unit RMS.
std::vector<float> babble_noise(Rng& rng, int n, const std::vector<std::vector<float>>& pool) {
  std::vector<float> out(static_cast<size_t>(n), 0.0f);
  const int voices = 2 + static_cast<int>(rng.below(3));
  for (int v = 0; v < voices; ++v) {
    const std::vector<float>& p = pool[rng.below(static_cast<uint32_t>(pool.size()))];
    if (p.empty()) continue;
    const float gain = rng.uniform(0.3f, 1.0f) / std::max(1e-6f, peak_abs(p));
    size_t src = rng.below(static_cast<uint32_t>(p.size()));
    for (int i = 0; i < n; ++i) {  // loops the phrase to cover the clip
      out[i] += gain * p[src];
      if (++src == p.size()) src = 0;
    }
  }
  normalize_rms(out);
  return out;
}

enum class NoiseKind { kWhite, kColored, kHum, kBabble };

std::vector<float> draw_noise(Rng& rng, int n, int sample_rate, bool allow_babble,
                              const std::vector<std::vector<float>>& pool, bool* babble) {
  const float u = rng.uniform();
  NoiseKind kind = u < 0.2f ? NoiseKind::kWhite : u < 0.55f ? NoiseKind::kColored : u < 0.7f ? NoiseKind::kHum : NoiseKind::kBabble;
  if (kind == NoiseKind::kBabble && !allow_babble) kind = NoiseKind::kColored;
  switch (kind) {
    case NoiseKind::kWhite: return colored_noise(rng, n, sample_rate, 0.0f);
    case NoiseKind::kColored: return colored_noise(rng, n, sample_rate, rng.uniform(0.5f, 2.0f));
    case NoiseKind::kHum: return hum_noise(rng, n, sample_rate);
    case NoiseKind::kBabble: break;
  }
  *babble = true;
  return babble_noise(rng, n, pool);
}

// Background noise for one clip: one kind, sometimes a quieter second kind mixed in; unit
// RMS. *babble tells whether it holds background speech.
std::vector<float> background(Rng& rng, int n, int sample_rate, bool allow_babble,
                              const std::vector<std::vector<float>>& pool, bool* babble) {
  *babble = false;
  std::vector<float> noise = draw_noise(rng, n, sample_rate, allow_babble, pool, babble);
  if (rng.uniform() < 0.3f) {
    const std::vector<float> second = draw_noise(rng, n, sample_rate, allow_babble, pool, babble);
    const float w = rng.uniform(0.2f, 0.6f);
    for (int i = 0; i < n; ++i) noise[i] += w * second[i];
    normalize_rms(noise);
  }
  return noise;
}

// A room: the direct sound plus exponentially decaying noise (RT60 80-500 ms).
std::vector<float> room_response(Rng& rng, int sample_rate) {
  const double rt60 = rng.uniform(0.08f, 0.5f);
  const int len = static_cast<int>(std::min(rt60, 0.35) * sample_rate);
  const int predelay = static_cast<int>(rng.uniform(0.001f, 0.012f) * sample_rate);
  const double wet = rng.uniform(0.1f, 0.6f);
  std::vector<float> h(static_cast<size_t>(predelay + len), 0.0f);
  h[0] = 1.0f;
  // -60 dB of amplitude after rt60 seconds: exp(-6.9078 t / rt60).
  for (int i = 0; i < len; ++i)
    h[predelay + i] += static_cast<float>(wet * 0.15 * rng.uniform(-1.0f, 1.0f) * std::exp(-6.9078 * i / (rt60 * sample_rate)));
  return h;
}

struct ClipPlan {
  int label = 0;         // class index
  int utterance = -1;    // index into the request list, -1 for silence
};

Status validate(int per_class, const KeywordsOptions& o) {
  if (per_class < 0 || per_class > 100000) return invalid_argument("keywords: per_class must be in [0, 100000]");
  if (o.sample_rate != 16000)
    return invalid_argument("keywords: sample_rate must be 16000 (got " + std::to_string(o.sample_rate) + ")");
  if (o.clip_samples < 8000 || o.clip_samples > 48000)
    return invalid_argument("keywords: clip_samples must be in [8000, 48000]");
  if (o.min_rate_wpm < espeakRATE_MINIMUM || o.max_rate_wpm > espeakRATE_MAXIMUM || o.min_rate_wpm > o.max_rate_wpm)
    return invalid_argument("keywords: speaking rates must satisfy 80 <= min_rate_wpm <= max_rate_wpm <= 450");
  if (o.pitch_jitter < 0 || o.pitch_jitter > 30) return invalid_argument("keywords: pitch_jitter must be in [0, 30]");
  if (!(o.max_word_seconds >= 0.3f) || o.max_word_seconds * o.sample_rate > o.clip_samples)
    return invalid_argument("keywords: max_word_seconds must be >= 0.3 and fit in the clip");
  if (!(o.snr_db_min <= o.snr_db_max) || !(o.snr_db_min >= -10.0f) || !(o.snr_db_max <= 80.0f))
    return invalid_argument("keywords: need -10 <= snr_db_min <= snr_db_max <= 80");
  for (float p : {o.clean_probability, o.reverb_probability, o.eq_probability})
    if (!(p >= 0.0f && p <= 1.0f)) return invalid_argument("keywords: probabilities must be in [0, 1]");
  if (!(o.min_peak > 0.0f && o.min_peak <= o.max_peak && o.max_peak <= 1.0f))
    return invalid_argument("keywords: need 0 < min_peak <= max_peak <= 1");
  if (!(o.silence_rms_min > 0.0f && o.silence_rms_min <= o.silence_rms_max && o.silence_rms_max <= 0.5f))
    return invalid_argument("keywords: need 0 < silence_rms_min <= silence_rms_max <= 0.5");
  struct stat st {};
  // espeak-ng silently falls back to its default data for a missing folder.
  if (!o.espeak_data_path.empty() && (::stat(o.espeak_data_path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)))
    return invalid_argument("keywords: espeak_data_path '" + o.espeak_data_path + "' is not a directory");
  for (const std::string& v : o.voices)
    if (v.empty() || v.find_first_of("+/ \t\n") != std::string::npos)
      return invalid_argument("keywords: voice names must be non-empty espeak-ng names without '+', '/' or spaces");
  return Status::Ok();
}

// Renders one word clip into `out` (clip_samples) from the speech at 16 kHz.
void render_word(std::vector<float> word, Rng& rng, const KeywordsOptions& opt,
                 const std::vector<std::vector<float>>& pool, float* out) {
  const int sr = opt.sample_rate, n = opt.clip_samples;
  word = trim_silence(word, sr);
  const int max_len = static_cast<int>(opt.max_word_seconds * sr);
  if (static_cast<int>(word.size()) > max_len) {
    // Too long even trimmed: time-compress by resampling (raises the pitch a little).
    const int down = static_cast<int>(std::ceil(100.0 * static_cast<double>(word.size()) / max_len));
    word = Resampler(100, down).run(word);
    word.resize(std::min(word.size(), static_cast<size_t>(max_len)));
  }
  const int dry_len = static_cast<int>(word.size());
  if (rng.uniform() < opt.reverb_probability) word = convolve(word, room_response(rng, sr));
  if (rng.uniform() < opt.eq_probability) biquad(word, rng.uniform(2500.0f, 7500.0f), sr, false);
  if (rng.uniform() < opt.eq_probability) biquad(word, rng.uniform(50.0f, 400.0f), sr, true);
  const float peak = peak_abs(word);
  const float gain = peak > 0 ? log_uniform(rng, opt.min_peak, opt.max_peak) / peak : 0.0f;
  const int offset = static_cast<int>(rng.below(static_cast<uint32_t>(n - dry_len + 1)));
  std::fill(out, out + n, 0.0f);
  const int copy = std::min(static_cast<int>(word.size()), n - offset);
  for (int i = 0; i < copy; ++i) out[offset + i] = gain * word[i];
  if (rng.uniform() >= opt.clean_probability) {
    const double speech_rms = rms(out + offset, dry_len);
    const double snr = rng.uniform(opt.snr_db_min, opt.snr_db_max);
    bool babble = false;
    const std::vector<float> noise = background(rng, n, sr, true, pool, &babble);
    // Background speech stays 10 dB quieter than other noise: it must not rival the word.
    const double level = speech_rms / std::pow(10.0, (snr + (babble ? 10.0 : 0.0)) / 20.0);
    for (int i = 0; i < n; ++i) out[i] += static_cast<float>(level * noise[i]);
  }
  for (int i = 0; i < n; ++i) out[i] = std::clamp(out[i], -1.0f, 1.0f);
}

void render_silence(Rng& rng, const KeywordsOptions& opt, const std::vector<std::vector<float>>& pool, float* out) {
  const int n = opt.clip_samples;
  const double level = log_uniform(rng, opt.silence_rms_min, opt.silence_rms_max);
  bool babble = false;
  const std::vector<float> noise = background(rng, n, opt.sample_rate, false, pool, &babble);
  for (int i = 0; i < n; ++i) out[i] = std::clamp(static_cast<float>(level * noise[i]), -1.0f, 1.0f);
}

std::vector<float> to_float(const std::vector<int16_t>& s) {
  std::vector<float> x(s.size());
  for (size_t i = 0; i < s.size(); ++i) x[i] = s[i] / 32768.0f;
  return x;
}

}  // namespace

const std::vector<std::string>& keyword_class_names() { return kws_class_names(); }

const std::vector<std::string>& keyword_unknown_words() {
  static const std::vector<std::string> words = {
      "bed",   "bird",  "cat",  "dog",    "eight", "five",  "four",   "happy",   "house",    "marvin", "nine", "one",   "seven",
      "sheila", "six",  "three", "tree",  "two",   "wow",   "zero",   "learn",   "follow",   "forward", "backward", "visual"};
  return words;
}

std::vector<std::string> keyword_speakers(DatasetSplit split, const KeywordsOptions& opt) {
  std::vector<std::string> names;
  for (const Speaker& s : split_speakers(split, opt)) names.push_back(s.name());
  return names;
}

Result<Dataset> make_keywords_dataset(DatasetSplit split, int per_class, uint64_t seed, const KeywordsOptions& opt) {
  SLING_RETURN_IF_ERROR(validate(per_class, opt));
  const std::vector<Speaker> speakers = split_speakers(split, opt);
  if (speakers.empty()) return invalid_argument(std::string("keywords: no speakers in the ") + split_name(split) + " split");
  const int classes = static_cast<int>(keyword_class_names().size());
  const int64_t count = static_cast<int64_t>(per_class) * classes;
  Dataset d;
  d.class_names = keyword_class_names();
  d.inputs = Tensor({count, opt.clip_samples});
  d.labels.resize(static_cast<size_t>(count));
  if (count == 0) return d;

  // Plan: the babble pool first, then the words of the clips in index order.
  const auto speaker_utterance = [&](Rng& rng, std::string text) {
    const Speaker& s = speakers[rng.below(static_cast<uint32_t>(speakers.size()))];
    Utterance u;
    u.voice = s.voice;
    u.text = std::move(text);
    u.rate = opt.min_rate_wpm + static_cast<int>(rng.below(static_cast<uint32_t>(opt.max_rate_wpm - opt.min_rate_wpm + 1)));
    const int j = opt.pitch_jitter;
    u.pitch = std::clamp(s.pitch - j + static_cast<int>(rng.below(static_cast<uint32_t>(2 * j + 1))), 0, 100);
    u.range = s.range;
    return u;
  };
  std::vector<Utterance> reqs;
  Rng babble_rng(stream_seed(seed, split, 0, 2));
  for (int p = 0; p < kBabblePhrases; ++p) {
    std::string text;
    const int words = 6 + static_cast<int>(babble_rng.below(5));
    for (int w = 0; w < words; ++w) {
      const bool filler = babble_rng.below(2) == 0;
      const auto& list = filler ? kBabbleWords : keyword_unknown_words();
      text += (w ? " " : "") + list[babble_rng.below(static_cast<uint32_t>(list.size()))];
    }
    Utterance u = speaker_utterance(babble_rng, text);
    u.word_gap = static_cast<int>(babble_rng.below(4));
    reqs.push_back(std::move(u));
  }
  std::vector<ClipPlan> plans(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    Rng rng(stream_seed(seed, split, static_cast<uint64_t>(i), 0));
    ClipPlan& c = plans[static_cast<size_t>(i)];
    c.label = static_cast<int>(i % classes);
    if (c.label == kSilenceLabel) continue;
    const std::string& word = c.label < kNumKeywords
                                  ? keyword_class_names()[static_cast<size_t>(c.label)]
                                  : keyword_unknown_words()[rng.below(static_cast<uint32_t>(keyword_unknown_words().size()))];
    c.utterance = static_cast<int>(reqs.size());
    reqs.push_back(speaker_utterance(rng, word));
  }
  static_assert(kUnknownLabel == kNumKeywords + 1, "unknown follows silence");

  EspeakHelper helper;
  SLING_RETURN_IF_ERROR(helper.start(reqs, opt.espeak_data_path));
  const Resampler to_rate(opt.sample_rate, helper.sample_rate());
  std::vector<std::vector<float>> pool;
  for (int p = 0; p < kBabblePhrases; ++p) {
    SLING_ASSIGN_OR_RETURN(std::vector<int16_t> raw, helper.next());
    pool.push_back(trim_silence(to_rate.run(to_float(raw)), opt.sample_rate));
  }
  for (int64_t i = 0; i < count; ++i) {
    const ClipPlan& c = plans[static_cast<size_t>(i)];
    d.labels[static_cast<size_t>(i)] = c.label;
    Rng rng(stream_seed(seed, split, static_cast<uint64_t>(i), 1));
    float* out = d.inputs.data() + i * opt.clip_samples;
    if (c.utterance < 0) {
      render_silence(rng, opt, pool, out);
      continue;
    }
    SLING_ASSIGN_OR_RETURN(std::vector<int16_t> raw, helper.next());
    if (raw.empty()) return internal_error("keywords: espeak-ng produced no audio for '" + reqs[c.utterance].text + "'");
    render_word(to_rate.run(to_float(raw)), rng, opt, pool, out);
  }
  SLING_RETURN_IF_ERROR(helper.finish());
  return d;
}

Result<Dataset> make_keywords_clips(DatasetSplit split, int64_t count, uint64_t seed, const KeywordsOptions& opt) {
  const int64_t classes = static_cast<int64_t>(keyword_class_names().size());
  if (count < 0 || count > int64_t{1'000'000}) return invalid_argument("keywords: clip count must be in [0, 1000000]");
  SLING_ASSIGN_OR_RETURN(Dataset d, make_keywords_dataset(split, static_cast<int>((count + classes - 1) / classes), seed, opt));
  return d.size() > count ? d.range(0, count) : d;
}

Result<Dataset> keywords_to_mfcc(const Dataset& waveforms) {
  const MfccConfig cfg;
  const Shape& s = waveforms.inputs.shape();
  if (s.size() != 2 || s[1] != cfg.clip_samples)
    return invalid_argument("keywords_to_mfcc: inputs must be [N, " + std::to_string(cfg.clip_samples) + "] waveforms");
  if (static_cast<int64_t>(waveforms.labels.size()) != s[0])
    return invalid_argument("keywords_to_mfcc: the label count does not match the clip count");
  const int frames = mfcc_num_frames(cfg);
  Dataset out;
  out.labels = waveforms.labels;
  out.class_names = waveforms.class_names;
  out.inputs = Tensor({s[0], frames, cfg.num_coefficients, 1});
  const int64_t per = static_cast<int64_t>(frames) * cfg.num_coefficients;
  // Clips are independent: spread them over the kernel threads (each writes its own rows).
  std::vector<Status> errors(static_cast<size_t>(s[0]));
  parallel_for(s[0], [&](int64_t i, int) {
    Result<Tensor> m = mfcc(waveforms.inputs.data() + i * s[1], s[1], cfg);
    if (!m.ok()) {
      errors[static_cast<size_t>(i)] = m.status();
      return;
    }
    std::copy(m->data(), m->data() + per, out.inputs.data() + i * per);
  });
  for (const Status& e : errors) SLING_RETURN_IF_ERROR(e);
  return out;
}

}  // namespace slingshot

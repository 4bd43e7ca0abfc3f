// Real-data loaders (CIFAR-10 binary, image folders, WAV files and folders), each run on
// small files this test writes in the real format, plus one test per malformed-input rule.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "core/file_io.h"
#include "data/cifar10_binary.h"
#include "data/image_folder.h"
#include "data/image_io.h"
#include "data/labeled_files.h"
#include "data/wav.h"

using namespace slingshot;

namespace {

namespace fs = std::filesystem;

bool contains(const Status& s, const std::string& text) { return s.message().find(text) != std::string::npos; }

// A fresh directory under /tmp (unique per process and per instance; plain paths, which
// emscripten's NODERAWFS maps to the host), removed with its contents at scope exit.
struct TempDir {
  std::string path;
  TempDir() {
    static int counter = 0;
    path = "/tmp/slingshot_loaders_" + std::to_string(static_cast<long long>(::getpid())) + "_" +
           std::to_string(counter++);
    std::error_code ec;
    fs::remove_all(path, ec);
    fs::create_directories(path, ec);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  // Makes root/<rel>'s parent folders and returns the full path.
  std::string file(const std::string& rel) const {
    const std::string p = path + "/" + rel;
    std::error_code ec;
    fs::create_directories(fs::path(p).parent_path(), ec);
    return p;
  }
  void write(const std::string& rel, const std::string& bytes) const {
    REQUIRE(write_file_atomic(file(rel), bytes).ok());
  }
  void mkdir(const std::string& rel) const {
    std::error_code ec;
    fs::create_directories(path + "/" + rel, ec);
  }
};

// --- CIFAR-10 -----------------------------------------------------------------------

// One record whose pixel bytes are (seed + channel * 7 + position) mod 256.
std::string cifar_record(int label, int seed) {
  std::string r(kCifar10RecordBytes, '\0');
  r[0] = static_cast<char>(label);
  for (int c = 0; c < 3; ++c)
    for (int p = 0; p < 1024; ++p) r[1 + c * 1024 + p] = static_cast<char>((seed + c * 7 + p) & 255);
  return r;
}

TEST_CASE("CIFAR-10 binary: records become NHWC k/255 with their labels, across files") {
  TempDir dir;
  dir.write("a.bin", cifar_record(3, 0) + cifar_record(9, 100));
  dir.write("b.bin", cifar_record(0, 200));
  auto ds = load_cifar10_binary({dir.file("a.bin"), dir.file("b.bin")});
  REQUIRE_MESSAGE(ds.ok(), ds.status().message());
  CHECK(ds->inputs.shape() == Shape{3, 32, 32, 3});
  CHECK(ds->labels == std::vector<int>{3, 9, 0});
  REQUIRE(ds->class_names.size() == 10);
  CHECK(ds->class_names.front() == "airplane");
  CHECK(ds->class_names.back() == "truck");
  const int seeds[3] = {0, 100, 200};
  int mismatches = 0;
  for (int n = 0; n < 3; ++n)
    for (int p = 0; p < 1024; ++p)
      for (int c = 0; c < 3; ++c) {
        const float want = static_cast<float>((seeds[n] + c * 7 + p) & 255) / 255.0f;
        mismatches += ds->inputs[(int64_t{n} * 1024 + p) * 3 + c] != want;
      }
  CHECK(mismatches == 0);
  // Row 1, column 2 of the green plane of record 0: position 34, byte 7 + 34.
  CHECK(ds->inputs[(1 * 32 + 2) * 3 + 1] == 41.0f / 255.0f);

  auto two = load_cifar10_binary({dir.file("a.bin"), dir.file("b.bin")}, 2);
  REQUIRE(two.ok());
  CHECK(two->inputs.shape() == Shape{2, 32, 32, 3});
  CHECK(two->labels == std::vector<int>{3, 9});
}

TEST_CASE("CIFAR-10 binary: a truncated record names the file and its byte count") {
  TempDir dir;
  dir.write("t.bin", cifar_record(1, 0) + std::string(100, '\0'));
  auto ds = load_cifar10_binary({dir.file("t.bin")});
  REQUIRE(!ds.ok());
  CHECK(contains(ds.status(), "truncated record"));
  CHECK(contains(ds.status(), "t.bin"));
  CHECK(contains(ds.status(), "3173 bytes"));
}

TEST_CASE("CIFAR-10 binary: a label over 9 names the record") {
  TempDir dir;
  dir.write("l.bin", cifar_record(2, 0) + cifar_record(10, 0));
  auto ds = load_cifar10_binary({dir.file("l.bin")});
  REQUIRE(!ds.ok());
  CHECK(contains(ds.status(), "record 1 has label 10"));
}

TEST_CASE("CIFAR-10 binary: empty and missing files are errors") {
  TempDir dir;
  dir.write("e.bin", "");
  auto empty = load_cifar10_binary({dir.file("e.bin")});
  REQUIRE(!empty.ok());
  CHECK(contains(empty.status(), "is empty"));
  auto missing = load_cifar10_binary({dir.file("nope.bin")});
  REQUIRE(!missing.ok());
  CHECK(contains(missing.status(), "nope.bin"));
  CHECK(!load_cifar10_binary({}).ok());
}

// --- image folders ------------------------------------------------------------------

// An h x w x c image whose byte at flat index i is (seed + 37 * i) mod 256, as floats k/255.
Tensor pattern_image(int h, int w, int c, int seed) {
  Tensor t({1, h, w, c});
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = static_cast<float>((seed + 37 * i) & 255) / 255.0f;
  return t;
}

TEST_CASE("image folder: sorted classes and files, exact pixels, hidden and other files ignored") {
  TempDir dir;
  const Tensor a = pattern_image(4, 5, 3, 1), b = pattern_image(4, 5, 3, 2), c = pattern_image(4, 5, 3, 3);
  REQUIRE(save_png(b, dir.file("dog/b.png")).ok());
  REQUIRE(save_png(a, dir.file("cat/a.PNG")).ok());
  REQUIRE(save_png(c, dir.file("cat/c.png")).ok());
  dir.write("cat/.hidden.png", "not an image");
  dir.write("cat/notes.txt", "ignored");
  dir.mkdir(".git/objects");
  auto ds = load_image_folder(dir.path, 4, 5, 3);
  REQUIRE_MESSAGE(ds.ok(), ds.status().message());
  CHECK(ds->class_names == std::vector<std::string>{"cat", "dog"});
  CHECK(ds->labels == std::vector<int>{0, 0, 1});
  REQUIRE(ds->inputs.shape() == Shape{3, 4, 5, 3});
  const Tensor* order[3] = {&a, &c, &b};
  int mismatches = 0;
  for (int n = 0; n < 3; ++n)
    for (int64_t i = 0; i < 60; ++i) mismatches += ds->inputs[n * 60 + i] != (*order[n])[i];
  CHECK(mismatches == 0);
}

TEST_CASE("image folder: grayscale files load with channels 1") {
  TempDir dir;
  const Tensor g = pattern_image(3, 2, 1, 9);
  REQUIRE(save_png(g, dir.file("zero/x.png")).ok());
  auto ds = load_image_folder(dir.path, 3, 2, 1);
  REQUIRE_MESSAGE(ds.ok(), ds.status().message());
  REQUIRE(ds->inputs.shape() == Shape{1, 3, 2, 1});
  for (int64_t i = 0; i < 6; ++i) CHECK(ds->inputs[i] == g[i]);
}

TEST_CASE("image folder: a wrong-size image names the file and its size") {
  TempDir dir;
  REQUIRE(save_png(pattern_image(4, 5, 3, 0), dir.file("a/ok.png")).ok());
  REQUIRE(save_png(pattern_image(6, 7, 3, 0), dir.file("a/big.png")).ok());
  const Status err = load_image_folder(dir.path, 4, 5, 3).status();
  CHECK(contains(err, "big.png' is 7x6"));
  CHECK(contains(err, "not resized"));
}

TEST_CASE("image folder: missing root, root not a directory, no class folders") {
  TempDir dir;
  CHECK(contains(load_image_folder(dir.path + "/absent", 4, 4, 3).status(), "does not exist"));
  dir.write("plain", "x");
  CHECK(contains(load_image_folder(dir.file("plain"), 4, 4, 3).status(), "is not a directory"));
  CHECK(contains(load_image_folder(dir.path, 4, 4, 3).status(), "has no class subfolders"));
}

TEST_CASE("image folder: a class folder with no images") {
  TempDir dir;
  REQUIRE(save_png(pattern_image(2, 2, 3, 0), dir.file("a/x.png")).ok());
  dir.write("b/.DS_Store", "junk");
  CHECK(contains(load_image_folder(dir.path, 2, 2, 3).status(), "/b' has no PNG or JPEG images"));
}

TEST_CASE("image folder: an undecodable image is named") {
  TempDir dir;
  dir.write("a/broken.png", "this is not a png");
  CHECK(contains(load_image_folder(dir.path, 2, 2, 3).status(), "broken.png"));
}

TEST_CASE("image folder: an image over the dimension cap is refused before decoding") {
  TempDir dir;
  // A PNG signature and IHDR claiming 9000 x 9000, with no pixel data.
  std::string png("\x89PNG\r\n\x1a\n", 8);
  const unsigned char ihdr[] = {0, 0, 0, 13, 'I', 'H', 'D', 'R', 0, 0, 0x23, 0x28, 0, 0, 0x23, 0x28, 8, 2, 0, 0, 0,
                                0, 0, 0, 0};
  png.append(reinterpret_cast<const char*>(ihdr), sizeof(ihdr));
  dir.write("a/huge.png", png);
  const Status err = load_image_folder(dir.path, 2, 2, 3).status();
  CHECK(contains(err, "huge.png"));
  CHECK(contains(err, "9000"));
}

TEST_CASE("image folder: channels other than 1 or 3 are refused") {
  TempDir dir;
  CHECK(contains(load_image_folder(dir.path, 2, 2, 2).status(), "channels must be 1 or 3"));
}

// --- WAV ----------------------------------------------------------------------------

std::string le16(uint32_t v) { return {static_cast<char>(v & 255), static_cast<char>((v >> 8) & 255)}; }
std::string le32(uint32_t v) { return le16(v & 0xFFFF) + le16(v >> 16); }
std::string chunk(const std::string& id, const std::string& body, bool pad = true) {
  return id + le32(static_cast<uint32_t>(body.size())) + body + (pad && body.size() % 2 ? std::string(1, '\0') : "");
}
std::string fmt_chunk(int tag, int channels, int rate, int bits) {
  const int block = channels * bits / 8;
  return chunk("fmt ", le16(tag) + le16(channels) + le32(rate) + le32(rate * block) + le16(block) + le16(bits));
}
std::string riff(const std::string& chunks) { return "RIFF" + le32(static_cast<uint32_t>(4 + chunks.size())) + "WAVE" + chunks; }
std::string pcm16(const std::vector<int16_t>& s) {
  std::string out;
  for (int16_t v : s) out += le16(static_cast<uint16_t>(v));
  return out;
}
std::string wav16(int rate, const std::vector<int16_t>& s) { return riff(fmt_chunk(1, 1, rate, 16) + chunk("data", pcm16(s))); }

TEST_CASE("WAV: 16-bit PCM gives s / 32768, skipping unknown and odd-sized chunks") {
  const std::vector<int16_t> s = {-32768, -1, 0, 1, 12345, 32767};
  // An odd-sized unknown chunk (with its pad byte) before fmt and a LIST chunk before data.
  const std::string bytes = riff(chunk("junk", "abc") + fmt_chunk(1, 1, 16000, 16) + chunk("LIST", "INFOisft") +
                                 chunk("data", pcm16(s)));
  auto w = decode_wav(bytes);
  REQUIRE_MESSAGE(w.ok(), w.status().message());
  CHECK(w->sample_rate == 16000);
  REQUIRE(w->samples.size() == s.size());
  for (size_t i = 0; i < s.size(); ++i) CHECK(w->samples[i] == static_cast<float>(s[i]) / 32768.0f);
}

TEST_CASE("WAV: 8-bit unsigned and 32-bit float mono") {
  const std::string u8 = std::string("\x00\x80\xff\x40", 4);
  auto w8 = decode_wav(riff(fmt_chunk(1, 1, 8000, 8) + chunk("data", u8)));  // odd data size, padded
  REQUIRE_MESSAGE(w8.ok(), w8.status().message());
  CHECK(w8->samples == std::vector<float>{-1.0f, 0.0f, 127.0f / 128.0f, -0.5f});
  std::string f32;
  for (float v : {0.25f, -0.75f, 1.5f}) {
    uint32_t u;
    std::memcpy(&u, &v, 4);
    f32 += le32(u);
  }
  auto wf = decode_wav(riff(fmt_chunk(3, 1, 22050, 32) + chunk("data", f32)));
  REQUIRE_MESSAGE(wf.ok(), wf.status().message());
  CHECK(wf->sample_rate == 22050);
  CHECK(wf->samples == std::vector<float>{0.25f, -0.75f, 1.0f});  // clamped to [-1, 1]
}

TEST_CASE("WAV: unsupported encodings name tag, bits and channels") {
  auto many = decode_wav(riff(fmt_chunk(1, 17, 16000, 16) + chunk("data", pcm16(std::vector<int16_t>(17, 0)))));
  REQUIRE(!many.ok());
  CHECK(contains(many.status(), "unsupported WAV encoding: format tag 1, 16 bits, 17 channels"));
  auto none = decode_wav(riff(fmt_chunk(1, 0, 16000, 16) + chunk("data", pcm16({0}))));
  REQUIRE(!none.ok());
  CHECK(contains(none.status(), "0 channels"));
  auto alaw = decode_wav(riff(fmt_chunk(6, 1, 8000, 8) + chunk("data", "ab")));
  REQUIRE(!alaw.ok());
  CHECK(contains(alaw.status(), "unsupported WAV encoding: format tag 6"));
  auto b24 = decode_wav(riff(fmt_chunk(1, 1, 16000, 24) + chunk("data", "abc")));
  REQUIRE(!b24.ok());
  CHECK(contains(b24.status(), "unsupported WAV encoding: format tag 1, 24 bits"));
}

TEST_CASE("WAV: stereo and multi-channel files mix down to the channel mean") {
  // Interleaved L, R frames: (1000, 3000), (-2000, 2000), (32767, -32768).
  const std::string stereo = riff(fmt_chunk(1, 2, 16000, 16) + chunk("data", pcm16({1000, 3000, -2000, 2000, 32767, -32768})));
  auto w = decode_wav(stereo);
  REQUIRE_MESSAGE(w.ok(), w.status().message());
  CHECK(w->channels == 2);
  CHECK(w->sample_rate == 16000);
  CHECK(w->samples == std::vector<float>{2000.0f / 32768, 0.0f, -0.5f / 32768});
  // A mono-only caller gets an error naming the channel count.
  auto mono_only = decode_wav(stereo, WavChannels::kMonoOnly);
  REQUIRE(!mono_only.ok());
  CHECK(contains(mono_only.status(), "WAV file has 2 channels, but this needs a mono (1-channel) file"));
  auto mono = decode_wav(wav16(16000, {5, -5}), WavChannels::kMonoOnly);
  REQUIRE(mono.ok());
  CHECK(mono->channels == 1);
  // Three float channels, and 8-bit stereo.
  std::string f32;
  for (float v : {0.25f, -0.75f, 0.5f, 1.0f, 1.0f, 1.0f}) {
    uint32_t u;
    std::memcpy(&u, &v, 4);
    f32 += le32(u);
  }
  auto three = decode_wav(riff(fmt_chunk(3, 3, 8000, 32) + chunk("data", f32)));
  REQUIRE_MESSAGE(three.ok(), three.status().message());
  CHECK(three->channels == 3);
  CHECK(three->samples == std::vector<float>{0.0f, 1.0f});
  auto u8 = decode_wav(riff(fmt_chunk(1, 2, 8000, 8) + chunk("data", std::string("\x00\xff", 2))));
  REQUIRE(u8.ok());
  CHECK(u8->samples == std::vector<float>{-1.0f / 256});
  // A data chunk that ends inside a frame is a truncated sample.
  auto half = decode_wav(riff(fmt_chunk(1, 2, 16000, 16) + chunk("data", pcm16({1, 2, 3}))));
  REQUIRE(!half.ok());
  CHECK(contains(half.status(), "not a multiple of the 4-byte frame (2 x 2-byte samples; truncated sample)"));
  // The file loaders mix down too, and load_wav passes the mode on.
  TempDir dir;
  dir.write("yes/s.wav", stereo);
  auto ds = load_wav_folder(dir.path, 16000, 4);
  REQUIRE_MESSAGE(ds.ok(), ds.status().message());
  CHECK(ds->inputs[0] == 2000.0f / 32768);
  CHECK(ds->inputs[3] == 0.0f);
  auto strict = load_wav(dir.file("yes/s.wav"), WavChannels::kMonoOnly);
  REQUIRE(!strict.ok());
  CHECK(contains(strict.status(), "s.wav"));
  CHECK(contains(strict.status(), "2 channels"));
}

TEST_CASE("WAV: truncated chunks and headers") {
  const std::string good = wav16(16000, {1, 2, 3, 4});
  auto cut = decode_wav(std::string_view(good).substr(0, good.size() - 3));
  REQUIRE(!cut.ok());
  CHECK(contains(cut.status(), "chunk 'data'"));
  CHECK(contains(cut.status(), "truncated"));
  auto half_header = decode_wav(riff(fmt_chunk(1, 1, 16000, 16) + "dat"));
  REQUIRE(!half_header.ok());
  CHECK(contains(half_header.status(), "truncated"));
  auto huge = decode_wav(riff(fmt_chunk(1, 1, 16000, 16) + "data" + le32(0xFFFFFFFFu) + "ab"));
  REQUIRE(!huge.ok());
  CHECK(contains(huge.status(), "truncated"));
  auto odd = decode_wav(riff(fmt_chunk(1, 1, 16000, 16) + chunk("data", "abc")));
  REQUIRE(!odd.ok());
  CHECK(contains(odd.status(), "truncated sample"));
  auto short_fmt = decode_wav(riff(chunk("fmt ", "abcd") + chunk("data", "ab")));
  REQUIRE(!short_fmt.ok());
  CHECK(contains(short_fmt.status(), "fmt chunk is 4 bytes"));
}

TEST_CASE("WAV: missing fmt, missing data, data before fmt, not RIFF") {
  auto no_fmt = decode_wav(riff(chunk("LIST", "xy")));
  REQUIRE(!no_fmt.ok());
  CHECK(contains(no_fmt.status(), "no fmt chunk"));
  auto no_data = decode_wav(riff(fmt_chunk(1, 1, 16000, 16)));
  REQUIRE(!no_data.ok());
  CHECK(contains(no_data.status(), "no data chunk"));
  auto early = decode_wav(riff(chunk("data", pcm16({1})) + fmt_chunk(1, 1, 16000, 16)));
  REQUIRE(!early.ok());
  CHECK(contains(early.status(), "data chunk comes before the fmt chunk"));
  auto not_riff = decode_wav(std::string("RIFX\0\0\0\0WAVE", 12));
  REQUIRE(!not_riff.ok());
  CHECK(contains(not_riff.status(), "not a WAV file"));
  CHECK(!decode_wav("").ok());
}

TEST_CASE("WAV: load_wav reads a file and names it on error") {
  TempDir dir;
  dir.write("a.wav", wav16(8000, {7, -7}));
  auto w = load_wav(dir.file("a.wav"));
  REQUIRE_MESSAGE(w.ok(), w.status().message());
  CHECK(w->samples == std::vector<float>{7.0f / 32768.0f, -7.0f / 32768.0f});
  dir.write("bad.wav", "RIFF");
  auto bad = load_wav(dir.file("bad.wav"));
  REQUIRE(!bad.ok());
  CHECK(contains(bad.status(), "bad.wav"));
  CHECK(!load_wav(dir.file("missing.wav")).ok());
}

TEST_CASE("WAV folder: classes, zero-padding of short clips, truncation of long ones") {
  TempDir dir;
  dir.write("yes/1.wav", wav16(16000, {100, 200, 300, 400, 500, 600}));  // longer: truncated
  dir.write("no/2.wav", wav16(16000, {-5, 6}));                          // shorter: padded
  dir.write("no/1.WAV", wav16(16000, {1, 2, 3, 4}));                     // exact
  dir.write("no/._1.wav", "resource fork junk");
  dir.mkdir("_background_noise_x/.cache");
  dir.write("_background_noise_x/n.wav", wav16(16000, {9}));
  auto ds = load_wav_folder(dir.path, 16000, 4);
  REQUIRE_MESSAGE(ds.ok(), ds.status().message());
  CHECK(ds->class_names == std::vector<std::string>{"_background_noise_x", "no", "yes"});
  CHECK(ds->labels == std::vector<int>{0, 1, 1, 2});
  REQUIRE(ds->inputs.shape() == Shape{4, 4});
  const std::vector<int> want = {9, 0, 0, 0, 1, 2, 3, 4, -5, 6, 0, 0, 100, 200, 300, 400};
  for (size_t i = 0; i < want.size(); ++i) CHECK(ds->inputs[i] == static_cast<float>(want[i]) / 32768.0f);
}

TEST_CASE("WAV folder: wrong sample rate, empty class, bad clip, bad parameters") {
  TempDir dir;
  dir.write("a/x.wav", wav16(8000, {1}));
  auto rate = load_wav_folder(dir.path, 16000, 4);
  REQUIRE(!rate.ok());
  CHECK(contains(rate.status(), "x.wav' has sample rate 8000 Hz, expected 16000 Hz"));
  dir.write("b/readme.txt", "no clips");
  auto empty = load_wav_folder(dir.path, 8000, 4);
  REQUIRE(!empty.ok());
  CHECK(contains(empty.status(), "/b' has no WAV files"));
  dir.write("b/c.wav", riff(fmt_chunk(1, 1, 8000, 24) + chunk("data", "abc")));
  auto b24 = load_wav_folder(dir.path, 8000, 4);
  REQUIRE(!b24.ok());
  CHECK(contains(b24.status(), "c.wav"));
  CHECK(contains(b24.status(), "unsupported WAV encoding"));
  CHECK(contains(load_wav_folder(dir.path, 8000, 0).status(), "samples_per_clip"));
  CHECK(contains(load_wav_folder(dir.path, 0, 4).status(), "sample_rate"));
  CHECK(contains(load_wav_folder(dir.path + "/none", 8000, 4).status(), "does not exist"));
}

// --- WAV encoding and labelled file sets ----------------------------------------------

TEST_CASE("WAV: 16-bit encoding inverts decoding on the 16-bit grid") {
  const std::vector<float> x = {-1.0f, -0.5f, 0.0f, 1.0f / 32768, 0.999969482421875f, 1.5f, -2.0f};
  auto w = decode_wav(encode_wav_pcm16(x.data(), static_cast<int64_t>(x.size()), 16000));
  REQUIRE_MESSAGE(w.ok(), w.status().message());
  CHECK(w->sample_rate == 16000);
  const std::vector<float> want = {-1.0f, -0.5f, 0.0f, 1.0f / 32768, 32767.0f / 32768, 32767.0f / 32768, -1.0f};
  CHECK(w->samples == want);
  // Decoded 16-bit clips re-encode to the same bytes.
  const std::string original = wav16(8000, {-32768, -3, 0, 7, 32767});
  auto d = decode_wav(original);
  REQUIRE(d.ok());
  CHECK(encode_wav_pcm16(d->samples.data(), static_cast<int64_t>(d->samples.size()), 8000) == original);
}

TEST_CASE("labels CSV sets: images and WAVs load in file order; malformed CSVs are named") {
  TempDir dir;
  Tensor red({1, 2, 2, 3}, 0.0f), blue({1, 2, 2, 3}, 0.0f);
  for (int p = 0; p < 4; ++p) {
    red[p * 3] = 1.0f;
    blue[p * 3 + 2] = 1.0f;
  }
  REQUIRE(save_png(red, dir.file("r.png")).ok());
  REQUIRE(save_png(blue, dir.file("b.png")).ok());
  REQUIRE(write_labels_csv(dir.file("y_labels.csv"), {{"b.png", 3, 2}, {"r.png", 3, 0}}).ok());
  auto images = load_labeled_images(dir.path + "/y_labels.csv", 2, 2, 3);
  REQUIRE_MESSAGE(images.ok(), images.status().message());
  CHECK(images->labels == std::vector<int>{2, 0});
  CHECK(images->class_names == std::vector<std::string>{"0", "1", "2"});
  CHECK(images->inputs[2] == 1.0f);   // first file is blue
  CHECK(images->inputs[12] == 1.0f);  // second is red
  CHECK(contains(load_labeled_images(dir.path + "/y_labels.csv", 4, 4, 3).status(), "images are not resized"));

  dir.write("a.wav", wav16(16000, {100, -200}));
  dir.write("w.csv", "a.wav,12,11\n");
  auto clips = load_labeled_wavs(dir.path + "/w.csv", 16000, 3);
  REQUIRE_MESSAGE(clips.ok(), clips.status().message());
  CHECK(clips->inputs.storage() == std::vector<float>{100.0f / 32768, -200.0f / 32768, 0.0f});
  CHECK(clips->labels == std::vector<int>{11});
  CHECK(contains(load_labeled_wavs(dir.path + "/w.csv", 8000, 3).status(), "sample rate 16000 Hz, expected 8000"));

  auto bad = [&](const std::string& text) {
    dir.write("bad.csv", text);
    return read_labels_csv(dir.path + "/bad.csv").status();
  };
  CHECK(contains(bad("a.wav,12\n"), "line 1: expected 'file,num_classes,label', got 2 field(s)"));
  CHECK(contains(bad("a.wav,12,1\nb.wav,12,x\n"), "line 2: label 'x' is not an integer"));
  CHECK(contains(bad("a.wav,12,12\n"), "label '12' is not an integer in [0, 12)"));
  CHECK(contains(bad("a.wav,0,0\n"), "num_classes '0'"));
  CHECK(contains(bad("a.wav,12,1\nb.wav,10,1\n"), "num_classes 10 differs from line 1's 12"));
  CHECK(contains(bad("../a.wav,12,1\n"), "must be a plain name inside the CSV's folder"));
  CHECK(contains(bad("/etc/passwd,12,1\n"), "must be a plain name"));
  CHECK(contains(bad("\n\n"), "lists no files"));
  dir.write("missing.csv", "nope.png,10,1\n");
  CHECK(contains(load_labeled_images(dir.path + "/missing.csv", 2, 2, 3).status(), "nope.png"));
  CHECK(contains(read_labels_csv(dir.path + "/none.csv").status(), "none.csv"));
}

}  // namespace

// `keywords`: a synthetic 12-class keyword-spotting dataset in the layout of the MLPerf
// Tiny KWS task (Speech Commands v2, 1 s clips at 16 kHz), spoken by espeak-ng voices
// and augmented (placement, room reverberation, EQ, background noise, gain). Native
// only: espeak-ng is not built for wasm. See docs/datasets.md, section "keywords".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "data/dataset.h"
#include "data/dataset_split.h"

namespace slingshot {

struct KeywordsOptions {
  int sample_rate = 16000;             // Hz; only 16000 (the MLPerf front end's rate) is supported
  int clip_samples = 16000;            // samples per clip (1 s); keywords_to_mfcc needs 16000
  int min_rate_wpm = 130;              // slowest espeak-ng speaking rate drawn per clip (words/min)
  int max_rate_wpm = 230;              // fastest speaking rate drawn per clip (words/min)
  int pitch_jitter = 8;                // per-clip espeak pitch offset drawn in [-j, j] around the speaker's
  float max_word_seconds = 0.95f;      // a trimmed word longer than this is time-compressed to fit
  float snr_db_min = 5.0f;             // lowest speech-to-noise ratio of the background noise (dB)
  float snr_db_max = 30.0f;            // highest speech-to-noise ratio (dB)
  float clean_probability = 0.15f;     // probability that a word clip gets no background noise
  float reverb_probability = 0.6f;     // probability of a random room impulse response on the word
  float eq_probability = 0.6f;         // probability of each random EQ filter (low-pass, high-pass)
  float min_peak = 0.08f;              // lowest peak amplitude of the word (random gain, log-uniform)
  float max_peak = 0.9f;               // highest peak amplitude of the word
  float silence_rms_min = 3e-4f;       // quietest RMS of a "_silence_" clip (log-uniform)
  float silence_rms_max = 0.02f;       // loudest RMS of a "_silence_" clip
  std::vector<std::string> voices;     // espeak-ng base voices; empty = the built-in English list
  std::string espeak_data_path;        // folder holding espeak-ng-data; empty = the installed default
};

// The 12 class names in label order: kws_class_names() (data/speech_commands.h), the
// order of the MLPerf Tiny KWS model (TFDS speech_commands labels): down, go, left, no,
// off, on, right, stop, up, yes, _silence_, _unknown_.
const std::vector<std::string>& keyword_class_names();

// The words spoken for the "_unknown_" class (other Speech Commands words).
const std::vector<std::string>& keyword_unknown_words();

// The speaker identities of a split, "voice+variant/p<pitch>r<range>" (e.g.
// "en-us+f3/p35r70"): base voice x espeak variant x (base pitch, pitch range) preset. About
// 20% of the combinations (chosen by a hash of the name) are test speakers; the two
// lists are disjoint and each holds male and female variants.
std::vector<std::string> keyword_speakers(DatasetSplit split, const KeywordsOptions& opt = {});

// `per_class` clips of each class: inputs [12 * per_class, clip_samples] waveforms in
// [-1, 1], labels interleaved (clip i has class i % 12). Clip i depends only on (split,
// seed, i, opt), so a smaller per_class gives a prefix of a larger one. Bit-identical
// for the same inputs on the same machine. Errors: bad options, espeak-ng failing to
// initialize, an unknown voice.
Result<Dataset> make_keywords_dataset(DatasetSplit split, int per_class, uint64_t seed,
                                      const KeywordsOptions& opt = {});

// The first `count` clips of a split (labels cycle through the classes, so any count is
// near-balanced): make_keywords_dataset with per_class rounded up, then cut to `count`.
Result<Dataset> make_keywords_clips(DatasetSplit split, int64_t count, uint64_t seed, const KeywordsOptions& opt = {});

// Waveforms [N, 16000] -> MLPerf MFCC features [N, 49, 10, 1] (src/data/mfcc.h); labels
// and class names are copied.
Result<Dataset> keywords_to_mfcc(const Dataset& waveforms);

}  // namespace slingshot

// The bit-flip attack (Rakin, He & Fan, "Bit-Flip Attack: Crushing Neural Network with
// Progressive Bit Search", ICCV 2019) on the deployed integer weights. It is not an input
// attack: it changes the model, one bit of one stored weight code at a time, so it stays
// outside the Attack interface and runs through `slingshot attack --attack bitflip`.
//
// Progressive bit search, per flip: the STE gradient of the cross-entropy on an attack
// batch gives dL/dcode for every weight; in each weighted layer the bits whose flip the
// first-order estimate grad x (new code - old code) rates highest are candidates; each is
// tried on the deployed engine and the one with the largest true loss is kept. A random
// search (the paper's baseline) flips uniformly drawn bits instead.
//
// Codes are two's-complement words: 8 bits for int8 (bit 7 weighs -128), 4 bits for int4
// (bit 3 weighs -8). Flips that would produce -128 (int8) or -8 (int4) are never taken:
// the deployed format is symmetric ([-127, 127], [-7, 7]) and validate_quantized_model
// rejects those codes. Each bit flips at most once, so the number of flips is the Hamming
// distance between the original and the attacked weights. Ternary and binary models are
// refused: their packed 2-bit and 1-bit words make flipping a different attack.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "attacks/threat_model.h"
#include "core/setting_spec.h"
#include "core/status.h"
#include "data/dataset.h"
#include "engine/engine.h"
#include "quant/quantized_model.h"

namespace slingshot {

// The command-line name; attack_names() lists it, make_attack() refuses it.
inline constexpr const char* kBitFlipAttackName = "bitflip";

enum class BitFlipSearch {
  kProgressive,  // Rakin et al.'s progressive bit search
  kRandom,       // uniformly random valid bits (the baseline)
};

struct BitFlipOptions {
  int max_flips = 10;                       // flip budget
  double stop_accuracy = 0;                 // stop once evaluation accuracy is at or below this
  int candidates_per_layer = 1;             // in-layer top-k of the progressive search
  int attack_samples = 128;                 // leading attack-data samples the search's loss is taken on
  BitFlipSearch search = BitFlipSearch::kProgressive;
  uint64_t seed = 0;                        // random search: which bits flip
  EngineKind engine = EngineKind::kInt8Ref;  // deployed engine that judges loss and accuracy
};

// Where the search stops by default: chance accuracy plus one point.
double default_bit_flip_stop_accuracy(int num_classes);

// The settings `--set key=value` accepts, typed (core/setting_spec.h).
std::vector<SettingSpec> bit_flip_settings();
// Options from the shared attack parameters: max_iter is the flip budget, seed the seed,
// and extra holds the settings above. Unknown keys and bad values are errors.
Result<BitFlipOptions> bit_flip_options(const AttackParams& p, int num_classes, EngineKind engine);

struct BitFlip {
  int flip = 0;               // 1-based position in the run
  int node = 0;               // graph node of the weighted layer
  std::string layer;          // its name
  int64_t weight_index = 0;   // flat index into the layer's weight codes
  int bit = 0;                // bit of the two's-complement word (the top bit carries the sign)
  int old_code = 0;
  int new_code = 0;
  double attack_loss = 0;     // mean cross-entropy on the attack batch after the flip (deployed engine)
  double accuracy = 0;        // evaluation accuracy after the flip
};

struct BitFlipResult {
  double clean_accuracy = 0;         // evaluation accuracy before any flip
  double clean_attack_loss = 0;      // attack-batch cross-entropy before any flip
  double final_accuracy = 0;         // after the last flip
  std::vector<int> clean_predictions;  // per evaluation sample
  std::vector<int> final_predictions;  // per evaluation sample, after the last flip
  std::vector<BitFlip> flips;        // in order
};

// Called after every committed flip (e.g. a progress bar).
using BitFlipProgress = std::function<void(const BitFlip&)>;

// Flips bits of `model`'s weight codes in place until options.max_flips flips or the
// evaluation accuracy reaches options.stop_accuracy. `attack_data` drives the search,
// `eval_data` is what accuracy is measured on. Each flipped weight's float master value
// becomes code x scale, so the float and fake-quant graphs (STE gradients) see the
// flipped model too; a model whose float weights were its codes stays so. After every
// flip the model passes validate_quantized_model.
Result<BitFlipResult> bit_flip_attack(QuantizedModel& model, const Dataset& attack_data, const Dataset& eval_data,
                                      const BitFlipOptions& options, const BitFlipProgress& progress = nullptr);

// The code a flip of `bit` turns `code` into, in the scheme's two's-complement word
// (8 bits for int8, 4 for int4); it may fall outside the scheme's valid range.
int flipped_code(int code, int bit, WeightScheme scheme);

}  // namespace slingshot

// The training run behind `slingshot train` and `slingshot demo`: a recipe file, or the
// same settings given as flags, turned into data, a model and a trainer run with
// end-of-epoch checkpoints.
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"
#include "data/dataset.h"
#include "train/recipe.h"

namespace slingshot::cli {

struct TrainRunOptions {
  std::string recipe;              // recipe file; when set, the settings below except output/resume/json are not used
  std::string arch = "tiny_cnn";   // architecture to build when no --model is given
  std::string model;               // start from this model file instead
  std::string dataset = "shapes";  // generated dataset name
  int train_size = 3000;           // training samples
  int test_size = 600;             // held-out samples (different seed)
  int image_size = 16;             // side of the generated images
  int epochs = 6;                  // passes over the training set
  int batch_size = 32;             // samples per step
  float learning_rate = 0.05f;     // peak SGD learning rate
  uint64_t seed = 1;               // data, init and shuffling seed
  std::string output;              // model file to write (checkpoint: output + ".ckpt")
  bool resume = false;             // continue from the checkpoint next to the output
  int threads = 0;                 // kernel threads; 0: the recipe's setting, else every core
  bool json = false;               // print a JSON report at the end
  std::string qat;                 // quantization-aware training of the weights: int8|int4|ternary|binary
  int qat_activation_bits = 0;     // quantization-aware training of the activations at these bits (0: off)
};

Status run_training(const TrainRunOptions& o);

// Training, validation and test sets of a recipe.
struct TrainingData {
  Dataset train;       // what the trainer fits (validation samples removed)
  Dataset validation;  // per-epoch validation (may be empty)
  Dataset test;        // the held-out test split
  std::string about;   // one line describing the data
};
Result<TrainingData> make_training_data(const RecipeData& spec);

}  // namespace slingshot::cli

// The training run behind `slingshot train` and `slingshot demo`.
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"

namespace slingshot::cli {

struct TrainRunOptions {
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
  std::string output;              // model file to write (after every epoch)
  bool json = false;               // print a JSON report at the end
  std::string qat;                 // quantization-aware training of the weights: int8|int4|ternary|binary
};

Status run_training(const TrainRunOptions& o);

}  // namespace slingshot::cli

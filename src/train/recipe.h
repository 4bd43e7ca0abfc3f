// Training recipes: small JSON files (models/recipes/*.json) that say which data, which
// architecture or starting model, and every training setting, so `slingshot train
// RECIPE` reproduces a shipped model. Parsing is strict: an unknown key, a wrong type or
// an out-of-range value is an error naming the key. Relative paths in a recipe are
// resolved against the recipe file's folder.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "train/trainer.h"

namespace slingshot {

struct RecipeData {
  std::string name = "shapes";   // generated dataset: shapes, housenum or keywords
  int64_t train = 3000;          // training samples generated (validation is carved from them)
  int64_t validation = 0;        // training samples held out for per-epoch validation
  int64_t test = 600;            // held-out test samples (the test split)
  uint64_t seed = 1;             // dataset seed
  int image_size = 16;           // side of 'shapes' images
};

struct Recipe {
  std::string name;          // short identifier, e.g. "housenum_resnet8_float"
  std::string description;   // one line for the model card
  RecipeData data;           // what to train on
  std::string arch;          // architecture to build (when init_from is empty)
  std::string init_from;     // start from this model file (absolute path after loading)
  std::string teacher;       // distillation teacher model file (absolute path), or empty
  std::string output;        // model file to write (absolute path), may be empty
  int threads = 0;           // worker threads (0: the command's default)
  TrainConfig train;         // every training setting (the teacher pointer is set by the caller)
  nlohmann::json source;     // the recipe as parsed, for checkpoint fingerprints and model metadata
};

// Parses a recipe; `base_dir` resolves relative paths.
Result<Recipe> parse_recipe(const nlohmann::json& j, const std::string& base_dir);
// Reads and parses a recipe file.
Result<Recipe> load_recipe(const std::string& path);

// Parses an epsilon written as a number or as "a/b" (e.g. "8/255").
Result<float> parse_fraction(const nlohmann::json& v, const std::string& key);

}  // namespace slingshot

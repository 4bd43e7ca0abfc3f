// `slingshot export-dataset NAME`: writes samples of a generated dataset as real files
// (PNG images or 16-bit WAV clips) plus a MLPerf-Tiny-style y_labels.csv, e.g. the
// committed evaluation sets under models/*/eval/.
#include <cstdio>
#include <filesystem>

#include "cli/commands.h"
#include "data/dataset_split.h"
#include "data/housenum.h"
#include "data/image_io.h"
#include "data/keywords.h"
#include "data/labeled_files.h"
#include "data/wav.h"

namespace slingshot::cli {
namespace {

struct ExportOptions {
  std::string name;            // housenum or keywords
  std::string split = "test";  // train or test
  int count = 200;             // samples to write
  uint64_t seed = 1;           // dataset seed (the zoo recipes use 1)
  std::string output;          // folder to write
};

Status run_export(const ExportOptions& o) {
  if (o.split != "train" && o.split != "test") return invalid_argument("--split must be train or test, got '" + o.split + "'");
  if (o.count < 1 || o.count > 100000) return invalid_argument("--count must be in [1, 100000]");
  const DatasetSplit split = o.split == "train" ? DatasetSplit::kTrain : DatasetSplit::kTest;
  std::error_code ec;
  std::filesystem::create_directories(o.output, ec);
  if (ec) return io_error("cannot create '" + o.output + "': " + ec.message());
  std::vector<LabeledFile> entries;
  char name[96];
  if (o.name == "housenum") {
    SLING_ASSIGN_OR_RETURN(Dataset d, make_housenum_dataset(split, o.count, o.seed));
    for (int64_t i = 0; i < d.size(); ++i) {
      std::snprintf(name, sizeof name, "housenum_%s_%05lld.png", split_name(split), static_cast<long long>(i));
      SLING_RETURN_IF_ERROR(save_png(d.range(i, 1).inputs, (std::filesystem::path(o.output) / name).string()));
      entries.push_back({name, static_cast<int>(d.class_names.size()), d.labels[i]});
    }
  } else if (o.name == "keywords") {
    const int classes = static_cast<int>(keyword_class_names().size());
    SLING_ASSIGN_OR_RETURN(Dataset d, make_keywords_clips(split, o.count, o.seed));
    const int64_t samples = d.inputs.dim(1);
    for (int64_t i = 0; i < d.size(); ++i) {
      std::snprintf(name, sizeof name, "keywords_%s_%05lld_%s.wav", split_name(split), static_cast<long long>(i),
                    d.class_names[d.labels[i]].c_str());
      SLING_RETURN_IF_ERROR(save_wav((std::filesystem::path(o.output) / name).string(), d.inputs.data() + i * samples,
                                     samples, 16000));
      entries.push_back({name, classes, d.labels[i]});
    }
  } else {
    return invalid_argument("unknown dataset '" + o.name + "' (use housenum or keywords)");
  }
  const std::string csv = (std::filesystem::path(o.output) / "y_labels.csv").string();
  SLING_RETURN_IF_ERROR(write_labels_csv(csv, entries));
  std::printf("wrote %zu %s %s samples and %s\n", entries.size(), o.name.c_str(), o.split.c_str(), csv.c_str());
  return Status::Ok();
}

}  // namespace

void register_export_dataset(CLI::App& app, CommandList& out) {
  auto o = std::make_shared<ExportOptions>();
  CLI::App* sub = app.add_subcommand("export-dataset", "Write generated samples as PNG/WAV files with a y_labels.csv");
  sub->add_option("name", o->name, "housenum or keywords")->required();
  sub->add_option("--split", o->split, "train or test")->capture_default_str();
  sub->add_option("--count", o->count, "Samples to write")->capture_default_str();
  sub->add_option("--seed", o->seed, "Dataset seed")->capture_default_str();
  sub->add_option("-o,--output", o->output, "Folder to write")->required();
  out.push_back({sub, [o] { return run_export(*o); }});
}

}  // namespace slingshot::cli

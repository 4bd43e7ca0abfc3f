// `slingshot attack --model M --data D --attack NAME [params] --engine E --grad SRC --n N
// --json OUT [--defense SPEC...] [--save-examples DIR] [--resume]`: runs one attack over N
// samples, judged on the deployed engine, and writes a JSON report.
//
// --defense puts pre-processing defenses in front of the model; their gradients are then
// adaptive by default (eot if a defense is randomized, else bpda) over the model's own
// source (--inner-grad).
//
// Every finished batch is appended to OUT.records.jsonl (one line per batch, flushed to
// disk), so an interrupted run loses at most the batch in flight: `--resume` checks the
// settings match and continues after the last complete line. The final report is written
// atomically and then supersedes the records file.
//
// `--attack bitflip` attacks the model's weights instead (attacks/bit_flip.h): it flips up
// to --max-iter bits, reports accuracy after each, and `--save-model` keeps the result.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "attacks/attack_report.h"
#include "attacks/bit_flip.h"
#include "attacks/evaluate.h"
#include "attacks/patch.h"
#include "attacks/target_builder.h"
#include "cli/attack_setup.h"
#include "cli/commands.h"
#include "cli/progress.h"
#include "core/file_io.h"
#include "core/json_lines.h"
#include "data/image_io.h"
#include "data/wav.h"
#include "defenses/ensemble.h"
#include "model/layers/thermometer.h"

namespace slingshot::cli {
namespace {

struct AttackCliOptions : AttackFlags {
  std::string json, save_examples, save_model;
  int max_batches = 0, patch_train_n = 200;
  bool resume = false;
};

// Reads the records file of an interrupted run. A torn last line (the batch in flight)
// is cut off; anything else malformed is an error, so no result is silently dropped.
Result<AttackTally> load_progress(const std::string& path, const nlohmann::json& header) {
  auto read = read_json_lines(path, /*missing_ok=*/false);
  if (!read.ok()) return read.status().with_context("--resume");
  const JsonLines& file = *read;
  if (file.lines.empty()) return invalid_argument("--resume: " + path + " is empty");
  if (file.lines[0] != header)
    return invalid_argument("--resume: " + path + " was written with different settings; delete it (or drop --resume) to start over");
  AttackTally p;
  for (size_t i = 1; i < file.lines.size(); ++i) {
    const Status added = add_batch_json(p, file.lines[i]);
    if (!added.ok()) return added.with_context("--resume: " + path + " line " + std::to_string(i + 1));
  }
  SLING_RETURN_IF_ERROR(drop_torn_line(path, file));
  return p;
}

// Writes every attacked example as an 8-bit PNG or a 16-bit WAV (exact on the grid).
Status save_examples(const std::string& dir, const BatchOutcome& out, const Shape& sample) {
  const int64_t per = shape_numel(sample);
  const bool audio = sample.size() == 1;
  for (const ExampleRecord& r : out.records) {
    if (!r.attacked) continue;
    const int64_t row = r.index - out.records.front().index;
    const float* x = out.x_adv.data() + row * per;
    char name[96];
    std::snprintf(name, sizeof name, "%06lld_label%d_adv%d.%s", static_cast<long long>(r.index), r.label,
                  r.adversarial_prediction, audio ? "wav" : "png");
    const std::string path = (std::filesystem::path(dir) / name).string();
    if (audio) {
      SLING_RETURN_IF_ERROR(save_wav(path, x, per, 16000));
    } else {
      SLING_RETURN_IF_ERROR(save_png(Tensor(sample, std::vector<float>(x, x + per)), path));
    }
  }
  return Status::Ok();
}

// Puts the --defense pre-processors in front of `target`; returns their report entries.
Result<nlohmann::json> add_defenses(const AttackCliOptions& o, std::unique_ptr<Target>& target) {
  if (o.defenses.empty() && !o.inner_grad.empty())
    return invalid_argument("--inner-grad sets the model's gradient source behind a --defense; use --grad");
  return add_defenses_described(attack_recipe_from(o), target);
}

// The universal patch's protocol: train it on the training split (never on the images it
// is judged on), save it next to the report, then paste it onto the test images.
Status train_patch(const AttackCliOptions& o, const AttackParams& p, Target& target, PatchAttack& attack) {
  const Shape shape = target.input_shape();
  SLING_ASSIGN_OR_RETURN(Dataset train, load_data_arg(o.data, "train", o.patch_train_n, shape));
  if (o.data == "housenum") snap_to_domain(train.inputs, image_domain());
  std::printf("training a universal patch on %lld '%s' training samples\n", static_cast<long long>(train.size()),
              o.data.c_str());
  std::fflush(stdout);
  Rng rng(p.seed ^ 0x5041544348ull);  // "PATCH": a stream of its own, fixed by the seed
  SLING_RETURN_IF_ERROR(attack.train(target, train, p, rng));
  const std::string path = o.json + ".patch.png";
  SLING_RETURN_IF_ERROR(save_png(attack.patch(), path));
  std::printf("patch written to %s\n", path.c_str());
  return Status::Ok();
}

// Whether --data names a generated set, which has a training split of its own.
bool has_train_split(const std::string& data) { return data == "shapes" || data == "housenum" || data == "keywords"; }

nlohmann::json bit_flip_json(const BitFlip& f) {
  return {{"flip", f.flip},         {"layer", f.layer},       {"node", f.node},
          {"weight_index", f.weight_index}, {"bit", f.bit}, {"old_code", f.old_code},
          {"new_code", f.new_code}, {"attack_loss", f.attack_loss}, {"accuracy", f.accuracy}};
}

// The bit-flip attack on the model's weights: search on training samples, judge on the
// --n test samples exactly as `slingshot eval` reads them, optionally save the result.
Status run_bit_flip(const AttackCliOptions& o, const AttackParams& p) {
  if (o.json.empty()) return invalid_argument("--json OUT is required: the report goes there");
  if (is_ensemble_path(o.model)) return invalid_argument("bitflip attacks one model file's weights, not an ensemble");
  if (o.resume || o.max_batches > 0 || !o.save_examples.empty())
    return invalid_argument("bitflip changes weights, not inputs: --resume, --max-batches and --save-examples do not apply");
  nlohmann::json card;
  SLING_ASSIGN_OR_RETURN(QuantizedModel model, load_any_model_arg(o.model, &card));
  SLING_ASSIGN_OR_RETURN(EngineKind engine, parse_engine(o.engine.empty() ? "int8-ref" : o.engine));
  const Shape shape = model.graph.input_shape();
  const int num_classes = static_cast<int>(model.graph.output_shape().back());
  SLING_ASSIGN_OR_RETURN(BitFlipOptions bo, bit_flip_options(p, num_classes, engine));
  SLING_ASSIGN_OR_RETURN(Dataset eval_data, load_data_arg(o.data, "test", o.n, shape));
  SLING_ASSIGN_OR_RETURN(Dataset attack_data, load_data_arg(o.data, "train", bo.attack_samples, shape));
  if (!p.extra.count("stop_accuracy")) {
    // A broken model often answers one class for everything: its accuracy then settles at
    // that class's share of the evaluated labels, which may sit above 1/classes.
    std::vector<int64_t> per_class(static_cast<size_t>(num_classes), 0);
    for (int label : eval_data.labels)
      if (label >= 0 && label < num_classes) ++per_class[static_cast<size_t>(label)];
    const double majority = eval_data.size() ? static_cast<double>(*std::max_element(per_class.begin(), per_class.end())) /
                                                   static_cast<double>(eval_data.size())
                                             : 0.0;
    bo.stop_accuracy = std::max(bo.stop_accuracy, majority + 0.01);
  }
  const std::string attack_source = has_train_split(o.data) ? "train split" : "the evaluated files";
  std::printf("bitflip (%s) on %lld '%s' samples, searching on %lld samples of %s: engine %s, up to %d flips, stop at "
              "accuracy %.3f, seed %llu\n",
              bo.search == BitFlipSearch::kRandom ? "random flips" : "progressive bit search",
              static_cast<long long>(eval_data.size()), o.data.c_str(), static_cast<long long>(attack_data.size()),
              attack_source.c_str(), engine_name(engine), bo.max_flips, bo.stop_accuracy,
              static_cast<unsigned long long>(bo.seed));
  std::fflush(stdout);

  ProgressBar bar("bitflip");
  const auto start = std::chrono::steady_clock::now();
  auto show = [&](const BitFlip& f) {
    char detail[128];
    std::snprintf(detail, sizeof detail, "flip %d/%d accuracy %.3f loss %.3f", f.flip, bo.max_flips, f.accuracy,
                  f.attack_loss);
    bar.update(static_cast<double>(f.flip) / bo.max_flips, detail);
  };
  SLING_ASSIGN_OR_RETURN(BitFlipResult r, bit_flip_attack(model, attack_data, eval_data, bo, show));
  bar.finish();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  nlohmann::json report = {{"attack", o.attack}, {"family", "weight"}, {"model", o.model}, {"data", o.data},
                           {"n", eval_data.size()}, {"engine", engine_name(engine)}, {"seed", bo.seed},
                           {"attack_data", attack_source}};
  report["params"] = {{"max_iter", bo.max_flips},
                      {"stop_accuracy", bo.stop_accuracy},
                      {"candidates", bo.candidates_per_layer},
                      {"attack_samples", attack_data.size()},
                      {"search", bo.search == BitFlipSearch::kRandom ? "random" : "progressive"},
                      {"seed", bo.seed}};
  int64_t was_right = 0, broken = 0;
  report["examples"] = nlohmann::json::array();
  for (int64_t i = 0; i < eval_data.size(); ++i) {
    const int label = eval_data.labels[i];
    const bool success = r.clean_predictions[i] == label && r.final_predictions[i] != label;
    was_right += r.clean_predictions[i] == label;
    broken += success;
    report["examples"].push_back({{"index", i}, {"label", label}, {"clean_prediction", r.clean_predictions[i]},
                                  {"flipped_prediction", r.final_predictions[i]}, {"success", success}});
  }
  report["clean_accuracy"] = r.clean_accuracy;
  report["robust_accuracy"] = r.final_accuracy;
  report["success_rate"] = was_right ? static_cast<double>(broken) / static_cast<double>(was_right) : 0.0;
  report["attacked"] = was_right;
  report["flips"] = r.flips.size();
  report["clean_attack_loss"] = r.clean_attack_loss;
  report["curve"] = nlohmann::json::array({{{"flips", 0}, {"accuracy", r.clean_accuracy}}});
  report["flip_list"] = nlohmann::json::array();
  for (const BitFlip& f : r.flips) {
    report["curve"].push_back({{"flips", f.flip}, {"accuracy", f.accuracy}});
    report["flip_list"].push_back(bit_flip_json(f));
  }
  report["seconds"] = seconds;
  report["saved_model"] = o.save_model.empty() ? nlohmann::json(nullptr) : nlohmann::json(o.save_model);
  if (!o.save_model.empty()) {
    if (!card.is_object()) card = nlohmann::json::object();
    card["bit_flip_attack"] = {{"source_model", o.model}, {"flips", report["flip_list"]}, {"seed", bo.seed}};
    SLING_RETURN_IF_ERROR(save_quantized_model(model, o.save_model, card));
  }
  SLING_RETURN_IF_ERROR(write_file_atomic(o.json, report.dump(1) + "\n"));
  std::printf("clean accuracy %.4f  accuracy after %zu flips %.4f  success rate %.4f; attack time %.1fs\n",
              r.clean_accuracy, r.flips.size(), r.final_accuracy, report["success_rate"].get<double>(), seconds);
  if (!o.save_model.empty()) std::printf("flipped model written to %s\n", o.save_model.c_str());
  std::printf("report written to %s\n", o.json.c_str());
  return Status::Ok();
}

Status run_attack(const AttackCliOptions& o) {
  use_threads(o.threads);
  if (o.attack == kBitFlipAttackName) {
    SLING_ASSIGN_OR_RETURN(AttackParams p, attack_params_from(o, BitFlipOptions{}.max_flips, Norm::kLinf));
    return run_bit_flip(o, p);
  }
  if (!o.save_model.empty()) return invalid_argument("--save-model keeps the flipped model of --attack bitflip only");
  SLING_ASSIGN_OR_RETURN(auto attack, make_attack(o.attack));
  SLING_ASSIGN_OR_RETURN(AttackParams p, attack_params_from(o, attack->default_max_iter(), attack->norms().front()));
  LoadedModels loaded;
  SLING_ASSIGN_OR_RETURN(auto target, build_attack_target(o.model, attack_recipe_from(o), loaded));
  std::unique_ptr<Target> reference;
  if (attack->needs_reference()) {
    SLING_ASSIGN_OR_RETURN(reference, build_reference_target(o.attack, o.model, loaded));
  }
  SLING_ASSIGN_OR_RETURN(const nlohmann::json defenses, add_defenses(o, target));
  const Shape shape = target->input_shape();
  SLING_RETURN_IF_ERROR(attack->validate(p, target->num_classes()));
  if (o.json.empty()) return invalid_argument("--json OUT is required: the report (and its records) go there");
  if (!o.save_examples.empty() && !p.pixel_valid)
    return invalid_argument("--save-examples writes 8-bit PNGs, which only reproduce pixel-valid examples; drop --no-pixel-valid");
  SLING_ASSIGN_OR_RETURN(const Dataset data, load_attack_data(o.data, o.n, *target, p.pixel_valid));

  const std::string records_path = o.json + ".records.jsonl";
  nlohmann::json header = {{"slingshot_attack_records", 1}, {"attack", o.attack}, {"model", o.model},
                           {"data", o.data}, {"n", data.size()}, {"engine", target->engine_name()},
                           {"gradient_source", gradient_source_name(target->gradient_source())},
                           {"params", attack_params_json(p)}, {"fd_step", o.fd_step}, {"patch_train_n", o.patch_train_n}};
  bool relaxed = false;
  for (const auto& m : loaded.models) relaxed = relaxed || has_thermometer_head(m->graph);
  if (relaxed && target->inner_gradient_source() != GradientSource::kFd) {
    header["inner_gradient_source"] = gradient_source_name(target->inner_gradient_source());
    header["gradient_relaxation"] = kThermometerRelaxationNote;
  }
  if (!defenses.empty()) {
    header["defenses"] = defenses;
    header["inner_gradient_source"] = gradient_source_name(target->inner_gradient_source());
    if (target->gradient_source() == GradientSource::kEot) header["eot_samples"] = o.eot_samples;
  }
  AttackTally done;
  JsonLinesAppender records;
  if (o.resume) {
    SLING_ASSIGN_OR_RETURN(done, load_progress(records_path, header));
    std::printf("resuming %s after %lld of %lld samples\n", records_path.c_str(),
                static_cast<long long>(done.next_index), static_cast<long long>(data.size()));
  } else {
    if (std::filesystem::exists(records_path))
      std::printf("note: %s exists and is replaced (pass --resume to continue it instead)\n", records_path.c_str());
    SLING_RETURN_IF_ERROR(write_file_atomic(records_path, header.dump() + "\n"));
  }
  SLING_RETURN_IF_ERROR(records.open(records_path));
  if (o.attack == "patch") SLING_RETURN_IF_ERROR(train_patch(o, p, *target, static_cast<PatchAttack&>(*attack)));
  if (!o.save_examples.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(o.save_examples, ec);
    if (ec) return io_error("cannot create '" + o.save_examples + "': " + ec.message());
  }
  std::printf("%s (%s) on %lld '%s' samples: engine %s, gradients %s, L%s eps %g%s, seed %llu\n", o.attack.c_str(),
              attack_family_name(attack->family()), static_cast<long long>(data.size()), o.data.c_str(),
              target->engine_name().c_str(), gradient_description(*target, o.eot_samples).c_str(), norm_name(p.norm), p.eps,
              p.targeted ? ", targeted" : "", static_cast<unsigned long long>(p.seed));
  std::fflush(stdout);

  ProgressBar bar("attack");
  Tensor batch;
  std::vector<int> labels;
  int batches = 0;
  for (int64_t first = done.next_index; first < data.size(); first += p.batch_size) {
    if (o.max_batches > 0 && batches++ == o.max_batches) {
      bar.finish();
      std::printf("stopped after %d batches (%lld of %lld samples); continue with --resume\n", o.max_batches,
                  static_cast<long long>(first), static_cast<long long>(data.size()));
      return Status::Ok();
    }
    const int64_t count = std::min<int64_t>(p.batch_size, data.size() - first);
    data.slice(first, count, batch, labels);
    SLING_ASSIGN_OR_RETURN(BatchOutcome out, attack_batch(*attack, *target, batch, labels, first, p, reference.get()));
    const nlohmann::json line = batch_outcome_json(out, first);
    if (!o.save_examples.empty()) SLING_RETURN_IF_ERROR(save_examples(o.save_examples, out, shape));
    SLING_RETURN_IF_ERROR(records.append(line));
    SLING_RETURN_IF_ERROR(add_batch_json(done, line));
    const AttackSummary so_far = summarize(done.records);
    char detail[128];
    std::snprintf(detail, sizeof detail, "%lld/%lld robust acc %.3f", static_cast<long long>(done.next_index),
                  static_cast<long long>(data.size()), so_far.robust_accuracy);
    bar.update(static_cast<double>(done.next_index) / static_cast<double>(data.size()), detail);
  }
  bar.finish();

  const AttackSummary s = summarize(done.records);
  nlohmann::json report = header;
  report.erase("slingshot_attack_records");
  report["family"] = attack_family_name(attack->family());
  report.update(attack_tally_json(done, reference != nullptr));
  if (reference) {
    report["reference"]["engine"] = reference->engine_name();
    report["reference"]["gradient_source"] = gradient_source_name(reference->gradient_source());
  }
  report["seconds"] = done.seconds;
  report["examples"] = nlohmann::json::array();
  for (const ExampleRecord& r : done.records) report["examples"].push_back(example_record_json(r));
  SLING_RETURN_IF_ERROR(write_file_atomic(o.json, report.dump(1) + "\n"));
  std::error_code ec;
  std::filesystem::remove(records_path, ec);
  std::printf("clean accuracy %.4f  robust accuracy %.4f  success rate %.4f (%lld attacked)  mean Linf %.4g  L2 %.4g\n"
              "queries: %lld predictions, %lld gradients%s; attack time %.1fs\nreport written to %s\n",
              s.clean_accuracy, s.robust_accuracy, s.success_rate, static_cast<long long>(s.attacked),
              s.mean_distortion.linf, s.mean_distortion.l2, static_cast<long long>(done.counts.predictions),
              static_cast<long long>(done.counts.gradients),
              done.counts.fd_evaluations ? (", " + std::to_string(done.counts.fd_evaluations) + " fd evaluations").c_str() : "",
              done.seconds, o.json.c_str());
  if (reference)
    std::printf("reference (float master): clean accuracy %.4f, accuracy on the adversarial inputs %.4f\n",
                s.reference_clean_accuracy, s.reference_robust_accuracy);
  for (const std::string& note : done.notes) std::printf("note: %s\n", note.c_str());
  return Status::Ok();
}

}  // namespace

void register_attack(CLI::App& app, CommandList& out) {
  auto o = std::make_shared<AttackCliOptions>();
  CLI::App* sub = app.add_subcommand("attack", "Run an adversarial attack, judged on the deployed engine");
  add_attack_flags(sub, *o);
  sub->add_option("--json", o->json, "Report file (JSON); OUT.records.jsonl holds progress until it is written")
      ->required();
  std::string bitflip_keys;
  for (const SettingSpec& k : bit_flip_settings()) bitflip_keys += (bitflip_keys.empty() ? "" : ", ") + k.name;
  sub->get_option("--set")->description("Attack-specific setting key=value (repeatable); bitflip takes " + bitflip_keys +
                                        " and flips up to --max-iter bits");
  sub->add_option("--patch-train-n", o->patch_train_n, "patch: training-split images the universal patch is trained on")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  sub->add_option("--save-examples", o->save_examples, "Write each attacked example here (PNG, or WAV for keyword models)");
  sub->add_option("--save-model", o->save_model, "bitflip: write the flipped model here (evaluate it with `slingshot eval`)");
  sub->add_flag("--resume", o->resume, "Continue an interrupted run from OUT.records.jsonl");
  sub->add_option("--max-batches", o->max_batches, "Stop after this many batches (resume later with --resume)")
      ->check(CLI::Range(1, 1 << 30));
  out.push_back({sub, [o] { return run_attack(*o); }});
}

}  // namespace slingshot::cli

// The JSON fields of attack reports that every front end writes the same way (the CLI's
// report file and records, sweep shards and their merge, the web API's result.report):
// parameters, one example's record, one batch's outcome, the summary of a set of examples.
#pragma once

#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "attacks/evaluate.h"

namespace slingshot {

nlohmann::json attack_params_json(const AttackParams& p);
nlohmann::json example_record_json(const ExampleRecord& r);
Result<ExampleRecord> example_record_from_json(const nlohmann::json& j);
// Accuracies, success rate, attacked count, mean distortion of successes and the queries.
nlohmann::json attack_summary_json(const AttackSummary& s, const TargetCounts& counts);

// One attacked batch as a line of a records file: first_index, counts, reference_counts,
// seconds, zero_density, notes and the records.
nlohmann::json batch_outcome_json(const BatchOutcome& out, int64_t first_index);

// What a set of batches adds up to: the records, counts and time of whole batches.
struct AttackTally {
  std::vector<ExampleRecord> records;
  TargetCounts counts;
  TargetCounts reference_counts;  // DIVA's queries to the float reference
  double seconds = 0;
  double zero_density_sum = 0;
  int zero_density_batches = 0;
  int64_t next_index = 0;          // after the last batch added
  std::vector<std::string> notes;  // the attack's warnings, each once, in order
};
// Adds one batch_outcome_json() line; a malformed line is an error.
Status add_batch_json(AttackTally& tally, const nlohmann::json& line);
// The summary fields of a report over the tally (attack_summary_json), the reference's
// accuracies and queries when `with_reference`, gradient_zero_density (null without
// gradients) and notes. No timings, so equal tallies give equal JSON.
nlohmann::json attack_tally_json(const AttackTally& tally, bool with_reference);

}  // namespace slingshot

// The JSON fields of attack reports that every front end writes the same way (the CLI's
// report file, the web API's result.report): parameters, one example's record, the
// summary of a set of examples.
#pragma once

#include <span>

#include <nlohmann/json.hpp>

#include "attacks/evaluate.h"

namespace slingshot {

nlohmann::json attack_params_json(const AttackParams& p);
nlohmann::json example_record_json(const ExampleRecord& r);
// Accuracies, success rate, attacked count, mean distortion of successes and the queries.
nlohmann::json attack_summary_json(const AttackSummary& s, const TargetCounts& counts);

}  // namespace slingshot
